//! `[ssh]`: what the SSH service offers vendors' clients.

use serde::Deserialize;

use super::ssh::CryptoProfile;

/// `[ssh]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SshSection {
    /// Which algorithms are offered (R-13-4): `cryptrec` (AES-GCM and AES-CTR with SHA-2
    /// EtM MACs, all on the CRYPTREC list) or `modern` (and ChaCha20-Poly1305).
    pub crypto_profile: CryptoProfile,
}

impl SshSection {
    /// The section in `fumidai init`'s commented file.
    pub(super) fn template(&self) -> String {
        format!(
            r#"
[ssh]
# Algorithms offered to vendors' SSH clients (R-13-4). "cryptrec": AES-GCM, and AES-CTR with
# HMAC-SHA-2 (encrypt-then-MAC) for older clients such as paramiko 2.12: all on the CRYPTREC
# e-Government list. "modern": the same and ChaCha20-Poly1305 (not on the list). Key
# exchange is X25519 (and its ML-KEM hybrid) in both; the host key is Ed25519.
crypto_profile = "{profile}"
"#,
            profile = self.crypto_profile.as_str(),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn the_profile_is_cryptrec_unless_modern_is_asked_for() {
        let parse = |text: &str| toml::from_str::<SshSection>(text);
        assert_eq!(parse("").unwrap().crypto_profile, CryptoProfile::Cryptrec);
        assert_eq!(
            parse("crypto_profile = \"modern\"").unwrap().crypto_profile,
            CryptoProfile::Modern
        );
        let wrong = parse("crypto_profile = \"fast\"").unwrap_err().to_string();
        assert!(
            wrong.contains("cryptrec") && wrong.contains("modern"),
            "{wrong}"
        );
    }
}
