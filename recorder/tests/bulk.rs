//! A large exec upload in bulk mode: compact, complete, and in flat memory.
//! Alone in its own test binary so that the RSS measurement sees nothing else.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: any failure must fail the test loudly"
)]

mod common;

use std::fs::{self, File};
use std::io::BufReader;
use std::time::Instant;

use common::{header, started};
use ed25519_dalek::SigningKey;
use fumidai_recorder::format::asciicast::DataMode;
use fumidai_recorder::format::datafile::{DataReader, RECORD_HEADER_LEN, Stream};
use fumidai_recorder::format::reassemble::reassemble;
use fumidai_recorder::sink::{LocalDisk, RecordingStorage};
use fumidai_recorder::{FileKind, Recorder, RecorderConfig, Sha256Digest};
use sha2::{Digest, Sha256};

const TOTAL: usize = 256 << 20;
const PACKET: usize = 32 << 10; // an SSH channel data packet

fn rss_kib(field: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_upload_is_compact_complete_and_memory_flat() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = LocalDisk::new(tmp.path());
    let h = header(20, DataMode::Bulk);
    let id = h.fumidai.recording_id();
    let (rec, task) = Recorder::start(
        disk.open(&id, started()).unwrap(),
        &h,
        RecorderConfig::default(),
    )
    .unwrap();
    let before = rss_kib("VmRSS:");
    let begin = Instant::now();

    let mut sent = Sha256::new();
    let mut packet = vec![0u8; PACKET];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..TOTAL / PACKET {
        for b in packet.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
        sent.update(&packet);
        rec.input(packet.clone()).await.unwrap();
    }
    let sealed = rec.finish(&SigningKey::from_bytes(&[2; 32])).await.unwrap();
    task.await.unwrap().unwrap();
    let elapsed = begin.elapsed();
    let growth_mib = rss_kib("VmHWM:").saturating_sub(before) / 1024;
    eprintln!(
        "bulk: {} MiB in {elapsed:?} ({:.0} MiB/s, debug build), peak RSS growth {growth_mib} MiB",
        TOTAL >> 20,
        (TOTAL >> 20) as f64 / elapsed.as_secs_f64()
    );
    assert!(growth_mib < 16, "RSS grew by {growth_mib} MiB");

    // Compact: the raw bytes plus 28 bytes per 32 KiB record; the cast is a few markers.
    let [cast, data, _] = [0, 1, 2].map(|i| sealed.statement.files[i].size);
    let records = (TOTAL / PACKET) as u64;
    assert_eq!(data, 8 + TOTAL as u64 + records * RECORD_HEADER_LEN as u64);
    assert!(cast < 64 << 10, "cast is {cast} bytes");

    // Complete: the side file gives back the exact upload.
    let path = disk.path(&id, started(), FileKind::Data);
    let reader = DataReader::open(BufReader::new(File::open(path).unwrap())).unwrap();
    let mut got = Sha256Writer(Sha256::new());
    let n = reassemble(DataMode::Bulk, Stream::Input, [], reader, &mut got).unwrap();
    assert_eq!(n, TOTAL as u64);
    assert_eq!(
        Sha256Digest(got.0.finalize().into()),
        Sha256Digest(sent.finalize().into())
    );
}

struct Sha256Writer(Sha256);

impl std::io::Write for Sha256Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
