//! RDP session recordings: the file format, the writer the gateway's RDP proxy feeds, and
//! what is read back from them.
//!
//! An RDP session is recorded as protocol, not video: the decrypted server→client frames,
//! the client's input frames, and the decoder state learnt during connection, each
//! timestamped by the recorder, in one `<session>.rdp` file sealed like an SSH recording.
//!
//! ```no_run
//! # async fn demo(storage: &dyn fumidai_recorder::sink::RecordingStorage,
//! #   header: fumidai_recorder::rdp::RdpHeader, state: fumidai_recorder::rdp::RdpState,
//! #   frame: bytes::Bytes, key: ed25519_dalek::SigningKey) -> fumidai_recorder::Result<()> {
//! use fumidai_recorder::RecordingKind;
//! use fumidai_recorder::rdp::{RdpRecorder, RdpRecorderConfig};
//! let sink = storage.open_as(RecordingKind::Rdp, &header.recording_id(), header.started_at)?;
//! let (rec, task) = RdpRecorder::start(sink, &header, RdpRecorderConfig::default())?;
//! rec.state(state).await?; // before the first PDU that needs it, and on every resize
//! rec.server_frame(frame).await?; // waits while the disk is behind: backpressure
//! let sealed = rec.finish(&key).await?;
//! # let _ = (sealed, task); Ok(()) }
//! ```
//!
//! # Layout
//!
//! - [`format`]: the file's layout (documented there), the pure encoder and the streaming
//!   [`format::RdpReader`], which tolerates a crash-cut last record.
//! - `writer`: [`RdpRecorder`], [`RdpRecorderHandle`], [`RdpRecorderConfig`]: the writer
//!   task (bounded channel, flush every second, fail closed, seal).
//! - [`replay`]: the screen rebuilt from the server frames with IronRDP's decoder,
//!   frame by frame or sampled at a fixed interval.
//! - [`keys`]: the keystroke timeline from the client's input frames, and the "lines
//!   typed" the reconciliation report compares with the plan.
//! - [`render`]: PNG frames, an animated GIF, and MP4 through `ffmpeg`.
//!
//! # What this module does not do
//!
//! It does not proxy RDP or decide what may be forwarded (the gateway does); it records
//! what it is handed, and never decrypts anything.

pub mod format;
pub mod keys;
pub mod render;
pub mod replay;
pub mod still;
mod writer;

pub use format::{LeftDesktop, RdpHeader, RdpState};
pub use writer::{RdpRecorder, RdpRecorderConfig, RdpRecorderHandle};
