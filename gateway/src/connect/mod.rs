//! `fumidai connect`, the vendor side: carry bytes between the engineer's SSH or RDP client
//! and the gateway over mutual TLS, with the gateway's CA pinned (R-13-12).
//!
//! Two modes: [`relay_stdio`] for OpenSSH's `ProxyCommand` (stdin/stdout, nothing else on
//! stdout) and [`forward_listen`] for clients that can only dial a port. Errors say which
//! side failed and why, so an engineer can tell a wrong CA from a closed port.
//!
//! It does not read files, parse the command line or print anything but the listening
//! address: the binary does. It sees only ciphertext on the gateway side and never
//! interprets the relayed bytes.

pub mod rdp;

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use rustls::{AlertDescription, CertificateError, ClientConfig};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tracing::{Instrument, info_span, warn};

/// How long `fumidai connect` waits for TCP and, separately, for the TLS handshake.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Where and how to reach the gateway.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    /// The front door, `HOST:PORT` or `[IPV6]:PORT`.
    pub gateway: String,
    /// The name the gateway's certificate must carry; the host part of `gateway` when
    /// `None` (set it when dialling by an address the certificate doesn't name).
    pub server_name: Option<String>,
    /// From [`fumidai_pki::tls::client_config`]: our CA only, this device's certificate, the ALPN
    /// offered (by [`forward_listen`]; [`relay_stdio`] always offers `ssh`).
    pub client_config: Arc<ClientConfig>,
    /// Limit for the TCP connect, and again for the TLS handshake.
    pub connect_timeout: Duration,
}

/// Why a relay failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The gateway address is not `HOST:PORT`.
    #[error("gateway address {0:?} is not HOST:PORT")]
    BadGatewayAddress(String),
    /// The server name can't be checked against a certificate.
    #[error("{0:?} is not a valid server name")]
    BadServerName(String),
    /// The gateway's host name did not resolve.
    #[error("cannot resolve {host}")]
    Resolve {
        /// What was looked up.
        host: String,
        /// The resolver's answer.
        #[source]
        source: io::Error,
    },
    /// Nothing listens at the gateway's address (or a firewall rejects us).
    #[error("connection refused by {gateway}")]
    ConnectionRefused {
        /// The gateway address.
        gateway: String,
    },
    /// No TCP connection within the time-out (a firewall dropping packets, usually).
    #[error("connecting to {gateway} timed out")]
    ConnectTimeout {
        /// The gateway address.
        gateway: String,
    },
    /// Another TCP failure (no route, network down).
    #[error("cannot connect to {gateway}")]
    Connect {
        /// The gateway address.
        gateway: String,
        /// The OS's answer.
        #[source]
        source: io::Error,
    },
    /// The TLS handshake did not finish within the time-out.
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// The gateway's certificate does not chain to the pinned CA: wrong `--ca`, or not
    /// fumidai answering.
    #[error("gateway certificate is not signed by the pinned ca")]
    UntrustedGateway,
    /// The gateway's certificate does not name the host we dialled.
    #[error("gateway certificate is not valid for {server_name:?} (try --server-name)")]
    GatewayNameMismatch {
        /// The name checked.
        server_name: String,
    },
    /// The gateway's certificate is expired or not yet valid (check the clock).
    #[error("gateway certificate is expired or not yet valid")]
    GatewayCertificateExpired,
    /// The gateway refused this device's certificate as revoked.
    #[error("gateway refused this device's certificate: revoked")]
    ClientCertificateRevoked,
    /// The gateway refused this device's certificate as expired.
    #[error("gateway refused this device's certificate: expired")]
    ClientCertificateExpired,
    /// The gateway refused this device's certificate for another reason.
    #[error("gateway refused this device's certificate ({0:?})")]
    ClientCertificateRefused(AlertDescription),
    /// Gateway and client share no TLS version or suite (the gateway may allow 1.3 only).
    #[error("gateway and client share no tls version or cipher suite")]
    NoCommonParameters,
    /// The gateway doesn't serve the protocol asked for by ALPN.
    #[error("gateway does not serve the requested protocol")]
    NoApplicationProtocol,
    /// Another TLS failure.
    #[error("tls failed")]
    Tls(#[source] rustls::Error),
    /// The gateway's connection ended without a TLS close_notify.
    #[error("gateway closed the connection unexpectedly")]
    GatewayClosed,
    /// The connection to the gateway failed mid-way.
    #[error("connection to the gateway failed")]
    GatewayIo(#[source] io::Error),
    /// Reading from or writing to the local side (stdin/stdout, local client) failed.
    #[error("local stream failed")]
    LocalIo(#[source] io::Error),
    /// The local forwarding address can't be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS's answer.
        #[source]
        source: io::Error,
    },
}

/// What the functions of this module return.
pub type Result<T> = std::result::Result<T, Error>;

/// Relay stdin to the gateway and the gateway to stdout, offering ALPN `ssh`: use as
/// `ProxyCommand fumidai connect GATEWAY:PORT …`. When stdin ends, the TLS write side is
/// closed and the gateway's remaining output still relayed; when the gateway closes, this
/// returns.
///
/// OpenSSH hands a ProxyCommand two pipes: those are driven by the runtime's event loop
/// like the socket, so a chunk costs a `read` and a `write` and nothing else. Anything
/// else (a terminal, a file) goes through tokio's stdin/stdout, which hand every chunk to
/// a blocking thread; that thread can't be cancelled, so after this returns the binary
/// should exit the process rather than wait for the runtime to shut down.
pub async fn relay_stdio(settings: &ConnectSettings) -> Result<()> {
    let tls = dial(settings, ssh_config(&settings.client_config)).await?;
    let server_name = server_name_text(settings)?;
    match (stdin_pipe(), stdout_pipe()) {
        (Ok(mut input), Ok(mut output)) => {
            let relayed = pump(tls, &mut input, &mut output, &server_name).await;
            // O_NONBLOCK belongs to the open file, which a shell may share with stderr
            // (`2>&1`): put it back so that later writes there don't fail.
            let _ = input.into_blocking_fd();
            let _ = output.into_blocking_fd();
            relayed
        }
        (input, output) => {
            let input: Box<dyn AsyncRead + Unpin + Send> = match input {
                Ok(pipe) => Box::new(pipe),
                Err(_) => Box::new(tokio::io::stdin()),
            };
            let output: Box<dyn AsyncWrite + Unpin + Send> = match output {
                Ok(pipe) => Box::new(pipe),
                Err(_) => Box::new(tokio::io::stdout()),
            };
            pump(tls, input, output, &server_name).await
        }
    }
}

/// Standard input as a non-blocking pipe, if it is one (a duplicate of fd 0).
fn stdin_pipe() -> io::Result<pipe::Receiver> {
    pipe::Receiver::from_owned_fd(io::stdin().as_fd().try_clone_to_owned()?)
}

/// Standard output as a non-blocking pipe, if it is one (a duplicate of fd 1).
fn stdout_pipe() -> io::Result<pipe::Sender> {
    pipe::Sender::from_owned_fd(io::stdout().as_fd().try_clone_to_owned()?)
}

/// `config`, offering ALPN `ssh` alone.
fn ssh_config(config: &Arc<ClientConfig>) -> Arc<ClientConfig> {
    let mut config = (**config).clone();
    config.alpn_protocols = vec![fumidai_pki::tls::ALPN_SSH.to_vec()];
    Arc::new(config)
}

/// Listen on `listen` and relay each local connection over its own TLS connection to the
/// gateway. Says once on stderr where it listens; a failing connection is logged and
/// doesn't stop the listener. Runs until the task is dropped or accepting fails for good.
pub async fn forward_listen(listen: SocketAddr, settings: Arc<ConnectSettings>) -> Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| Error::Listen {
            addr: listen,
            source,
        })?;
    let local = listener.local_addr().map_err(|source| Error::Listen {
        addr: listen,
        source,
    })?;
    eprintln!(
        "fumidai connect: listening on {local}, forwarding to {}",
        settings.gateway
    );
    forward(listener, settings).await
}

