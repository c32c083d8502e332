//! Issuing leaf certificates: the front door's server certificate and engineers' client
//! certificates, each with a fresh ECDSA P-256 key (R-10.2-CRYPTO).
//!
//! It records nothing: [`IssuedCert::to_new_certificate`] gives the caller what the store
//! keeps so that `fumidai cert revoke` can find the serial later.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use policy::ids::Login;
use rand::RngCore;
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, SanType, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use store::{CertSerial, NewCertificate};
use x509_parser::time::ASN1Time;
use zeroize::Zeroizing;

use super::{Ca, Error, MAX_VALIDITY_DAYS, Result};

/// Certificates start this long before "now" so a laptop whose clock runs slow can use a
/// certificate issued a moment ago.
pub(super) const CLOCK_SKEW: Duration = Duration::minutes(5);

/// A certificate the CA just issued, with its new key.
#[derive(Clone)]
pub struct IssuedCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PKCS#8 PEM; zeroized on drop and never logged.
    pub key_pem: Zeroizing<String>,
    /// The certificate, DER.
    pub cert_der: CertificateDer<'static>,
    /// Serial number, as the store and the revocation set know it.
    pub serial: CertSerial,
    /// Validity start, as written in the certificate (whole seconds).
    pub not_before: DateTime<Utc>,
    /// Validity end, as written in the certificate (whole seconds).
    pub not_after: DateTime<Utc>,
    /// SHA-256 of the DER, lowercase hex: the fingerprint shown to operators.
    pub sha256: String,
}

impl IssuedCert {
    /// What the store records about a client certificate issued to `login`.
    pub fn to_new_certificate(&self, login: &Login) -> NewCertificate {
        NewCertificate {
            serial: self.serial.clone(),
            login: login.clone(),
            not_before: self.not_before,
            not_after: self.not_after,
            sha256: self.sha256.clone(),
        }
    }
}

impl fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCert")
            .field("serial", &self.serial)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("sha256", &self.sha256)
            .field("key_pem", &"<secret>")
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// Issue the front door's server certificate, valid for `days` days, for `names`: each
    /// one that parses as an IP address becomes an IP SAN, the others DNS SANs. The first
    /// name is also the CN. serverAuth only, so it can't act as a client certificate.
    pub fn issue_server(&self, names: &[String], days: u32) -> Result<IssuedCert> {
        let first = names.first().ok_or(Error::NoServerNames)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, first.as_str());
        params.subject_alt_names = names.iter().map(|n| san(n)).collect::<Result<_>>()?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let (not_before, not_after) = validity_from_now(days)?;
        self.issue(params, not_before, not_after)
    }

    /// Issue an engineer's (or operator's) client certificate: CN = `login` (R-10.2-PRIV),
    /// clientAuth only, digitalSignature, valid from five minutes ago for `days` days.
    pub fn issue_client(&self, login: &Login, days: u32) -> Result<IssuedCert> {
        let (not_before, not_after) = validity_from_now(days)?;
        self.issue_client_with_validity(login, not_before, not_after)
    }

    /// [`Ca::issue_client`] with an explicit validity, e.g. one already over (tests of
    /// expiry) or one aligned with a contract's end.
    pub fn issue_client_with_validity(
        &self,
        login: &Login,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<IssuedCert> {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, login.as_str());
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params, not_before, not_after)
    }

    /// Fill in what every leaf shares, generate its key and sign it.
    fn issue(
        &self,
        mut params: CertificateParams,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<IssuedCert> {
        if not_after <= not_before {
            return Err(Error::ValidityInverted {
                not_before,
                not_after,
            });
        }
        if not_after > self.not_after {
            return Err(Error::OutlivesCa {
                ca_not_after: self.not_after,
            });
        }
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        let serial = random_serial()?;
        params.serial_number = Some(serial.clone());
        let (not_before, not_after) = set_validity(&mut params, not_before, not_after)?;

        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(Error::KeyGeneration)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(Error::Sign)?;
        let cert_der = cert.der().clone();
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: Zeroizing::new(key.serialize_pem()),
            sha256: hex::encode(Sha256::digest(&cert_der)),
            cert_der,
            serial: CertSerial::from_bytes(&serial.to_bytes()),
            not_before,
            not_after,
        })
    }
}

