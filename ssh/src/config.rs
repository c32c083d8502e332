//! The russh server configuration: modern algorithms only, keyboard-interactive only.
//!
//! The lists hold only what `ssh-audit` rates without a failure or warning, plus two names
//! older `ssh-audit` releases (Debian 12 ships 2.5.0) flag as "unknown algorithm", which
//! is a warning, not a failure: `mlkem768x25519-sha256` and the strict-kex marker.
//!
//! - key exchange: `mlkem768x25519-sha256` (post-quantum hybrid, OpenSSH 9.9+),
//!   `curve25519-sha256` and its pre-RFC alias `curve25519-sha256@libssh.org`. No
//!   finite-field DH (group14/16 and group exchange are slow and only "acceptable"), no
//!   NIST ECDH, no SHA-1. russh 0.65 has no `sntrup761x25519`.
//! - `ext-info-s` (RFC 8308, so clients learn `server-sig-algs`) and
//!   `kex-strict-s-v00@openssh.com`: russh switches strict key exchange on when this
//!   pseudo-algorithm is in *our* list and the client offers the `-c` one. Strict kex
//!   resets sequence numbers at NEWKEYS and refuses stray messages during the handshake,
//!   which closes the Terrapin prefix-truncation attack (CVE-2023-48795).
//! - ciphers, by `[ssh] crypto_profile` ([`CryptoProfile`], R-13-4):
//!   - `cryptrec` (default): AES-GCM (`aes128-gcm@openssh.com`, `aes256-gcm@openssh.com`)
//!     and AES-CTR (`aes128-ctr`, `aes256-ctr`) with the encrypt-then-MAC SHA-2 MACs. AES,
//!     GCM, CTR and HMAC-SHA-256/512 are on the CRYPTREC e-Government Recommended Ciphers
//!     List, which the guideline asks for wherever cryptography is used (§13 ④). CTR is for
//!     clients without GCM: Debian 12's paramiko 2.12 offers only CTR and CBC. With strict
//!     key exchange (below) CTR + EtM is not open to Terrapin.
//!   - `modern`: the same plus `chacha20-poly1305@openssh.com`, which is not on the
//!     CRYPTREC list and which OpenSSH picks first whenever it is offered (about three times
//!     the CPU per byte of AES-GCM here).
//!
//!   No CBC, no 3DES. Key exchange is the same in both: X25519 and its ML-KEM hybrid.
//!   CRYPTREC lists ECDH without fixing the SSH curves (its TLS configuration guideline
//!   accepts X25519), and ssh-audit fails the NIST curves (suspected constants): offering
//!   them would only trade one audit finding for another.
//! - MACs: only encrypt-then-MAC SHA-2 (used with AES-CTR; AEAD ciphers need none).
//! - host key: `ssh-ed25519` only (see [`super::host_key`]).
//! - compression: `none`. Compression before encryption leaks plaintext length patterns.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use russh::keys::{Algorithm, PrivateKey};
use russh::server::Config;
use russh::{MethodKind, MethodSet, Preferred, SshId, cipher, compression, kex, mac};

// The settings are plain data, shared with `fumidai.toml`'s typed configuration and
// `compliance` in `fumidai-core`; what they mean to russh is here.
pub use fumidai_core::config::ssh::{CryptoProfile, SshSettings};

/// Every rejected login takes at least this long, whatever failed (STYLE.md §7). Longer
/// than the Argon2 + TOTP + store work, so that work never shows through.
pub const AUTH_REJECTION_TIME: Duration = Duration::from_millis(1500);

/// The identification string. No version: it would only help an attacker pick exploits.
const SERVER_ID: &str = "SSH-2.0-fumidai";

const KEX: &[kex::Name] = &[
    kex::MLKEM768X25519_SHA256,
    kex::CURVE25519,
    kex::CURVE25519_PRE_RFC_8731,
    kex::EXTENSION_SUPPORT_AS_SERVER,
    kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER,
];

/// `cryptrec`: AES-GCM, then AES-CTR (with an EtM MAC) for clients without GCM.
const CIPHERS_CRYPTREC: &[cipher::Name] = &[
    cipher::AES_128_GCM,
    cipher::AES_256_GCM,
    cipher::AES_128_CTR,
    cipher::AES_256_CTR,
];

/// `modern`: the same and ChaCha20-Poly1305.
const CIPHERS_MODERN: &[cipher::Name] = &[
    cipher::AES_128_GCM,
    cipher::AES_256_GCM,
    cipher::CHACHA20_POLY1305,
    cipher::AES_128_CTR,
    cipher::AES_256_CTR,
];

/// The ciphers offered under `profile`.
pub fn ciphers(profile: CryptoProfile) -> &'static [cipher::Name] {
    match profile {
        CryptoProfile::Cryptrec => CIPHERS_CRYPTREC,
        CryptoProfile::Modern => CIPHERS_MODERN,
    }
}

const MACS: &[mac::Name] = &[mac::HMAC_SHA512_ETM, mac::HMAC_SHA256_ETM];

const HOST_KEY_ALGORITHMS: &[Algorithm] = &[Algorithm::Ed25519];

const COMPRESSION: &[compression::Name] = &[compression::NONE];

