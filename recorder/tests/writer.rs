//! The writer task against real files: flush cadence, backpressure, failures, sealing.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: any failure must fail the test loudly"
)]

mod common;

use std::fs;
use std::sync::Arc;
use std::time::Duration;

use common::{Gate, GateSink, ProbeSink, header, read_cast, read_data, started};
use ed25519_dalek::SigningKey;
use fumidai_recorder::format::asciicast::DataMode;
use fumidai_recorder::format::cast_reader::EventKind;
use fumidai_recorder::format::transfers::{
    TransferDirection, TransferHasher, TransferOutcome, TransferRecord, read_transfers,
};
use fumidai_recorder::seal::{self, verify_files};
use fumidai_recorder::sink::{LocalDisk, RecordingStorage};
use fumidai_recorder::{
    Error, FileKind, Mismatch, Recorder, RecorderConfig, RecordingKind, Statement,
};
use tokio::time::{Instant, timeout};

fn key() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}

fn outputs(events: &[fumidai_recorder::format::cast_reader::Event]) -> String {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Output(s) => Some(s.as_str()),
            _ => None,
        })
        .collect()
}

/// A crash loses at most `flush_every`: an event is on disk, as a whole parseable line,
/// no later than one second after it was recorded, without finish.
#[tokio::test(start_paused = true)]
async fn flushes_at_least_every_second() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let h = header(1, DataMode::Interactive);
    let probe = ProbeSink::new(disk.open(&h.fumidai.recording_id(), started()).unwrap());
    let flushed = Arc::clone(&probe.flushed);
    let (rec, _task) = Recorder::start(Box::new(probe), &h, RecorderConfig::default()).unwrap();
    let cast = disk.path(&h.fumidai.recording_id(), started(), FileKind::Cast);
    assert_eq!(read_cast(&cast).1.len(), 0, "header is written at start");
    flushed.notified().await; // the header's flush, already done (stored permit)

    tokio::time::advance(Duration::from_millis(300)).await;
    let sent = Instant::now();
    rec.output(b"small, below the write threshold\r\n".as_slice())
        .await
        .unwrap();
    // Paused clock: while waiting, time moves only to the next timer (the 1 s tick).
    timeout(Duration::from_secs(5), flushed.notified())
        .await
        .expect("no flush within 5 s");
    assert!(
        sent.elapsed() <= Duration::from_secs(1),
        "flushed after {:?}",
        sent.elapsed()
    );
    let (_, events, truncated) = read_cast(&cast);
    assert_eq!(outputs(&events), "small, below the write threshold\r\n");
    assert!(!truncated);
    assert_eq!(events[0].t, Duration::from_millis(300));
}

/// The flush timer counts from `Recorder::start`, not from the writer task's first poll: an
/// event handed over before the task first runs (a busy runtime) is on disk no later than
/// `flush_every` after it was recorded. (Until the SSH and RDP writers shared one pipeline,
/// the SSH timer started at the first poll, and this waited 1.6 s.)
#[tokio::test(start_paused = true)]
async fn flush_timer_counts_from_start() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let h = header(1, DataMode::Interactive);
    let probe = ProbeSink::new(disk.open(&h.fumidai.recording_id(), started()).unwrap());
    let flushed = Arc::clone(&probe.flushed);
    let (rec, _task) = Recorder::start(Box::new(probe), &h, RecorderConfig::default()).unwrap();
    flushed.notified().await; // the header's flush, already done (stored permit)

    // Nothing here yields, so the writer task has not run yet.
    let sent = Instant::now();
    rec.output(b"before the task runs\r\n".as_slice())
        .await
        .unwrap();
    // The task first runs 600 ms late.
    tokio::time::advance(Duration::from_millis(600)).await;
    timeout(Duration::from_secs(5), flushed.notified())
        .await
        .expect("no flush within 5 s");
    assert!(
        sent.elapsed() <= Duration::from_secs(1),
        "flushed after {:?}",
        sent.elapsed()
    );
    let cast = disk.path(&h.fumidai.recording_id(), started(), FileKind::Cast);
    assert_eq!(outputs(&read_cast(&cast).1), "before the task runs\r\n");
}

