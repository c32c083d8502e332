//! Judging an upload by everything it carries, as its bytes stream past (R-10-6).
//!
//! [`ContentJudge`] is fed a file's bytes in order and says which [`ContentKind`]s it found:
//! the file's own, and for archives every entry's, by the entry's name ([`by_name`]) and by
//! its first [`HEAD_LEN`](super::HEAD_LEN) bytes ([`by_content`](super::by_content)). A ZIP (OOXML and ODF documents included)
//! is walked by its local headers and checked against its central directory; a tar (ustar,
//! GNU, pax, and pre-POSIX v7 with no magic at all) by its headers; a gzip stream is
//! inflated and its inner stream judged the same way. Archives inside archives are opened
//! too, up to [`Bounds::depth`]. [`judged_upload_allowed`] turns the [`Judgement`] into a
//! decision, and [`made_executable`] says what a file becomes when an execute bit is set
//! on it.
//!
//! An archive that can't be read to the end — truncated, corrupt, encrypted, compressed with
//! a method or in a format the gateway can't open, or past one of the [`Bounds`] — is
//! [`Judgement::unreadable`]: what it carries is unknown, so it needs `archive` declared.
//!
//! # Layout
//!
//! - `stream.rs`: one stream of bytes (the file, an entry, a gzip's inner stream): its head,
//!   its kind, and the walker that opens it.
//! - `zip.rs`, `tar.rs`, `gzip.rs`: one walker per format, each a state machine fed chunks.
//! - `inflate.rs`: raw deflate with its output counted against the bound.
//! - `gather.rs`: collecting a header that arrives split across chunks.
//!
//! It does no I/O, keeps bounded memory whatever it is fed, and gives the same verdict
//! however the bytes are split into chunks. It does not check CRCs (a damaged entry fails
//! to unpack, which harms nothing) and does not open bzip2, xz, zstd, 7z, RAR, cab or cpio.

mod gather;
mod gzip;
mod inflate;
mod stream;
mod tar;
mod zip;

use crate::plan::Allowances;

use super::{ContentKind, ContentKinds, MacroScan, TransferRefusal, by_name, change_allowed};
use stream::Stream;

/// Judges one file's content as its bytes stream past, in order (bounded memory).
#[derive(Debug)]
pub struct ContentJudge {
    /// The kind the file's name says, which counts when its content says nothing.
    name: Option<ContentKind>,
    /// The file itself.
    root: Stream,
    /// What was found so far, in the file and every entry.
    found: Findings,
    /// Macro parts named anywhere in the raw bytes of a ZIP-based Office document.
    macros: MacroScan,
    macro_found: bool,
}

impl ContentJudge {
    /// A judge for the file at `path` that has seen nothing yet; the name's kind
    /// ([`by_name`]) counts too.
    pub fn new(path: &str) -> Self {
        Self::with_bounds(path, Bounds::DEFAULT)
    }

    fn with_bounds(path: &str, bounds: Bounds) -> Self {
        ContentJudge {
            name: by_name(path),
            root: Stream::root(path),
            found: Findings::new(bounds),
            macros: MacroScan::new(),
            macro_found: false,
        }
    }

    /// The next bytes of the file, in order.
    pub fn feed(&mut self, data: &[u8]) {
        self.root.feed(data, &mut self.found);
        self.macro_found |= self.macros.feed(data);
    }

    /// The kinds certain already, so the gateway can refuse while the file still streams.
    pub fn kinds(&self) -> ContentKinds {
        let mut kinds = self.found.kinds;
        if self.macro_found && self.root.head().starts_with(b"PK") {
            kinds = kinds.with(ContentKind::OfficeMacro);
        }
        kinds
    }

    /// The end of the file: the verdict.
    pub fn finish(&mut self) -> Judgement {
        self.root.finish(&mut self.found);
        let mut kinds = self.kinds();
        if self.root.own_kind().is_none()
            && let Some(kind) = self.name
        {
            kinds = kinds.with(kind);
        }
        Judgement {
            kinds,
            unreadable: self.found.unreadable.is_some(),
        }
    }
}

/// What a [`ContentJudge`] found in a whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    /// Every kind found: the file's own and its entries'.
    pub kinds: ContentKinds,
    /// An archive that could not be read to the end (corrupt, truncated, encrypted, a
    /// format the gateway can't open, or past a bound), so its entries are unknown.
    pub unreadable: bool,
}

