//! fumidai's SSH user certificate authority: an Ed25519 key, separate from the TLS CA and
//! from the signing key, that signs one short-lived OpenSSH user certificate per session
//! for targets registered with `--auth cert`.
//!
//! The target trusts the CA once (`TrustedUserCAKeys`, the line `fumidai ssh-ca pubkey`
//! prints) and holds no fumidai secret. Each session gets a fresh key pair, generated in
//! memory and never written anywhere, and a certificate whose key ID is
//! `ENGINEER/SESSION-ID`: the target's own log then names the person and the session behind
//! every login, not a shared account (R-10.1-NODEFAULT).
//!
//! # What this module does not do
//!
//! It does not decide who may log in or until when: the caller passes what admission
//! decided ([`CertRequest`]). It does not end a session when the certificate expires —
//! OpenSSH checks a certificate at login only; the gateway cuts the session at the window's
//! end (R-10.2-TIMEOUT).

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use policy::ids::{Login, SessionId};
use rand::RngCore;
use russh::keys::ssh_key::certificate::{Builder, CertType};
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::{Fingerprint, LineEnding};
use russh::keys::{Algorithm, Certificate, HashAlg, PrivateKey};
use zeroize::Zeroizing;

use fumidai_core::datadir;

/// The comment on the CA's public key line, so an administrator reading
/// `TrustedUserCAKeys` knows whose key it is.
pub const CA_COMMENT: &str = "fumidai-ssh-ca";

/// How far back a certificate's validity starts, so a target whose clock is a little behind
/// the gateway's still accepts it.
pub const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(1);

/// Why the SSH CA could not be loaded, created or used.
#[derive(Debug, thiserror::Error)]
pub enum SshCaError {
    /// The operating system's random source failed.
    #[error("cannot draw random bytes: {0}")]
    Random(rand::Error),
    /// The key file could not be read or written.
    #[error("cannot access the SSH CA key {path}: {source}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The key file is not an OpenSSH private key.
    #[error("the SSH CA key {path} is not an OpenSSH private key: {source}")]
    Format {
        /// Which file.
        path: PathBuf,
        /// What the parser said.
        source: russh::keys::ssh_key::Error,
    },
    /// The key file holds another kind of key, or an encrypted one.
    #[error("the SSH CA key {path} must be an unencrypted Ed25519 key")]
    NotEd25519 {
        /// Which file.
        path: PathBuf,
    },
    /// A key or certificate could not be encoded.
    #[error("cannot encode an SSH key or certificate: {0}")]
    Encoding(russh::keys::ssh_key::Error),
    /// The certificate could not be built or signed.
    #[error("cannot sign the session certificate: {0}")]
    Signing(russh::keys::ssh_key::Error),
    /// The window the certificate would cover has already ended.
    #[error("the plan's window ended at {valid_until}; no certificate is issued after it")]
    WindowEnded {
        /// When it ended.
        valid_until: DateTime<Utc>,
    },
}

/// Result of this module's operations.
pub type Result<T> = std::result::Result<T, SshCaError>;

/// fumidai's SSH user CA. `Debug` shows the fingerprint only; the key zeroizes on drop
/// (ssh-key's Ed25519 private key does).
pub struct SshCa {
    key: PrivateKey,
}

/// What admission decided about a session, which its certificate carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRequest {
    /// Who: the first half of the key ID.
    pub engineer: Login,
    /// Which session: the second half of the key ID, so the target's log leads back to the
    /// recording.
    pub session_id: SessionId,
    /// The plan window's end: the certificate is not valid at or after it.
    pub valid_until: DateTime<Utc>,
    /// Whether the plan allows TCP forwarding (`permit-port-forwarding`).
    pub allow_port_forwarding: bool,
}

/// A freshly signed certificate and the in-memory key it certifies.
pub struct SessionCertificate {
    /// The session's private key; never written anywhere.
    pub key: PrivateKey,
    /// The certificate for `key`'s public half.
    pub cert: Certificate,
}

impl fmt::Debug for SessionCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCertificate")
            .field("key", &"<secret>")
            .field("key_id", &self.cert.key_id())
            .field("serial", &self.cert.serial())
            .finish()
    }
}

impl SshCa {
    /// A new CA with a fresh Ed25519 key. Fails only if the random source does.
    pub fn generate() -> Result<Self> {
        Ok(Self {
            key: fresh_ed25519()?,
        })
    }

