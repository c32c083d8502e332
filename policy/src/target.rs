//! Targets: the servers engineers reach through fumidai, how fumidai logs in to them, and
//! the host key pinned at registration (R-13-9/10: no man in the middle between the gateway
//! and the target).
//!
//! Host keys are parsed here, by hand, without an SSH library: an OpenSSH public key line is
//! `TYPE BASE64 [COMMENT]`, and the base64 decodes to a blob of length-prefixed fields whose
//! first is the key type again. Parsing both and requiring that they agree catches the usual
//! copy-and-paste mistakes (a truncated line, a private key, a key of another type).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::name_type;

mod pin;
pub mod shared_admin;

/// Longest reason for a factory account as a target's login, in characters.
pub const MAX_SHARED_ADMIN_REASON_CHARS: usize = 500;
pub use pin::{CertFingerprint, FingerprintError, TargetPin, TargetProtocol};

/// How fumidai logs in to a target. The engineer never learns the credential
/// (R-10.2-PRIV); with [`Cert`](Self::Cert) there is none to learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetAuth {
    /// A private key stored sealed in the vault (the OpenSSH private key file's text).
    Key,
    /// A password stored sealed in the vault.
    Password,
    /// A short-lived OpenSSH user certificate fumidai signs per session with its own SSH CA,
    /// whose key ID names the engineer, so the target's own log attributes the login to a
    /// person (R-10.1-NODEFAULT). Nothing is stored.
    Cert,
}

impl TargetAuth {
    /// The name as stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Password => "password",
            Self::Cert => "cert",
        }
    }

    /// Whether a credential is stored for this kind of login.
    pub fn needs_credential(self) -> bool {
        match self {
            Self::Key | Self::Password => true,
            Self::Cert => false,
        }
    }
}

impl fmt::Display for TargetAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown [`TargetAuth`] name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown target auth {0:?}: expected key, password or cert")]
pub struct UnknownAuth(pub String);

impl FromStr for TargetAuth {
    type Err = UnknownAuth;
    fn from_str(s: &str) -> Result<Self, UnknownAuth> {
        match s {
            "key" => Ok(Self::Key),
            "password" => Ok(Self::Password),
            "cert" => Ok(Self::Cert),
            other => Err(UnknownAuth(other.to_owned())),
        }
    }
}

name_type!(
    /// A label on a target, e.g. `personal-data` for servers holding patient data, which the
    /// reconciliation report flags (R-10-5).
    Tag,
    "tag",
    32
);

/// Where a target's SSH server listens and which account fumidai logs in as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshAddress {
    /// Host name or IP address, without brackets.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl SshAddress {
    /// Parses `HOST:PORT`, `[IPV6]:PORT`, or a bare host (port 22). The host may hold only
    /// letters, digits, `.`, `-`, `_` and (for IPv6) `:`; nothing that could smuggle an
    /// option or a second address into a connect call or a log line.
    pub fn parse(text: &str) -> Result<Self, TargetError> {
        Self::parse_with_default_port(text, 22)
    }

    /// As [`parse`](Self::parse), with `default_port` for a bare host (3389 for RDP).
    pub fn parse_with_default_port(text: &str, default_port: u16) -> Result<Self, TargetError> {
        let bad = || TargetError::BadAddress(text.to_owned());
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(bad)?),
            };
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad());
            }
            (host, port)
        } else {
            match text.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (text, None),
            }
        };
        let port = match port {
            None => default_port,
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?,
        };
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && !host.starts_with('-')
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
        if !host_ok {
            return Err(bad());
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl FromStr for SshAddress {
    type Err = TargetError;
    fn from_str(s: &str) -> Result<Self, TargetError> {
        Self::parse(s)
    }
}

impl fmt::Display for SshAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Checks the account name fumidai logs in to a target as: a POSIX-portable user name
/// (letters, digits, `.`, `_`, `-`, not starting with `-`), at most 32 characters.
pub fn check_target_login(login: &str) -> Result<(), TargetError> {
    let ok = !login.is_empty()
        && login.len() <= 32
        && !login.starts_with('-')
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(TargetError::BadLogin(login.to_owned()))
    }
}

/// Checks the account fumidai logs in to an RDP target as: a Windows or xrdp user name,
/// optionally `DOMAIN\\user` or `user@domain` (letters, digits, `.`, `_`, `-`, one `\\`
/// or `@`), at most 104 characters (Windows' UPN limit), not starting with `-`.
pub fn check_rdp_login(login: &str) -> Result<(), TargetError> {
    let separators = login.chars().filter(|c| matches!(c, '\\' | '@')).count();
    let ok = !login.is_empty()
        && login.len() <= 104
        && !login.starts_with(['-', '\\', '@'])
        && !login.ends_with(['\\', '@'])
        && separators <= 1
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '\\' | '@'));
    if ok {
        Ok(())
    } else {
        Err(TargetError::BadLogin(login.to_owned()))
    }
}

