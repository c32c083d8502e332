//! Casts written by the recorder, replayed by Debian's real `asciinema` 2.2.
//!
//! `asciinema cat` opens `/dev/tty`, so it runs under `script` (util-linux), which gives it
//! a pseudo-terminal; asciinema puts that terminal in raw mode, so bytes pass unchanged.
//! `asciinema play` works without a terminal and is checked too.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: any failure must fail the test loudly"
)]

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{header, read_cast, read_data, started};
use ed25519_dalek::SigningKey;
use fumidai_recorder::format::asciicast::DataMode;
use fumidai_recorder::format::cast_reader::{CastReader, EventKind};
use fumidai_recorder::format::datafile::{DataReader, Stream};
use fumidai_recorder::format::reassemble::reassemble;
use fumidai_recorder::format::transfers::{TransferDirection, TransferOutcome, TransferRecord};
use fumidai_recorder::sink::{LocalDisk, RecordingStorage};
use fumidai_recorder::{FileKind, Recorder, RecorderConfig, RecordingId};

fn have(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("SKIPPED: `{tool}` is not installed (Debian: apt install {tool})");
    }
    found
}

/// `asciinema cat FILE` under a pty; returns its stdout bytes. Fails on a non-zero exit.
fn asciinema_cat(path: &Path) -> Vec<u8> {
    let cmd = format!("asciinema cat '{}'", path.display());
    let out = Command::new("script")
        .args(["-qefc", &cmd, "/dev/null"])
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "asciinema cat failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `asciinema play` without a terminal (idle time capped so the test is fast).
fn asciinema_play(path: &Path) -> Vec<u8> {
    let out = Command::new("asciinema")
        .args(["play", "-i", "0.01"])
        .arg(path)
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "asciinema play failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Records `chunks` as output of an interactive session (plus input, resizes, a
/// transfer marker) and returns the cast's path.
async fn record(
    dir: &Path,
    session: u128,
    mode: DataMode,
    chunks: &[&[u8]],
) -> (LocalDisk, RecordingId) {
    let disk = LocalDisk::new(dir);
    let h = header(session, mode);
    let id = h.fumidai.recording_id();
    let (rec, task) = Recorder::start(
        disk.open(&id, started()).unwrap(),
        &h,
        RecorderConfig::default(),
    )
    .unwrap();
    rec.resize(100, 30).await.unwrap();
    for (i, c) in chunks.iter().enumerate() {
        rec.output(c.to_vec()).await.unwrap();
        if i == 1 {
            rec.input(b"ls -l\r".as_slice()).await.unwrap();
            rec.resize(120, 40).await.unwrap();
            let refused = TransferRecord {
                direction: TransferDirection::Download,
                path: "/var/lib/pacs/patient.dcm".into(),
                size: 0,
                sha256: None,
                outcome: TransferOutcome::Refused,
                reason: Some("plan does not allow download".into()),
            };
            rec.transfer(refused).await.unwrap();
        }
    }
    rec.finish(&SigningKey::from_bytes(&[3; 32])).await.unwrap();
    task.await.unwrap().unwrap();
    (disk, id)
}

#[tokio::test]
async fn asciinema_replays_output_byte_for_byte() {
    if !have("asciinema") {
        return;
    }
    // Multi-byte characters cut across chunks, escapes, quotes, backslashes, bare \n.
    let chunks: [&[u8]; 7] = [
        b"\x1b[1;32malice@pacs-01\x1b[0m:~$ ",
        b"caf\xc3",
        b"\xa9 \xe6\x97\xa5\xe6",
        b"\x9c\xac\xe8\xaa\x9e \xf0\x9f",
        b"\x98",
        b"\x80 \"quoted\" back\\slash\ttab\r\nbare\nbell\x07 del\x7f",
        b"\x1b]0;title\x07\r\n",
    ];
    let tmp = tempfile::tempdir().unwrap();
    let (disk, id) = record(tmp.path(), 10, DataMode::Interactive, &chunks).await;
    let cast = disk.path(&id, started(), FileKind::Cast);
    let want = chunks.concat();

    assert_eq!(asciinema_play(&cast), want, "asciinema play");
    if have("script") {
        assert_eq!(asciinema_cat(&cast), want, "asciinema cat");
    }
    // The split characters are whole characters in the cast, not U+FFFD.
    let (h, events, _) = read_cast(&cast);
    assert_eq!(h.fumidai.engineer, "alice");
    let text: String = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Output(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text.as_bytes(), want);
    assert!(
        read_data(&disk.path(&id, started(), FileKind::Data)).is_empty(),
        "no raw copies needed"
    );
}

/// Invalid UTF-8: asciinema shows U+FFFD (as a UTF-8 terminal would), and the exact bytes
/// come back from cast + side file.
#[tokio::test]
async fn invalid_utf8_plays_as_replacement_and_is_kept_exactly() {
    if !have("asciinema") {
        return;
    }
    let chunks: [&[u8]; 4] = [
        b"ok \xff\xfe binary",
        b" \xc3",
        b"( Latin-1 \xe9t\xe9",
        b"\r\nend \xe2\x82",
    ];
    let tmp = tempfile::tempdir().unwrap();
    let (disk, id) = record(tmp.path(), 11, DataMode::Interactive, &chunks).await;
    let cast = disk.path(&id, started(), FileKind::Cast);
    let exact = chunks.concat();
    let shown = String::from_utf8_lossy(&exact).into_owned().into_bytes();

    assert_eq!(asciinema_play(&cast), shown);
    if have("script") {
        assert_eq!(asciinema_cat(&cast), shown);
    }
    let cast_bytes = fs::read(&cast).unwrap();
    let events = CastReader::open(&cast_bytes[..]).unwrap().1;
    let data = fs::read(disk.path(&id, started(), FileKind::Data)).unwrap();
    let records = DataReader::open(&data[..]).unwrap();
    let mut out = Vec::new();
    reassemble(
        DataMode::Interactive,
        Stream::Output,
        events,
        records,
        &mut out,
    )
    .unwrap();
    assert_eq!(out, exact);
}

/// A bulk recording: `m` markers and the short preview are accepted by asciinema.
#[tokio::test]
async fn asciinema_accepts_bulk_casts_with_markers() {
    if !have("asciinema") {
        return;
    }
    let payload: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let chunks: [&[u8]; 3] = [b"receiving\r\n", &payload, b"done\r\n"];
    let tmp = tempfile::tempdir().unwrap();
    let (disk, id) = record(tmp.path(), 12, DataMode::Bulk, &chunks).await;
    let cast = disk.path(&id, started(), FileKind::Cast);
    let (_, events, _) = read_cast(&cast);
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Marker(m) if m.starts_with("fumidai bulk:")))
    );
    assert!(events.iter().any(
        |e| matches!(&e.kind, EventKind::Marker(m) if m.starts_with("fumidai transfer: download"))
    ));
    let played = asciinema_play(&cast);
    if have("script") {
        assert_eq!(asciinema_cat(&cast), played);
    }
    // The preview is the first 64 KiB of output, as a UTF-8 terminal shows it.
    let mut preview = chunks.concat();
    preview.truncate(64 << 10);
    assert_eq!(
        played,
        String::from_utf8_lossy(&preview).into_owned().into_bytes()
    );
    assert!(fs::metadata(&cast).unwrap().len() < 400 << 10);
}
