//! Real handshakes between [`server_config`] and rustls or OpenSSL clients. Every rule of
//! R-13-6 and R-13-12 has a test here that tries to break it.

use std::sync::Arc;

use chrono::{Duration, Utc};
use rustls::{CertificateError, ClientConfig, ProtocolVersion, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::test_support::fixture;
use super::*;
use crate::Ca;

/// What the server saw of a successful handshake.
#[derive(Debug)]
struct Accepted {
    alpn: Option<Vec<u8>>,
    version: Option<ProtocolVersion>,
    suite: Option<rustls::CipherSuite>,
}

/// The rustls error inside an I/O error from tokio-rustls.
fn tls_error(error: &std::io::Error) -> Option<rustls::Error> {
    error.get_ref()?.downcast_ref::<rustls::Error>().cloned()
}

/// Run one handshake over an in-memory pipe; the server's outcome, and what the client's
/// first read returns (the server's alert, when it refused us after our Finished).
async fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    name: &str,
) -> (
    std::result::Result<Accepted, rustls::Error>,
    std::io::Result<u8>,
) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let name = rustls_pki_types::ServerName::try_from(name.to_owned()).unwrap();
    let server_side = async move {
        let mut tls = TlsAcceptor::from(server).accept(server_io).await?;
        let (_, conn) = tls.get_ref();
        let accepted = Accepted {
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            version: conn.protocol_version(),
            suite: conn.negotiated_cipher_suite().map(|s| s.suite()),
        };
        tls.write_all(b"!").await?;
        tls.shutdown().await?;
        Ok::<_, std::io::Error>(accepted)
    };
    let client_side = async move {
        let mut tls = TlsConnector::from(client).connect(name, client_io).await?;
        tls.read_u8().await
    };
    let (server, client) = tokio::join!(server_side, client_side);
    let server = server.map_err(|e| tls_error(&e).unwrap_or_else(|| panic!("not tls: {e}")));
    (server, client)
}

fn is_expired(error: &rustls::Error) -> bool {
    matches!(
        error,
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        )
    )
}

#[tokio::test]
async fn valid_client_is_accepted_with_tls13() {
    let f = fixture();
    let (server, client) = handshake(
        f.server(false, Revocations::default()),
        f.client(&f.alice, &[]),
        "gw.test",
    )
    .await;
    let accepted = server.unwrap();
    assert_eq!(accepted.version, Some(ProtocolVersion::TLSv1_3));
    assert_eq!(client.unwrap(), b'!');
}

#[tokio::test]
async fn client_without_certificate_is_refused() {
    let f = fixture();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(f.ca.cert_der().clone()).unwrap();
    let anonymous = ClientConfig::builder_with_provider(provider(false))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let (server, client) = handshake(
        f.server(false, Revocations::default()),
        Arc::new(anonymous),
        "gw.test",
    )
    .await;
    assert_eq!(server.unwrap_err(), rustls::Error::NoCertificatesPresented);
    assert!(client.is_err());
}