/// The kinds of host key that may be pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostKeyType {
    /// `ssh-ed25519`, the preferred kind.
    Ed25519,
    /// `ecdsa-sha2-nistp256`.
    EcdsaP256,
    /// `ecdsa-sha2-nistp384`.
    EcdsaP384,
    /// `ecdsa-sha2-nistp521`.
    EcdsaP521,
    /// `ssh-rsa` (signed with `rsa-sha2-256`/`-512` on the wire; the key type is the same).
    Rsa,
}

impl HostKeyType {
    /// Every kind, in order of preference when a file offers several.
    pub const ALL: [Self; 5] = [
        Self::Ed25519,
        Self::EcdsaP256,
        Self::EcdsaP384,
        Self::EcdsaP521,
        Self::Rsa,
    ];

    /// The type name in public key lines and inside the key blob.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ed25519 => "ssh-ed25519",
            Self::EcdsaP256 => "ecdsa-sha2-nistp256",
            Self::EcdsaP384 => "ecdsa-sha2-nistp384",
            Self::EcdsaP521 => "ecdsa-sha2-nistp521",
            Self::Rsa => "ssh-rsa",
        }
    }

    /// The type a line's first word names. `rsa-sha2-256`/`rsa-sha2-512` are signature
    /// algorithms over an `ssh-rsa` key, accepted here because people paste them.
    fn from_line_word(word: &str) -> Option<Self> {
        match word {
            "rsa-sha2-256" | "rsa-sha2-512" => Some(Self::Rsa),
            _ => Self::ALL.into_iter().find(|t| t.as_str() == word),
        }
    }

    /// The curve name an ECDSA blob carries after its type.
    fn curve(self) -> Option<&'static str> {
        match self {
            Self::EcdsaP256 => Some("nistp256"),
            Self::EcdsaP384 => Some("nistp384"),
            Self::EcdsaP521 => Some("nistp521"),
            Self::Ed25519 | Self::Rsa => None,
        }
    }
}

impl fmt::Display for HostKeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A target's pinned SSH host key: its type and its public key blob. Displayed (and stored)
/// normalised as `TYPE BASE64`, exactly as OpenSSH's `to_openssh()` writes a public key
/// without comment, so the key a target presents can be compared as text or as blob.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostKey {
    key_type: HostKeyType,
    blob: Vec<u8>,
}

/// Longest key blob accepted: an RSA-16384 key is about 2 KiB; anything near this limit is
/// not a public key.
const MAX_BLOB_BYTES: usize = 16 * 1024;

impl HostKey {
    /// Parses `TYPE BASE64 [COMMENT]`, as in a `.pub` file or `--host-key "…"`.
    pub fn parse(text: &str) -> Result<Self, HostKeyError> {
        refuse_private(text)?;
        let mut words = text.split_whitespace();
        let word = words.next().ok_or(HostKeyError::Empty)?;
        let key_type = HostKeyType::from_line_word(word)
            .ok_or_else(|| HostKeyError::UnsupportedType(shorten(word)))?;
        let encoded = words.next().ok_or(HostKeyError::MissingKey)?;
        Self::from_parts(key_type, encoded)
    }

    /// Parses a file's contents: a `.pub` file (`TYPE BASE64 [COMMENT]`) or the output of
    /// `ssh-keyscan` / a `known_hosts` file (`HOSTS TYPE BASE64`). Blank lines and `#`
    /// comments are skipped. When several keys are offered (ssh-keyscan prints one per
    /// type), the strongest kind in [`HostKeyType::ALL`] order is pinned — the gateway then
    /// asks the target for that kind only. A private key is refused with
    /// [`HostKeyError::PrivateKey`].
    pub fn parse_file(contents: &str) -> Result<Self, HostKeyError> {
        refuse_private(contents)?;
        let mut best: Option<Self> = None;
        let mut first_error = None;
        for line in contents.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let first = words.next().unwrap_or_default();
            // A known_hosts line starts with the host pattern (or an @marker, which we
            // don't take: a @cert-authority or @revoked line pins nothing).
            let parsed = if HostKeyType::from_line_word(first).is_some() {
                Self::parse(line)
            } else if first.starts_with('@') {
                continue;
            } else {
                Self::parse(words.collect::<Vec<_>>().join(" ").as_str())
            };
            match parsed {
                Ok(key) => {
                    if best.as_ref().is_none_or(|b| key.key_type < b.key_type) {
                        best = Some(key);
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match (best, first_error) {
            (Some(key), _) => Ok(key),
            (None, Some(e)) => Err(e),
            (None, None) => Err(HostKeyError::Empty),
        }
    }

    /// From a key type and its base64 blob; the blob must carry the same type.
    fn from_parts(key_type: HostKeyType, encoded: &str) -> Result<Self, HostKeyError> {
        if encoded.len() > MAX_BLOB_BYTES.saturating_mul(2) {
            return Err(HostKeyError::BadBlob("too long"));
        }
        let blob = STANDARD
            .decode(encoded)
            .or_else(|_| STANDARD_NO_PAD.decode(encoded))
            .map_err(|_| HostKeyError::BadBase64)?;
        if blob.len() > MAX_BLOB_BYTES {
            return Err(HostKeyError::BadBlob("too long"));
        }
        check_blob(key_type, &blob)?;
        Ok(Self { key_type, blob })
    }

    /// The key's type.
    pub fn key_type(&self) -> HostKeyType {
        self.key_type
    }

    /// The public key blob (the SSH wire encoding), to compare with what a target presents.
    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    /// The fingerprint as OpenSSH prints it (`ssh-keygen -l`, the first-connection prompt):
    /// `SHA256:` and the unpadded base64 of the blob's SHA-256.
    pub fn fingerprint(&self) -> String {
        format!(
            "SHA256:{}",
            STANDARD_NO_PAD.encode(Sha256::digest(&self.blob))
        )
    }
}

impl fmt::Display for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.key_type, STANDARD.encode(&self.blob))
    }
}

