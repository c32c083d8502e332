//! The writer task: a thin loop around the encoder, with the sink's blocking I/O moved to
//! `spawn_blocking` so a slow disk never stalls the runtime's worker threads.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::{Instant, MissedTickBehavior, interval_at};

use super::encode::{Encoder, Pending};
use super::{Body, Msg, RecorderConfig};
use crate::digest::Sha256Digest;
use crate::error::{Error, Result};
use crate::id::{FileKind, RecordingId};
use crate::seal::{FileDigest, Statement};
use crate::sink::RecordingSink;

/// Buffers larger than this are freed after a write instead of kept for reuse, so an idle
/// session does not sit on a bulk-sized allocation.
const KEEP_CAPACITY: usize = 16 << 10;

/// The sink and a running SHA-256 and size per file, updated as bytes are written, so
/// sealing needs no second read of the files.
pub(crate) struct Files {
    sink: Box<dyn RecordingSink>,
    /// Which recording, for the statement.
    id: RecordingId,
    tallies: [(FileKind, Sha256, u64); 3],
}

impl Files {
    pub(crate) fn new(sink: Box<dyn RecordingSink>, id: RecordingId) -> Self {
        Self {
            sink,
            id,
            tallies: FileKind::SSH.map(|k| (k, Sha256::new(), 0)),
        }
    }

    /// Appends and flushes every non-empty pending buffer (blocking).
    pub(crate) fn write(&mut self, pending: &mut Pending) -> Result<()> {
        for (kind, hasher, size) in &mut self.tallies {
            let Some(buf) = pending.get_mut(*kind).filter(|b| !b.is_empty()) else {
                continue;
            };
            let fail = |e| Error::write(*kind, e);
            self.sink.append(*kind, buf).map_err(fail)?;
            hasher.update(buf.as_slice());
            *size += buf.len() as u64;
            buf.clear();
            if buf.capacity() > KEEP_CAPACITY {
                *buf = Vec::new();
            }
            self.sink.flush(*kind).map_err(fail)?;
        }
        Ok(())
    }

    /// `fsync`s and closes every file, and states what was written (blocking).
    fn close(mut self) -> Result<Statement> {
        let mut files = Vec::with_capacity(self.tallies.len());
        for (kind, hasher, size) in self.tallies {
            self.sink.close(kind).map_err(|e| Error::Sync {
                file: kind,
                source: Arc::new(e),
            })?;
            files.push(FileDigest {
                name: self.sink.name(kind).to_owned(),
                size,
                sha256: Sha256Digest::from_hasher(hasher),
            });
        }
        Ok(Statement {
            recording: self.id,
            files,
        })
    }
}

/// Runs until finish, until every handle is gone, or until the first error, which is
/// published to the handles before the channel closes.
pub(crate) async fn run(
    mut rx: mpsc::Receiver<Msg>,
    files: Files,
    encoder: Encoder,
    pending: Pending,
    config: RecorderConfig,
    failure: Arc<OnceLock<Error>>,
) -> Result<()> {
    let result = serve(&mut rx, files, encoder, pending, &config).await;
    if let Err(e) = &result {
        let _ = failure.set(e.clone());
    }
    // Senders waiting on a full queue wake up now and see the failure.
    drop(rx);
    result
}

