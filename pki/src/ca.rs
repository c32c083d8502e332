//! The CA: a self-signed ECDSA P-256 certificate and its key, generated once by `fumidai init`
//! and loaded from PEM at every start.
//!
//! It does not decide where the key lives or with which file mode; the binary does.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::prelude::{FromDer, X509Certificate};
use zeroize::Zeroizing;

use super::issue::{CLOCK_SKEW, random_serial, set_validity};
use super::{Error, MAX_VALIDITY_DAYS, Result};

/// The CN is "fumidai CA <org>" and X.520 caps a CN at 64 characters.
const CN_PREFIX: &str = "fumidai CA ";
const MAX_CN_LEN: usize = 64;

/// fumidai's certificate authority: signs the front door's server certificate and every
/// engineer's client certificate. Server and client pin it (R-13-12).
pub struct Ca {
    /// rcgen's signer: the CA's subject, key identifier and key.
    pub(super) issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, as handed to rustls and to PKCS#12 bundles.
    pub(super) cert_der: CertificateDer<'static>,
    /// The CA certificate as PEM, as written to `ca.pem`.
    cert_pem: String,
    /// The CA key as PKCS#8 PEM; zeroized on drop.
    key_pem: Zeroizing<String>,
    /// Issued certificates must not outlive the CA.
    pub(super) not_after: DateTime<Utc>,
}

impl Ca {
    /// Generate a new CA for the organisation `org` (the hospital's short name): ECDSA P-256
    /// with SHA-256 (R-10.2-CRYPTO), CN `fumidai CA <org>`, basicConstraints CA:true with
    /// pathlen 0, keyUsage keyCertSign and cRLSign, valid for ten years, random serial.
    pub fn generate(org: &str) -> Result<Ca> {
        let max = MAX_CN_LEN - CN_PREFIX.len();
        if org.is_empty() || org.chars().count() > max || org.chars().any(char::is_control) {
            return Err(Error::BadOrganisation { max });
        }
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(Error::KeyGeneration)?;

        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{CN_PREFIX}{org}"));
        params
            .distinguished_name
            .push(DnType::OrganizationName, org);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.serial_number = Some(random_serial()?);
        let now = Utc::now();
        let not_before = now - CLOCK_SKEW;
        let not_after = now + Duration::days(i64::from(MAX_VALIDITY_DAYS));
        let (_, not_after) = set_validity(&mut params, not_before, not_after)?;

        let cert = params.self_signed(&key).map_err(Error::Sign)?;
        let key_pem = Zeroizing::new(key.serialize_pem());
        Ok(Ca {
            cert_der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_pem,
            issuer: Issuer::new(params, key),
            not_after,
        })
    }

    /// Load the CA from its certificate and PKCS#8 key, both PEM. Refuses a certificate that
    /// is not a CA and a key that is not the certificate's.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca> {
        let cert_der =
            CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(Error::CaCertificatePem)?;
        let key = KeyPair::from_pem(key_pem).map_err(Error::CaKey)?;

        let (rest, x509) =
            X509Certificate::from_der(&cert_der).map_err(|_| Error::CertificateEncoding)?;
        if !rest.is_empty() {
            return Err(Error::CertificateEncoding);
        }
        let is_ca = matches!(x509.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        if !is_ca {
            return Err(Error::NotACa);
        }
        if x509.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(Error::CaKeyMismatch);
        }
        let not_after = DateTime::from_timestamp(x509.validity().not_after.timestamp(), 0)
            .ok_or(Error::CertificateEncoding)?;

