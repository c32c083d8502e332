//! A recording's files as the writer task holds them: the sink, and a running SHA-256 and
//! size per file, updated as bytes are written, so sealing needs no second read.

use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use super::Batch;
use crate::digest::Sha256Digest;
use crate::error::{Error, Result};
use crate::id::{FileKind, RecordingId};
use crate::seal::{FileDigest, Statement};
use crate::sink::RecordingSink;

/// The sink and what has been written to each of its files.
pub(crate) struct Files {
    sink: Box<dyn RecordingSink>,
    /// Which recording, for the statement.
    id: RecordingId,
    /// Per file, in the statement's order: its running digest and size.
    tallies: Vec<(FileKind, Sha256, u64)>,
    /// Buffers larger than this are freed after a write ([`Batch::KEEP_CAPACITY`]).
    keep_capacity: usize,
}

impl Files {
    /// The files of a recording whose pending bytes are a `B`.
    pub(crate) fn new<B: Batch>(sink: Box<dyn RecordingSink>, id: RecordingId) -> Self {
        Self {
            sink,
            id,
            tallies: B::FILES.iter().map(|&k| (k, Sha256::new(), 0)).collect(),
            keep_capacity: B::KEEP_CAPACITY,
        }
    }

    /// Appends and flushes every non-empty pending buffer, and empties it (blocking).
    pub(crate) fn write<B: Batch>(&mut self, pending: &mut B) -> Result<()> {
        for (kind, hasher, size) in &mut self.tallies {
            let Some(buf) = pending.buffer_mut(*kind).filter(|b| !b.is_empty()) else {
                continue;
            };
            let fail = |e| Error::write(*kind, e);
            self.sink.append(*kind, buf).map_err(fail)?;
            hasher.update(buf.as_slice());
            *size += buf.len() as u64;
            buf.clear();
            if buf.capacity() > self.keep_capacity {
                *buf = Vec::new();
            }
            self.sink.flush(*kind).map_err(fail)?;
        }
        Ok(())
    }

    /// `fsync`s and closes every file, and states what was written (blocking).
    pub(crate) fn close(mut self) -> Result<Statement> {
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
