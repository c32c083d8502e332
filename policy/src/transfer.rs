//! What may move as a file between the engineer and the target (§7 ②, R-10-6).
//!
//! Downloads take data out of the hospital and need `download` in the plan; uploads need
//! `upload`, and even then the kinds of file that can run code on the target — executables,
//! scripts, Office documents with macros, archives that could carry any of them — are
//! refused unless the plan declares that kind. The gateway sees a transfer's path and its
//! first bytes; [`classify`] turns them into a [`ContentKind`], and [`upload_allowed`] /
//! [`download_allowed`] decide.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::plan::Allowances;

mod content;

pub use content::{ContentJudge, Judgement, judged_upload_allowed, made_executable};

/// How many leading bytes [`classify`] looks at (a tar header's magic sits at 257).
pub const HEAD_LEN: usize = 512;

/// Which way a file moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Engineer to target.
    Upload,
    /// Target to engineer: data leaving the hospital.
    Download,
}

/// A kind of file that can run code on the target, refused on upload unless declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContentKind {
    /// Native programs and installable packages: ELF, PE (`.exe`, `.dll`, `.msi`), Mach-O,
    /// `.deb`, `.rpm`.
    Executable,
    /// Anything an interpreter runs: `#!` files, shell, PowerShell, batch, Python, ….
    Script,
    /// Office documents that can carry macros: macro-enabled OOXML (`.docm`, `.xlsm`, …,
    /// or any OOXML holding a `vbaProject.bin`) and the legacy binary formats (OLE2), whose
    /// macros can't be told apart from their first bytes.
    OfficeMacro,
    /// Archives and compressed files, which could carry any of the above unseen.
    Archive,
}

impl ContentKind {
    /// Every kind, in display order.
    pub const ALL: [ContentKind; 4] = [
        ContentKind::Executable,
        ContentKind::Script,
        ContentKind::OfficeMacro,
        ContentKind::Archive,
    ];

    /// Stable name, as the plan's `--allow` and the audit trail spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentKind::Executable => "executable",
            ContentKind::Script => "script",
            ContentKind::OfficeMacro => "macro",
            ContentKind::Archive => "archive",
        }
    }

    /// The kind's name in Japanese, for messages and reports.
    pub fn japanese(self) -> &'static str {
        match self {
            ContentKind::Executable => "実行ファイル",
            ContentKind::Script => "スクリプト",
            ContentKind::OfficeMacro => "マクロ付き Office 文書",
            ContentKind::Archive => "圧縮・アーカイブファイル",
        }
    }

    /// The kind's name in English, for messages and reports.
    pub fn english(self) -> &'static str {
        match self {
            ContentKind::Executable => "an executable",
            ContentKind::Script => "a script",
            ContentKind::OfficeMacro => "an Office document with macros",
            ContentKind::Archive => "an archive",
        }
    }

    fn bit(self) -> u8 {
        match self {
            ContentKind::Executable => 1,
            ContentKind::Script => 2,
            ContentKind::OfficeMacro => 4,
            ContentKind::Archive => 8,
        }
    }
}

impl fmt::Display for ContentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ContentKind {
    type Err = UnknownContentKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ContentKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownContentKind(s.to_owned()))
    }
}

/// A content kind name that isn't one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown content kind {0:?} (expected executable, script, macro or archive)")]
pub struct UnknownContentKind(pub String);

/// The content kinds a plan declares for upload. Empty by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ContentKinds(u8);

impl ContentKinds {
    /// No kind declared.
    pub const NONE: ContentKinds = ContentKinds(0);