#[tokio::test]
async fn certificate_from_another_ca_is_refused() {
    let f = fixture();
    let other = Ca::generate("elsewhere").unwrap();
    let mallory = other.issue_client(&"alice".parse().unwrap(), 30).unwrap();
    let (server, client) = handshake(
        f.server(false, Revocations::default()),
        f.client(&mallory, &[]),
        "gw.test",
    )
    .await;
    assert_eq!(
        server.unwrap_err(),
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
    let alert = tls_error(&client.unwrap_err());
    assert_eq!(
        alert,
        Some(rustls::Error::AlertReceived(
            rustls::AlertDescription::UnknownCA
        ))
    );
}

#[tokio::test]
async fn expired_certificate_is_refused() {
    let f = fixture();
    let now = Utc::now();
    let login = "alice".parse().unwrap();
    let old = f
        .ca
        .issue_client_with_validity(&login, now - Duration::days(30), now - Duration::minutes(1))
        .unwrap();
    let (server, _) = handshake(
        f.server(false, Revocations::default()),
        f.client(&old, &[]),
        "gw.test",
    )
    .await;
    let error = server.unwrap_err();
    assert!(is_expired(&error), "{error:?}");
}

#[tokio::test]
async fn server_certificate_cannot_act_as_client_certificate() {
    let f = fixture();
    let (server, _) = handshake(
        f.server(false, Revocations::default()),
        f.client(&f.server, &[]),
        "gw.test",
    )
    .await;
    assert!(matches!(
        server.unwrap_err(),
        rustls::Error::InvalidCertificate(_)
    ));
}

#[tokio::test]
async fn revocation_applies_to_the_next_handshake_without_rebuilding() {
    let f = fixture();
    let revocations = Revocations::default();
    let server = f.server(false, revocations.clone());
    let client = f.client(&f.alice, &[]);
    let bob = f.ca.issue_client(&"bob".parse().unwrap(), 30).unwrap();

    let (first, _) = handshake(Arc::clone(&server), Arc::clone(&client), "gw.test").await;
    first.unwrap();

    revocations.replace([f.alice.serial.clone()]);
    let (second, client_read) =
        handshake(Arc::clone(&server), Arc::clone(&client), "gw.test").await;
    assert_eq!(
        second.unwrap_err(),
        rustls::Error::InvalidCertificate(CertificateError::Revoked)
    );
    let alert = tls_error(&client_read.unwrap_err());
    assert_eq!(
        alert,
        Some(rustls::Error::AlertReceived(
            rustls::AlertDescription::CertificateRevoked
        ))
    );

    // Another engineer's certificate is unaffected.
    let (other, _) = handshake(Arc::clone(&server), f.client(&bob, &[]), "gw.test").await;
    other.unwrap();
}

#[tokio::test]
async fn resumption_cannot_skip_the_revocation_check() {
    let f = fixture();
    let revocations = Revocations::default();
    let server = f.server(false, revocations.clone());
    // A client that would resume if the server let it (ours never tries).
    let mut eager = (*f.client(&f.alice, &[])).clone();
    eager.resumption = rustls::client::Resumption::in_memory_sessions(8);
    let eager = Arc::new(eager);

    let (first, _) = handshake(Arc::clone(&server), Arc::clone(&eager), "gw.test").await;
    first.unwrap();
    revocations.replace([f.alice.serial.clone()]);
    let (second, _) = handshake(server, eager, "gw.test").await;
    assert_eq!(
        second.unwrap_err(),
        rustls::Error::InvalidCertificate(CertificateError::Revoked)
    );
}

#[tokio::test]
async fn tls12_is_refused_by_default_and_ecdhe_aead_only_when_allowed() {
    let f = fixture();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(f.ca.cert_der().clone()).unwrap();
    // A TLS 1.2-only client offering every TLS 1.2 suite *ring* has.
    let tls12_client =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(
                certificate_chain(&f.alice.cert_pem).unwrap(),
                private_key(&f.alice.key_pem).unwrap(),
            )
            .unwrap();
    let tls12_client = Arc::new(tls12_client);

    let (refused, _) = handshake(
        f.server(false, Revocations::default()),
        Arc::clone(&tls12_client),
        "gw.test",
    )
    .await;
    assert!(refused.is_err(), "{refused:?}");

    let (allowed, client) = handshake(
        f.server(true, Revocations::default()),
        tls12_client,
        "gw.test",
    )
    .await;
    let allowed = allowed.unwrap();
    assert_eq!(allowed.version, Some(ProtocolVersion::TLSv1_2));
    let suite = allowed.suite.unwrap();
    assert!(TLS12_SUITES.contains(&suite), "{suite:?}");
    let name = format!("{suite:?}");
    assert!(name.starts_with("TLS_ECDHE_"), "{name}");
    assert!(
        name.contains("_GCM_") || name.contains("CHACHA20_POLY1305"),
        "{name}"
    );
    assert_eq!(client.unwrap(), b'!');

    // And TLS 1.3 still works with TLS 1.2 allowed.
    let (modern, _) = handshake(
        f.server(true, Revocations::default()),
        f.client(&f.alice, &[]),
        "gw.test",
    )
    .await;
    assert_eq!(modern.unwrap().version, Some(ProtocolVersion::TLSv1_3));
}

#[test]
fn providers_hold_only_the_allowed_suites_and_groups() {
    let strict = provider(false);
    assert!(
        strict
            .cipher_suites
            .iter()
            .all(|s| s.version() == &rustls::version::TLS13)
    );
    let relaxed = provider(true);
    for suite in &relaxed.cipher_suites {
        if suite.version() == &rustls::version::TLS12 {
            assert!(TLS12_SUITES.contains(&suite.suite()), "{suite:?}");
        }
    }
    let groups: Vec<_> = relaxed.kx_groups.iter().map(|g| g.name()).collect();
    use rustls::NamedGroup::{X25519, secp256r1, secp384r1};
    assert_eq!(groups, [X25519, secp256r1, secp384r1]);
}

#[tokio::test]
async fn alpn_returns_ssh_when_offered_and_none_when_none_offered() {
    let f = fixture();
    let server = f.server(false, Revocations::default());
    let (ssh, _) = handshake(
        Arc::clone(&server),
        f.client(&f.alice, &[ALPN_SSH]),
        "gw.test",
    )
    .await;
    assert_eq!(ssh.unwrap().alpn.as_deref(), Some(ALPN_SSH));
    let (rdp, _) = handshake(
        Arc::clone(&server),
        f.client(&f.alice, &[b"x", ALPN_RDP]),
        "gw.test",
    )
    .await;
    assert_eq!(rdp.unwrap().alpn.as_deref(), Some(ALPN_RDP));
    let (none, _) = handshake(Arc::clone(&server), f.client(&f.alice, &[]), "gw.test").await;
    assert_eq!(none.unwrap().alpn, None);
    let (unknown, _) = handshake(server, f.client(&f.alice, &[b"smtp"]), "gw.test").await;
    assert_eq!(unknown.unwrap_err(), rustls::Error::NoApplicationProtocol);
}

#[tokio::test]
async fn client_pins_the_ca_and_checks_the_name() {
    let f = fixture();
    let impostor = f.impostor();
    let (_, client) = handshake(impostor, f.client(&f.alice, &[]), "gw.test").await;
    assert_eq!(
        tls_error(&client.unwrap_err()),
        Some(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer
        ))
    );

    let server = f.server(false, Revocations::default());
    let (_, client) = handshake(Arc::clone(&server), f.client(&f.alice, &[]), "other.test").await;
    let error = tls_error(&client.unwrap_err()).unwrap();
    assert!(
        matches!(
            error,
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            )
        ),
        "{error:?}"
    );
    let (ok, _) = handshake(server, f.client(&f.alice, &[]), "127.0.0.1").await;
    ok.unwrap();
}

#[test]
fn bad_inputs_are_typed_errors() {
    let f = fixture();
    let mut settings = f.settings(false);
    settings.ca_cert_pem = "garbage".into();
    assert!(matches!(
        server_config(&settings, Revocations::default()),
        Err(Error::CaPem(_))
    ));
    let mut settings = f.settings(false);
    settings.server_cert_pem = String::new();
    assert!(matches!(
        server_config(&settings, Revocations::default()),
        Err(Error::NoCertificate)
    ));
    let mut settings = f.settings(false);
    settings.server_key_pem = f.alice.key_pem.clone();
    assert!(matches!(
        server_config(&settings, Revocations::default()),
        Err(Error::CertifiedKey(_))
    ));
    let result = client_config(f.ca.cert_pem(), &f.alice.cert_pem, "nope", &[]);
    assert!(matches!(result, Err(Error::KeyPem(_))));
    assert!(!format!("{:?}", f.settings(false)).contains("PRIVATE"));
}