        let issuer = Issuer::from_ca_cert_der(&cert_der, key).map_err(Error::CaCertificate)?;
        Ok(Ca {
            issuer,
            cert_der: cert_der.into_owned(),
            cert_pem: cert_pem.to_owned(),
            key_pem: Zeroizing::new(key_pem.to_owned()),
            not_after,
        })
    }

    /// The CA certificate as PEM (for `ca.pem`, the trust anchor of both sides).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA key as PKCS#8 PEM, for the binary to write with mode 0600.
    pub fn key_pem(&self) -> Zeroizing<String> {
        self.key_pem.clone()
    }

    /// The CA certificate as DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// When the CA certificate expires.
    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("not_after", &self.not_after)
            .field("key", &"<secret>")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use x509_parser::prelude::*;

    use super::*;

    #[test]
    fn generated_ca_has_the_required_shape() {
        let ca = Ca::generate("kouseibyouin").unwrap();
        let (_, x509) = X509Certificate::from_der(ca.cert_der()).unwrap();

        let cn: Vec<_> = x509
            .subject()
            .iter_common_name()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(cn, ["fumidai CA kouseibyouin"]);
        assert_eq!(x509.subject(), x509.issuer());

        let bc = x509.basic_constraints().unwrap().unwrap();
        assert!(bc.critical);
        assert!(bc.value.ca);
        assert_eq!(bc.value.path_len_constraint, Some(0));

        let ku = x509.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign());
        assert!(!ku.digital_signature());

        assert_eq!(
            x509.signature_algorithm.algorithm,
            oid_registry::OID_SIG_ECDSA_WITH_SHA256
        );
        let serial = x509.raw_serial();
        assert_eq!(serial.len(), 16);
        assert_eq!(serial.first().unwrap() & 0x80, 0, "serial must be positive");

        let days = (x509.validity().not_after.timestamp() - x509.validity().not_before.timestamp())
            / 86_400;
        assert!((3650..=3651).contains(&days), "{days}");
    }

    #[test]
    fn serials_differ_between_cas() {
        let a = Ca::generate("a").unwrap();
        let b = Ca::generate("a").unwrap();
        let serial = |ca: &Ca| {
            X509Certificate::from_der(ca.cert_der())
                .unwrap()
                .1
                .raw_serial()
                .to_vec()
        };
        assert_ne!(serial(&a), serial(&b));
    }

    #[test]
    fn organisation_names_are_checked() {
        assert!(Ca::generate("").is_err());
        assert!(Ca::generate("x\nCN=evil").is_err());
        assert!(Ca::generate(&"o".repeat(54)).is_err());
        assert!(Ca::generate(&"o".repeat(53)).is_ok());
    }

    #[test]
    fn pem_round_trip_keeps_the_ca() {
        let ca = Ca::generate("hospital").unwrap();
        let loaded = Ca::from_pem(ca.cert_pem(), &ca.key_pem()).unwrap();
        assert_eq!(loaded.cert_der(), ca.cert_der());
        assert_eq!(loaded.not_after(), ca.not_after());
        // The loaded CA signs certificates that chain to the original.
        let issued = loaded.issue_server(&["gw.example".into()], 30).unwrap();
        let (_, leaf) = X509Certificate::from_der(&issued.cert_der).unwrap();
        let (_, root) = X509Certificate::from_der(ca.cert_der()).unwrap();
        // Signatures are checked by the handshakes in `tls`; here the names and key IDs.
        assert_eq!(leaf.issuer(), root.subject());
        let ski = root
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
                _ => None,
            });
        let aki = leaf
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    aki.key_identifier.as_ref().map(|k| k.0)
                }
                _ => None,
            });
        assert!(ski.is_some());
        assert_eq!(aki, ski);
    }

    #[test]
    fn from_pem_refuses_wrong_key_and_non_ca() {
        let ca = Ca::generate("hospital").unwrap();
        let other = Ca::generate("other").unwrap();
        assert!(matches!(
            Ca::from_pem(ca.cert_pem(), &other.key_pem()),
            Err(Error::CaKeyMismatch)
        ));
        let leaf = ca.issue_server(&["gw.example".into()], 30).unwrap();
        assert!(matches!(
            Ca::from_pem(&leaf.cert_pem, &leaf.key_pem),
            Err(Error::NotACa)
        ));
        assert!(matches!(
            Ca::from_pem("not pem", &ca.key_pem()),
            Err(Error::CaCertificatePem(_))
        ));
        assert!(matches!(
            Ca::from_pem(ca.cert_pem(), "nope"),
            Err(Error::CaKey(_))
        ));
    }

    #[test]
    fn debug_hides_the_key() {
        let ca = Ca::generate("hospital").unwrap();
        let shown = format!("{ca:?}");
        assert!(!shown.contains("PRIVATE"), "{shown}");
        assert!(shown.contains("<secret>"));
    }
}