/// The algorithm lists offered to clients under `profile`.
pub fn preferred(profile: CryptoProfile) -> Preferred {
    Preferred {
        kex: Cow::Borrowed(KEX),
        key: Cow::Borrowed(HOST_KEY_ALGORITHMS),
        host_key_certificates: Cow::Borrowed(&[]),
        cipher: Cow::Borrowed(ciphers(profile)),
        mac: Cow::Borrowed(MACS),
        compression: Cow::Borrowed(COMPRESSION),
    }
}

/// Everything the SSH service is configured with: russh's part and ours.
#[derive(Debug)]
pub struct SshConfig {
    /// Algorithms, host key, methods, rejection delay, idle time-out; shared by all
    /// connections.
    pub russh: Arc<Config>,
    /// The settings russh has no place for (login grace, attempts), as given.
    pub settings: SshSettings,
}

/// The SSH service's configuration for `host_key` (Ed25519) and `settings`.
pub fn russh_config(host_key: PrivateKey, settings: &SshSettings) -> SshConfig {
    SshConfig {
        russh: Arc::new(server_config(host_key, settings)),
        settings: settings.clone(),
    }
}

/// russh's part alone, for callers (tests) that adjust it before wrapping it in an
/// [`SshConfig`].
pub fn server_config(host_key: PrivateKey, settings: &SshSettings) -> Config {
    Config {
        server_id: SshId::Standard(Cow::Borrowed(SERVER_ID)),
        methods: MethodSet::from(&[MethodKind::KeyboardInteractive][..]),
        auth_rejection_time: AUTH_REJECTION_TIME,
        // OpenSSH opens with a "none" request to learn the methods; answering it at once
        // reveals nothing and saves every login a pointless delay.
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![host_key],
        preferred: preferred(settings.crypto_profile),
        // The handler counts password + code attempts itself; this is russh's backstop,
        // one higher because russh also counts the initial "none" probe as a rejection.
        max_auth_attempts: usize::try_from(settings.max_auth_attempts)
            .unwrap_or(usize::MAX)
            .saturating_add(1),
        inactivity_timeout: Some(settings.inactivity_timeout),
        // Keepalive replies would count as traffic and defeat the idle time-out.
        keepalive_interval: None,
        ..Config::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names<T: AsRef<str>>(list: &[T]) -> Vec<String> {
        list.iter().map(|n| n.as_ref().to_owned()).collect()
    }

    #[test]
    fn offers_nothing_weak_in_either_profile() {
        for profile in [CryptoProfile::Cryptrec, CryptoProfile::Modern] {
            let p = preferred(profile);
            let kex = names(&p.kex);
            let ciphers = names(&p.cipher);
            let macs = names(&p.mac);
            let keys: Vec<String> = p.key.iter().map(ToString::to_string).collect();
            let compression = names(&p.compression);
            let all: Vec<&String> = kex
                .iter()
                .chain(&ciphers)
                .chain(&macs)
                .chain(&keys)
                .chain(&compression)
                .collect();

            for name in &all {
                for weak in [
                    "sha1",
                    "cbc",
                    "dss",
                    "dsa",
                    "ssh-rsa",
                    "rsa",
                    "nistp",
                    "group1-",
                    "group14",
                    "group-exchange",
                    "md5",
                    "96",
                    "umac-64",
                    "zlib",
                    "3des",
                    "arcfour",
                    "aes192",
                ] {
                    assert!(!name.contains(weak), "{name} looks weak ({weak})");
                }
            }
            assert_eq!(keys, ["ssh-ed25519"]);
            assert_eq!(compression, ["none"]);
            assert!(
                macs.iter()
                    .all(|m| m.starts_with("hmac-sha2-") && m.ends_with("-etm@openssh.com")),
                "{macs:?}"
            );
            assert_eq!(
                kex,
                [
                    "mlkem768x25519-sha256",
                    "curve25519-sha256",
                    "curve25519-sha256@libssh.org",
                    "ext-info-s",
                    "kex-strict-s-v00@openssh.com",
                ]
            );
        }
    }

    #[test]
    fn the_cryptrec_profile_is_the_default_and_has_no_chacha() {
        assert_eq!(
            SshSettings::default().crypto_profile,
            CryptoProfile::Cryptrec
        );
        let cryptrec = names(&preferred(CryptoProfile::Cryptrec).cipher);
        assert_eq!(
            cryptrec,
            [
                "aes128-gcm@openssh.com",
                "aes256-gcm@openssh.com",
                "aes128-ctr",
                "aes256-ctr"
            ]
        );
        let modern = names(&preferred(CryptoProfile::Modern).cipher);
        assert!(modern.contains(&"chacha20-poly1305@openssh.com".to_owned()));
        assert!(cryptrec.iter().all(|c| modern.contains(c)));
    }

    #[test]
    fn keyboard_interactive_only_and_timings() {
        let key = crate::host_key::generate().unwrap();
        let settings = SshSettings {
            auth_timeout: Duration::from_secs(30),
            ..SshSettings::default()
        };
        let SshConfig {
            russh: config,
            settings: kept,
        } = russh_config(key, &settings);
        assert_eq!(kept, settings);
        assert_eq!(&*config.methods, &[MethodKind::KeyboardInteractive]);
        assert_eq!(config.auth_rejection_time_initial, Some(Duration::ZERO));
        assert!(config.auth_rejection_time >= Duration::from_secs(1));
        assert_eq!(config.max_auth_attempts, 4);
        assert_eq!(
            config.inactivity_timeout,
            Some(Duration::from_secs(15 * 60))
        );
        assert_eq!(config.keys.len(), 1);
    }
}