/// The accept loop of [`forward_listen`], on a bound listener.
pub(crate) async fn forward(listener: TcpListener, settings: Arc<ConnectSettings>) -> Result<()> {
    loop {
        let (local, client_addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, mostly: back off instead of spinning.
                warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let settings = Arc::clone(&settings);
        let span = info_span!("forward", %client_addr);
        tokio::spawn(
            async move {
                let _ = local.set_nodelay(true);
                let (input, output) = local.into_split();
                let result = async {
                    let tls = dial(&settings, Arc::clone(&settings.client_config)).await?;
                    pump(tls, input, output, &server_name_text(&settings)?).await
                };
                if let Err(error) = result.await {
                    warn!(error = %error_chain(&error), "forwarded connection failed");
                }
            }
            .instrument(span),
        );
    }
}

/// Resolve, connect and handshake, each step bounded by the time-out.
pub(crate) async fn dial(
    settings: &ConnectSettings,
    config: Arc<ClientConfig>,
) -> Result<TlsStream<TcpStream>> {
    let (host, port) = split_host_port(&settings.gateway)?;
    let name_text = server_name_text(settings)?;
    let server_name = ServerName::try_from(name_text.clone())
        .map_err(|_| Error::BadServerName(name_text.clone()))?;
    let gateway = settings.gateway.clone();

    let tcp = tokio::time::timeout(settings.connect_timeout, connect_tcp(host, port, &gateway))
        .await
        .map_err(|_| Error::ConnectTimeout { gateway })??;
    let _ = tcp.set_nodelay(true);

    let handshake = TlsConnector::from(config).connect(server_name, tcp);
    match tokio::time::timeout(settings.connect_timeout, handshake).await {
        Err(_) => Err(Error::HandshakeTimeout),
        Ok(Err(error)) => Err(classify(error, &name_text)),
        Ok(Ok(tls)) => Ok(tls),
    }
}

/// Try each resolved address in turn; the last failure is the one reported.
async fn connect_tcp(host: &str, port: u16, gateway: &str) -> Result<TcpStream> {
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|source| Error::Resolve {
            host: host.to_owned(),
            source,
        })?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(error) => last = error,
        }
    }
    Err(match last.kind() {
        io::ErrorKind::ConnectionRefused => Error::ConnectionRefused {
            gateway: gateway.to_owned(),
        },
        _ => Error::Connect {
            gateway: gateway.to_owned(),
            source: last,
        },
    })
}

