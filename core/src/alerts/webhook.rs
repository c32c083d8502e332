//! The webhook sink: each alert is POSTed as one JSON document ([`Alert::to_json`]) over
//! HTTP/1.1, plain or in TLS (rustls with *ring*, the CAs of `tls_ca_file`), one
//! connection per request (`Connection: close`).
//!
//! ```text
//! POST /hooks/fumidai HTTP/1.1
//! Host: alerts.example.jp
//! Content-Type: application/json; charset=utf-8
//! X-Fumidai-Alert-Id: 0190…           (also in the body; the same on every retry)
//! X-Fumidai-Signature: sha256=HEX     (with webhook_secret_file)
//! ```
//!
//! # Authentication: an HMAC-SHA256 signature, not a bearer token
//!
//! With `webhook_secret_file`, the body is signed: `X-Fumidai-Signature: sha256=` and the
//! lowercase hex HMAC-SHA256 of the exact body bytes, keyed with the file's first line
//! (the scheme of GitHub's `X-Hub-Signature-256`). The receiver recomputes it over the raw
//! body and compares in constant time. Unlike a bearer token, the secret never crosses the
//! wire (so a plain-`http` receiver on the hospital's network doesn't leak it), and a body
//! changed on the way fails the check. The body carries the alert's `id` and `at`, so a
//! receiver can also refuse a replayed or stale request.
//!
//! A 2xx answer is a delivery; 408, 429, 5xx and network errors are retried; any other
//! status is given up at once (retrying a 401 or 404 would fail the same way).

use std::sync::Arc;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use rustls_pki_types::ServerName;
use secrecy::ExposeSecret;
use sha2::Sha256;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::Alert;
use super::dispatch::{DeliveryError, Sink};
use super::settings::WebhookSettings;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Fumidai-Signature";

/// The most of a response read: its status line and headers are all we look at.
const MAX_RESPONSE_HEAD: usize = 16 * 1024;

/// POSTs alerts to one URL.
pub struct Webhook {
    /// The URL, secret, time-out and CAs.
    settings: WebhookSettings,
    /// This gateway's host name, in every document.
    gateway: String,
    /// For `https` URLs.
    tls: TlsConnector,
}

impl Webhook {
    /// A webhook sink for `settings`; `gateway` names this host in the documents.
    pub fn new(settings: WebhookSettings, gateway: String) -> Self {
        let tls = TlsConnector::from(Arc::clone(&settings.tls));
        Self {
            settings,
            gateway,
            tls,
        }
    }

    /// The whole HTTP request for `alert`: head and body.
    pub fn request(&self, alert: &Alert) -> Vec<u8> {
        let body = alert.to_json(&self.gateway).to_string().into_bytes();
        let url = &self.settings.url;
        let host = match (url.host.contains(':'), url.port, url.tls) {
            (true, port, _) => format!("[{}]:{port}", url.host),
            (false, 80, false) | (false, 443, true) => url.host.clone(),
            (false, port, _) => format!("{}:{port}", url.host),
        };
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: fumidai/{version}\r\n\
             Content-Type: application/json; charset=utf-8\r\nContent-Length: {len}\r\n\
             Connection: close\r\nX-Fumidai-Alert-Id: {id}\r\n",
            path = url.path,
            version = env!("CARGO_PKG_VERSION"),
            len = body.len(),
            id = alert.id,
        );
        if let Some(secret) = &self.settings.secret {
            let signature = signature(secret.expose_secret().as_bytes(), &body);
            head.push_str(&format!("{SIGNATURE_HEADER}: {signature}\r\n"));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(&body);
        request
    }

    async fn post(&self, request: &[u8]) -> Result<u16, DeliveryError> {
        let url = &self.settings.url;
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| transient(format!("cannot connect to {url}: {e}")))?;
        if !url.tls {
            return exchange(tcp, request).await;
        }
        let name = ServerName::try_from(url.host.clone()).map_err(|_| {
            DeliveryError::Permanent(format!("{} is not a valid TLS server name", url.host))
        })?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| transient(format!("TLS with {url} failed: {e}")))?;
        exchange(tls, request).await
    }
}

#[async_trait]
impl Sink for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn deliver(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let request = self.request(alert);
        let timeout = self.settings.timeout;
        let status = tokio::time::timeout(timeout, self.post(&request))
            .await
            .map_err(|_| {
                transient(format!(
                    "no answer within {}",
                    humantime::format_duration(timeout)
                ))
            })??;
        match status {
            200..=299 => Ok(()),
            408 | 429 | 500..=599 => Err(transient(format!("the receiver answered {status}"))),
            _ => Err(DeliveryError::Permanent(format!(
                "the receiver refused the alert with {status}"
            ))),
        }
    }
}

/// The TLS client configuration for `https` webhooks: rustls with *ring* (the process's
/// only provider), its safe default versions, trusting `roots`.
pub fn client_config(
    roots: rustls::RootCertStore,
) -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is unreachable.
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sends `request` and reads the response's status code.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
) -> Result<u16, DeliveryError> {
    stream
        .write_all(request)
        .await
        .map_err(|e| transient(format!("cannot send the request: {e}")))?;
    stream
        .flush()
        .await
        .map_err(|e| transient(format!("cannot send the request: {e}")))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_RESPONSE_HEAD {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| transient(format!("cannot read the response: {e}")))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    status_code(&head).ok_or_else(|| transient("the receiver's answer is not HTTP".to_owned()))
}

/// The status code of an HTTP/1.x response head.
pub(crate) fn status_code(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

fn transient(message: String) -> DeliveryError {
    DeliveryError::Transient(message)
}