async fn serve(
    rx: &mut mpsc::Receiver<Msg>,
    files: Files,
    mut enc: Encoder,
    mut pending: Pending,
    config: &RecorderConfig,
) -> Result<()> {
    let mut tick = interval_at(Instant::now() + config.flush_every, config.flush_every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut io = Io::new(files);
    let mut last_t = Duration::ZERO;
    // The timer fired with bytes pending: write them as soon as no write is in flight.
    let mut flush_due = false;
    loop {
        // Stop taking messages while the pending buffers are full and the previous write
        // is still in flight: the queue fills up and senders wait (backpressure).
        let room = pending.largest() < config.write_threshold;
        tokio::select! {
            msg = rx.recv(), if room => {
                let Some(Msg { t, body }) = msg else {
                    // Every handle dropped without finish: close the files, unsealed.
                    close(io, enc, pending, last_t).await?;
                    return Ok(());
                };
                last_t = last_t.max(t);
                if let Body::Finish(reply) = body {
                    let r = finish(rx, io, enc, pending, last_t).await;
                    // Replied before `run` returns, so the caller gets the real error.
                    let _ = reply.send(r.clone());
                    return r.map(drop);
                }
                apply(&mut enc, &mut pending, t, body)?;
            }
            done = join(&mut io.in_flight) => io.landed(done)?,
            _ = tick.tick() => flush_due = !pending.is_empty(),
        }
        if io.in_flight.is_none()
            && (flush_due || !room || pending.largest() >= config.write_threshold)
        {
            io.start(&mut pending);
            flush_due = false;
        }
    }
}

/// The files and at most one write in flight on a blocking thread, so that receiving and
/// encoding the next batch overlaps with writing and hashing this one.
struct Io {
    /// `None` while a write is in flight (it owns the files then).
    files: Option<Files>,
    in_flight: Option<JoinHandle<(Files, Pending, Result<()>)>>,
    /// The buffers of the last finished write, reused for the next batch.
    spare: Pending,
}

impl Io {
    fn new(files: Files) -> Self {
        Self {
            files: Some(files),
            in_flight: None,
            spare: Pending::default(),
        }
    }

    /// Hands `pending` to a blocking thread; `pending` continues with empty buffers.
    fn start(&mut self, pending: &mut Pending) {
        if pending.is_empty() {
            return;
        }
        let Some(mut files) = self.files.take() else {
            return;
        };
        let mut batch = std::mem::replace(pending, std::mem::take(&mut self.spare));
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let r = files.write(&mut batch);
            (files, batch, r)
        }));
    }

    fn landed(
        &mut self,
        done: std::result::Result<(Files, Pending, Result<()>), JoinError>,
    ) -> Result<()> {
        self.in_flight = None;
        let (files, batch, r) = done.map_err(|_| Error::Stopped)?;
        self.files = Some(files);
        self.spare = batch;
        r
    }

    /// Waits for the write in flight, if any, and takes the files back.
    async fn settle(mut self) -> Result<Files> {
        if self.in_flight.is_some() {
            let done = join(&mut self.in_flight).await;
            self.landed(done)?;
        }
        self.files.ok_or(Error::Stopped)
    }
}

/// Awaits the write in flight; never completes when there is none.
async fn join<T>(h: &mut Option<JoinHandle<T>>) -> std::result::Result<T, JoinError> {
    match h {
        Some(h) => h.await,
        None => std::future::pending().await,
    }
}

fn apply(enc: &mut Encoder, p: &mut Pending, t: Duration, body: Body) -> Result<()> {
    let (file, r) = match body {
        Body::Data(stream, bytes) => (FileKind::Data, enc.data(p, t, stream, &bytes)),
        Body::Resize { cols, rows } => (FileKind::Cast, enc.resize(p, t, cols, rows)),
        Body::Transfer(rec) => (FileKind::Transfers, enc.transfer(p, t, &rec)),
        // A second finish from another clone: the first one wins.
        Body::Finish(_) => return Ok(()),
    };
    // Encoding into memory cannot fail; if it ever did, it is this file's write failing.
    r.map_err(|e| Error::write(file, e))
}

/// Records what was accepted before the channel closed, then closes the files.
async fn finish(
    rx: &mut mpsc::Receiver<Msg>,
    io: Io,
    mut enc: Encoder,
    mut pending: Pending,
    mut last_t: Duration,
) -> Result<Statement> {
    rx.close();
    while let Ok(Msg { t, body }) = rx.try_recv() {
        last_t = last_t.max(t);
        apply(&mut enc, &mut pending, t, body)?;
    }
    close(io, enc, pending, last_t).await
}

async fn close(io: Io, mut enc: Encoder, mut pending: Pending, t: Duration) -> Result<Statement> {
    let mut files = io.settle().await?;
    enc.finish(&mut pending, t)
        .map_err(|e| Error::write(FileKind::Cast, e))?;
    tokio::task::spawn_blocking(move || {
        files.write(&mut pending)?;
        files.close()
    })
    .await
    .map_err(|_| Error::Stopped)?
}
