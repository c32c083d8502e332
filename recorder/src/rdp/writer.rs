//! The RDP recording's writer task and the handle the proxy feeds it through.
//!
//! ```text
//! proxy ──handle.server_frame(frame).await──▶ bounded channel (queue_depth frames)
//!                                                  │
//!                                   writer task: timestamped records (pure, `format`)
//!                                                  │  pending bytes
//!                                   spawn_blocking: sink.append + flush, hash
//!                                   (one batch in flight while the next is encoded)
//! ```
//!
//! The task is the shared [`pipeline`](crate::pipeline), as for SSH ([`crate::writer`]):
//! the channel is bounded, so a disk slower than the session makes the proxy wait
//! (backpressure) instead of growing memory; pending records are handed to the OS when they
//! reach `write_threshold` and at least every `flush_every` (1 s) from
//! [`RdpRecorder::start`], always whole, so a `SIGKILL` loses at most about a second and
//! leaves a file [`RdpReader`](super::format::RdpReader) reads up to the cut; the first I/O
//! error stops the task and every later call returns it (fail closed: the proxy ends the
//! session).

mod encode;

use std::time::Duration;

use bytes::Bytes;
use ed25519_dalek::SigningKey;
use tokio::task::JoinHandle;

use self::encode::{Encoder, Pending, Request};
use super::format::{self, MAX_PAYLOAD, RdpHeader, RdpState, RecordKind};
use crate::error::{Error, Result};
use crate::id::FileKind;
use crate::pipeline::{self, Handle, Tuning};
use crate::seal::Sealed;
use crate::sink::RecordingSink;

/// Tuning of the RDP writer. [`Default`] gives the values the benchmarks were set against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdpRecorderConfig {
    /// Frames the channel holds before senders wait (at least 1). A frame is at most 64 KiB,
    /// so this bounds what a fast server can make the gateway hold: 4 MiB by default.
    pub queue_depth: usize,
    /// Longest time recorded bytes wait before being handed to the OS: the most a crash
    /// can lose.
    pub flush_every: Duration,
    /// Pending bytes that trigger a write before the timer (batches a full-screen redraw
    /// into few writes).
    pub write_threshold: usize,
}

impl Default for RdpRecorderConfig {
    fn default() -> Self {
        Self {
            queue_depth: 64,
            flush_every: Duration::from_secs(1),
            write_threshold: 256 << 10,
        }
    }
}

/// Starts RDP writer tasks.
#[derive(Debug)]
pub struct RdpRecorder;

impl RdpRecorder {
    /// Writes the file's preamble (a small blocking write, so an unwritable sink fails
    /// here), then spawns the writer task on the current tokio runtime. `sink` must have
    /// been opened for [`RecordingKind::Rdp`](crate::id::RecordingKind::Rdp).
    ///
    /// The task ends after [`RdpRecorderHandle::finish`], when every handle is dropped
    /// (the file is then closed unsealed), or at the first error; its result is that error.
    pub fn start(
        sink: Box<dyn RecordingSink>,
        header: &RdpHeader,
        config: RdpRecorderConfig,
    ) -> Result<(RdpRecorderHandle, JoinHandle<Result<()>>)> {
        let config = RdpRecorderConfig {
            queue_depth: config.queue_depth.max(1),
            flush_every: config.flush_every.max(Duration::from_millis(1)),
            ..config
        };
        let tuning = Tuning {
            queue_depth: config.queue_depth,
            flush_every: config.flush_every,
            write_threshold: config.write_threshold,
        };
        let pending = Pending::with_preamble(header)?;
        let (inner, join) = pipeline::start(
            sink,
            header.recording_id(),
            Encoder::default(),
            pending,
            tuning,
        )?;
        Ok((RdpRecorderHandle { inner }, join))
    }
}

/// Feeds one RDP recording. Cheap to clone (one per direction); every method waits while
/// the queue is full, which is the backpressure. Each record is timestamped when its method
/// is called, in microseconds since [`RdpRecorder::start`]; offsets in the file never
/// decrease even when clones race.
#[derive(Debug, Clone)]
pub struct RdpRecorderHandle {
    inner: Handle<Request>,
}

impl RdpRecorderHandle {
    /// Records the decoder state from here on: before the first PDU that depends on it, and
    /// again after every Deactivate All / Demand Active.
    pub async fn state(&self, state: RdpState) -> Result<()> {
        let payload = format::state_payload(&state).map_err(|e| Error::write(FileKind::Rdp, e))?;
        self.record(RecordKind::State, Bytes::from(payload)).await
    }

    /// Records one complete decrypted server→client frame as on the wire after TLS: a TPKT
    /// (X.224) slow-path frame or a fast-path output frame.
    pub async fn server_frame(&self, frame: Bytes) -> Result<()> {
        self.record(RecordKind::Server, frame).await
    }

    /// Records one complete client→server frame carrying input: fast-path input, or a
    /// slow-path X.224 frame with an input PDU.
    pub async fn client_frame(&self, frame: Bytes) -> Result<()> {
        self.record(RecordKind::Client, frame).await
    }

    /// Ends the recording: writes what is queued, `fsync`s and closes the file, and signs a
    /// statement of its name, size and SHA-256 with the gateway's key. Later calls on any
    /// clone return [`Error::Stopped`].
    pub async fn finish(&self, key: &SigningKey) -> Result<Sealed> {
        self.inner.finish(key).await
    }

    async fn record(&self, kind: RecordKind, payload: Bytes) -> Result<()> {
        if payload.len() > MAX_PAYLOAD as usize {
            return Err(Error::FrameTooLarge { len: payload.len() });
        }
        self.inner.send(Request { kind, payload }).await
    }
}
