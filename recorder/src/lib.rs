//! fumidai's session recordings: formats, sinks, the writer task and sealing.
//!
//! Every SSH channel the gateway proxies is recorded as an asciicast v2 file that a stock
//! `asciinema play`/`asciinema cat` replays, next to a compact binary side file for bulk
//! bytes and a JSON-lines transfer log. A dedicated writer task, fed through a bounded
//! channel, writes them (backpressure keeps memory flat during a 1 GiB upload) and flushes
//! at least once a second (a `SIGKILL` loses at most a second and leaves parseable files).
//! On finish the files' SHA-256 digests are stated and signed with the gateway's Ed25519
//! key, so a changed recording is detected by `fumidai audit verify`.
//!
//! ```no_run
//! # async fn demo(storage: &dyn fumidai_recorder::sink::RecordingStorage,
//! #   header: fumidai_recorder::format::asciicast::Header,
//! #   key: ed25519_dalek::SigningKey) -> fumidai_recorder::Result<()> {
//! use fumidai_recorder::{Recorder, RecorderConfig};
//! let sink = storage.open(&header.fumidai.recording_id(), header.timestamp)?; // fail closed
//! let (rec, task) = Recorder::start(sink, &header, RecorderConfig::default())?;
//! rec.output(b"$ ".as_slice()).await?; // waits while the disk is behind: backpressure
//! rec.input(b"ls\r".as_slice()).await?;
//! rec.resize(120, 40).await?;
//! let sealed = rec.finish(&key).await?; // statement + signature for the audit chain
//! # let _ = (sealed, task); Ok(()) }
//! ```
//!
//! # Layout
//!
//! - [`format`](mod@format): pure encoders into `impl Write` and streaming readers.
//!   - [`format::asciicast`]: header (with fumidai's fields under `"fumidai"`) and events;
//!     [`format::cast_reader`] reads them back, tolerating a crash-cut last line.
//!   - [`format::utf8`]: chunk-boundary-safe UTF-8 decoding; invalid bytes become U+FFFD in
//!     the cast and their exact bytes go to the side file.
//!   - [`format::datafile`]: the side file's length-prefixed binary framing.
//!   - [`format::transfers`]: the transfer log and [`format::transfers::TransferHasher`].
//!   - [`format::reassemble`]: exact stream bytes from cast + side file.
//! - [`sink`]: [`sink::RecordingStorage`]/[`sink::RecordingSink`] traits and the local-disk
//!   implementation (`YYYY/MM/DD/<id>.{cast,data,transfers.jsonl}`, 0600, `create_new`).
//! - [`writer`]: [`Recorder`], [`RecorderHandle`], [`RecorderConfig`]: the SSH writer.
//! - `pipeline`: the writer task both SSH and RDP recordings run on (bounded channel,
//!   backpressure, flush timer, fail closed, seal), generic over how records are encoded.
//! - [`seal`]: statement, Ed25519 signature, [`seal::verify`] and [`seal::verify_files`].
//! - [`inventory`]: a session's recordings (SSH channels and RDP) found on disk and by
//!   their seals, each checked against its seal; what `fumidai play` (and next the web
//!   console) lists and plays. The caller reads the seals' text from the audit chain.
//! - [`player`]: replay timing (speed, idle limit) from cast events to timed steps, for
//!   `fumidai play`; [`player::queries`] removes the target's terminal queries from the
//!   output, which the viewer's terminal would answer into the viewer's input.
//! - [`commands`]: command extraction: the command lines typed in a shell recording,
//!   replayed from the keys through a readline-like line editor and checked against the
//!   echo in a small model of the terminal's lines; history and Tab completion are read
//!   from the echo, and what neither establishes is marked uncertain.
//! - [`rdp`]: RDP session recordings (one `.rdp` file of timestamped PDUs): format,
//!   writer task, and reading them back.
//!
//! # What this crate does not do
//!
//! It knows nothing of policy, the store or the network: it is handed bytes and calls,
//! and timestamps them itself. It does not decide what is recorded how (the gateway picks
//! [`format::asciicast::DataMode`] per channel), nor whether a transfer is allowed, nor
//! where the statement and signature are kept (the audit chain). It does not play casts on
//! a terminal: [`player`] says what is due when, the caller sleeps and writes. It does not
//! judge the commands [`commands`] extracts (risk rules and reports are elsewhere).

pub mod commands;
pub mod digest;
mod error;
pub mod format;
pub mod id;
pub mod inventory;
mod pipeline;
pub mod player;
pub mod rdp;
pub mod seal;
pub mod sink;
pub mod writer;

#[cfg(test)]
mod test_support;

pub use digest::Sha256Digest;
pub use error::{Error, Mismatch, Result};
pub use id::{FileKind, RecordingId, RecordingKind};
pub use seal::{Sealed, Statement};
pub use writer::{BulkPolicy, Recorder, RecorderConfig, RecorderHandle};