/// Whether an upload so judged may stay on the target: every kind found must be declared,
/// and an unreadable archive needs `archive` declared.
pub fn judged_upload_allowed(
    allow: &Allowances,
    judgement: &Judgement,
) -> Result<(), TransferRefusal> {
    change_allowed(allow)?;
    if let Some(kind) = judgement.kinds.iter().find(|k| !allow.content.contains(*k)) {
        return Err(TransferRefusal::ContentNotDeclared(kind));
    }
    if judgement.unreadable && !allow.content.contains(ContentKind::Archive) {
        return Err(TransferRefusal::ArchiveUnreadable);
    }
    Ok(())
}

/// The kind a file becomes when an execute bit is set on it: `Executable` when its content
/// is a native program, else `Script` (a file with no `#!` and an execute bit runs as a
/// shell script).
pub fn made_executable(kinds: ContentKinds) -> ContentKind {
    if kinds.contains(ContentKind::Executable) {
        ContentKind::Executable
    } else {
        ContentKind::Script
    }
}

/// How far the judge opens archives. Past any bound the file is unreadable, not passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bounds {
    /// Archives opened inside one another. Four: a `.tar.gz` inside a ZIP inside a ZIP
    /// (the gzip and its tar count one each) is still read; deeper nesting has no
    /// maintenance use and is how archive bombs multiply.
    depth: u8,
    /// Bytes inflated in all, every level together. 1 GiB: more than any maintenance
    /// package we have seen, and about a second of one core's time; it stops a deflate
    /// bomb (1 KiB inflating to 1 MiB) long before memory or time matter (memory is flat
    /// anyway, the output is judged as it comes and dropped).
    inflated: u64,
    /// Entries in all, every level together. 65 536: the local-header offsets kept to
    /// check the central directory then take at most 512 KiB.
    entries: u32,
}

impl Bounds {
    const DEFAULT: Bounds = Bounds {
        depth: 4,
        inflated: 1 << 30,
        entries: 1 << 16,
    };
}

/// What the walkers found so far, shared by every level of nesting.
#[derive(Debug)]
struct Findings {
    /// Every kind found: the file's own and its entries'.
    kinds: ContentKinds,
    /// The first reason the file could not be read to the end.
    unreadable: Option<Unreadable>,
    /// Bytes inflated so far, all levels together.
    inflated: u64,
    /// Entries met so far, all levels together.
    entries: u32,
    bounds: Bounds,
}

impl Findings {
    fn new(bounds: Bounds) -> Self {
        Findings {
            kinds: ContentKinds::NONE,
            unreadable: None,
            inflated: 0,
            entries: 0,
            bounds,
        }
    }

    fn found(&mut self, kind: Option<ContentKind>) {
        if let Some(kind) = kind {
            self.kinds = self.kinds.with(kind);
        }
    }

    /// Notes that the file can't be read to the end (the first reason stays).
    fn fail(&mut self, why: Unreadable) {
        self.unreadable.get_or_insert(why);
    }

    /// Counts one more entry against the bound.
    fn entry(&mut self) -> Result<(), Unreadable> {
        self.entries = self.entries.saturating_add(1);
        if self.entries > self.bounds.entries {
            return Err(Unreadable::TooManyEntries);
        }
        Ok(())
    }

    /// Counts `n` more inflated bytes against the bound.
    fn inflated(&mut self, n: usize) -> Result<(), Unreadable> {
        self.inflated = self
            .inflated
            .saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        if self.inflated > self.bounds.inflated {
            return Err(Unreadable::TooLarge);
        }
        Ok(())
    }
}

/// Why an archive could not be read to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum Unreadable {
    /// The stream ends inside a header or an entry.
    #[error("the archive ends before its end")]
    Truncated,
    /// A header, a checksum, a deflate stream or the central directory doesn't hold up.
    #[error("the archive's structure is corrupt")]
    Corrupt,
    /// An encrypted entry, or an encrypted central directory.
    #[error("an entry is encrypted")]
    Encrypted,
    /// An entry stored in a way the gateway can't read (bzip2, LZMA, … inside a ZIP; a
    /// sparse or multi-volume tar entry).
    #[error("an entry is stored with a method the gateway can't read")]
    Method,
    /// A stored ZIP entry whose size comes only after its data (a data descriptor): its
    /// end can't be found.
    #[error("an entry's size is known only after its data")]
    UnknownSize,
    /// An archive or compression format the gateway can't open.
    #[error("an archive format the gateway can't open")]
    Format,
    /// Archives nested deeper than [`Bounds::depth`].
    #[error("archives nested deeper than the bound")]
    TooDeep,
    /// More than [`Bounds::inflated`] bytes inflated.
    #[error("more inflated bytes than the bound")]
    TooLarge,
    /// More than [`Bounds::entries`] entries.
    #[error("more entries than the bound")]
    TooManyEntries,
}

#[cfg(test)]
mod tests;
