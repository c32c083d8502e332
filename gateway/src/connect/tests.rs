//! Tests of the vendor-side relay against a loopback TLS server.
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use super::*;
use fumidai_pki::tls::test_support::{Fixture, fixture};
use fumidai_pki::tls::{self, Revocations};

/// Long enough never to fire on a healthy loopback; tests that expect a time-out set
/// their own.
const PATIENCE: Duration = Duration::from_secs(10);

/// What the test gateway does with each connection after the handshake.
#[derive(Clone, Copy)]
enum Gateway {
    /// Echo until close_notify, then close.
    Echo,
    /// Send the negotiated ALPN and close without reading.
    SayAlpnAndClose,
    /// Drop the first TCP connection before the handshake, echo the rest.
    DropFirstThenEcho,
    /// Accept TCP and never answer.
    Silent,
}

fn connect_settings(f: &Fixture, addr: SocketAddr) -> ConnectSettings {
    ConnectSettings {
        gateway: addr.to_string(),
        server_name: None,
        client_config: f.client(&f.alice, &[tls::ALPN_SSH]),
        connect_timeout: PATIENCE,
    }
}

/// A loopback gateway built from [`tls::server_config`]; its address.
async fn gateway(config: Arc<ServerConfig>, mode: Gateway) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        let mut first = true;
        let mut held = Vec::new();
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let drop_it = matches!(mode, Gateway::DropFirstThenEcho) && first;
            first = false;
            if drop_it {
                continue;
            }
            if matches!(mode, Gateway::Silent) {
                held.push(tcp);
                continue;
            }
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if matches!(mode, Gateway::SayAlpnAndClose) {
                    let alpn = tls.get_ref().1.alpn_protocol().unwrap_or(b"none").to_vec();
                    tls.write_all(&alpn).await.unwrap();
                    tls.shutdown().await.unwrap();
                    return;
                }
                let (mut read, mut write) = tokio::io::split(tls);
                tokio::io::copy(&mut read, &mut write).await.unwrap();
                write.shutdown().await.unwrap();
            });
        }
    });
    addr
}

/// Relay `input` (then EOF) through the gateway; what came back.
async fn relay_once(settings: &ConnectSettings, input: &[u8]) -> Result<Vec<u8>> {
    let (mut feed, relay_in) = tokio::io::duplex(1024);
    let (relay_out, mut drain) = tokio::io::duplex(1024);
    let relay = async {
        let tls = dial(settings, Arc::clone(&settings.client_config)).await?;
        pump(tls, relay_in, relay_out, "127.0.0.1").await
    };
    let io = async {
        feed.write_all(input).await.unwrap();
        drop(feed);
        let mut out = Vec::new();
        drain.read_to_end(&mut out).await.unwrap();
        out
    };
    let (relayed, out) = tokio::time::timeout(PATIENCE, async { tokio::join!(relay, io) })
        .await
        .expect("relay did not finish: half-close broken?");
    relayed.map(|()| out)
}

#[tokio::test]
async fn local_eof_half_closes_and_the_rest_is_still_read() {
    let f = fixture();
    let addr = gateway(f.server(false, Revocations::default()), Gateway::Echo).await;
    let data: Vec<u8> = (0..100_000u32).map(|i| i.to_le_bytes()[0]).collect();
    assert_eq!(
        relay_once(&connect_settings(&f, addr), &data)
            .await
            .unwrap(),
        data
    );
}

#[tokio::test]
async fn gateway_closing_ends_the_relay_while_input_stays_open() {
    let f = fixture();
    let addr = gateway(
        f.server(false, Revocations::default()),
        Gateway::SayAlpnAndClose,
    )
    .await;
    let settings = connect_settings(&f, addr);
    let (_keep_open, relay_in) = tokio::io::duplex(64);
    let (relay_out, mut drain) = tokio::io::duplex(64);
    let tls = dial(&settings, Arc::clone(&settings.client_config))
        .await
        .unwrap();
    tokio::time::timeout(PATIENCE, pump(tls, relay_in, relay_out, "127.0.0.1"))
        .await
        .unwrap()
        .unwrap();
    let mut out = Vec::new();
    drain.read_to_end(&mut out).await.unwrap();
    assert_eq!(out, b"ssh");
}

