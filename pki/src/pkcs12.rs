//! PKCS#12 bundles: an engineer's certificate, key and the CA, in one password-protected file
//! that Windows, macOS, browsers and OpenSSL 3 import.
//!
//! Only modern algorithms are written (R-10.2-CRYPTO): PBES2 with PBKDF2-HMAC-SHA-256 and
//! AES-256-CBC for both the key and the certificates, and an HMAC-SHA-256 integrity MAC.
//! Legacy readers (OpenSSL 1.0, Windows before 10 1709) can't open these; that is intended.
//! This module does not choose or deliver the password.

use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKeyChain,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use super::{Error, IssuedCert, Result};

/// PBKDF2 and PKCS#12-MAC iterations. The bundle travels by mail or USB stick, so its
/// password must resist offline guessing; both the encryption and the MAC key derivations
/// need the same cost, or an attacker guesses against the cheaper one.
const ITERATIONS: u64 = 600_000;

/// Bundle `cert` and its key with the CA certificate `ca_pem` (so the laptop trusts the
/// gateway's certificate too), encrypted under `password`. `friendly_name` is what Windows'
/// certificate store and browsers show for the key.
pub fn pkcs12(
    cert: &IssuedCert,
    ca_pem: &str,
    friendly_name: &str,
    password: &str,
) -> Result<Vec<u8>> {
    if password.is_empty() {
        return Err(Error::EmptyPassword);
    }
    let key = PrivatePkcs8KeyDer::from_pem_slice(cert.key_pem.as_bytes()).map_err(Error::Pem)?;
    let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(Error::Pem)?;
    let leaf = Certificate::from_der(&cert.cert_der).map_err(Error::Pkcs12)?;
    let ca = Certificate::from_der(&ca_der).map_err(Error::Pkcs12)?;

    // The local key ID ties the key bag to the leaf's certificate bag.
    let local_key_id = Sha256::digest(&cert.cert_der);
    let chain = PrivateKeyChain::new(key.secret_pkcs8_der(), local_key_id, [leaf, ca]);
    let mut store = KeyStore::new();
    store.add_entry(friendly_name, KeyStoreEntry::PrivateKeyChain(chain));
    store
        .writer(password)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .encryption_iterations(ITERATIONS)
        .mac_algorithm(MacAlgorithm::HmacSha256)
        .mac_iterations(ITERATIONS)
        .write()
        .map_err(Error::Pkcs12)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::Ca;

    fn bundle() -> (Ca, IssuedCert, Vec<u8>) {
        let ca = Ca::generate("hospital").unwrap();
        let issued = ca.issue_client(&"alice".parse().unwrap(), 90).unwrap();
        let p12 = pkcs12(&issued, ca.cert_pem(), "fumidai alice", "correct horse 1").unwrap();
        (ca, issued, p12)
    }

    #[test]
    fn round_trips_through_p12_keystore() {
        let (ca, issued, p12) = bundle();
        assert!(KeyStore::from_pkcs12(&p12, "wrong password").is_err());
        let store = KeyStore::from_pkcs12(&p12, "correct horse 1").unwrap();
        let (alias, chain) = store.private_key_chain().unwrap();
        assert_eq!(alias, "fumidai alice");
        let key = PrivatePkcs8KeyDer::from_pem_slice(issued.key_pem.as_bytes()).unwrap();
        assert_eq!(chain.key(), key.secret_pkcs8_der());
        let ders: Vec<&[u8]> = chain.chain().iter().map(Certificate::as_der).collect();
        assert_eq!(ders, [issued.cert_der.as_ref(), ca.cert_der().as_ref()]);
    }

    #[test]
    fn refuses_an_empty_password() {
        let ca = Ca::generate("hospital").unwrap();
        let issued = ca.issue_client(&"alice".parse().unwrap(), 1).unwrap();
        assert!(matches!(
            pkcs12(&issued, ca.cert_pem(), "x", ""),
            Err(Error::EmptyPassword)
        ));
    }

    /// OpenSSL 3 (Debian 12's) must import the bundle with its default (non-legacy)
    /// provider, and must see PBES2/AES-256 and a SHA-256 MAC.
    #[test]
    fn openssl_3_imports_the_bundle() {
        if Command::new("openssl").arg("version").output().is_err() {
            eprintln!("skipped: openssl is not on PATH");
            return;
        }
        let (_ca, issued, p12) = bundle();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alice.p12");
        std::fs::write(&path, &p12).unwrap();
        let openssl = |extra: &[&str]| {
            let mut cmd = Command::new("openssl");
            cmd.arg("pkcs12").arg("-in").arg(&path).args(extra);
            let out = cmd.output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            (out.status.success(), text)
        };

        let (ok, text) = openssl(&["-passin", "pass:correct horse 1", "-nodes", "-info"]);
        assert!(ok, "{text}");
        assert!(text.contains("MAC: sha256"), "{text}");
        assert!(text.contains("PBES2, PBKDF2, AES-256-CBC"), "{text}");
        assert!(text.contains("friendlyName: fumidai alice"), "{text}");
        assert!(
            text.contains(issued.cert_pem.trim()),
            "leaf missing: {text}"
        );
        assert!(text.contains("BEGIN PRIVATE KEY"), "{text}");
        assert!(
            text.contains("subject=CN = fumidai CA hospital"),
            "ca missing: {text}"
        );

        let (ok, text) = openssl(&["-passin", "pass:wrong", "-nodes"]);
        assert!(!ok, "wrong password accepted: {text}");
    }
}
