//! Who a client certificate names: its CN as a [`Login`] and its serial.
//!
//! This only reads a certificate; it trusts nothing. Call it on a certificate that the TLS
//! handshake already verified against the pinned CA and the revocation set ([`crate::tls`]).

use policy::ids::Login;
use store::CertSerial;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{Error, Result};

pub use fumidai_core::auth::PeerIdentity;

/// Reads the identity from a DER certificate. Refuses trailing bytes, a subject with no CN
/// or several (which one would count?), and a CN that is not a valid login.
pub fn peer_identity(der: &[u8]) -> Result<PeerIdentity> {
    let (rest, x509) = X509Certificate::from_der(der).map_err(|_| Error::CertificateEncoding)?;
    if !rest.is_empty() {
        return Err(Error::CertificateEncoding);
    }
    let mut names = x509.subject().iter_common_name();
    let (Some(cn), None) = (names.next(), names.next()) else {
        let found = x509.subject().iter_common_name().count();
        return Err(Error::CommonNameCount { found });
    };
    let text = cn.as_str().map_err(|_| Error::CommonNameNotText)?;
    let login = text.parse::<Login>().map_err(Error::CommonNameNotLogin)?;
    Ok(PeerIdentity {
        login,
        serial: CertSerial::from_bytes(x509.raw_serial()),
    })
}

#[cfg(test)]
mod tests {
    use rcgen::string::BmpString;
    use rcgen::{CertificateParams, DnType, DnValue, KeyPair};

    use super::*;
    use crate::Ca;

    fn self_signed_with(subject: &[(DnType, DnValue)]) -> Vec<u8> {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (ty, value) in subject {
            params.distinguished_name.push(ty.clone(), value.clone());
        }
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn self_signed_with_cns(cns: &[&str]) -> Vec<u8> {
        let subject: Vec<_> = cns
            .iter()
            .map(|cn| (DnType::CommonName, DnValue::from(*cn)))
            .collect();
        self_signed_with(&subject)
    }

    #[test]
    fn reads_login_and_serial_of_an_issued_certificate() {
        let ca = Ca::generate("hospital").unwrap();
        let issued = ca.issue_client(&"alice.k".parse().unwrap(), 1).unwrap();
        let peer = peer_identity(&issued.cert_der).unwrap();
        assert_eq!(peer.login.as_str(), "alice.k");
        assert_eq!(peer.serial, issued.serial);
    }

    #[test]
    fn refuses_what_is_not_a_login() {
        for cn in ["Alice", "alice:db01", "", "alice bob"] {
            let der = self_signed_with_cns(&[cn]);
            assert!(
                matches!(peer_identity(&der), Err(Error::CommonNameNotLogin(_))),
                "{cn:?}"
            );
        }
        let none = self_signed_with_cns(&[]);
        assert!(matches!(
            peer_identity(&none),
            Err(Error::CommonNameCount { found: 0 })
        ));
        // rcgen keeps one value per type; the CN's OID spelled as a custom type is a second CN.
        let two = self_signed_with(&[
            (DnType::CommonName, DnValue::from("alice")),
            (DnType::CustomDnType(vec![2, 5, 4, 3]), DnValue::from("bob")),
        ]);
        assert!(matches!(
            peer_identity(&two),
            Err(Error::CommonNameCount { found: 2 })
        ));
        let bmp = DnValue::BmpString(BmpString::try_from("alice").unwrap());
        let bmp = self_signed_with(&[(DnType::CommonName, bmp)]);
        assert!(matches!(peer_identity(&bmp), Err(Error::CommonNameNotText)));
    }

    #[test]
    fn refuses_garbage_and_trailing_bytes() {
        assert!(matches!(
            peer_identity(b"nope"),
            Err(Error::CertificateEncoding)
        ));
        let mut der = self_signed_with_cns(&["alice"]);
        assert!(peer_identity(&der).is_ok());
        der.push(0);
        assert!(matches!(
            peer_identity(&der),
            Err(Error::CertificateEncoding)
        ));
    }
}
