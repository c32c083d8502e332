//! Where recording bytes go: a trait per recording ([`RecordingSink`]) and one per place
//! ([`RecordingStorage`]), so the writer does not care whether it is local disk or, later,
//! object storage.

mod local;

use std::io;

use chrono::{DateTime, Utc};

pub use local::{FoundRecording, LocalDisk, LocalRecording, MAX_SEARCH_DAYS};

use crate::error::Result;
use crate::id::{FileKind, RecordingId, RecordingKind};

/// A place recordings are kept. The gateway holds one as `Arc<dyn RecordingStorage>`.
pub trait RecordingStorage: Send + Sync {
    /// Creates the files of a new SSH recording ([`RecordingKind::Ssh`]); see
    /// [`open_as`](Self::open_as).
    fn open(&self, id: &RecordingId, started: DateTime<Utc>) -> Result<Box<dyn RecordingSink>> {
        self.open_as(RecordingKind::Ssh, id, started)
    }

    /// Creates the files of a new recording of `kind` ([`RecordingKind::files`]), all of
    /// them, or fails with a typed error and leaves nothing behind; the gateway then refuses
    /// the session (fail closed). `started` picks the dated directory.
    fn open_as(
        &self,
        kind: RecordingKind,
        id: &RecordingId,
        started: DateTime<Utc>,
    ) -> Result<Box<dyn RecordingSink>>;

    /// Checks, before a session is admitted, that recordings can be written now, so an
    /// engineer is refused with a reason instead of failing at the first command. Blocks.
    fn check_writable(&self) -> Result<()>;
}

/// The open files of one recording. Called only from the writer task, off the async
/// threads (inside `spawn_blocking`), so implementations may block.
pub trait RecordingSink: Send {
    /// The file's name relative to the storage root, with `/` separators, as sealed.
    fn name(&self, file: FileKind) -> &str;

    /// Appends bytes; the writer only ever appends whole lines or whole records.
    fn append(&mut self, file: FileKind, bytes: &[u8]) -> io::Result<()>;

    /// Hands everything appended so far to the operating system, so that it survives the
    /// gateway process being killed.
    fn flush(&mut self, file: FileKind) -> io::Result<()>;

    /// Makes the file durable (`fsync`) and closes it; no appends follow.
    fn close(&mut self, file: FileKind) -> io::Result<()>;
}