/// Bytes read at once from either side.
const RELAY_BUFFER: usize = 64 * 1024;

/// Copy both ways until the gateway closes. Local EOF half-closes the TLS side (close_notify
/// and TCP FIN) and keeps reading; gateway EOF ends the relay.
async fn pump<S, R, W>(tls: S, mut input: R, mut output: W, server_name: &str) -> Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (mut from_gateway, mut to_gateway) = tokio::io::split(tls);
    let uplink = async {
        // A pipe holds 64 KiB: one read empties it, and rustls cuts the chunk into records.
        let mut buf = vec![0u8; RELAY_BUFFER];
        loop {
            let n = input.read(&mut buf).await.map_err(Error::LocalIo)?;
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                break;
            };
            to_gateway
                .write_all(chunk)
                .await
                .map_err(|e| classify(e, server_name))?;
        }
        to_gateway
            .shutdown()
            .await
            .map_err(|e| classify(e, server_name))
    };
    let downlink = async {
        let mut buf = vec![0u8; RELAY_BUFFER];
        loop {
            let n = from_gateway
                .read(&mut buf)
                .await
                .map_err(|e| classify(e, server_name))?;
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                break;
            };
            output.write_all(chunk).await.map_err(Error::LocalIo)?;
            output.flush().await.map_err(Error::LocalIo)?;
        }
        output.shutdown().await.map_err(Error::LocalIo)
    };
    tokio::pin!(uplink, downlink);
    let mut uplink_done = false;
    loop {
        tokio::select! {
            result = &mut downlink => return result,
            result = &mut uplink, if !uplink_done => match result {
                Ok(()) => uplink_done = true,
                // A write refused by the gateway usually means it sent an alert: report
                // that rather than a broken pipe, if it arrives.
                Err(Error::LocalIo(error)) => return Err(Error::LocalIo(error)),
                Err(error) => return Err(downlink_error(&mut downlink).await.unwrap_or(error)),
            },
        }
    }
}

/// After the uplink failed on the gateway side, what the downlink says (within a moment).
async fn downlink_error(downlink: impl std::future::Future<Output = Result<()>>) -> Option<Error> {
    tokio::time::timeout(Duration::from_secs(1), downlink)
        .await
        .ok()?
        .err()
}

/// Turn a tokio-rustls I/O error into what went wrong, in the engineer's terms.
fn classify(error: io::Error, server_name: &str) -> Error {
    if error.kind() == io::ErrorKind::UnexpectedEof {
        return Error::GatewayClosed;
    }
    let Some(tls) = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return Error::GatewayIo(error);
    };
    use AlertDescription as A;
    use CertificateError as C;
    match tls {
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            Error::UntrustedGateway
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => Error::GatewayNameMismatch {
            server_name: server_name.to_owned(),
        },
        rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => Error::GatewayCertificateExpired,
        rustls::Error::AlertReceived(A::CertificateRevoked) => Error::ClientCertificateRevoked,
        rustls::Error::AlertReceived(A::CertificateExpired) => Error::ClientCertificateExpired,
        rustls::Error::AlertReceived(
            alert @ (A::BadCertificate
            | A::UnknownCA
            | A::CertificateUnknown
            | A::CertificateRequired
            | A::UnsupportedCertificate
            | A::AccessDenied),
        ) => Error::ClientCertificateRefused(*alert),
        rustls::Error::AlertReceived(
            A::ProtocolVersion | A::HandshakeFailure | A::InsufficientSecurity,
        ) => Error::NoCommonParameters,
        rustls::Error::AlertReceived(A::NoApplicationProtocol) => Error::NoApplicationProtocol,
        other => Error::Tls(other.clone()),
    }
}

/// `HOST:PORT` or `[IPV6]:PORT` into its parts; a bare IPv6 address is ambiguous.
fn split_host_port(gateway: &str) -> Result<(&str, u16)> {
    let bad = || Error::BadGatewayAddress(gateway.to_owned());
    let (host, port) = match gateway.strip_prefix('[') {
        Some(rest) => rest.split_once("]:").ok_or_else(bad)?,
        None => gateway
            .rsplit_once(':')
            .filter(|(h, _)| !h.contains(':'))
            .ok_or_else(bad)?,
    };
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((host, port))
}

/// The name to check the gateway's certificate against.
fn server_name_text(settings: &ConnectSettings) -> Result<String> {
    match &settings.server_name {
        Some(name) => Ok(name.clone()),
        None => split_host_port(&settings.gateway).map(|(host, _)| host.to_owned()),
    }
}

/// An error with its sources, for one log line.
fn error_chain(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests;