/// A disk slower than the network makes the sender wait; what is held in memory is the
/// queue, never the caller's whole buffer.
#[tokio::test]
async fn slow_disk_makes_senders_wait() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let h = header(2, DataMode::Interactive);
    let gate = Arc::new(Gate::default());
    let sink = GateSink {
        inner: disk.open(&h.fumidai.recording_id(), started()).unwrap(),
        gate: Arc::clone(&gate),
    };
    let config = RecorderConfig {
        queue_depth: 4,
        chunk_size: 1024,
        write_threshold: 1,
        ..Default::default()
    };
    let (rec, task) = Recorder::start(Box::new(sink), &h, config).unwrap();
    gate.close();

    let chunk = [b'a'; 1024];
    rec.output(chunk.to_vec()).await.unwrap(); // taken by the writer, which now blocks in append
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !gate.has_waiter() {
        assert!(
            std::time::Instant::now() < deadline,
            "writer never reached the sink"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for _ in 0..4 {
        timeout(Duration::from_secs(5), rec.output(chunk.to_vec()))
            .await
            .expect("fits in the queue")
            .unwrap();
    }
    // The queue is full: a 1 MiB buffer cannot get past its first chunk.
    let big = tokio::spawn({
        let rec = rec.clone();
        async move { rec.output(vec![b'b'; 1 << 20]).await }
    });
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert!(
        !big.is_finished(),
        "send completed although the disk is stalled"
    );
    assert!(gate.has_waiter());

    gate.open();
    timeout(Duration::from_secs(30), big)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    rec.finish(&key()).await.unwrap();
    task.await.unwrap().unwrap();
    let (_, events, _) =
        read_cast(&disk.path(&h.fumidai.recording_id(), started(), FileKind::Cast));
    assert_eq!(
        outputs(&events),
        format!("{}{}", "a".repeat(5 * 1024), "b".repeat(1 << 20))
    );
    assert!(
        events
            .iter()
            .all(|e| matches!(&e.kind, EventKind::Output(s) if s.len() <= 1024))
    );
}

/// A full disk ends the recording with a typed error that every caller sees.
#[tokio::test]
async fn write_failure_reaches_the_caller() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let h = header(3, DataMode::Interactive);
    let mut probe = ProbeSink::new(disk.open(&h.fumidai.recording_id(), started()).unwrap());
    probe.fail_after = Some(1000);
    let config = RecorderConfig {
        write_threshold: 1,
        ..Default::default()
    };
    let (rec, task) = Recorder::start(Box::new(probe), &h, config).unwrap();
    let other = rec.clone();
    let mut result = Ok(());
    for _ in 0..1000 {
        result = rec.output(vec![b'x'; 100]).await;
        if result.is_err() {
            break;
        }
    }
    let is_enospc = |e: &Error| matches!(e, Error::Write { file: FileKind::Cast, source } if source.raw_os_error() == Some(28));
    let err = result.unwrap_err();
    assert!(is_enospc(&err), "{err:?}");
    assert_eq!(err.to_string(), "writing the recording's cast failed");
    assert!(is_enospc(&other.input(b"q".as_slice()).await.unwrap_err()));
    assert!(is_enospc(&task.await.unwrap().unwrap_err()));
    assert!(is_enospc(&other.finish(&key()).await.unwrap_err()));
}