/// A random 16-byte serial whose top bit is clear (so the DER INTEGER is positive and
/// exactly 16 bytes) and whose second bit is set (so no leading zero byte gets trimmed):
/// 126 random bits, well above RFC 5280's and the CA/B Forum's 64.
pub(super) fn random_serial() -> Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|_| Error::Random)?;
    let [first, ..] = &mut bytes;
    *first = (*first & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

/// Write a validity into `params`, truncated to whole seconds as the certificate holds it,
/// and return what was written. rcgen takes `time` values; x509-parser's `ASN1Time` builds
/// them with a range check, so no panic on absurd dates.
pub(super) fn set_validity(
    params: &mut CertificateParams,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let convert = |dt: DateTime<Utc>| {
        let secs = dt.timestamp();
        let asn1 = ASN1Time::from_timestamp(secs).map_err(|_| Error::DateOutOfRange(dt))?;
        // Four-digit years only: GeneralizedTime can't hold more.
        if !(0..=253_402_300_799).contains(&secs) {
            return Err(Error::DateOutOfRange(dt));
        }
        let whole = DateTime::from_timestamp(secs, 0).ok_or(Error::DateOutOfRange(dt))?;
        Ok((asn1.to_datetime(), whole))
    };
    let (nb, not_before) = convert(not_before)?;
    let (na, not_after) = convert(not_after)?;
    params.not_before = nb;
    params.not_after = na;
    Ok((not_before, not_after))
}

/// From now minus the clock-skew allowance to now plus `days`.
fn validity_from_now(days: u32) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    if days == 0 || days > MAX_VALIDITY_DAYS {
        return Err(Error::BadValidityDays { days });
    }
    let now = Utc::now();
    Ok((now - CLOCK_SKEW, now + Duration::days(i64::from(days))))
}