    /// Whether `kind` is declared.
    pub fn contains(self, kind: ContentKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// The set with `kind` added.
    #[must_use]
    pub fn with(self, kind: ContentKind) -> Self {
        ContentKinds(self.0 | kind.bit())
    }

    /// Whether every kind is declared (then nothing is refused for its content).
    pub fn is_all(self) -> bool {
        ContentKind::ALL.into_iter().all(|k| self.contains(k))
    }

    /// The declared kinds, in display order.
    pub fn iter(self) -> impl Iterator<Item = ContentKind> {
        ContentKind::ALL
            .into_iter()
            .filter(move |k| self.contains(*k))
    }

    /// Comma-separated names (`executable,archive`), empty when none: how the store keeps
    /// the set.
    pub fn to_list(self) -> String {
        self.iter()
            .map(ContentKind::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses [`ContentKinds::to_list`]'s form.
    pub fn from_list(list: &str) -> Result<Self, UnknownContentKind> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .try_fold(ContentKinds::NONE, |set, name| {
                Ok(set.with(name.parse::<ContentKind>()?))
            })
    }
}

impl FromIterator<ContentKind> for ContentKinds {
    fn from_iter<I: IntoIterator<Item = ContentKind>>(iter: I) -> Self {
        iter.into_iter()
            .fold(ContentKinds::NONE, ContentKinds::with)
    }
}

impl Serialize for ContentKinds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(ContentKind::as_str))
    }
}

impl<'de> Deserialize<'de> for ContentKinds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names
            .iter()
            .map(|n| n.parse::<ContentKind>().map_err(serde::de::Error::custom))
            .collect()
    }
}

/// Why a transfer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferRefusal {
    /// A download without `download` in the plan (§7 ②).
    DownloadNotAllowed,
    /// An upload, or a change to the target's files, without `upload` in the plan.
    UploadNotAllowed,
    /// A kind of file the plan does not declare (R-10-6).
    ContentNotDeclared(ContentKind),
    /// An upload whose beginning the gateway can't see (a resumed or appended upload, or
    /// one written out of order) while some content kinds are still undeclared.
    ContentUnseen,
    /// The virus scanner found something, or could not give a verdict.
    ScanFailed,
    /// An archive whose entries could not all be read (corrupt, truncated, encrypted, a
    /// format the gateway can't open, or too large or deep to judge) while `archive` is
    /// not declared: what it carries is unknown.
    ArchiveUnreadable,
}

impl TransferRefusal {
    /// Stable name for the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferRefusal::DownloadNotAllowed => "download_not_allowed",
            TransferRefusal::UploadNotAllowed => "upload_not_allowed",
            TransferRefusal::ContentNotDeclared(ContentKind::Executable) => {
                "executable_not_declared"
            }
            TransferRefusal::ContentNotDeclared(ContentKind::Script) => "script_not_declared",
            TransferRefusal::ContentNotDeclared(ContentKind::OfficeMacro) => "macro_not_declared",
            TransferRefusal::ContentNotDeclared(ContentKind::Archive) => "archive_not_declared",
            TransferRefusal::ContentUnseen => "content_unseen",
            TransferRefusal::ScanFailed => "scan_failed",
            TransferRefusal::ArchiveUnreadable => "archive_unreadable",
        }
    }

    /// What the engineer reads: one line, Japanese then English (SFTP status messages are
    /// shown on one line).
    pub fn message(self) -> String {
        match self {
            TransferRefusal::DownloadNotAllowed => {
                "作業計画でダウンロードが許可されていません / downloads are not allowed by the work plan".to_owned()
            }
            TransferRefusal::UploadNotAllowed => {
                "作業計画でアップロード（ファイルの変更）が許可されていません / uploads and file changes are not allowed by the work plan".to_owned()
            }
            TransferRefusal::ContentNotDeclared(kind) => format!(
                "{}のアップロードは作業計画に記載がないため拒否しました / upload refused: {} is not declared in the work plan (--allow {})",
                kind.japanese(),
                kind.english(),
                kind.as_str()
            ),
            TransferRefusal::ContentUnseen => {
                "ファイルの先頭を検査できないアップロード（再開・追記）は拒否しました / upload refused: resumed or appended uploads can't be inspected".to_owned()
            }
            TransferRefusal::ScanFailed => {
                "ウイルス検査で拒否しました / upload refused by the virus scan".to_owned()
            }
            TransferRefusal::ArchiveUnreadable => {
                "中身を最後まで検査できない圧縮・アーカイブファイルは作業計画に記載がないため拒否しました / upload refused: an archive that can't be inspected to the end is not declared in the work plan (--allow archive)".to_owned()
            }
        }
    }
}

