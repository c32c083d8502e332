//! The writer pipeline SSH and RDP recordings share: a handle feeding a bounded channel, a
//! task encoding what it receives into pending buffers, and their blocking writes.
//!
//! ```text
//! handle.send(record).await ──▶ bounded channel (queue_depth messages)
//!                                    │
//!                         writer task: E::record (pure, into `E::Pending`)
//!                                    │  pending whole lines / records, per file
//!                         spawn_blocking: sink.append + flush, hash
//!                         (one batch in flight while the next is encoded)
//! ```
//!
//! What differs between recordings is behind [`Encode`] (the record type and how it is
//! encoded) and [`Batch`] (which files there are and their pending bytes); the channel,
//! backpressure, flush timer, fail-closed errors and sealing are here, once.
//!
//! **Backpressure.** The channel is bounded and the task stops taking messages while a
//! pending buffer holds `write_threshold` bytes and the previous write is in flight, so a
//! disk slower than the session makes senders wait instead of growing memory.
//!
//! **Crash safety.** Pending bytes are handed to the OS (written and `flush`ed) when a
//! buffer reaches `write_threshold` and at least every `flush_every`, always whole. The
//! timer counts from [`start`], not from the task's first poll, so a record handed over
//! before the task first runs still waits at most `flush_every`. Files are `fsync`ed at
//! close.
//!
//! **Errors.** The first I/O error stops the task; every later call on any handle returns
//! that same error (fail closed: the gateway ends the session).

mod files;
mod task;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use self::files::Files;
use crate::error::{Error, Result};
use crate::id::{FileKind, RecordingId};
use crate::seal::{self, Sealed, Statement};
use crate::sink::RecordingSink;

/// How one kind of recording turns records into bytes: pure, into memory, no I/O.
pub(crate) trait Encode: Send + 'static {
    /// What a handle hands over (an SSH channel's data, an RDP frame, …).
    type Record: Send + fmt::Debug + 'static;
    /// The bytes encoded and not yet written, per file.
    type Pending: Batch;

    /// Encodes one record, stamped `t` since the start. Stamps may arrive out of order when
    /// clones of a handle race; the encoder keeps its output's time monotonic.
    fn record(
        &mut self,
        pending: &mut Self::Pending,
        t: Duration,
        record: Self::Record,
    ) -> Result<()>;

    /// Ends the encoding (trailing bytes) at `t`, the latest stamp seen, before the files
    /// close, sealed or not.
    fn finish(&mut self, pending: &mut Self::Pending, t: Duration) -> Result<()>;
}

/// Pending bytes of one recording, one buffer per file.
pub(crate) trait Batch: Default + Send + 'static {
    /// The recording's files, in the order its statement lists them.
    const FILES: &'static [FileKind];
    /// Buffers larger than this are freed after a write instead of kept for reuse, so an
    /// idle session does not sit on a bulk-sized allocation.
    const KEEP_CAPACITY: usize;

    /// The buffer of one of [`FILES`](Self::FILES); `None` for another file.
    fn buffer_mut(&mut self, file: FileKind) -> Option<&mut Vec<u8>>;
    /// Bytes in the fullest buffer.
    fn largest(&self) -> usize;
    /// Whether every buffer is empty.
    fn is_empty(&self) -> bool {
        self.largest() == 0
    }
}

/// The pipeline's tuning, already bounded by the caller (`queue_depth` ≥ 1,
/// `flush_every` ≥ 1 ms).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    /// Messages the channel holds before senders wait.
    pub(crate) queue_depth: usize,
    /// Longest time encoded bytes wait before being handed to the OS.
    pub(crate) flush_every: Duration,
    /// Pending bytes per file that trigger a write before the timer.
    pub(crate) write_threshold: usize,
}

/// A started pipeline: the handle records go through, and the writer task (its result is
/// the first error, if any).
pub(crate) type Started<R> = (Handle<R>, JoinHandle<Result<()>>);

/// Writes what `pending` holds already (the header or preamble: a small blocking write, so
/// an unwritable sink fails here), then spawns the writer task on the current runtime.
///
/// The task ends after [`Handle::finish`], when every handle is dropped (files are then
/// closed unsealed), or at the first error; its result is that error.
pub(crate) fn start<E: Encode>(
    sink: Box<dyn RecordingSink>,
    id: RecordingId,
    encoder: E,
    mut pending: E::Pending,
    tuning: Tuning,
) -> Result<Started<E::Record>> {
    let mut files = Files::new::<E::Pending>(sink, id);
    files.write(&mut pending)?;
    let (tx, rx) = mpsc::channel(tuning.queue_depth);
    let failure = Arc::new(OnceLock::new());
    let start = Instant::now();
    let handle = Handle {
        tx,
        start,
        failure: Arc::clone(&failure),
    };
    let task = task::Task {
        files,
        encoder,
        pending,
        tuning,
        start,
    };
    Ok((handle, tokio::spawn(task.run(rx, failure))))
}

/// Feeds one recording's task. Timestamps are taken when a method is called, relative to
/// [`start`].
#[derive(Debug)]
pub(crate) struct Handle<R> {
    tx: mpsc::Sender<Msg<R>>,
    start: Instant,
    /// The error that stopped the task, published before its channel closes.
    failure: Arc<OnceLock<Error>>,
}

impl<R> Clone for Handle<R> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            start: self.start,
            failure: Arc::clone(&self.failure),
        }
    }
}

impl<R> Handle<R> {
    /// Queues one record; waits while the queue is full (backpressure).
    pub(crate) async fn send(&self, record: R) -> Result<()> {
        self.send_body(Body::Record(record)).await
    }

    /// Ends the recording: writes what is queued, `fsync`s and closes the files, and signs
    /// a statement of their names, sizes and SHA-256 digests with the gateway's key. Later
    /// calls on any clone return [`Error::Stopped`].
    pub(crate) async fn finish(&self, key: &SigningKey) -> Result<Sealed> {
        let (reply, rx) = oneshot::channel();
        self.send_body(Body::Finish(reply)).await?;
        let statement = rx.await.map_err(|_| self.failure())??;
        Ok(seal::sign(statement, key))
    }

    async fn send_body(&self, body: Body<R>) -> Result<()> {
        let t = self.start.elapsed();
        self.tx
            .send(Msg { t, body })
            .await
            .map_err(|_| self.failure())
    }

    /// The error that stopped the writer, or [`Error::Stopped`] if it ended normally.
    fn failure(&self) -> Error {
        self.failure.get().cloned().unwrap_or(Error::Stopped)
    }
}

/// One request to the writer task.
#[derive(Debug)]
struct Msg<R> {
    /// When the handle was called, since the start.
    t: Duration,
    body: Body<R>,
}

#[derive(Debug)]
enum Body<R> {
    Record(R),
    Finish(oneshot::Sender<Result<Statement>>),
}
