//! The SSH recording's writer: the handle the proxy feeds, on the shared
//! [`pipeline`](crate::pipeline).
//!
//! ```text
//! proxy ──handle.output(bytes).await──▶ bounded channel (queue_depth × chunk_size)
//!                                            │
//!                                   writer task: encode (pure, `encode.rs`)
//!                                            │  pending whole lines / records
//!                                   spawn_blocking: sink.append + flush, hash
//!                                   (one batch in flight while the next is encoded)
//! ```
//!
//! **Backpressure.** The channel is bounded and every message holds at most `chunk_size`
//! bytes (larger buffers are split), so while the disk is slower than the network,
//! `output().await` waits, the proxy stops reading from the client, and memory stays
//! bounded whatever the transfer's size: the queue (`queue_depth × chunk_size`, 2 MiB by
//! default) plus two batches of pending bytes (`write_threshold` per file plus one encoded
//! message; one batch being written while the next fills): under 3 MiB with the defaults.
//!
//! **Crash safety.** Pending bytes are written (and `flush`ed) when a buffer reaches
//! `write_threshold` and at least every `flush_every` (1 s) from [`Recorder::start`],
//! always as whole lines, so a `SIGKILL` loses at most about a second and leaves a cast
//! every line of which parses. Files are `fsync`ed at close.
//!
//! **Errors.** The first I/O error stops the task; every later call on any handle returns
//! that same error, so the gateway can end the session with a clear message.

mod encode;

use std::time::Duration;

use bytes::Bytes;
use ed25519_dalek::SigningKey;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::format::asciicast::Header;
use crate::format::datafile::{MAX_PAYLOAD, Stream};
use crate::format::transfers::TransferRecord;
use crate::pipeline::{self, Handle, Tuning};
use crate::seal::Sealed;
use crate::sink::RecordingSink;

/// Tuning of the writer. [`Default`] gives the values the benchmarks were set against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecorderConfig {
    /// Messages the channel holds before senders wait (at least 1).
    pub queue_depth: usize,
    /// Largest data message; bigger buffers are split. With `queue_depth` this bounds the
    /// memory a fast client can make the gateway hold (64 × 32 KiB = 2 MiB by default).
    pub chunk_size: usize,
    /// Longest time encoded bytes wait before being handed to the OS: the most a crash
    /// can lose.
    pub flush_every: Duration,
    /// Pending bytes per file that trigger a write before the timer; batches bulk data into
    /// few large writes.
    pub write_threshold: usize,
    /// What the cast shows of bulk recordings.
    pub bulk: BulkPolicy,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            queue_depth: 64,
            chunk_size: 32 << 10,
            flush_every: Duration::from_secs(1),
            write_threshold: 256 << 10,
            bulk: BulkPolicy::default(),
        }
    }
}

/// What the cast of a [`DataMode::Bulk`](crate::format::asciicast::DataMode) recording
/// shows; the bytes themselves all go to the side file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkPolicy {
    /// Least time between two `m` markers with running byte counts (one more at the end).
    pub marker_every: Duration,
    /// Output (stdout and stderr) bytes also shown as `o` events, so that `ssh host ls`
    /// replays in a stock player; beyond this only markers appear.
    pub preview_bytes: u64,
}

impl Default for BulkPolicy {
    fn default() -> Self {
        Self {
            marker_every: Duration::from_secs(5),
            preview_bytes: 64 << 10,
        }
    }
}

/// Starts writer tasks.
#[derive(Debug)]
pub struct Recorder;

impl Recorder {
    /// Writes the header (a small blocking write, so an unwritable sink fails here), then
    /// spawns the writer task on the current tokio runtime.
    ///
    /// The task ends after [`RecorderHandle::finish`], when every handle is dropped (files
    /// are then closed unsealed), or at the first error; its result is that error.
    pub fn start(
        sink: Box<dyn RecordingSink>,
        header: &Header,
        config: RecorderConfig,
    ) -> Result<(RecorderHandle, JoinHandle<Result<()>>)> {
        let config = RecorderConfig {
            queue_depth: config.queue_depth.max(1),
            chunk_size: config.chunk_size.clamp(1, MAX_PAYLOAD as usize),
            flush_every: config.flush_every.max(Duration::from_millis(1)),
            ..config
        };
        let mut pending = encode::Pending::default();
        let encoder = encode::Encoder::new(header, config.bulk.clone(), &mut pending)
            .map_err(|e| Error::write(crate::id::FileKind::Cast, e))?;
        let tuning = Tuning {
            queue_depth: config.queue_depth,
            flush_every: config.flush_every,
            write_threshold: config.write_threshold,
        };
        let id = header.fumidai.recording_id();
        let (inner, join) = pipeline::start(sink, id, encoder, pending, tuning)?;
        let handle = RecorderHandle {
            inner,
            chunk_size: config.chunk_size,
        };
        Ok((handle, join))
    }
}

/// Feeds one recording. Cheap to clone (one per direction, say); every method waits while
/// the queue is full, which is the backpressure. Timestamps are taken when a method is
/// called, relative to [`Recorder::start`].
///
/// Cancelling a data call midway may leave part of its bytes recorded.
#[derive(Debug, Clone)]
pub struct RecorderHandle {
    inner: Handle<Request>,
    /// Largest data message: bigger buffers are split.
    chunk_size: usize,
}

impl RecorderHandle {
    /// Records output from the target (SSH channel data towards the client).
    pub async fn output(&self, bytes: impl Into<Bytes>) -> Result<()> {
        self.data(Stream::Output, bytes).await
    }

    /// Records stderr from the target (SSH extended data). In interactive recordings it
    /// joins the output, as on the engineer's screen.
    pub async fn stderr(&self, bytes: impl Into<Bytes>) -> Result<()> {
        self.data(Stream::Stderr, bytes).await
    }

    /// Records input from the engineer (SSH channel data towards the target).
    pub async fn input(&self, bytes: impl Into<Bytes>) -> Result<()> {
        self.data(Stream::Input, bytes).await
    }

    /// Records a terminal size change.
    pub async fn resize(&self, cols: u16, rows: u16) -> Result<()> {
        self.inner.send(Request::Resize { cols, rows }).await
    }

    /// Records a file transfer in the transfer log (and a marker in the cast).
    pub async fn transfer(&self, record: TransferRecord) -> Result<()> {
        self.inner.send(Request::Transfer(record)).await
    }

    /// Ends the recording: flushes, `fsync`s and closes the files, and signs a statement of
    /// their names, sizes and SHA-256 digests with the gateway's key.
    pub async fn finish(self, key: &SigningKey) -> Result<Sealed> {
        self.inner.finish(key).await
    }

    /// Queues `bytes` in messages of at most `chunk_size`: slices of the caller's buffer,
    /// not copies (a relayed byte is copied once more, into the encoder's batch).
    async fn data(&self, stream: Stream, bytes: impl Into<Bytes>) -> Result<()> {
        let mut bytes: Bytes = bytes.into();
        while !bytes.is_empty() {
            let chunk = bytes.split_to(self.chunk_size.clamp(1, bytes.len()));
            self.inner.send(Request::Data(stream, chunk)).await?;
        }
        Ok(())
    }
}

/// What the SSH handle hands the writer task.
#[derive(Debug)]
pub(crate) enum Request {
    Data(Stream, Bytes),
    Resize { cols: u16, rows: u16 },
    Transfer(TransferRecord),
}
