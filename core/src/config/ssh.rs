//! The SSH service's settings as plain data: which algorithms are offered
//! ([`CryptoProfile`], `[ssh] crypto_profile`) and the SSH-level knobs `serve` takes from
//! `[limits]` ([`SshSettings`]). What they mean to russh (the algorithm lists, the server
//! configuration) is the gateway's (`fumidai_gateway::ssh::config`).

use std::time::Duration;

/// SSH-level knobs, from `[limits]` in `fumidai.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSettings {
    /// A connection with no traffic for this long is closed (R-10.2-TIMEOUT, R-12-6).
    pub inactivity_timeout: Duration,
    /// Login grace: a connection not logged in this long after it reached the SSH service
    /// is closed, whatever state the protocol is in, so unauthenticated connections can't
    /// hold one of the front door's capped slots.
    pub auth_timeout: Duration,
    /// Password + code attempts per connection; then the client is told no method is left.
    pub max_auth_attempts: u32,
    /// Which algorithms are offered.
    pub crypto_profile: CryptoProfile,
}

impl Default for SshSettings {
    fn default() -> Self {
        Self {
            inactivity_timeout: Duration::from_secs(15 * 60),
            auth_timeout: Duration::from_secs(60),
            max_auth_attempts: 3,
            crypto_profile: CryptoProfile::default(),
        }
    }
}

/// Which algorithms the SSH service offers (`[ssh] crypto_profile`, R-13-4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CryptoProfile {
    /// Only algorithms on the CRYPTREC e-Government Recommended Ciphers List (key exchange
    /// aside, see the notes in `fumidai_gateway::ssh::config`).
    #[default]
    Cryptrec,
    /// `cryptrec` and ChaCha20-Poly1305.
    Modern,
}

impl CryptoProfile {
    /// The name in `fumidai.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cryptrec => "cryptrec",
            Self::Modern => "modern",
        }
    }
}