/// Whether a file may be fetched from the target.
pub fn download_allowed(allow: &Allowances) -> Result<(), TransferRefusal> {
    if allow.download {
        Ok(())
    } else {
        Err(TransferRefusal::DownloadNotAllowed)
    }
}

/// Whether the target's files may be written or changed at all (open for writing, remove,
/// rename, make a directory, change attributes).
pub fn change_allowed(allow: &Allowances) -> Result<(), TransferRefusal> {
    if allow.upload {
        Ok(())
    } else {
        Err(TransferRefusal::UploadNotAllowed)
    }
}

/// Whether an upload of `kind` content (as [`classify`] found it) may go on.
pub fn upload_allowed(
    allow: &Allowances,
    kind: Option<ContentKind>,
) -> Result<(), TransferRefusal> {
    change_allowed(allow)?;
    match kind {
        Some(kind) if !allow.content.contains(kind) => {
            Err(TransferRefusal::ContentNotDeclared(kind))
        }
        _ => Ok(()),
    }
}

/// Whether an upload whose first bytes can't be seen may go on: only when nothing would be
/// refused for its content anyway.
pub fn unseen_upload_allowed(allow: &Allowances) -> Result<(), TransferRefusal> {
    change_allowed(allow)?;
    if allow.content.is_all() {
        Ok(())
    } else {
        Err(TransferRefusal::ContentUnseen)
    }
}

/// The kind of a file from its path and its first bytes (up to [`HEAD_LEN`]; fewer for a
/// short file, or none when only the name is known yet). The content decides when it says
/// something; else the name's extension does, so `evil.sh` without a `#!` is still a
/// script, and an ELF named `notes.txt` is still an executable.
pub fn classify(path: &str, head: &[u8]) -> Option<ContentKind> {
    by_content(head).or_else(|| by_name(path))
}

/// The kind a name alone says, for renames and for opens before any byte is written.
pub fn by_name(path: &str) -> Option<ContentKind> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    let (_, ext) = lower.rsplit_once('.')?;
    let kinds: [(ContentKind, &[&str]); 4] = [
        (
            ContentKind::Executable,
            &[
                "exe", "dll", "msi", "msp", "com", "scr", "sys", "elf", "so", "run", "appimage",
                "deb", "rpm", "apk", "jar", "war", "ear", "class", "cpl", "ocx",
            ],
        ),
        (
            ContentKind::Script,
            &[
                "sh", "bash", "zsh", "ksh", "csh", "tcsh", "fish", "ps1", "psm1", "psd1", "bat",
                "cmd", "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "py", "pyc", "pl", "pm",
                "rb", "php", "lua", "tcl", "awk", "expect", "service", "timer",
            ],
        ),
        (
            ContentKind::OfficeMacro,
            &[
                "docm", "dotm", "xlsm", "xltm", "xlam", "xla", "xlsb", "pptm", "potm", "ppam",
                "ppsm", "sldm", "doc", "dot", "xls", "xlt", "ppt", "pot", "pps",
            ],
        ),
        (
            ContentKind::Archive,
            &[
                "zip", "tar", "tgz", "tbz", "tbz2", "txz", "tzst", "gz", "bz2", "xz", "zst", "lz",
                "lzma", "lz4", "7z", "rar", "cab", "iso", "img", "cpio", "ar", "z",
            ],
        ),
    ];
    kinds
        .into_iter()
        .find(|(_, exts)| exts.contains(&ext))
        .map(|(kind, _)| kind)
}

