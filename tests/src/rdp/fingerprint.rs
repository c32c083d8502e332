//! The SHA-256 fingerprint of a DER certificate: what the gateway pins for a target and
//! what `xfreerdp /cert:fingerprint:sha256:…` checks.

use std::fmt;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// SHA-256 over a certificate's DER encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256Fingerprint([u8; 32]);

impl Sha256Fingerprint {
    /// The fingerprint of DER bytes.
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// The fingerprint of the first certificate in a PEM file's text.
    pub fn of_pem(pem: &str) -> Self {
        let body: String = pem
            .lines()
            .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END CERTIFICATE-----"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .expect("PEM certificate body is base64");
        assert!(!der.is_empty(), "no certificate in PEM:\n{pem}");
        Self::of_der(&der)
    }

    /// From 64 hex digits (as `fumidai connect rdp --no-launch` prints `cert_sha256`).
    pub fn from_hex(hex: &str) -> Self {
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits"))
            .collect();
        Self(bytes.try_into().expect("32 bytes"))
    }

    /// The raw digest.
    pub fn bytes(&self) -> [u8; 32] {
        self.0
    }

    /// Lowercase hex without separators (`79d962…`), as `sha256sum` prints it.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Lowercase hex with colons (`79:d9:62:…`). FreeRDP 2.11 compares
    /// `/cert:fingerprint:sha256:` against this form only: plain hex is not recognised,
    /// and the client falls back to asking whether to trust the certificate.
    pub fn colon_hex(&self) -> String {
        self.0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// A fingerprint that matches no certificate, for negative tests.
    pub fn wrong() -> Self {
        Self([0; 32])
    }
}

impl fmt::Display for Sha256Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for Sha256Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Fingerprint({})", self.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_forms() {
        let fp = Sha256Fingerprint::of_der(b"abc");
        assert_eq!(
            fp.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(fp.colon_hex().starts_with("ba:78:16:bf:"));
        assert_eq!(fp.colon_hex().len(), 32 * 3 - 1);
    }

    #[test]
    fn pem_is_decoded_to_der() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nYWJj\n-----END CERTIFICATE-----\n";
        assert_eq!(
            Sha256Fingerprint::of_pem(pem),
            Sha256Fingerprint::of_der(b"abc")
        );
    }
}
