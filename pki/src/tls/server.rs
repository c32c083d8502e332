//! The front door's rustls configuration: mutual TLS against our CA, revocation checked at
//! every handshake, TLS 1.3 only unless TLS 1.2 is explicitly allowed (R-13-6).
//!
//! It does not accept connections, time handshakes out or route by ALPN: the front door
//! does, and reads the peer's identity with [`crate::PeerIdentity`].

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, UnixTime};
use zeroize::Zeroizing;

use super::{
    ALPN_H2, ALPN_HTTP11, ALPN_RDP, ALPN_SSH, Error, Result, Revocations, certificate_chain,
    private_key, provider, root_store,
};

/// What the front door's TLS needs, as the binary read it from the data directory.
#[derive(Clone)]
pub struct ServerTlsSettings {
    /// Our CA (PEM): the only issuer of client certificates accepted.
    pub ca_cert_pem: String,
    /// The server certificate (PEM), optionally followed by intermediates.
    pub server_cert_pem: String,
    /// The server key (PEM); zeroized on drop, never logged.
    pub server_key_pem: Zeroizing<String>,
    /// Also accept TLS 1.2 (ECDHE + AEAD suites only), for old Windows clients. Off by
    /// default: R-13-6 asks for TLS 1.3.
    pub allow_tls12: bool,
}

impl fmt::Debug for ServerTlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTlsSettings")
            .field("server_key_pem", &"<secret>")
            .field("allow_tls12", &self.allow_tls12)
            .finish_non_exhaustive()
    }
}

/// Build the front door's configuration. Clients must present a certificate that chains to
/// our CA, is within its validity, is meant for client authentication, names a valid login
/// and is not in `revocations` (read at each handshake, so keep the clone you pass here
/// and refresh it). ALPN offers `ssh`, `rdp`, `h2` and `http/1.1`; a client offering no
/// ALPN is accepted too. No session tickets and no session cache: every connection presents
/// and re-checks its certificate.
pub fn server_config(
    settings: &ServerTlsSettings,
    revocations: Revocations,
) -> Result<Arc<ServerConfig>> {
    let provider = provider(settings.allow_tls12);
    let versions: &[&rustls::SupportedProtocolVersion] = if settings.allow_tls12 {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let roots = Arc::new(root_store(&settings.ca_cert_pem)?);
    let inner = WebPkiClientVerifier::builder_with_provider(roots, Arc::clone(&provider))
        .build()
        .map_err(Error::Verifier)?;
    let verifier = Arc::new(RevocationCheckingVerifier { inner, revocations });

    let chain = certificate_chain(&settings.server_cert_pem)?;
    let key = private_key(&settings.server_key_pem)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(Error::Versions)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(Error::CertifiedKey)?;

    config.alpn_protocols = [ALPN_SSH, ALPN_RDP, ALPN_H2, ALPN_HTTP11]
        .iter()
        .map(|p| p.to_vec())
        .collect();
    // Resumption would skip the client certificate check, and with it revocation.
    config.send_tls13_tickets = 0;
    config.max_tls13_tickets = 0;
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.ignore_client_order = false;
    config.max_fragment_size = None;
    // TLS 1.2 without extended master secret is open to the triple handshake attack.
    config.require_ems = settings.allow_tls12;
    Ok(Arc::new(config))
}

/// webpki's verifier (chain to our CA, validity, clientAuth EKU), then ours: the CN must be
/// a login (R-10.2-PRIV) and the serial must not be revoked.
#[derive(Debug)]
struct RevocationCheckingVerifier {
    /// Chain, signature and expiry checks.
    inner: Arc<dyn ClientCertVerifier>,
    /// Shared with the front door, which refreshes it before each handshake.
    revocations: Revocations,
}

impl ClientCertVerifier for RevocationCheckingVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> std::result::Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let peer = crate::peer_identity(end_entity).map_err(|_| {
            rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
        })?;
        if self.revocations.contains(&peer.serial) {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Revoked));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
