//! The syslog sink: one RFC 5424 message per alert, over UDP to a collector (RFC 5426) or
//! to the local daemon's datagram socket (`unix:/dev/log`).
//!
//! ```text
//! <82>1 2026-11-03T01:02:03.456Z gw01 fumidai 4242 host_key_mismatch
//!   [fumidai@32473 kind="host_key_mismatch" severity="critical" id="0190…" engineer="alice"
//!   plan="…" target="db01"] BOM Host key mismatch: … / ホスト鍵不一致: …
//! ```
//!
//! PRI is the configured facility × 8 + the alert's [`Severity`](super::Severity) (critical
//! 2, error 3, warning 4, notice 5); MSGID is the alert's kind; the structured data carries
//! the subject; MSG is the English and then the Japanese summary, UTF-8 after a BOM as
//! RFC 5424 §6.4 asks. 32473 is the enterprise number RFC 5612 reserves for examples and
//! documentation; a site with its own can change it here.

use std::fmt::Write as _;
use std::path::Path;

use async_trait::async_trait;
use chrono::SecondsFormat;
use tokio::net::{UdpSocket, UnixDatagram};

use super::Alert;
use super::dispatch::{DeliveryError, Sink};
use super::settings::{Facility, SyslogSettings, SyslogTarget};

/// The SD-ID of fumidai's structured data.
pub const SD_ID: &str = "fumidai@32473";

/// The longest message sent; longer ones lose the end of their MSG. RFC 5426 receivers
/// must take 480 bytes and should take 2048; most take 8 KiB and more.
pub const MAX_MESSAGE: usize = 8192;

/// Sends alerts to syslog.
pub struct Syslog {
    /// Where, and which facility.
    settings: SyslogSettings,
    /// HOSTNAME.
    hostname: String,
}

impl Syslog {
    /// A syslog sink for `settings`; `hostname` is this host's name.
    pub fn new(settings: SyslogSettings, hostname: String) -> Self {
        Self { settings, hostname }
    }
}

#[async_trait]
impl Sink for Syslog {
    fn name(&self) -> &'static str {
        "syslog"
    }

    async fn deliver(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let message = format(
            alert,
            self.settings.facility,
            &self.hostname,
            std::process::id(),
        );
        match &self.settings.target {
            SyslogTarget::Udp { host, port } => send_udp(host, *port, message.as_bytes()).await,
            SyslogTarget::Unix(path) => send_unix(path, message.as_bytes()).await,
        }
        .map_err(|e| {
            DeliveryError::Transient(format!("cannot send to {}: {e}", self.settings.target))
        })
    }
}

/// The RFC 5424 message for `alert`.
pub fn format(alert: &Alert, facility: Facility, hostname: &str, pid: u32) -> String {
    let pri = u16::from(facility.code()) * 8 + u16::from(alert.severity.syslog_code());
    let mut out = format!(
        "<{pri}>1 {time} {host} fumidai {pid} {msgid} [{SD_ID}",
        time = alert.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        host = header_field(hostname, 255),
        msgid = alert.kind.as_str(),
    );
    let subject = &alert.subject;
    let params = [
        ("kind", Some(alert.kind.as_str().to_owned())),
        ("severity", Some(alert.severity.as_str().to_owned())),
        ("id", Some(alert.id.to_string())),
        ("engineer", subject.engineer.as_ref().map(|e| e.to_string())),
        ("session", subject.session.map(|s| s.to_string())),
        ("plan", subject.plan.map(|p| p.to_string())),
        ("target", subject.target.as_ref().map(|t| t.to_string())),
    ];
    for (name, value) in params {
        if let Some(value) = value {
            let _ = write!(out, " {name}=\"{}\"", param_value(&value));
        }
    }
    out.push_str("] \u{feff}");
    out.push_str(&one_line(&format!(
        "{} / {}",
        alert.summary.en, alert.summary.ja
    )));
    truncate(&mut out, MAX_MESSAGE);
    out
}

/// A header field: printable US-ASCII without spaces, at most `max`; `-` when nothing is
/// left.
fn header_field(text: &str, max: usize) -> String {
    let field: String = text
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if field.is_empty() {
        "-".to_owned()
    } else {
        field
    }
}

/// A PARAM-VALUE: `"`, `\` and `]` escaped with a backslash (RFC 5424 §6.3.3).
pub(super) fn param_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in one_line(text).chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Control characters (line breaks included) become spaces: one alert, one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Cuts `text` to at most `max` bytes, at a character boundary.
fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let cut = (0..=max)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(cut);
    }
}

async fn send_udp(host: &str, port: u16, message: &[u8]) -> std::io::Result<()> {
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        let local = if addr.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let sent = async {
            let socket = UdpSocket::bind(local).await?;
            socket.send_to(message, addr).await
        };
        match sent.await {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("the host name has no address")))
}

async fn send_unix(path: &Path, message: &[u8]) -> std::io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    socket.send_to(message, path).await.map(drop)
}
