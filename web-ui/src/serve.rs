//! Serving the console (issue 15 §1): plain HTTP on a loopback address (behind a local
//! reverse proxy that terminates TLS), otherwise HTTPS with the console's own certificate
//! (R-13-5: the internal side only). Which one is the binary's choice; this module only
//! serves. Each request knows the client's address (`ConnectInfo<SocketAddr>`): the
//! sign-in limit and `/metrics` use it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::{Listener, ListenerExt as _};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tracing::debug;

/// How long a browser may take over the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the server loop.
const QUEUE: usize = 64;

/// Why the console's TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file holds no PEM certificate.
    #[error(
        "no certificate in the console's certificate file / 証明書ファイルに証明書がありません"
    )]
    NoCertificate,
    /// A PEM block doesn't parse.
    #[error(
        "the console's certificate or key is not valid PEM / 証明書または秘密鍵の PEM が不正です: {0}"
    )]
    Pem(String),
    /// rustls refused the pair (a key not matching the certificate, say).
    #[error(
        "the console's certificate and key do not fit together / 証明書と秘密鍵が対応していません: {0}"
    )]
    Rustls(#[from] rustls::Error),
}

/// A TLS 1.3 server configuration (ring) for the console from PEM text. HTTP/1.1 only.
pub fn tls_config(cert_pem: &str, key_pem: &str) -> Result<Arc<ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| TlsError::Pem(e.to_string()))?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` on `listener` until the future is dropped: over TLS with `tls`, else plain.
pub async fn run(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<ServerConfig>>,
) -> std::io::Result<()> {
    let make = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => axum::serve(listener, make).await,
        Some(config) => {
            let listener = TlsListener::start(listener, TlsAcceptor::from(config))?;
            // `tap_io` only to reach axum's ConnectInfo for any listener's address.
            axum::serve(listener.tap_io(|_| {}), make).await
        }
    }
}

/// Accepts TCP connections and hands over those whose TLS handshake completed; a slow or
/// broken handshake holds up nobody else.
struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    fn start(listener: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(QUEUE);
        tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        debug!(%error, "console: accept failed");
                        // Out of file descriptors, say: don't spin.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let handed = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = handed.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => {
                            debug!(client_addr = %peer, %error, "console: TLS handshake failed");
                        }
                        Err(_) => debug!(client_addr = %peer, "console: TLS handshake timed out"),
                    }
                });
                if tx.is_closed() {
                    break;
                }
            }
        });
        Ok(Self { ready, local })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept task only ends when this listener is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
