//! Sealing a finished recording: a canonical statement of its files' names, sizes and
//! SHA-256 digests, signed with the gateway's Ed25519 key.
//!
//! The gateway stores the statement's canonical text and the signature in the audit chain;
//! `audit verify` calls [`verify`] (was the statement signed by us?) and [`verify_files`]
//! (do the files still match it?). The canonical text, one `\n`-terminated line each:
//!
//! ```text
//! fumidai recording seal v1
//! session 0190a1b2-…
//! channel 3                                   (only for per-channel recordings)
//! file 2026/02/10/0190a1b2-….cast 48211 9f86d0…
//! file 2026/02/10/0190a1b2-….data 8 4a1f…
//! file 2026/02/10/0190a1b2-….transfers.jsonl 0 e3b0c4…
//! ```
//!
//! Names are relative to the recordings root and restricted to `[A-Za-z0-9._-]` segments,
//! so a statement can neither hide a space nor point outside the root. [`Statement::parse`]
//! accepts only the canonical form, so one statement has exactly one byte encoding.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::digest::Sha256Digest;
use crate::error::{Error, Mismatch, Result};
use crate::id::RecordingId;

const MAGIC_LINE: &str = "fumidai recording seal v1";

/// What was sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The recording (session, and channel if any).
    pub recording: RecordingId,
    /// Its files, in [`FileKind::ALL`](crate::id::FileKind::ALL) order; only those its
    /// [`RecordingKind`](crate::id::RecordingKind) has.
    pub files: Vec<FileDigest>,
}

/// One sealed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// Path relative to the recordings root, `/`-separated.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content.
    pub sha256: Sha256Digest,
}

/// A statement and the gateway's signature over its canonical text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// What was sealed.
    pub statement: Statement,
    /// Ed25519 signature over `statement.canonical()`.
    pub signature: Signature,
}

impl Statement {
    /// The exact bytes that are signed.
    pub fn canonical(&self) -> String {
        let mut s = format!(
            "{MAGIC_LINE}\nsession {}\n",
            self.recording.session.hyphenated()
        );
        if let Some(ch) = self.recording.channel {
            s.push_str(&format!("channel {ch}\n"));
        }
        for f in &self.files {
            s.push_str(&format!("file {} {} {}\n", f.name, f.size, f.sha256));
        }
        s
    }

    /// Parses canonical text (as stored in the audit chain); anything else is refused.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |line: usize| Error::BadStatement {
            line: line as u64 + 1,
        };
        let mut lines = text.split_inclusive('\n').enumerate();
        if lines.next().map(|(_, l)| l) != Some(&format!("{MAGIC_LINE}\n")) {
            return Err(bad(0));
        }
        let mut recording = None;
        let mut files = Vec::new();
        for (i, line) in lines {
            let line = line.strip_suffix('\n').ok_or(bad(i))?;
            match line.split(' ').collect::<Vec<_>>().as_slice() {
                ["session", id] if i == 1 => {
                    recording = Some(RecordingId::session(
                        Uuid::parse_str(id).map_err(|_| bad(i))?,
                    ));
                }
                ["channel", ch] if i == 2 => {
                    let r = recording.as_mut().ok_or(bad(i))?;
                    r.channel = Some(ch.parse().map_err(|_| bad(i))?);
                }
                ["file", name, size, digest] if recording.is_some() => {
                    safe_path(name)?;
                    files.push(FileDigest {
                        name: (*name).to_owned(),
                        size: size.parse().map_err(|_| bad(i))?,
                        sha256: digest.parse().map_err(|_| bad(i))?,
                    });
                }
                _ => return Err(bad(i)),
            }
        }
        let statement = Self {
            recording: recording.ok_or(bad(1))?,
            files,
        };
        // Only the canonical spelling (no "+1", no uppercase hex, no leading zeros).
        if statement.canonical() != text {
            return Err(Error::BadStatement { line: 0 });
        }
        Ok(statement)
    }

    /// Digests files already on disk, for a recording that was never finished (the
    /// gateway crashed): seal what survived. `names` are the files of the recording's
    /// [`RecordingKind`](crate::id::RecordingKind) (not [`FileKind::ALL`](crate::FileKind::ALL):
    /// an SSH recording has no `.rdp` file, and a missing file is an error here).
    /// Blocking; reads every file.
    pub fn from_files(root: &Path, recording: RecordingId, names: &[String]) -> Result<Self> {
        let files = names
            .iter()
            .map(|name| {
                let (size, sha256) = digest_file(&safe_path(name).map(|p| root.join(p))?)?
                    .ok_or_else(|| Error::Tampered {
                        name: name.clone(),
                        mismatch: Mismatch::Missing,
                    })?;
                Ok(FileDigest {
                    name: name.clone(),
                    size,
                    sha256,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self { recording, files })
    }
}

impl Sealed {
    /// The signature as 128 hex digits, for the audit chain.
    pub fn signature_hex(&self) -> String {
        hex::encode(self.signature.to_bytes())
    }
}

/// Signs a statement.
pub fn sign(statement: Statement, key: &SigningKey) -> Sealed {
    let signature = key.sign(statement.canonical().as_bytes());
    Sealed {
        statement,
        signature,
    }
}

/// Checks that `signature` is the gateway's over this statement (strict Ed25519: no
/// malleable or small-order encodings).
pub fn verify(statement: &Statement, signature: &Signature, key: &VerifyingKey) -> Result<()> {
    key.verify_strict(statement.canonical().as_bytes(), signature)
        .map_err(|_| Error::BadSignature)
}

/// Recomputes every file's size and digest under `root` and compares them with the
/// statement; the first difference is [`Error::Tampered`]. Blocking; reads every file.
pub fn verify_files(root: &Path, statement: &Statement) -> Result<()> {
    for f in &statement.files {
        let tampered = |mismatch| Error::Tampered {
            name: f.name.clone(),
            mismatch,
        };
        let path = root.join(safe_path(&f.name)?);
        let Some((size, sha256)) = digest_file(&path)? else {
            return Err(tampered(Mismatch::Missing));
        };
        if size != f.size {
            return Err(tampered(Mismatch::Size {
                expected: f.size,
                actual: size,
            }));
        }
        if sha256 != f.sha256 {
            return Err(tampered(Mismatch::Digest));
        }
    }
    Ok(())
}

/// A statement name as a relative path, if it is a plain one.
fn safe_path(name: &str) -> Result<PathBuf> {
    let ok_segment = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    if name.split('/').all(ok_segment) {
        Ok(PathBuf::from(name))
    } else {
        Err(Error::BadFileName)
    }
}

/// Size and SHA-256 of a file; `None` if it does not exist.
fn digest_file(path: &Path) -> Result<Option<(u64, Sha256Digest)>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::read(e)),
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 << 10];
    let mut size = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(buf.get(..n).unwrap_or_default());
                size += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::read(e)),
        }
    }
    Ok(Some((size, Sha256Digest::from_hasher(hasher))))
}

#[cfg(test)]
mod tests;