    /// Loads the CA key written by [`write`](Self::write). The file must be readable by its
    /// owner only and hold an unencrypted Ed25519 key.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = datadir::read_secret(path).map_err(|source| SshCaError::Io {
            path: path.to_owned(),
            source,
        })?;
        let key =
            PrivateKey::from_openssh(bytes.as_slice()).map_err(|source| SshCaError::Format {
                path: path.to_owned(),
                source,
            })?;
        if key.algorithm() != Algorithm::Ed25519 || key.is_encrypted() {
            return Err(SshCaError::NotEd25519 {
                path: path.to_owned(),
            });
        }
        Ok(Self { key })
    }

    /// Writes the key to a new file, mode 0600, in OpenSSH format. Never overwrites: a new CA
    /// key locks fumidai out of every target that trusts the old one.
    pub fn write(&self, path: &Path) -> Result<()> {
        let pem = self
            .key
            .to_openssh(LineEnding::LF)
            .map_err(SshCaError::Encoding)?;
        datadir::write_secret(path, pem.as_bytes()).map_err(|source| SshCaError::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// Loads the CA key at `path`, creating it first if the data directory predates the SSH
    /// CA. Returns whether it was created. Safe against a concurrent creator: the file is
    /// created exclusively, and whoever loses the race loads the winner's key.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool)> {
        match std::fs::symlink_metadata(path) {
            Ok(_) => return Ok((Self::load(path)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(SshCaError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        }
        let ca = Self::generate()?;
        match ca.write(path) {
            Ok(()) => Ok((ca, true)),
            Err(SshCaError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                Ok((Self::load(path)?, false))
            }
            Err(e) => Err(e),
        }
    }

    /// The line for the target's `TrustedUserCAKeys` file: `ssh-ed25519 AAAA… fumidai-ssh-ca`.
    pub fn public_line(&self) -> Result<String> {
        let mut public = self.key.public_key().clone();
        public.set_comment(CA_COMMENT);
        public.to_openssh().map_err(SshCaError::Encoding)
    }

    /// The CA key's fingerprint, `SHA256:…`, as `ssh-keygen -l` and sshd's log print it.
    pub fn fingerprint(&self) -> Fingerprint {
        self.key.public_key().fingerprint(HashAlg::Sha256)
    }

    /// Signs a user certificate for a fresh key pair: key ID `ENGINEER/SESSION-ID`, the one
    /// principal `login` (the account on the target), valid from `now` minus
    /// [`CLOCK_SKEW`] until the window's end, a random serial, and the extensions
    /// `permit-pty` (and `permit-port-forwarding` when the plan allows forwarding) — no
    /// agent or X11 forwarding, no `~/.ssh/rc`.
    pub fn issue(
        &self,
        request: &CertRequest,
        login: &str,
        now: DateTime<Utc>,
    ) -> Result<SessionCertificate> {
        if request.valid_until <= now {
            return Err(SshCaError::WindowEnded {
                valid_until: request.valid_until,
            });
        }
        let valid_after = unix_seconds(now - CLOCK_SKEW);
        // Truncated to the second: the certificate never outlives the window.
        let valid_before = unix_seconds(request.valid_until);
        let key = fresh_ed25519()?;
        let mut nonce = [0_u8; 32];
        fill_random(&mut nonce)?;
        let mut builder = Builder::new(
            nonce.to_vec(),
            key.public_key().key_data().clone(),
            valid_after,
            valid_before,
        )
        .map_err(SshCaError::Signing)?;
        builder
            .serial(random_serial()?)
            .and_then(|b| b.cert_type(CertType::User))
            .and_then(|b| b.key_id(key_id(request)))
            .and_then(|b| b.valid_principal(login))
            .and_then(|b| b.extension("permit-pty", ""))
            .map_err(SshCaError::Signing)?;
        if request.allow_port_forwarding {
            builder
                .extension("permit-port-forwarding", "")
                .map_err(SshCaError::Signing)?;
        }
        let cert = builder.sign(&self.key).map_err(SshCaError::Signing)?;
        Ok(SessionCertificate { key, cert })
    }
}

impl fmt::Debug for SshCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshCa")
            .field("fingerprint", &self.fingerprint().to_string())
            .finish_non_exhaustive()
    }
}

/// `ENGINEER/SESSION-ID`: both halves are restricted to characters safe in a log line.
pub fn key_id(request: &CertRequest) -> String {
    format!("{}/{}", request.engineer, request.session_id)
}

fn fresh_ed25519() -> Result<PrivateKey> {
    let mut seed = Zeroizing::new([0_u8; 32]);
    fill_random(seed.as_mut())?;
    Ok(PrivateKey::from(Ed25519Keypair::from_seed(&seed)))
}

fn random_serial() -> Result<u64> {
    let mut bytes = [0_u8; 8];
    fill_random(&mut bytes)?;
    Ok(u64::from_be_bytes(bytes))
}

fn fill_random(buf: &mut [u8]) -> Result<()> {
    rand::rngs::OsRng
        .try_fill_bytes(buf)
        .map_err(SshCaError::Random)
}

/// Seconds since the epoch; a time before it (never, from a sane clock) counts as 0.
fn unix_seconds(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp()).unwrap_or(0)
}

#[cfg(test)]
mod tests;
