//! Recordings as files on local disk: `<root>/YYYY/MM/DD/<id>.{cast,data,transfers.jsonl}`
//! for SSH, `<root>/YYYY/MM/DD/<id>.rdp` for RDP.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{RecordingSink, RecordingStorage};
use crate::error::{Error, Result};
use crate::id::{FileKind, RecordingId, RecordingKind};

/// A recordings directory on local disk. Dated subdirectories are created with mode 0700,
/// files with mode 0600 and `O_CREAT|O_EXCL`, so an existing recording is never reopened.
#[derive(Debug, Clone)]
pub struct LocalDisk {
    root: PathBuf,
}

impl LocalDisk {
    /// Recordings under `root` (created on first use if missing).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The name of one file of a recording, relative to the root (`YYYY/MM/DD/<id>.cast`);
    /// dates are UTC.
    pub fn name(id: &RecordingId, started: DateTime<Utc>, file: FileKind) -> String {
        format!(
            "{}/{}.{}",
            started.format("%Y/%m/%d"),
            id.stem(),
            file.extension()
        )
    }

    /// The full path of one file of a recording.
    pub fn path(&self, id: &RecordingId, started: DateTime<Utc>, file: FileKind) -> PathBuf {
        self.root.join(Self::name(id, started, file))
    }

    /// The SSH recordings of `session` in the dated directories from `first` to `last` (UTC
    /// days, both included; at most [`MAX_SEARCH_DAYS`]), found by their `.cast` files,
    /// sorted by channel. Sealed or not: this is how a recording the gateway never got to
    /// seal (session still live, or a crash) is found. Missing directories are empty.
    pub fn find_session(
        &self,
        session: Uuid,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<FoundRecording>> {
        self.find_session_as(RecordingKind::Ssh, session, first, last)
    }

    /// Like [`find_session`](Self::find_session), for recordings of `kind`, found by their
    /// [`RecordingKind::primary`] file (`.rdp` for RDP).
    pub fn find_session_as(
        &self,
        kind: RecordingKind,
        session: Uuid,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<FoundRecording>> {
        let suffix = format!(".{}", kind.primary().extension());
        let mut found = Vec::new();
        for day in first
            .iter_days()
            .take_while(|d| *d <= last)
            .take(MAX_SEARCH_DAYS)
        {
            let day = day.format("%Y/%m/%d").to_string();
            let entries = match fs::read_dir(self.root.join(&day)) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::read(e)),
            };
            for entry in entries {
                let name = entry.map_err(Error::read)?.file_name();
                let id = name
                    .to_str()
                    .and_then(|n| n.strip_suffix(suffix.as_str()))
                    .and_then(RecordingId::from_stem);
                if let Some(id) = id.filter(|id| id.session == session) {
                    found.push(FoundRecording {
                        id,
                        day: day.clone(),
                    });
                }
            }
        }
        found.sort_by_key(|f| (f.id.channel, f.day.clone()));
        Ok(found)
    }
}

/// Longest span of days [`LocalDisk::find_session`] searches: sessions are bounded by
/// their plan's window (at most 31 days), so a year is ample.
pub const MAX_SEARCH_DAYS: usize = 366;

/// A recording's place on local disk, as found by [`LocalDisk::find_session`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRecording {
    /// Which recording.
    pub id: RecordingId,
    /// Its dated directory, `YYYY/MM/DD`.
    pub day: String,
}

impl FoundRecording {
    /// The name of one of its files, relative to the root, as in a seal statement.
    pub fn name(&self, file: FileKind) -> String {
        format!("{}/{}.{}", self.day, self.id.stem(), file.extension())
    }
}

impl RecordingStorage for LocalDisk {
    fn check_writable(&self) -> Result<()> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|e| Error::CreateDir {
                path: self.root.clone(),
                source: Arc::new(e),
            })?;
        // A probe file, created and removed: the directory exists and takes new files.
        let probe = self
            .root
            .join(format!(".write-check-{}", std::process::id()));
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&probe)
            .map_err(|e| Error::CreateFile {
                path: probe.clone(),
                source: Arc::new(e),
            })?;
        let _ = std::fs::remove_file(&probe);
        Ok(())
    }

    fn open_as(
        &self,
        kind: RecordingKind,
        id: &RecordingId,
        started: DateTime<Utc>,
    ) -> Result<Box<dyn RecordingSink>> {
        let dir = self.root.join(started.format("%Y/%m/%d").to_string());
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::CreateDir {
                path: dir.clone(),
                source: Arc::new(e),
            })?;
        let mut files = Vec::with_capacity(kind.files().len());
        for &file in kind.files() {
            let name = Self::name(id, started, file);
            let path = self.root.join(&name);
            match create(&path) {
                Ok(handle) => files.push(Open {
                    kind: file,
                    name,
                    path,
                    file: Some(handle),
                }),
                Err(e) => {
                    // Leave nothing half-made behind: these files are new and empty.
                    for f in &files {
                        let _ = fs::remove_file(&f.path);
                    }
                    return Err(if e.kind() == io::ErrorKind::AlreadyExists {
                        Error::AlreadyExists { path }
                    } else {
                        Error::CreateFile {
                            path,
                            source: Arc::new(e),
                        }
                    });
                }
            }
        }
        Ok(Box::new(LocalRecording { files }))
    }
}

fn create(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// The open files of one recording on local disk.
#[derive(Debug)]
pub struct LocalRecording {
    files: Vec<Open>,
}

#[derive(Debug)]
struct Open {
    kind: FileKind,
    name: String,
    path: PathBuf,
    /// `None` once closed.
    file: Option<File>,
}

impl LocalRecording {
    fn file(&mut self, kind: FileKind) -> io::Result<&mut File> {
        self.files
            .iter_mut()
            .find(|f| f.kind == kind)
            .and_then(|f| f.file.as_mut())
            .ok_or_else(|| io::Error::other("recording file is closed"))
    }
}

impl RecordingSink for LocalRecording {
    fn name(&self, file: FileKind) -> &str {
        self.files
            .iter()
            .find(|f| f.kind == file)
            .map_or("", |f| f.name.as_str())
    }

    fn append(&mut self, file: FileKind, bytes: &[u8]) -> io::Result<()> {
        self.file(file)?.write_all(bytes)
    }

    fn flush(&mut self, file: FileKind) -> io::Result<()> {
        // Unbuffered `File`: every append is already a write(2). Kept for other sinks.
        self.file(file)?.flush()
    }

    fn close(&mut self, file: FileKind) -> io::Result<()> {
        self.file(file)?.sync_data()?;
        if let Some(f) = self.files.iter_mut().find(|f| f.kind == file) {
            f.file = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
