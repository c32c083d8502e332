//! A recording against its seal: the statement's signature by the gateway's key, then each
//! file's size and SHA-256.

use std::path::Path;

use ed25519_dalek::{Signature, VerifyingKey};

use crate::error::Error;
use crate::seal::{self, Statement};

/// A recording against its seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealState {
    /// Signed by this gateway's key, and every file's size and SHA-256 match.
    Intact,
    /// Sealed, but the seal or a file does not match: possible tampering.
    Broken {
        /// The file (or seal) that does not match.
        file: String,
        /// How.
        problem: String,
    },
    /// No `recording.sealed` record: the session is live, or the gateway stopped first.
    Unsealed,
}

impl SealState {
    /// `intact`, `tampered` or `unsealed`, for lists and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            SealState::Intact => "intact",
            SealState::Broken { .. } => "tampered",
            SealState::Unsealed => "unsealed",
        }
    }
}

/// The seal's signature, then each file's size and digest. A problem with the seal itself
/// is reported against the recording's first file (the cast, or the `.rdp` file).
pub fn check_seal(
    root: &Path,
    key: &VerifyingKey,
    statement: &Statement,
    signature: &str,
) -> SealState {
    let cast = statement
        .files
        .first()
        .map(|f| f.name.clone())
        .unwrap_or_default();
    let broken = |file: String, problem: String| SealState::Broken { file, problem };
    let bytes: Option<[u8; 64]> = hex::decode(signature).ok().and_then(|b| b.try_into().ok());
    let Some(bytes) = bytes else {
        return broken(
            root.join(&cast).display().to_string(),
            "malformed seal signature".to_owned(),
        );
    };
    if let Err(e) = seal::verify(statement, &Signature::from_bytes(&bytes), key) {
        return broken(root.join(&cast).display().to_string(), e.to_string());
    }
    match seal::verify_files(root, statement) {
        Ok(()) => SealState::Intact,
        Err(Error::Tampered { name, mismatch }) => {
            broken(root.join(name).display().to_string(), mismatch.to_string())
        }
        Err(e) => broken(root.join(&cast).display().to_string(), e.to_string()),
    }
}
