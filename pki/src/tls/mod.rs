//! rustls configurations: the front door's (client certificate required, revocation checked
//! at every handshake) and `fumidai connect`'s (the gateway's CA pinned).
//!
//! # Layout
//!
//! - [`server_config`] (`server.rs`): TLS 1.3 only unless `allow_tls12` (R-13-6), mutual TLS
//!   against our CA alone, no resumption.
//! - [`Revocations`] (`revocation.rs`): the revoked serials the verifier consults.
//! - [`client_config`] (`client.rs`): TLS 1.3 only, our CA as the only root (R-13-12).
//!
//! Both sides use the *ring* provider passed explicitly, never the process default, with
//! the key exchange groups X25519, secp256r1 and secp384r1 (R-10.2-CRYPTO).
//!
//! # What this module does not do
//!
//! No sockets, no time-outs and no store: the front door refreshes [`Revocations`] before
//! each handshake, drives the handshake and routes by the negotiated ALPN.

mod client;
mod rdp;
mod revocation;
mod server;

pub use client::client_config;
pub use rdp::{PresentedCertificate, RdpServerTls, rdp_server_tls, rdp_target_client_config};
pub use revocation::Revocations;
pub use server::{ServerTlsSettings, server_config};

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::crypto::ring::{self, kx_group};
use rustls::{CipherSuite, SupportedCipherSuite};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// ALPN for SSH inside TLS (also what a client offering no ALPN gets).
pub const ALPN_SSH: &[u8] = b"ssh";
/// ALPN for RDP inside TLS.
pub const ALPN_RDP: &[u8] = b"rdp";
/// ALPN for the vendor portal over HTTP/2.
pub const ALPN_H2: &[u8] = b"h2";
/// ALPN for the vendor portal over HTTP/1.1.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The CA certificate PEM could not be read.
    #[error("ca certificate pem could not be read")]
    CaPem(#[source] rustls_pki_types::pem::Error),
    /// The CA certificate was refused as a trust anchor.
    #[error("ca certificate was refused as a trust anchor")]
    TrustAnchor(#[source] rustls::Error),
    /// The certificate (chain) PEM could not be read.
    #[error("certificate pem could not be read")]
    CertificatePem(#[source] rustls_pki_types::pem::Error),
    /// The certificate PEM held no certificate.
    #[error("certificate pem holds no certificate")]
    NoCertificate,
    /// The private key PEM could not be read.
    #[error("private key pem could not be read")]
    KeyPem(#[source] rustls_pki_types::pem::Error),
    /// The client certificate verifier could not be built.
    #[error("client certificate verifier could not be built")]
    Verifier(#[source] rustls::server::VerifierBuilderError),
    /// The provider supports none of the requested protocol versions.
    #[error("no cipher suite for the requested tls versions")]
    Versions(#[source] rustls::Error),
    /// The certificate and key were refused (unsupported key type, or not a pair).
    #[error("certificate and private key were refused")]
    CertifiedKey(#[source] rustls::Error),
}

/// What the functions of this module return.
pub type Result<T> = std::result::Result<T, Error>;

/// TLS 1.2 suites allowed with `allow_tls12`: ECDHE key exchange and AEAD encryption only,
/// the IPA "high security" profile (R-13-6). Everything else, CBC or static RSA, stays off
/// even if a future *ring* provider offers it.
const TLS12_SUITES: &[CipherSuite] = &[
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// The *ring* provider cut down to what fumidai allows: every TLS 1.3 suite, the TLS 1.2
/// suites above only when `allow_tls12`, and three key exchange groups (R-10.2-CRYPTO).
fn provider(allow_tls12: bool) -> Arc<CryptoProvider> {
    let mut provider = ring::default_provider();
    provider.cipher_suites.retain(|suite| match suite {
        SupportedCipherSuite::Tls13(_) => true,
        SupportedCipherSuite::Tls12(_) => allow_tls12 && TLS12_SUITES.contains(&suite.suite()),
    });
    provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1];
    Arc::new(provider)
}

/// A root store holding our CA alone.
fn root_store(ca_cert_pem: &str) -> Result<rustls::RootCertStore> {
    let ca = CertificateDer::from_pem_slice(ca_cert_pem.as_bytes()).map_err(Error::CaPem)?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).map_err(Error::TrustAnchor)?;
    Ok(roots)
}

/// Every certificate in a PEM text, leaf first.
fn certificate_chain(pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    let chain = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::CertificatePem)?;
    if chain.is_empty() {
        return Err(Error::NoCertificate);
    }
    Ok(chain)
}

/// The private key in a PEM text (PKCS#8, SEC1 or PKCS#1).
fn private_key(pem: &str) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(Error::KeyPem)
}

#[cfg(test)]
mod openssl_tests;
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod test_support;
#[cfg(test)]
mod tests;