#[tokio::test]
async fn finish_seals_and_tampering_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let h = header(4, DataMode::Interactive);
    let id = h.fumidai.recording_id();
    let (rec, task) = Recorder::start(
        disk.open(&id, started()).unwrap(),
        &h,
        RecorderConfig::default(),
    )
    .unwrap();
    rec.output(b"$ ".as_slice()).await.unwrap();
    rec.input(b"scp\r".as_slice()).await.unwrap();
    let mut hasher = TransferHasher::new();
    hasher.update(b"firmware");
    let (size, sha256) = hasher.finish();
    let upload = TransferRecord {
        direction: TransferDirection::Upload,
        path: "/opt/fw.bin".into(),
        size,
        sha256: Some(sha256),
        outcome: TransferOutcome::Completed,
        reason: None,
    };
    rec.transfer(upload.clone()).await.unwrap();
    let sealed = rec.finish(&key()).await.unwrap();
    task.await.unwrap().unwrap();

    let s = &sealed.statement;
    assert_eq!(s.recording, id);
    let names: Vec<_> = s.files.iter().map(|f| f.name.clone()).collect();
    // Only the SSH files: no `.rdp` line, as in seals made before RDP recordings existed.
    let want: Vec<_> = FileKind::SSH
        .iter()
        .map(|k| LocalDisk::name(&id, started(), *k))
        .collect();
    assert_eq!(names, want);
    for f in &s.files {
        assert_eq!(
            f.size,
            fs::metadata(tmp.path().join(&f.name)).unwrap().len()
        );
    }
    // What the lead stores in the audit chain, read back later by `audit verify`.
    let stored = (s.canonical(), sealed.signature_hex());
    let statement = Statement::parse(&stored.0).unwrap();
    let sig_bytes: [u8; 64] = hex::decode(&stored.1).unwrap().try_into().unwrap();
    let signature = ed25519_dalek::Signature::from_bytes(&sig_bytes);
    seal::verify(&statement, &signature, &key().verifying_key()).unwrap();
    verify_files(tmp.path(), &statement).unwrap();

    let (lines, _) = read_transfers(&fs::read(tmp.path().join(&names[2])).unwrap()[..]).unwrap();
    assert_eq!(
        lines.iter().map(|l| &l.record).collect::<Vec<_>>(),
        [&upload]
    );

    // One changed byte in the cast: "scp" becomes "ssh"... any flip is caught.
    let cast = tmp.path().join(&names[0]);
    let mut bytes = fs::read(&cast).unwrap();
    let at = bytes.windows(3).position(|w| w == b"scp").unwrap();
    bytes[at + 1] = b's';
    fs::write(&cast, &bytes).unwrap();
    match verify_files(tmp.path(), &statement) {
        Err(Error::Tampered {
            name,
            mismatch: Mismatch::Digest,
        }) => assert_eq!(name, names[0]),
        other => panic!("tampering not detected: {other:?}"),
    }
}

/// Handles dropped without finish (the gateway lost the session): files are closed whole,
/// unsealed, and can be sealed afterwards from disk.
#[tokio::test]
async fn dropped_handles_close_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let h = header(5, DataMode::Interactive);
    let id = h.fumidai.recording_id();
    let (rec, task) = Recorder::start(
        disk.open(&id, started()).unwrap(),
        &h,
        RecorderConfig::default(),
    )
    .unwrap();
    rec.output(b"partial \xe2\x82".as_slice()).await.unwrap();
    drop(rec);
    task.await.unwrap().unwrap();
    let (_, events, truncated) = read_cast(&disk.path(&id, started(), FileKind::Cast));
    assert_eq!(outputs(&events), "partial \u{fffd}");
    assert!(!truncated);
    let raws = read_data(&disk.path(&id, started(), FileKind::Data));
    assert_eq!(raws.len(), 1);
    assert_eq!(raws[0].payload, b"\xe2\x82");
    let names: Vec<_> = RecordingKind::Ssh
        .files()
        .iter()
        .map(|k| LocalDisk::name(&id, started(), *k))
        .collect();
    let statement = Statement::from_files(tmp.path(), id, &names).unwrap();
    verify_files(tmp.path(), &statement).unwrap();
}
