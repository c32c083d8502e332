//! The RDP writer task against real files: timestamps, flush cadence, backpressure,
//! failures, sealing, and a file cut by a crash.

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
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{Gate, GateSink, ProbeSink, started};
use ed25519_dalek::SigningKey;
use fumidai_recorder::rdp::format::{Event, RdpReader, Record};
use fumidai_recorder::rdp::{RdpHeader, RdpRecorder, RdpRecorderConfig, RdpState};
use fumidai_recorder::seal::{self, verify_files};
use fumidai_recorder::sink::{LocalDisk, RecordingStorage};
use fumidai_recorder::{Error, FileKind, Mismatch, RecordingKind, Statement};
use tokio::time::{Instant, timeout};
use uuid::Uuid;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[2; 32])
}

fn header(session: u128) -> RdpHeader {
    RdpHeader {
        session_id: Uuid::from_u128(session),
        engineer: "alice".into(),
        target: "ct-console".into(),
        plan_id: "7".into(),
        started_at: started(),
        gateway_version: "0.1.0".into(),
        may_resume: None,
    }
}

fn state() -> RdpState {
    RdpState {
        io_channel_id: 1003,
        user_channel_id: 1007,
        share_id: 0x1_03ea,
        desktop_width: 800,
        desktop_height: 600,
        static_channels: vec![("rdpdr".into(), 1004)],
    }
}

fn path(disk: &LocalDisk, h: &RdpHeader) -> std::path::PathBuf {
    disk.path(&h.recording_id(), started(), FileKind::Rdp)
}

fn read(path: &Path) -> (RdpHeader, Vec<Record>, bool) {
    let bytes = fs::read(path).unwrap();
    let (h, mut reader) = RdpReader::open(bytes.as_slice()).unwrap();
    let records = reader.by_ref().map(Result::unwrap).collect();
    (h, records, reader.truncated())
}

fn open(disk: &LocalDisk, h: &RdpHeader) -> Box<dyn fumidai_recorder::sink::RecordingSink> {
    disk.open_as(RecordingKind::Rdp, &h.recording_id(), started())
        .unwrap()
}

/// Records are stamped when handed over, in microseconds since the start, and a crash
/// loses at most a second: a frame is on disk within `flush_every` without finish.
#[tokio::test(start_paused = true)]
async fn stamps_and_flushes_at_least_every_second() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let h = header(1);
    let mut probe = ProbeSink::new(open(&disk, &h));
    probe.file = FileKind::Rdp;
    let flushed = Arc::clone(&probe.flushed);
    let (rec, _task) =
        RdpRecorder::start(Box::new(probe), &h, RdpRecorderConfig::default()).unwrap();
    let (read_header, records, _) = read(&path(&disk, &h));
    assert_eq!(read_header, h, "header written at start");
    assert!(records.is_empty());
    flushed.notified().await; // the preamble's flush (stored permit)

    rec.state(state()).await.unwrap();
    tokio::time::advance(Duration::from_micros(250_001)).await;
    let sent = Instant::now();
    rec.server_frame(Bytes::from_static(b"\x00\x04ab"))
        .await
        .unwrap();
    rec.client_frame(Bytes::from_static(b"\x04\x06\x00\x1e"))
        .await
        .unwrap();
    timeout(Duration::from_secs(5), flushed.notified())
        .await
        .expect("no flush within 5 s");
    assert!(
        sent.elapsed() <= Duration::from_secs(1),
        "{:?}",
        sent.elapsed()
    );
    let (_, records, truncated) = read(&path(&disk, &h));
    assert!(!truncated);
    assert_eq!(
        records,
        [
            Record {
                offset: Duration::ZERO,
                event: Event::State(state()),
            },
            Record {
                offset: Duration::from_micros(250_001),
                event: Event::Server(b"\x00\x04ab".to_vec()),
            },
            Record {
                offset: Duration::from_micros(250_001),
                event: Event::Client(b"\x04\x06\x00\x1e".to_vec()),
            },
        ]
    );
}

