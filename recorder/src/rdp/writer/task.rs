//! The RDP writer task: a thin loop that frames records into a pending buffer and hands
//! full buffers to a blocking thread, one write in flight at a time.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::{Instant, MissedTickBehavior, interval_at};

use super::{Body, Msg, RdpRecorderConfig};
use crate::digest::Sha256Digest;
use crate::error::{Error, Result};
use crate::id::{FileKind, RecordingId};
use crate::rdp::format;
use crate::seal::{FileDigest, Statement};
use crate::sink::RecordingSink;

/// Buffers larger than this are freed after a write instead of kept for reuse.
const KEEP_CAPACITY: usize = 64 << 10;

/// The sink, with a running SHA-256 and size of what was written, so sealing needs no
/// second read of the file.
pub(super) struct File {
    sink: Box<dyn RecordingSink>,
    id: RecordingId,
    hasher: Sha256,
    size: u64,
}

impl File {
    pub(super) fn new(sink: Box<dyn RecordingSink>, id: RecordingId) -> Self {
        Self {
            sink,
            id,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// Appends and flushes `pending` if not empty, and empties it (blocking).
    pub(super) fn write(&mut self, pending: &mut Vec<u8>) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let fail = |e| Error::write(FileKind::Rdp, e);
        self.sink.append(FileKind::Rdp, pending).map_err(fail)?;
        self.hasher.update(pending.as_slice());
        self.size += pending.len() as u64;
        pending.clear();
        if pending.capacity() > KEEP_CAPACITY {
            *pending = Vec::new();
        }
        self.sink.flush(FileKind::Rdp).map_err(fail)
    }

    /// `fsync`s and closes the file, and states what was written (blocking).
    fn close(mut self) -> Result<Statement> {
        self.sink.close(FileKind::Rdp).map_err(|e| Error::Sync {
            file: FileKind::Rdp,
            source: Arc::new(e),
        })?;
        Ok(Statement {
            recording: self.id,
            files: vec![FileDigest {
                name: self.sink.name(FileKind::Rdp).to_owned(),
                size: self.size,
                sha256: Sha256Digest::from_hasher(self.hasher),
            }],
        })
    }
}

/// Runs until finish, until every handle is gone, or until the first error, which is
/// published to the handles before the channel closes.
pub(super) async fn run(
    mut rx: mpsc::Receiver<Msg>,
    file: File,
    pending: Vec<u8>,
    config: RdpRecorderConfig,
    start: Instant,
    failure: Arc<OnceLock<Error>>,
) -> Result<()> {
    let result = serve(&mut rx, file, pending, &config, start).await;
    if let Err(e) = &result {
        let _ = failure.set(e.clone());
    }
    // Senders waiting on a full queue wake up now and see the failure.
    drop(rx);
    result
}

async fn serve(
    rx: &mut mpsc::Receiver<Msg>,
    file: File,
    mut pending: Vec<u8>,
    config: &RdpRecorderConfig,
    start: Instant,
) -> Result<()> {
    let mut tick = interval_at(start + config.flush_every, config.flush_every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut io = Io::new(file);
    let mut last_t = Duration::ZERO;
    let mut flush_due = false;
    loop {
        // While the buffer is full and a write is in flight, stop taking messages: the
        // queue fills up and senders wait (backpressure).
        let room = pending.len() < config.write_threshold;
        tokio::select! {
            msg = rx.recv(), if room => {
                let Some(Msg { t, body }) = msg else {
                    // Every handle dropped without finish: close the file, unsealed.
                    close(io, pending).await?;
                    return Ok(());
                };
                match body {
                    Body::Record(kind, payload) => {
                        last_t = last_t.max(t);
                        encode(&mut pending, last_t, kind, &payload)?;
                    }
                    Body::Finish(reply) => {
                        let r = finish(rx, io, pending, last_t).await;
                        // Replied before `run` returns, so the caller gets the real error.
                        let _ = reply.send(r.clone());
                        return r.map(drop);
                    }
                }
            }
            done = join(&mut io.in_flight) => io.landed(done)?,
            _ = tick.tick() => flush_due = !pending.is_empty(),
        }
        if io.in_flight.is_none() && (flush_due || pending.len() >= config.write_threshold) {
            io.start(&mut pending);
            flush_due = false;
        }
    }
}

fn encode(
    pending: &mut Vec<u8>,
    t: Duration,
    kind: format::RecordKind,
    payload: &[u8],
) -> Result<()> {
    // Into memory, so only an oversized payload can fail, and the handle refused those.
    format::write_record(pending, t, kind, payload).map_err(|e| Error::write(FileKind::Rdp, e))
}

/// What a finished write hands back: the file, the emptied buffer, and the outcome.
type Written = (File, Vec<u8>, Result<()>);

/// The file and at most one write in flight on a blocking thread.
struct Io {
    /// `None` while a write is in flight (it owns the file then).
    file: Option<File>,
    in_flight: Option<JoinHandle<Written>>,
    /// The buffer of the last finished write, reused for the next batch.
    spare: Vec<u8>,
}

impl Io {
    fn new(file: File) -> Self {
        Self {
            file: Some(file),
            in_flight: None,
            spare: Vec::new(),
        }
    }

    /// Hands `pending` to a blocking thread; `pending` continues with an empty buffer.
    fn start(&mut self, pending: &mut Vec<u8>) {
        if pending.is_empty() {
            return;
        }
        let Some(mut file) = self.file.take() else {
            return;
        };
        let mut batch = std::mem::replace(pending, std::mem::take(&mut self.spare));
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let r = file.write(&mut batch);
            (file, batch, r)
        }));
    }

    fn landed(&mut self, done: std::result::Result<Written, JoinError>) -> Result<()> {
        self.in_flight = None;
        let (file, batch, r) = done.map_err(|_| Error::Stopped)?;
        self.file = Some(file);
        self.spare = batch;
        r
    }

    /// Waits for the write in flight, if any, and takes the file back.
    async fn settle(mut self) -> Result<File> {
        if self.in_flight.is_some() {
            let done = join(&mut self.in_flight).await;
            self.landed(done)?;
        }
        self.file.ok_or(Error::Stopped)
    }
}

/// Awaits the write in flight; never completes when there is none.
async fn join<T>(h: &mut Option<JoinHandle<T>>) -> std::result::Result<T, JoinError> {
    match h {
        Some(h) => h.await,
        None => std::future::pending().await,
    }
}

/// Records what was accepted before the channel closed, then closes the file.
async fn finish(
    rx: &mut mpsc::Receiver<Msg>,
    io: Io,
    mut pending: Vec<u8>,
    mut last_t: Duration,
) -> Result<Statement> {
    rx.close();
    while let Ok(Msg { t, body }) = rx.try_recv() {
        if let Body::Record(kind, payload) = body {
            last_t = last_t.max(t);
            encode(&mut pending, last_t, kind, &payload)?;
        }
    }
    close(io, pending).await
}

async fn close(io: Io, mut pending: Vec<u8>) -> Result<Statement> {
    let mut file = io.settle().await?;
    tokio::task::spawn_blocking(move || {
        file.write(&mut pending)?;
        file.close()
    })
    .await
    .map_err(|_| Error::Stopped)?
}