/// The kind the first bytes say, or `None` for content that runs nothing by itself (text,
/// images, plain OOXML/ODF documents, …).
pub fn by_content(head: &[u8]) -> Option<ContentKind> {
    const EXECUTABLE: &[&[u8]] = &[
        b"\x7fELF",
        b"MZ",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
        b"!<arch>\ndebian-binary",
        b"\xed\xab\xee\xdb",
        b"\0asm",
    ];
    const ARCHIVE: &[&[u8]] = &[
        b"\x1f\x8b",
        b"BZh",
        b"\xfd7zXZ\0",
        b"\x28\xb5\x2f\xfd",
        b"7z\xbc\xaf\x27\x1c",
        b"Rar!\x1a\x07",
        b"MSCF",
        b"LZIP",
        b"\x04\x22\x4d\x18",
        b"\x5d\0\0",
        b"!<arch>\n",
        b"070701",
        b"070707",
    ];
    const OLE2: &[u8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";
    if EXECUTABLE.iter().any(|m| head.starts_with(m)) {
        return Some(ContentKind::Executable);
    }
    if head.starts_with(b"#!") {
        return Some(ContentKind::Script);
    }
    if head.starts_with(OLE2) {
        return Some(ContentKind::OfficeMacro);
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return if office_document(head) {
            // Plain OOXML/ODF; a macro part inside is found by `MacroScan`.
            None
        } else {
            Some(ContentKind::Archive)
        };
    }
    if ARCHIVE.iter().any(|m| head.starts_with(m)) || head.get(257..262) == Some(b"ustar") {
        return Some(ContentKind::Archive);
    }
    None
}

/// Whether a ZIP's first entry marks an OOXML or ODF document rather than an archive.
fn office_document(head: &[u8]) -> bool {
    // Local file header: 30 fixed bytes, the name's length at 26..28, the name at 30.
    let Some(&[lo, hi]) = head.get(26..28) else {
        return false;
    };
    let len = usize::from(u16::from_le_bytes([lo, hi]));
    let Some(name) = head.get(30..30 + len) else {
        return false;
    };
    let ooxml = [
        &b"[Content_Types].xml"[..],
        b"_rels/",
        b"docProps/",
        b"word/",
        b"xl/",
        b"ppt/",
    ];
    ooxml.iter().any(|p| name.starts_with(p)) || name == b"mimetype"
}

/// Finds a macro part anywhere in an uploaded OOXML/ODF document as its bytes stream past:
/// ZIP stores entry names uncompressed, so `vbaProject.bin` (OOXML) or `Basic/` scripts
/// (ODF) show up in the raw bytes.
#[derive(Debug, Clone, Default)]
pub struct MacroScan {
    /// The last bytes of the previous chunk, so a name split across chunks is found.
    tail: Vec<u8>,
    found: bool,
}

/// The names of macro parts, as searchers built once (SIMD; every uploaded byte passes
/// through them, so a naive search cost a tenth of the gateway's CPU in the benchmark).
fn macro_needles() -> &'static [memchr::memmem::Finder<'static>; 2] {
    static NEEDLES: std::sync::OnceLock<[memchr::memmem::Finder<'static>; 2]> =
        std::sync::OnceLock::new();
    NEEDLES.get_or_init(|| {
        [
            memchr::memmem::Finder::new(b"vbaProject.bin"),
            memchr::memmem::Finder::new(b"Basic/script-lc.xml"),
        ]
    })
}

impl MacroScan {
    /// The longest needle's length: a name split across chunks lies within this many
    /// bytes of the boundary.
    const LONGEST: usize = b"Basic/script-lc.xml".len();

    /// A scan that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk; true once a macro part has been seen.
    pub fn feed(&mut self, chunk: &[u8]) -> bool {
        if self.found {
            return true;
        }
        let needles = macro_needles();
        // Across the boundary: the old tail and the chunk's head.
        let mut window = std::mem::take(&mut self.tail);
        window.extend_from_slice(
            chunk
                .get(..Self::LONGEST.min(chunk.len()))
                .unwrap_or_default(),
        );
        self.found = needles
            .iter()
            .any(|n| n.find(&window).is_some() || n.find(chunk).is_some());
        // Keep the last `LONGEST - 1` bytes seen, whatever the chunk sizes.
        let keep = Self::LONGEST - 1;
        self.tail = if chunk.len() >= keep {
            chunk.get(chunk.len() - keep..).unwrap_or_default().to_vec()
        } else {
            // The window is the old tail and the whole chunk.
            window
                .get(window.len().saturating_sub(keep)..)
                .unwrap_or_default()
                .to_vec()
        };
        self.found
    }
}

#[cfg(test)]
mod tests;
