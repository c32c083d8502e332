//! TLS inside RDP: the server side fumidai shows the vendor's RDP client (its own server
//! certificate, so `fumidai connect rdp` can pin it for the client), and the client side
//! towards RDP targets, which accepts exactly the certificate pinned at `target add --rdp`
//! (R-13-9/10). Neither asks for a client certificate: the vendor's device was already
//! authenticated by the mutual TLS around the tunnel.

use std::sync::{Arc, Mutex, PoisonError};

use policy::target::CertFingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::{Error, Result, ServerTlsSettings, certificate_chain, private_key, provider};

/// The server side of RDP's TLS towards the vendor's client, and what CredSSP binds to.
pub struct RdpServerTls {
    /// rustls configuration: TLS 1.3 and 1.2 (the inner TLS rides inside the mutual TLS
    /// tunnel; stock clients such as older mstsc speak 1.2 here).
    pub config: Arc<ServerConfig>,
    /// The certificate's SubjectPublicKey bits, which CredSSP's pubKeyAuth covers.
    pub public_key: Vec<u8>,
    /// SHA-256 of the certificate, for the client's `/cert:fingerprint:sha256:…`.
    pub fingerprint: CertFingerprint,
}

/// Builds [`RdpServerTls`] from the front door's certificate and key.
pub fn rdp_server_tls(settings: &ServerTlsSettings) -> Result<RdpServerTls> {
    let chain = certificate_chain(&settings.server_cert_pem)?;
    let key = private_key(&settings.server_key_pem)?;
    let leaf = chain.first().ok_or(Error::NoCertificate)?.clone();
    let (_, parsed) =
        x509_parser::parse_x509_certificate(leaf.as_ref()).map_err(|_| Error::NoCertificate)?;
    let public_key = parsed.public_key().subject_public_key.data.to_vec();
    let fingerprint = CertFingerprint::of_der(leaf.as_ref());
    let mut config = ServerConfig::builder_with_provider(provider(true))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(Error::Versions)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(Error::CertifiedKey)?;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    Ok(RdpServerTls {
        config: Arc::new(config),
        public_key,
        fingerprint,
    })
}

/// The certificate a target presented, kept by the verifier so a mismatch can be
/// reported with both fingerprints.
#[derive(Debug, Clone, Default)]
pub struct PresentedCertificate(Arc<Mutex<Option<CertFingerprint>>>);

impl PresentedCertificate {
    /// What the target presented, once the handshake got that far.
    pub fn get(&self) -> Option<CertFingerprint> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A client configuration towards one RDP target that trusts its pinned certificate only
/// (no CA, no name check: the pin is the identity), with TLS 1.3 and 1.2.
pub fn rdp_target_client_config(
    pin: CertFingerprint,
) -> Result<(Arc<ClientConfig>, PresentedCertificate)> {
    let provider = provider(true);
    let presented = PresentedCertificate::default();
    let verifier = PinnedCertificate {
        pin,
        provider: Arc::clone(&provider),
        presented: presented.clone(),
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(Error::Versions)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok((Arc::new(config), presented))
}

#[derive(Debug)]
struct PinnedCertificate {
    pin: CertFingerprint,
    provider: Arc<CryptoProvider>,
    presented: PresentedCertificate,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let presented = CertFingerprint::of_der(end_entity.as_ref());
        *self
            .presented
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(presented);
        if presented == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
