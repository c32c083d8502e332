//! Fixtures shared by the recorder's integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    reason = "test fixtures: each test binary uses a subset; failures must be loud"
)]

pub mod rdp;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use chrono::{DateTime, Utc};
use fumidai_recorder::FileKind;
use fumidai_recorder::format::asciicast::{DataMode, FumidaiMeta, Header, SessionKind};
use fumidai_recorder::format::cast_reader::{CastReader, Event};
use fumidai_recorder::format::datafile::{DataReader, DataRecord};
use fumidai_recorder::sink::RecordingSink;
use uuid::Uuid;

pub fn started() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

pub fn header(session: u128, mode: DataMode) -> Header {
    Header {
        width: 80,
        height: 24,
        timestamp: started(),
        command: (mode == DataMode::Bulk).then(|| "cat > /tmp/upload".into()),
        title: Some("alice@pacs-01".into()),
        env: BTreeMap::from([("TERM".into(), "xterm-256color".into())]),
        fumidai: FumidaiMeta {
            session_id: Uuid::from_u128(session),
            channel: None,
            engineer: "alice".into(),
            target: "pacs-01".into(),
            plan_id: "7".into(),
            kind: if mode == DataMode::Bulk {
                SessionKind::Exec
            } else {
                SessionKind::Shell
            },
            data: mode,
        },
    }
}

pub fn read_cast(path: &Path) -> (Header, Vec<Event>, bool) {
    let (h, mut r) = CastReader::open(BufReader::new(File::open(path).unwrap())).unwrap();
    let events = r.by_ref().map(Result::unwrap).collect();
    (h, events, r.truncated())
}

pub fn read_data(path: &Path) -> Vec<DataRecord> {
    DataReader::open(BufReader::new(File::open(path).unwrap()))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Wraps a sink; while closed, `append` blocks (a disk slower than the network).
pub struct GateSink {
    pub inner: Box<dyn RecordingSink>,
    pub gate: Arc<Gate>,
}

#[derive(Default)]
pub struct Gate {
    state: Mutex<GateState>,
    cv: Condvar,
}

#[derive(Default)]
struct GateState {
    closed: bool,
    waiting: usize,
}

impl Gate {
    pub fn close(&self) {
        self.state.lock().unwrap().closed = true;
    }

    pub fn open(&self) {
        self.state.lock().unwrap().closed = false;
        self.cv.notify_all();
    }

    /// Whether a writer is blocked in `append` right now.
    pub fn has_waiter(&self) -> bool {
        self.state.lock().unwrap().waiting > 0
    }

    fn pass(&self) {
        let mut s = self.state.lock().unwrap();
        s.waiting += 1;
        while s.closed {
            s = self.cv.wait(s).unwrap();
        }
        s.waiting -= 1;
    }
}

impl RecordingSink for GateSink {
    fn name(&self, file: FileKind) -> &str {
        self.inner.name(file)
    }
    fn append(&mut self, file: FileKind, bytes: &[u8]) -> io::Result<()> {
        self.gate.pass();
        self.inner.append(file, bytes)
    }
    fn flush(&mut self, file: FileKind) -> io::Result<()> {
        self.inner.flush(file)
    }
    fn close(&mut self, file: FileKind) -> io::Result<()> {
        self.inner.close(file)
    }
}

/// Wraps a sink; reports every flush of `file` (the cast unless changed), and fails appends
/// once `fail_after` bytes of it have been written (a full disk).
pub struct ProbeSink {
    pub inner: Box<dyn RecordingSink>,
    pub file: FileKind,
    pub flushed: Arc<tokio::sync::Notify>,
    pub fail_after: Option<usize>,
    pub written: usize,
}

impl ProbeSink {
    pub fn new(inner: Box<dyn RecordingSink>) -> Self {
        Self {
            inner,
            file: FileKind::Cast,
            flushed: Arc::default(),
            fail_after: None,
            written: 0,
        }
    }
}

impl RecordingSink for ProbeSink {
    fn name(&self, file: FileKind) -> &str {
        self.inner.name(file)
    }
    fn append(&mut self, file: FileKind, bytes: &[u8]) -> io::Result<()> {
        if file == self.file {
            if self
                .fail_after
                .is_some_and(|n| self.written + bytes.len() > n)
            {
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            self.written += bytes.len();
        }
        self.inner.append(file, bytes)
    }
    fn flush(&mut self, file: FileKind) -> io::Result<()> {
        self.inner.flush(file)?;
        if file == self.file {
            self.flushed.notify_one();
        }
        Ok(())
    }
    fn close(&mut self, file: FileKind) -> io::Result<()> {
        self.inner.close(file)
    }
}
