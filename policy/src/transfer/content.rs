//! Judging an upload by everything it carries, as its bytes stream past.
//!
//! [`ContentJudge`] is fed a file's bytes in order and says which [`ContentKind`]s it found:
//! the file's own, and (for archives) its entries'. [`judged_upload_allowed`] turns that
//! [`Judgement`] into a decision, and [`made_executable`] says what a file becomes when an
//! execute bit is set on it.
//!
//! It does no I/O and keeps bounded memory whatever it is fed.

use crate::plan::Allowances;

use super::{
    ContentKind, ContentKinds, HEAD_LEN, MacroScan, TransferRefusal, by_content, by_name,
    change_allowed,
};

/// Judges one file's content as its bytes stream past, in order (bounded memory).
#[derive(Debug)]
pub struct ContentJudge {
    /// The kind the file's name says.
    name: Option<ContentKind>,
    /// The first [`HEAD_LEN`] bytes.
    head: Vec<u8>,
    /// Macro parts in a ZIP-based Office document.
    macros: MacroScan,
    macro_found: bool,
}

impl ContentJudge {
    /// A judge for the file at `path` that has seen nothing yet; the name's kind
    /// ([`by_name`]) counts too.
    pub fn new(path: &str) -> Self {
        ContentJudge {
            name: by_name(path),
            head: Vec::with_capacity(HEAD_LEN),
            macros: MacroScan::new(),
            macro_found: false,
        }
    }

    /// The next bytes of the file, in order.
    pub fn feed(&mut self, data: &[u8]) {
        let take = HEAD_LEN.saturating_sub(self.head.len()).min(data.len());
        self.head
            .extend_from_slice(data.get(..take).unwrap_or_default());
        self.macro_found |= self.macros.feed(data);
    }

    /// The kinds certain already, so the gateway can refuse while the file still streams.
    pub fn kinds(&self) -> ContentKinds {
        let mut kinds = ContentKinds::NONE;
        if let Some(kind) = by_content(&self.head) {
            kinds = kinds.with(kind);
        }
        if self.macro_found && self.head.starts_with(b"PK") {
            kinds = kinds.with(ContentKind::OfficeMacro);
        }
        kinds
    }

    /// The end of the file: the verdict.
    pub fn finish(&mut self) -> Judgement {
        let mut kinds = self.kinds();
        if kinds == ContentKinds::NONE
            && let Some(kind) = self.name
        {
            kinds = kinds.with(kind);
        }
        Judgement {
            kinds,
            unreadable: false,
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