/// An IP SAN for what parses as an IP address, else a DNS SAN if it is a valid DNS name.
fn san(name: &str) -> Result<SanType> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let bad = || Error::BadServerName(name.to_owned());
    rustls_pki_types::DnsName::try_from(name).map_err(|_| bad())?;
    Ok(SanType::DnsName(name.try_into().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::*;

    use super::*;

    fn login(s: &str) -> Login {
        s.parse().unwrap()
    }

    #[test]
    fn client_certificate_names_the_login_and_is_client_only() {
        let ca = Ca::generate("hospital").unwrap();
        let before = Utc::now();
        let issued = ca.issue_client(&login("alice"), 90).unwrap();
        let (rest, x509) = X509Certificate::from_der(&issued.cert_der).unwrap();
        assert!(rest.is_empty());

        let cn: Vec<_> = x509
            .subject()
            .iter_common_name()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(cn, ["alice"]);
        let eku = x509.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.client_auth && !eku.server_auth && !eku.any);
        let ku = x509.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature() && !ku.key_cert_sign());
        assert!(!x509.basic_constraints().unwrap().unwrap().value.ca);

        // Serial, dates and fingerprint agree with what the store will record.
        assert_eq!(CertSerial::from_bytes(x509.raw_serial()), issued.serial);
        assert_eq!(x509.raw_serial().len(), 16);
        assert_eq!(
            x509.validity().not_before.timestamp(),
            issued.not_before.timestamp()
        );
        assert_eq!(
            x509.validity().not_after.timestamp(),
            issued.not_after.timestamp()
        );
        let skew = before - issued.not_before;
        assert!(
            skew >= Duration::minutes(5) - Duration::seconds(1),
            "{skew}"
        );
        let length = issued.not_after - issued.not_before;
        assert!(
            (length - Duration::days(90) - CLOCK_SKEW)
                .num_seconds()
                .abs()
                <= 2
        );
        assert_eq!(issued.sha256, hex::encode(Sha256::digest(&issued.cert_der)));
        assert_eq!(issued.sha256.len(), 64);

        let record = issued.to_new_certificate(&login("alice"));
        assert_eq!(record.serial, issued.serial);
        assert_eq!(record.login.as_str(), "alice");
        assert_eq!(record.not_after, issued.not_after);
        assert_eq!(record.sha256, issued.sha256);
    }

    #[test]
    fn every_certificate_gets_its_own_key_and_serial() {
        let ca = Ca::generate("hospital").unwrap();
        let a = ca.issue_client(&login("alice"), 1).unwrap();
        let b = ca.issue_client(&login("alice"), 1).unwrap();
        assert_ne!(a.serial, b.serial);
        assert_ne!(*a.key_pem, *b.key_pem);
    }

    #[test]
    fn server_certificate_has_dns_and_ip_sans() {
        let ca = Ca::generate("hospital").unwrap();
        let names = [
            "gw.hospital.example".to_owned(),
            "10.1.2.3".to_owned(),
            "::1".to_owned(),
        ];
        let issued = ca.issue_server(&names, 365).unwrap();
        let (_, x509) = X509Certificate::from_der(&issued.cert_der).unwrap();
        let sans = &x509
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names;
        assert!(sans.contains(&GeneralName::DNSName("gw.hospital.example")));
        assert!(sans.contains(&GeneralName::IPAddress(&[10, 1, 2, 3])));
        assert!(sans.contains(&GeneralName::IPAddress(&[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
        ])));
        assert_eq!(sans.len(), 3);
        let eku = x509.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && !eku.client_auth);
    }

    #[test]
    fn bad_requests_are_refused() {
        let ca = Ca::generate("hospital").unwrap();
        let alice = login("alice");
        assert!(matches!(ca.issue_server(&[], 1), Err(Error::NoServerNames)));
        for bad in ["", "bad name", "-x.example", "a..b", "日本.example"] {
            let result = ca.issue_server(&[bad.to_owned()], 1);
            assert!(matches!(result, Err(Error::BadServerName(_))), "{bad:?}");
        }
        assert!(matches!(
            ca.issue_client(&alice, 0),
            Err(Error::BadValidityDays { days: 0 })
        ));
        assert!(matches!(
            ca.issue_client(&alice, 3651),
            Err(Error::BadValidityDays { .. })
        ));
        assert!(matches!(
            ca.issue_client(&alice, u32::MAX),
            Err(Error::BadValidityDays { .. })
        ));
        let now = Utc::now();
        let inverted = ca.issue_client_with_validity(&alice, now, now - Duration::days(1));
        assert!(matches!(inverted, Err(Error::ValidityInverted { .. })));
        let too_long =
            ca.issue_client_with_validity(&alice, now, ca.not_after() + Duration::days(1));
        assert!(matches!(too_long, Err(Error::OutlivesCa { .. })));
        let ancient = DateTime::from_timestamp(-1, 0).unwrap();
        let result = ca.issue_client_with_validity(&alice, ancient, now);
        assert!(matches!(result, Err(Error::DateOutOfRange(_))));
    }

    #[test]
    fn an_expired_certificate_can_be_made_for_tests() {
        let ca = Ca::generate("hospital").unwrap();
        let now = Utc::now();
        let issued = ca
            .issue_client_with_validity(
                &login("bob"),
                now - Duration::days(10),
                now - Duration::days(1),
            )
            .unwrap();
        let (_, x509) = X509Certificate::from_der(&issued.cert_der).unwrap();
        assert!(!x509.validity().is_valid());
    }

    #[test]
    fn debug_hides_the_key() {
        let ca = Ca::generate("hospital").unwrap();
        let issued = ca.issue_client(&login("alice"), 1).unwrap();
        let shown = format!("{issued:?}");
        assert!(!shown.contains("PRIVATE"), "{shown}");
    }
}
