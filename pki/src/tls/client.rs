//! `fumidai connect`'s rustls configuration: TLS 1.3 only, the gateway's CA as the only
//! root (pinning, R-13-12), this device's client certificate.
//!
//! It does not connect; the binary's `connect` module does.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::client::Resumption;

use super::{Error, Result, certificate_chain, private_key, provider, root_store};

/// Build a client configuration trusting only `ca_cert_pem`, authenticating with
/// `client_cert_pem` and `client_key_pem` and offering the protocols `alpn` (e.g.
/// [`super::ALPN_SSH`]). The system's root certificates are never consulted, so a
/// certificate for the gateway's name from any public CA is refused.
pub fn client_config(
    ca_cert_pem: &str,
    client_cert_pem: &str,
    client_key_pem: &str,
    alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>> {
    let roots = root_store(ca_cert_pem)?;
    let chain = certificate_chain(client_cert_pem)?;
    let key = private_key(client_key_pem)?;
    let mut config = ClientConfig::builder_with_provider(provider(false))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(Error::Versions)?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(Error::CertifiedKey)?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    // The gateway sends no tickets; don't keep state that could be replayed.
    config.resumption = Resumption::disabled();
    config.enable_early_data = false;
    Ok(Arc::new(config))
}