/// A disk slower than the session makes the proxy wait once the queue is full.
#[tokio::test]
async fn slow_disk_makes_senders_wait() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let h = header(2);
    let gate = Arc::new(Gate::default());
    let sink = GateSink {
        inner: open(&disk, &h),
        gate: Arc::clone(&gate),
    };
    let config = RdpRecorderConfig {
        queue_depth: 4,
        write_threshold: 1,
        ..Default::default()
    };
    let (rec, task) = RdpRecorder::start(Box::new(sink), &h, config).unwrap();
    gate.close();
    // A failed assertion must not leave the writer blocked: the runtime waits for it.
    let _open = OpenOnDrop(Arc::clone(&gate));
    let frame = Bytes::from(vec![0u8; 16 << 10]);
    rec.server_frame(frame.clone()).await.unwrap(); // the writer takes it and blocks
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !gate.has_waiter() {
        assert!(
            std::time::Instant::now() < deadline,
            "writer never reached the sink"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for _ in 0..4 {
        timeout(Duration::from_secs(5), rec.server_frame(frame.clone()))
            .await
            .expect("fits in the queue")
            .unwrap();
    }
    // One batch may wait in memory next to the one being written; the one after it waits.
    let blocked = tokio::spawn({
        let rec = rec.clone();
        let frame = frame.clone();
        async move {
            for _ in 0..2 {
                rec.server_frame(frame.clone()).await?;
            }
            Ok::<_, Error>(())
        }
    });
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert!(
        !blocked.is_finished(),
        "send completed although the disk is stalled"
    );
    gate.open();
    timeout(Duration::from_secs(30), blocked)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    rec.finish(&key()).await.unwrap();
    task.await.unwrap().unwrap();
    let (_, records, _) = read(&path(&disk, &h));
    assert_eq!(records.len(), 7);
    assert!(
        records.windows(2).all(|w| w[0].offset <= w[1].offset),
        "offsets never decrease"
    );
}

struct OpenOnDrop(Arc<Gate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// A full disk ends the recording with a typed error every caller sees (fail closed).
#[tokio::test]
async fn write_failure_reaches_every_caller() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let h = header(3);
    let mut probe = ProbeSink::new(open(&disk, &h));
    probe.file = FileKind::Rdp;
    probe.fail_after = Some(4000);
    let config = RdpRecorderConfig {
        write_threshold: 1,
        ..Default::default()
    };
    let (rec, task) = RdpRecorder::start(Box::new(probe), &h, config).unwrap();
    let other = rec.clone();
    let mut result = Ok(());
    for _ in 0..1000 {
        result = rec.server_frame(Bytes::from(vec![0u8; 100])).await;
        if result.is_err() {
            break;
        }
    }
    let is_enospc = |e: &Error| matches!(e, Error::Write { file: FileKind::Rdp, source } if source.raw_os_error() == Some(28));
    let err = result.unwrap_err();
    assert!(is_enospc(&err), "{err:?}");
    assert_eq!(
        err.to_string(),
        "writing the recording's RDP recording failed"
    );
    assert!(is_enospc(&other.state(state()).await.unwrap_err()));
    assert!(is_enospc(&task.await.unwrap().unwrap_err()));
    assert!(is_enospc(&other.finish(&key()).await.unwrap_err()));
}

/// The seal states exactly the one `.rdp` file; `audit verify`'s checks pass, and a changed
/// byte is caught.
#[tokio::test]
async fn finish_seals_one_file_and_tampering_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let h = header(4);
    let (rec, task) =
        RdpRecorder::start(open(&disk, &h), &h, RdpRecorderConfig::default()).unwrap();
    rec.state(state()).await.unwrap();
    rec.server_frame(Bytes::from_static(b"\x00\x05xyz"))
        .await
        .unwrap();
    let sealed = rec.finish(&key()).await.unwrap();
    task.await.unwrap().unwrap();
    assert!(matches!(
        rec.server_frame(Bytes::new()).await,
        Err(Error::Stopped)
    ));

    let s = &sealed.statement;
    assert_eq!(
        s.recording,
        fumidai_recorder::RecordingId::session(h.session_id)
    );
    let name = "2026/01/01/00000000-0000-0000-0000-000000000004.rdp";
    assert_eq!(s.files.len(), 1);
    assert_eq!(s.files[0].name, name);
    let file = tmp.path().join(name);
    assert_eq!(s.files[0].size, fs::metadata(&file).unwrap().len());
    assert_eq!(
        s.canonical().lines().collect::<Vec<_>>()[..2],
        [
            "fumidai recording seal v1",
            "session 00000000-0000-0000-0000-000000000004"
        ]
    );
    let statement = Statement::parse(&s.canonical()).unwrap();
    seal::verify(&statement, &sealed.signature, &key().verifying_key()).unwrap();
    verify_files(tmp.path(), &statement).unwrap();

    let mut bytes = fs::read(&file).unwrap();
    let at = bytes.windows(3).position(|w| w == b"xyz").unwrap();
    bytes[at] = b'X';
    fs::write(&file, &bytes).unwrap();
    match verify_files(tmp.path(), &statement) {
        Err(Error::Tampered {
            name: n,
            mismatch: Mismatch::Digest,
        }) => assert_eq!(n, name),
        other => panic!("tampering not detected: {other:?}"),
    }
}

/// Handles dropped without finish (the proxy task died): the file is closed, unsealed, and
/// reads back whole; cut short as by a crash mid-write, it reads up to the cut.
#[tokio::test]
async fn dropped_or_cut_recordings_stay_readable() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let h = header(5);
    let (rec, task) =
        RdpRecorder::start(open(&disk, &h), &h, RdpRecorderConfig::default()).unwrap();
    rec.state(state()).await.unwrap();
    for i in 0..10u8 {
        rec.server_frame(Bytes::from(vec![i; 1000])).await.unwrap();
    }
    drop(rec);
    task.await.unwrap().unwrap();
    let file = path(&disk, &h);
    let (_, records, truncated) = read(&file);
    assert_eq!(records.len(), 11);
    assert!(!truncated);

    let bytes = fs::read(&file).unwrap();
    fs::write(&file, &bytes[..bytes.len() - 10]).unwrap();
    let (_, records, truncated) = read(&file);
    assert_eq!(records.len(), 10);
    assert!(truncated);
    assert_eq!(records[9].event, Event::Server(vec![8; 1000]));
}

#[tokio::test]
async fn oversized_frames_are_refused_before_queueing() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let h = header(6);
    let (rec, _task) =
        RdpRecorder::start(open(&disk, &h), &h, RdpRecorderConfig::default()).unwrap();
    let err = rec
        .server_frame(Bytes::from(vec![0u8; (1 << 20) + 1]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::FrameTooLarge { len } if len == (1 << 20) + 1));
    rec.server_frame(Bytes::from_static(b"\x00\x02"))
        .await
        .unwrap();
}