impl FromStr for HostKey {
    type Err = HostKeyError;
    fn from_str(s: &str) -> Result<Self, HostKeyError> {
        Self::parse(s)
    }
}

impl Serialize for HostKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HostKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a host key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostKeyError {
    /// Nothing was given.
    #[error("no host key given: expected an OpenSSH public key line \"TYPE BASE64\"")]
    Empty,
    /// A private key was given: it must never leave the target.
    #[error(
        "this is a private key: give the host's public key (e.g. /etc/ssh/ssh_host_ed25519_key.pub or an ssh-keyscan line), and never copy a host's private key"
    )]
    PrivateKey,
    /// The type is not one fumidai pins.
    #[error(
        "unsupported host key type {0:?}: expected ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa"
    )]
    UnsupportedType(String),
    /// The type was not followed by the key.
    #[error("the host key line has a type but no key after it")]
    MissingKey,
    /// The key is not base64.
    #[error("the host key is not valid base64 (was the line cut short?)")]
    BadBase64,
    /// The blob names another type than the line.
    #[error("the host key line says {line} but the key inside is {blob:?}")]
    TypeMismatch {
        /// What the line's first word says.
        line: HostKeyType,
        /// What the blob says.
        blob: String,
    },
    /// The blob is not a well-formed key of its type.
    #[error("the host key is malformed: {0}")]
    BadBlob(&'static str),
}

/// Why a target's address or login was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not `HOST:PORT`.
    #[error("{0:?} is not a valid HOST:PORT (e.g. db01.hospital.local:22 or [2001:db8::5]:22)")]
    BadAddress(String),
    /// Not a portable user name.
    #[error("{0:?} is not a valid login on the target (letters, digits, '.', '_', '-')")]
    BadLogin(String),
}

/// Refuses PEM and OpenSSH private keys before any other parsing.
fn refuse_private(text: &str) -> Result<(), HostKeyError> {
    if text.contains("PRIVATE KEY") {
        Err(HostKeyError::PrivateKey)
    } else {
        Ok(())
    }
}

/// A word from the input, cut to a length fit for an error message.
fn shorten(word: &str) -> String {
    word.chars().take(40).collect()
}

/// Checks the blob's structure: its type string, then the fields its type has, and nothing
/// after them.
fn check_blob(key_type: HostKeyType, blob: &[u8]) -> Result<(), HostKeyError> {
    let mut reader = BlobReader(blob);
    let inner = reader.string()?;
    if inner != key_type.as_str().as_bytes() {
        return Err(HostKeyError::TypeMismatch {
            line: key_type,
            blob: shorten(&String::from_utf8_lossy(inner)),
        });
    }
    match key_type {
        HostKeyType::Ed25519 => {
            if reader.string()?.len() != 32 {
                return Err(HostKeyError::BadBlob("an Ed25519 key is 32 bytes"));
            }
        }
        HostKeyType::EcdsaP256 | HostKeyType::EcdsaP384 | HostKeyType::EcdsaP521 => {
            let curve = reader.string()?;
            if Some(curve) != key_type.curve().map(str::as_bytes) {
                return Err(HostKeyError::BadBlob("the curve does not match the type"));
            }
            if reader.string()?.is_empty() {
                return Err(HostKeyError::BadBlob("the ECDSA point is empty"));
            }
        }
        HostKeyType::Rsa => {
            let exponent = reader.string()?;
            let modulus = reader.string()?;
            if exponent.is_empty() || modulus.len() < 128 {
                return Err(HostKeyError::BadBlob(
                    "the RSA key is missing or shorter than 1024 bits",
                ));
            }
        }
    }
    if !reader.0.is_empty() {
        return Err(HostKeyError::BadBlob("unexpected bytes after the key"));
    }
    Ok(())
}

/// Reads SSH wire `string`s (a big-endian u32 length, then that many bytes) off a slice,
/// never reading past its end.
struct BlobReader<'a>(&'a [u8]);

impl<'a> BlobReader<'a> {
    fn string(&mut self) -> Result<&'a [u8], HostKeyError> {
        let truncated = HostKeyError::BadBlob("truncated");
        let (len, rest) = self.0.split_first_chunk::<4>().ok_or(truncated.clone())?;
        let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| truncated.clone())?;
        let (value, rest) = rest.split_at_checked(len).ok_or(truncated)?;
        self.0 = rest;
        Ok(value)
    }
}

#[cfg(test)]
mod tests;
