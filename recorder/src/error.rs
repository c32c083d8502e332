//! The crate's one error type.
//!
//! `Clone` so that the writer task can hand the same failure to every handle still sending
//! (the gateway ends the session with it); I/O causes are kept as `Arc<io::Error>` for that.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::id::FileKind;

/// Result with the recorder's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong while recording, reading or verifying a recording.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The recordings directory (or a dated subdirectory) could not be created.
    #[error("cannot create recording directory {path}")]
    CreateDir {
        /// The directory that could not be created.
        path: PathBuf,
        /// Why.
        source: Arc<io::Error>,
    },
    /// A recording file could not be created (unwritable directory, full disk, ...).
    #[error("cannot create recording file {path}")]
    CreateFile {
        /// The file that could not be created.
        path: PathBuf,
        /// Why.
        source: Arc<io::Error>,
    },
    /// A recording file already exists: an ID was reused, and we never overwrite evidence.
    #[error("recording file {path} already exists")]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// Writing or flushing one of the recording's files failed.
    #[error("writing the recording's {file} failed")]
    Write {
        /// Which file.
        file: FileKind,
        /// Why.
        source: Arc<io::Error>,
    },
    /// Syncing one of the recording's files to disk at close failed.
    #[error("syncing the recording's {file} to disk failed")]
    Sync {
        /// Which file.
        file: FileKind,
        /// Why.
        source: Arc<io::Error>,
    },
    /// The writer task is gone (finished, or stopped after an error it already reported).
    #[error("the recorder has stopped")]
    Stopped,
    /// Reading a recording file failed (or, in reassembly, writing the bytes read to the
    /// caller's output).
    #[error("reading a recording failed")]
    Read {
        /// Why.
        source: Arc<io::Error>,
    },
    /// The first line of a cast is not an asciicast v2 header written by fumidai.
    #[error("malformed asciicast header")]
    BadHeader {
        /// What the JSON parser said.
        source: Arc<serde_json::Error>,
    },
    /// The cast header is well formed but not version 2.
    #[error("unsupported asciicast version {version}")]
    UnsupportedVersion {
        /// The version found.
        version: u64,
    },
    /// A complete line of a cast is not a valid event.
    #[error("malformed asciicast event on line {line}")]
    BadEvent {
        /// 1-based line number.
        line: u64,
    },
    /// A line of a cast or transfer log exceeds the reader's limit.
    #[error("line {line} is longer than {max} bytes")]
    LineTooLong {
        /// 1-based line number.
        line: u64,
        /// The limit.
        max: usize,
    },
    /// A complete line of the transfer log is not a valid transfer record.
    #[error("malformed transfer record on line {line}")]
    BadTransfer {
        /// 1-based line number.
        line: u64,
    },
    /// The side file does not start with fumidai's magic bytes.
    #[error("not a fumidai bulk data file")]
    BadMagic,
    /// A side-file record header is invalid (unknown stream or kind, oversized payload).
    #[error("malformed bulk data record at byte {position}")]
    BadRecord {
        /// Byte position of the record header in the file.
        position: u64,
    },
    /// Bulk records of one stream are not contiguous, or raw copies do not line up with
    /// the cast's events, so the stream cannot be reassembled.
    #[error("stream data is not contiguous at offset {offset}")]
    Discontinuous {
        /// Stream offset where the gap or overlap was found.
        offset: u64,
    },
    /// Hashing was fed a chunk that does not continue where the previous one ended.
    #[error("transfer data at offset {got} does not continue at {expected}")]
    NonSequential {
        /// Where the next chunk had to start.
        expected: u64,
        /// Where it started.
        got: u64,
    },
    /// A seal statement does not parse.
    #[error("malformed seal statement on line {line}")]
    BadStatement {
        /// 1-based line number.
        line: u64,
    },
    /// A file name in a seal statement is not a plain relative path.
    #[error("invalid recording file name in seal statement")]
    BadFileName,
    /// The seal's signature does not verify under the given public key.
    #[error("recording seal signature does not verify")]
    BadSignature,
    /// A replay setting (`--speed`, `--idle-limit`) is out of range or not a number.
    #[error("invalid {what}: expected {expected}")]
    BadPlaySetting {
        /// Which setting.
        what: &'static str,
        /// What it takes.
        expected: &'static str,
    },
    /// The file does not start with the RDP recording magic bytes.
    #[error("not a fumidai RDP recording")]
    NotRdpRecording,
    /// The RDP recording's layout version is not one this build reads.
    #[error("unsupported RDP recording version {version}")]
    UnsupportedRdpVersion {
        /// The version found.
        version: u16,
    },
    /// The RDP recording's header is cut short, too large, or not the expected JSON.
    #[error("malformed RDP recording header")]
    BadRdpHeader {
        /// What the JSON parser said, when it got that far.
        source: Option<Arc<serde_json::Error>>,
    },
    /// An RDP record header is invalid (unknown kind, oversized payload, bad state JSON).
    #[error("malformed RDP recording record at byte {position}")]
    BadRdpRecord {
        /// Byte position of the record header in the file.
        position: u64,
    },
    /// A frame handed to the RDP recorder is larger than any RDP frame can be.
    #[error("RDP frame of {len} bytes is too large to record")]
    FrameTooLarge {
        /// Its length.
        len: usize,
    },
    /// An output file (PNG, GIF, MP4 directory) could not be created or written.
    #[error("cannot write {path}")]
    Output {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: Arc<io::Error>,
    },
    /// Encoding a PNG or GIF failed (or writing it).
    #[error("encoding the {what} failed")]
    Image {
        /// PNG or GIF.
        what: &'static str,
        /// Why.
        source: Arc<image::ImageError>,
    },
    /// `ffmpeg` is needed for video output and is not on `PATH`.
    #[error(
        "ffmpeg was not found on PATH; install it (Debian: apt-get install ffmpeg) for MP4 output"
    )]
    FfmpegNotFound,
    /// `ffmpeg` ran but failed.
    #[error("ffmpeg failed: {detail}")]
    Ffmpeg {
        /// Its exit status and the end of its error output.
        detail: String,
    },
    /// A sealed file differs from what the statement records.
    #[error("recording file {name} was changed: {mismatch}")]
    Tampered {
        /// The file's name as recorded in the statement.
        name: String,
        /// How it differs.
        mismatch: Mismatch,
    },
}

/// How a sealed file differs from its statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// The file is gone.
    #[error("file missing")]
    Missing,
    /// The file has another size.
    #[error("size {actual}, sealed as {expected}")]
    Size {
        /// Size in the statement.
        expected: u64,
        /// Size on disk.
        actual: u64,
    },
    /// Same size, other content.
    #[error("SHA-256 differs")]
    Digest,
}

impl Error {
    pub(crate) fn write(file: FileKind, source: io::Error) -> Self {
        Self::Write {
            file,
            source: Arc::new(source),
        }
    }

    pub(crate) fn read(source: io::Error) -> Self {
        Self::Read {
            source: Arc::new(source),
        }
    }
}
