//! What fumidai pins of a target at registration and checks at every connection
//! (R-13-9/10): an SSH server's host key, or an RDP server's TLS certificate.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::HostKey;

/// The protocol a target speaks, decided by what was pinned for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetProtocol {
    /// SSH (shell, exec, SFTP, SCP).
    Ssh,
    /// RDP (Windows servers, xrdp).
    Rdp,
}

impl TargetProtocol {
    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ssh => "ssh",
            Self::Rdp => "rdp",
        }
    }

    /// The port used when an address names none.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Ssh => 22,
            Self::Rdp => 3389,
        }
    }
}

impl fmt::Display for TargetProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A target's pinned identity. Stored in one text column: the SSH key line, or
/// `sha256:HEX` for an RDP certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetPin {
    /// The SSH host key (`TYPE BASE64`).
    SshHostKey(HostKey),
    /// The SHA-256 of the RDP server's TLS certificate (DER).
    RdpCertificate(CertFingerprint),
}

impl TargetPin {
    /// The protocol this pin belongs to.
    pub fn protocol(&self) -> TargetProtocol {
        match self {
            Self::SshHostKey(_) => TargetProtocol::Ssh,
            Self::RdpCertificate(_) => TargetProtocol::Rdp,
        }
    }

    /// Reads the stored text back for a target of `protocol`.
    pub fn parse(protocol: TargetProtocol, text: &str) -> Result<Self, String> {
        match protocol {
            TargetProtocol::Ssh => HostKey::parse(text)
                .map(Self::SshHostKey)
                .map_err(|e| e.to_string()),
            TargetProtocol::Rdp => CertFingerprint::parse(text)
                .map(Self::RdpCertificate)
                .map_err(|e| e.to_string()),
        }
    }

    /// A short fingerprint for listings and the audit trail (`SHA256:…` for SSH as
    /// OpenSSH prints it, `sha256:hex` for RDP).
    pub fn fingerprint(&self) -> String {
        match self {
            Self::SshHostKey(key) => key.fingerprint(),
            Self::RdpCertificate(cert) => cert.to_string(),
        }
    }
}

impl fmt::Display for TargetPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SshHostKey(key) => key.fmt(f),
            Self::RdpCertificate(cert) => cert.fmt(f),
        }
    }
}

impl Serialize for TargetPin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The SHA-256 digest of a DER certificate, as pinned with `--cert-sha256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertFingerprint([u8; 32]);

/// Why a certificate fingerprint was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a SHA-256 certificate fingerprint: give 64 hexadecimal digits, optionally \
     with ':' between pairs and a 'sha256:' prefix (e.g. the output of \
     `openssl x509 -in cert.pem -noout -fingerprint -sha256`)"
)]
pub struct FingerprintError(String);

impl CertFingerprint {
    /// Parses `sha256:HEX`, `SHA256 Fingerprint=AB:CD:…` (openssl's output) or bare hex,
    /// with or without colons, in either case.
    pub fn parse(text: &str) -> Result<Self, FingerprintError> {
        let bad = || FingerprintError(text.chars().take(120).collect());
        let trimmed = text.trim();
        let hex_part = trimmed
            .rsplit_once('=')
            .map_or(trimmed, |(_, after)| after)
            .trim();
        let hex_part = hex_part
            .strip_prefix("sha256:")
            .or_else(|| hex_part.strip_prefix("SHA256:"))
            .unwrap_or(hex_part);
        let digits: String = hex_part.chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode(&digits).map_err(|_| bad())?;
        let array: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
        Ok(Self(array))
    }

    /// The digest of `der`.
    pub fn of_der(der: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(sha2::Sha256::digest(der).into())
    }

    /// The digest's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex without separators.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Lower-case hex pairs joined by `:`, as FreeRDP 2's `/cert:fingerprint:sha256:`
    /// compares them.
    pub fn colon_hex(&self) -> String {
        self.0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

impl fmt::Display for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl FromStr for CertFingerprint {
    type Err = FingerprintError;
    fn from_str(s: &str) -> Result<Self, FingerprintError> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn fingerprints_parse_in_the_forms_people_paste() {
        let openssl = format!(
            "SHA256 Fingerprint={}",
            HEX.to_uppercase()
                .as_bytes()
                .chunks(2)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect::<Vec<_>>()
                .join(":")
        );
        for text in [HEX.to_owned(), format!("sha256:{HEX}"), openssl] {
            let parsed = CertFingerprint::parse(&text).unwrap();
            assert_eq!(parsed.to_string(), format!("sha256:{HEX}"), "{text}");
        }
    }

    #[test]
    fn wrong_lengths_and_digits_are_refused() {
        for text in [
            "",
            "sha256:",
            &HEX[..62],
            &format!("{HEX}00"),
            &HEX.replace('9', "g"),
        ] {
            assert!(CertFingerprint::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn a_pin_round_trips_through_its_stored_text() {
        let pin = TargetPin::RdpCertificate(CertFingerprint::parse(HEX).unwrap());
        let back = TargetPin::parse(TargetProtocol::Rdp, &pin.to_string()).unwrap();
        assert_eq!(back, pin);
        assert_eq!(back.protocol(), TargetProtocol::Rdp);
    }
}
