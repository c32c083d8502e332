//! The file transfer log (`<recording>.transfers.jsonl`): one JSON object per line.
//!
//! ```text
//! {"t":12.5,"direction":"upload","path":"/tmp/fw.bin","size":1048576,"sha256":"9f…","outcome":"completed"}
//! {"t":30.25,"direction":"download","path":"/etc/shadow","size":0,"outcome":"refused","reason":"plan does not allow download"}
//! ```
//!
//! `t` is seconds since the start of the recording. `sha256` is absent when no digest
//! exists (a refused transfer, or one whose writes were not sequential).

use std::io::{self, BufRead, Read, Write};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{duration_from_secs, micros};
use crate::digest::Sha256Digest;
use crate::error::{Error, Result};

/// Longest transfer-log line the reader accepts.
pub const MAX_LINE: usize = 64 << 10;

/// Which way a file went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferDirection {
    /// Engineer to target.
    Upload,
    /// Target to engineer.
    Download,
}

impl TransferDirection {
    /// The name used in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferDirection::Upload => "upload",
            TransferDirection::Download => "download",
        }
    }
}

/// How a transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferOutcome {
    /// All bytes went through.
    Completed,
    /// Policy refused it (no `download` in the plan, forbidden file type, virus found).
    Refused,
    /// It started but did not complete (connection lost, error on the target).
    Aborted,
}

impl TransferOutcome {
    /// The name used in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferOutcome::Completed => "completed",
            TransferOutcome::Refused => "refused",
            TransferOutcome::Aborted => "aborted",
        }
    }
}

/// One file transfer, as the gateway saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRecord {
    /// Upload or download.
    pub direction: TransferDirection,
    /// The path on the target, as the client named it (non-UTF-8 bytes replaced by U+FFFD
    /// by the caller).
    pub path: String,
    /// Bytes actually transferred.
    pub size: u64,
    /// SHA-256 of the bytes transferred, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256Digest>,
    /// How it ended.
    pub outcome: TransferOutcome,
    /// Why it was refused or aborted, for the reviewer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A transfer log line: the record and when it was logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferLine {
    /// Time since the start of the recording.
    pub t: Duration,
    /// The record.
    pub record: TransferRecord,
}

#[derive(Serialize, Deserialize)]
struct Wire<R> {
    t: f64,
    #[serde(flatten)]
    record: R,
}

/// Writes one line.
pub fn write_transfer(w: &mut impl Write, t: Duration, record: &TransferRecord) -> io::Result<()> {
    // Microseconds as f64 are exact below 2^53 µs (285 years); serde_json prints the
    // shortest decimal that round-trips.
    let t = micros(t) as f64 / 1e6;
    serde_json::to_writer(&mut *w, &Wire { t, record })?;
    w.write_all(b"\n")
}

/// Reads a whole transfer log. A cut last line (crash) is dropped; the flag says so.
pub fn read_transfers(reader: impl BufRead) -> Result<(Vec<TransferLine>, bool)> {
    let mut lines = Vec::new();
    let mut reader = reader;
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        line += 1;
        let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX) + 1;
        let n = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .map_err(Error::read)?;
        if n == 0 {
            return Ok((lines, false));
        }
        let complete = buf.last() == Some(&b'\n');
        if !complete && buf.len() > MAX_LINE {
            return Err(Error::LineTooLong {
                line,
                max: MAX_LINE,
            });
        }
        let parsed = serde_json::from_slice::<Wire<TransferRecord>>(&buf)
            .ok()
            .and_then(|w| {
                Some(TransferLine {
                    t: duration_from_secs(w.t)?,
                    record: w.record,
                })
            });
        match parsed {
            Some(l) => lines.push(l),
            None if !complete => return Ok((lines, true)),
            None => return Err(Error::BadTransfer { line }),
        }
    }
}

/// SHA-256 and size of a transfer, fed chunk by chunk as the bytes pass through.
#[derive(Debug, Clone, Default)]
pub struct TransferHasher {
    hasher: Sha256,
    size: u64,
}

impl TransferHasher {
    /// An empty hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next chunk (for byte streams: `scp`, `cat`).
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
    }

    /// Adds a chunk written at `offset` (SFTP `WRITE`/`READ`). The digest is only meaningful
    /// for data seen in order, so a chunk that does not start where the last ended is
    /// refused with [`Error::NonSequential`]; the caller then logs the transfer without a
    /// digest (or refuses it, as policy says).
    pub fn update_at(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        if offset != self.size {
            return Err(Error::NonSequential {
                expected: self.size,
                got: offset,
            });
        }
        self.update(bytes);
        Ok(())
    }

    /// Bytes hashed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The size and digest.
    pub fn finish(self) -> (u64, Sha256Digest) {
        (self.size, Sha256Digest::from_hasher(self.hasher))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload() -> TransferRecord {
        TransferRecord {
            direction: TransferDirection::Upload,
            path: "/tmp/a \"b\".bin".into(),
            size: 3,
            sha256: Some(Sha256Digest::of(b"abc")),
            outcome: TransferOutcome::Completed,
            reason: None,
        }
    }

    fn refused() -> TransferRecord {
        TransferRecord {
            direction: TransferDirection::Download,
            path: "/etc/shadow".into(),
            size: 0,
            sha256: None,
            outcome: TransferOutcome::Refused,
            reason: Some("plan does not allow download".into()),
        }
    }

    #[test]
    fn lines() {
        let cases = [
            (
                Duration::from_micros(12_500_000),
                upload(),
                r#"{"t":12.5,"direction":"upload","path":"/tmp/a \"b\".bin","size":3,"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","outcome":"completed"}"#,
            ),
            (
                Duration::from_micros(1),
                refused(),
                r#"{"t":1e-6,"direction":"download","path":"/etc/shadow","size":0,"outcome":"refused","reason":"plan does not allow download"}"#,
            ),
        ];
        let mut log = Vec::new();
        for (t, rec, want) in &cases {
            let mut out = Vec::new();
            write_transfer(&mut out, *t, rec).unwrap();
            assert_eq!(String::from_utf8(out.clone()).unwrap(), format!("{want}\n"));
            log.extend(out);
        }
        let (back, truncated) = read_transfers(&log[..]).unwrap();
        assert!(!truncated);
        let want: Vec<_> = cases
            .into_iter()
            .map(|(t, record, _)| TransferLine { t, record })
            .collect();
        assert_eq!(back, want);
        // Cut inside the second line.
        let (back, truncated) = read_transfers(&log[..log.len() - 5]).unwrap();
        assert_eq!((back.len(), truncated), (1, true));
        // A malformed complete line is an error.
        let err = read_transfers(&b"{\"t\":1}\n"[..]).unwrap_err();
        assert_eq!(err.to_string(), "malformed transfer record on line 1");
    }

    #[test]
    fn hasher() {
        let mut h = TransferHasher::new();
        h.update(b"a");
        h.update_at(1, b"bc").unwrap();
        assert!(matches!(
            h.update_at(7, b"x"),
            Err(Error::NonSequential {
                expected: 3,
                got: 7
            })
        ));
        assert_eq!(h.size(), 3);
        assert_eq!(h.finish(), (3, Sha256Digest::of(b"abc")));
        assert_eq!(
            TransferHasher::new().finish().1.to_string()[..8],
            *"e3b0c442"
        );
    }
}
