//! fumidai's SSH client leg: logging in to a target with a credential the engineer never
//! sees (R-10.2-PRIV), after checking the target's host key against the one pinned at
//! registration (R-13-9/10: no man in the middle between gateway and target).

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, AuthResult, Handle};
use russh::keys::{
    Certificate, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate,
};
use russh::{Preferred, cipher};
use secrecy::{ExposeSecret, SecretString};
use tracing::{debug, instrument};

/// Ciphers offered to targets, best first. The target takes the first of *our* list it
/// knows, so the order decides: AES-GCM runs on the CPU's AES instructions and costs a
/// fraction of ChaCha20-Poly1305, which fumidai pays for every byte it relays (and AES is
/// on the CRYPTREC list, R-13-4). ChaCha20-Poly1305, then the CTR modes with an
/// encrypt-then-MAC SHA-2 MAC, remain for targets without AES-GCM (OpenSSH before 6.2),
/// as in russh's defaults.
const TARGET_CIPHERS: &[cipher::Name] = &[
    cipher::AES_256_GCM,
    cipher::AES_128_GCM,
    cipher::CHACHA20_POLY1305,
    cipher::AES_256_CTR,
    cipher::AES_192_CTR,
    cipher::AES_128_CTR,
];

/// fumidai's SSH client settings towards targets: russh's defaults (curve25519 and
/// SHA-2 key exchange with strict kex, SHA-2 MACs, no SHA-1, no CBC) with AES-GCM
/// first and `TCP_NODELAY` on the connection to the target.
pub fn client_config() -> client::Config {
    client::Config {
        preferred: Preferred {
            cipher: Cow::Borrowed(TARGET_CIPHERS),
            ..Preferred::default()
        },
        // Nagle would hold a keystroke's echo back behind an unacknowledged segment.
        nodelay: true,
        ..client::Config::default()
    }
}

/// How fumidai proves itself to a target.
pub enum TargetCredential {
    /// A private key held in the vault.
    Key(Box<PrivateKey>),
    /// A password held in the vault.
    Password(SecretString),
    /// A key pair generated for this session only, and the short-lived OpenSSH user
    /// certificate fumidai's SSH CA signed for it (`--auth cert`, R-10.1-NODEFAULT).
    Certificate {
        /// The session's private key, in memory only.
        key: Box<PrivateKey>,
        /// Its certificate: key ID `ENGINEER/SESSION-ID`, the login as sole principal.
        cert: Box<Certificate>,
    },
}

impl std::fmt::Debug for TargetCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Key(_) => "TargetCredential::Key(<secret>)",
            Self::Password(_) => "TargetCredential::Password(<secret>)",
            Self::Certificate { .. } => "TargetCredential::Certificate(<secret>)",
        })
    }
}

/// Everything needed to reach and log in to one target.
#[derive(Debug)]
pub struct TargetEndpoint {
    /// `HOST:PORT`.
    pub address: String,
    /// The account on the target.
    pub login: String,
    /// The pinned host key, as an OpenSSH public key line `TYPE BASE64`.
    pub host_key: String,
    /// The credential.
    pub credential: TargetCredential,
}

/// Why the target leg failed. `HostKeyMismatch` is a security event: audit and alert.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The target presented another host key than the pinned one.
    #[error("target host key mismatch: presented {presented}, pinned {pinned}")]
    HostKeyMismatch {
        /// What it presented (`TYPE BASE64`).
        presented: String,
        /// What was pinned.
        pinned: String,
    },
    /// The target could not be reached in time.
    #[error("target {address} did not answer within {timeout:?}")]
    Timeout {
        /// Where.
        address: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// The target refused fumidai's credential.
    #[error("target refused the stored credential for {login}")]
    CredentialRefused {
        /// The account on the target.
        login: String,
    },
    /// The target refused fumidai's session certificate: its sshd does not trust
    /// fumidai's SSH CA, or does not map the login to the certificate's principal.
    #[error(
        "target refused fumidai's SSH certificate for {login} (does its sshd list `fumidai ssh-ca pubkey` in TrustedUserCAKeys?)"
    )]
    CertificateRefused {
        /// The account on the target.
        login: String,
    },
    /// SSH-level failure.
    #[error("target connection failed: {0}")]
    Ssh(#[from] russh::Error),
}

/// A logged-in connection to a target.
pub type TargetConnection = Handle<PinnedHostKey>;