#[tokio::test]
async fn forwarder_round_trips_and_survives_a_failed_connection() {
    let f = fixture();
    let config = f.server(false, Revocations::default());
    let addr = gateway(config, Gateway::DropFirstThenEcho).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = listener.local_addr().unwrap();
    let forwarder = tokio::spawn(forward(listener, Arc::new(connect_settings(&f, addr))));

    let exchange = |payload: &'static [u8]| async move {
        let mut tcp = TcpStream::connect(local).await.unwrap();
        tcp.write_all(payload).await.unwrap();
        tcp.shutdown().await.unwrap();
        let mut out = Vec::new();
        let _ = tcp.read_to_end(&mut out).await;
        out
    };
    // The gateway drops the first connection: nothing comes back, the listener lives on.
    let first = tokio::time::timeout(PATIENCE, exchange(b"lost"))
        .await
        .unwrap();
    assert!(first.is_empty());
    let (a, b) = tokio::time::timeout(PATIENCE, async {
        tokio::join!(exchange(b"first engineer"), exchange(b"second engineer"))
    })
    .await
    .unwrap();
    assert_eq!(a, b"first engineer");
    assert_eq!(b, b"second engineer");
    assert!(!forwarder.is_finished());
    forwarder.abort();
}

#[tokio::test]
async fn stdio_relay_always_offers_ssh() {
    let f = fixture();
    let addr = gateway(
        f.server(false, Revocations::default()),
        Gateway::SayAlpnAndClose,
    )
    .await;
    let mut settings = connect_settings(&f, addr);
    settings.client_config = f.client(&f.alice, &[]);
    assert_eq!(relay_once(&settings, b"").await.unwrap(), b"none");
    settings.client_config = ssh_config(&settings.client_config);
    assert_eq!(relay_once(&settings, b"").await.unwrap(), b"ssh");
}

#[tokio::test]
async fn errors_say_what_went_wrong() {
    let f = fixture();
    let good = gateway(f.server(false, Revocations::default()), Gateway::Echo).await;

    // A gateway whose certificate comes from another CA.
    let impostor = f.impostor();
    let impostor = gateway(impostor, Gateway::Echo).await;
    let error = relay_once(&connect_settings(&f, impostor), b"x")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UntrustedGateway), "{error:?}");
    assert_eq!(
        error.to_string(),
        "gateway certificate is not signed by the pinned ca"
    );

    let mut settings = connect_settings(&f, good);
    settings.server_name = Some("gw.elsewhere.example".into());
    let error = relay_once(&settings, b"x").await.unwrap_err();
    assert!(
        matches!(error, Error::GatewayNameMismatch { .. }),
        "{error:?}"
    );

    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let error = relay_once(&connect_settings(&f, closed), b"x")
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::ConnectionRefused { .. }),
        "{error:?}"
    );

    let silent = gateway(f.server(false, Revocations::default()), Gateway::Silent).await;
    let mut settings = connect_settings(&f, silent);
    settings.connect_timeout = Duration::from_millis(300);
    let error = relay_once(&settings, b"x").await.unwrap_err();
    assert!(matches!(error, Error::HandshakeTimeout), "{error:?}");

    let revoked = Revocations::default();
    revoked.replace([f.alice.serial.clone()]);
    let strict = gateway(f.server(false, revoked), Gateway::Echo).await;
    let error = relay_once(&connect_settings(&f, strict), b"x")
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::ClientCertificateRevoked),
        "{error:?}"
    );
}

#[test]
fn gateway_addresses_parse() {
    let table: &[(&str, Option<(&str, u16)>)] = &[
        ("gw.example.jp:8443", Some(("gw.example.jp", 8443))),
        ("10.0.0.5:443", Some(("10.0.0.5", 443))),
        ("[fd00::5]:8443", Some(("fd00::5", 8443))),
        ("fd00::5:8443", None),
        ("gw.example.jp", None),
        (":8443", None),
        ("gw:0", None),
        ("gw:65536", None),
        ("[fd00::5]", None),
    ];
    for (input, expected) in table {
        assert_eq!(split_host_port(input).ok(), *expected, "{input:?}");
    }
}