/// Connects to the target, checks its host key, and logs in with the stored credential.
#[instrument(skip_all, fields(target_address = %endpoint.address))]
pub async fn connect(
    endpoint: &TargetEndpoint,
    config: Arc<client::Config>,
    timeout: Duration,
) -> Result<TargetConnection, TargetError> {
    let presented = Arc::new(Mutex::new(None));
    let handler = PinnedHostKey {
        pinned: normalise(&endpoint.host_key),
        presented: Arc::clone(&presented),
    };
    let timed_out = || TargetError::Timeout {
        address: endpoint.address.clone(),
        timeout,
    };
    let connecting = client::connect(config, endpoint.address.as_str(), handler);
    let mut handle = match tokio::time::timeout(timeout, connecting).await {
        Ok(Ok(handle)) => handle,
        Ok(Err(error)) => {
            // A rejected host key surfaces as a russh error; say which key it was.
            if let Some(key) = presented.lock().ok().and_then(|mut p| p.take()) {
                return Err(TargetError::HostKeyMismatch {
                    presented: key,
                    pinned: normalise(&endpoint.host_key),
                });
            }
            return Err(error.into());
        }
        Err(_) => return Err(timed_out()),
    };
    let result = match &endpoint.credential {
        TargetCredential::Password(password) => {
            handle
                .authenticate_password(&endpoint.login, password.expose_secret())
                .await?
        }
        TargetCredential::Key(key) => {
            let hash = rsa_hash(&handle, key).await?;
            let key = PrivateKeyWithHashAlg::new(Arc::new(key.as_ref().clone()), hash);
            handle.authenticate_publickey(&endpoint.login, key).await?
        }
        TargetCredential::Certificate { key, cert } => {
            // Ed25519 only (fumidai generates the key): no RSA hash to negotiate.
            handle
                .authenticate_openssh_cert(
                    &endpoint.login,
                    Arc::new(key.as_ref().clone()),
                    cert.as_ref().clone(),
                )
                .await?
        }
    };
    let login = endpoint.login.clone();
    match (result, &endpoint.credential) {
        (AuthResult::Success, _) => {
            debug!("logged in to target");
            Ok(handle)
        }
        (AuthResult::Failure { .. }, TargetCredential::Certificate { .. }) => {
            Err(TargetError::CertificateRefused { login })
        }
        (AuthResult::Failure { .. }, _) => Err(TargetError::CredentialRefused { login }),
    }
}

/// RSA keys sign with the best hash the target supports; other keys need none.
async fn rsa_hash(
    handle: &TargetConnection,
    key: &PrivateKey,
) -> Result<Option<HashAlg>, russh::Error> {
    if key.algorithm().is_rsa() {
        Ok(handle
            .best_supported_rsa_hash()
            .await?
            .flatten()
            .or(Some(HashAlg::Sha256)))
    } else {
        Ok(None)
    }
}

/// The russh client handler: accepts the target only if it shows the pinned key.
pub struct PinnedHostKey {
    pinned: String,
    /// The key a mismatching target showed, for the audit trail.
    presented: Arc<Mutex<Option<String>>>,
}

impl client::Handler for PinnedHostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // A host certificate is not accepted in place of the pinned key.
        let shown = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                key.to_openssh().map(|s| normalise(&s)).unwrap_or_default()
            }
            PublicKeyOrCertificate::Certificate(cert) => {
                cert.to_openssh().map(|s| normalise(&s)).unwrap_or_default()
            }
        };
        if !shown.is_empty() && shown == self.pinned {
            return Ok(true);
        }
        if let Ok(mut presented) = self.presented.lock() {
            *presented = Some(shown);
        }
        Ok(false)
    }
}

/// `TYPE BASE64` without a trailing comment or extra whitespace.
fn normalise(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::{client_config, normalise};

    #[test]
    fn targets_are_offered_aes_gcm_first_and_nothing_weak() {
        let config = client_config();
        let ciphers: Vec<&str> = config.preferred.cipher.iter().map(|c| c.as_ref()).collect();
        assert_eq!(
            ciphers.get(..3),
            Some(
                &[
                    "aes256-gcm@openssh.com",
                    "aes128-gcm@openssh.com",
                    "chacha20-poly1305@openssh.com"
                ][..]
            )
        );
        let kex = config.preferred.kex.iter().map(|k| k.as_ref());
        let macs = config.preferred.mac.iter().map(|m| m.as_ref());
        for name in ciphers.iter().copied().chain(kex).chain(macs) {
            for weak in ["cbc", "3des", "arcfour", "sha1", "md5", "group1-", "none"] {
                assert!(!name.contains(weak), "{name} looks weak ({weak})");
            }
        }
        assert!(
            config
                .preferred
                .kex
                .iter()
                .any(|k| k.as_ref() == "kex-strict-c-v00@openssh.com"),
            "strict kex (Terrapin) must stay on"
        );
        assert!(config.nodelay);
    }

    #[test]
    fn host_key_lines_normalise() {
        assert_eq!(normalise("ssh-ed25519 AAAA root@host"), "ssh-ed25519 AAAA");
        assert_eq!(normalise("  ssh-ed25519   AAAA\n"), "ssh-ed25519 AAAA");
        assert_eq!(normalise(""), "");
    }
}
