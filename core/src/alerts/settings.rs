//! What the sinks need, typed: the values `[alerts]` is parsed into (a webhook URL, a
//! syslog destination and facility, an SMTP security mode), and [`Settings`], the whole
//! configuration with its secrets read, which `fumidai serve` builds once at start.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use lettre::message::Mailbox;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use secrecy::SecretString;

use crate::config::AlertsSection;

/// Where webhook alerts are POSTed: `http://` or `https://`, a host, an optional port and
/// path. Credentials in the URL are refused: the secret has a file of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    /// As written, for logs and the template.
    text: String,
    /// `https`.
    pub tls: bool,
    /// Host name or IP address (without brackets), also the TLS server name.
    pub host: String,
    /// Port, 80 or 443 unless given.
    pub port: u16,
    /// Path and query, `/` at least.
    pub path: String,
}

/// Why a webhook URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    /// Not a URL at all.
    #[error("webhook_url is not a URL")]
    Malformed,
    /// Not `http` or `https`.
    #[error("webhook_url must start with http:// or https://")]
    Scheme,
    /// `user:password@` in the URL.
    #[error("webhook_url must not hold credentials; put a secret in webhook_secret_file")]
    Credentials,
}

impl FromStr for WebhookUrl {
    type Err = WebhookUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let uri: Uri = s.parse().map_err(|_| WebhookUrlError::Malformed)?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(WebhookUrlError::Scheme),
        };
        let authority = uri.authority().ok_or(WebhookUrlError::Malformed)?;
        if authority.as_str().contains('@') {
            return Err(WebhookUrlError::Credentials);
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(WebhookUrlError::Malformed);
        }
        Ok(Self {
            text: s.to_owned(),
            tls,
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(if tls { 443 } else { 80 }),
            path: uri.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
        })
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Where syslog messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyslogTarget {
    /// `udp://HOST:PORT` (port 514 unless given): a collector, RFC 5426.
    Udp {
        /// Host name or IP address (without brackets).
        host: String,
        /// Port.
        port: u16,
    },
    /// `unix:/dev/log`: the local syslog daemon's datagram socket.
    Unix(PathBuf),
}

/// Why a syslog destination was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syslog must be \"udp://HOST:PORT\" or \"unix:/ABSOLUTE/PATH\" (e.g. \"unix:/dev/log\")")]
pub struct SyslogTargetError;

impl FromStr for SyslogTarget {
    type Err = SyslogTargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("unix:") {
            let path = PathBuf::from(path);
            return if path.is_absolute() {
                Ok(Self::Unix(path))
            } else {
                Err(SyslogTargetError)
            };
        }
        let rest = s.strip_prefix("udp://").ok_or(SyslogTargetError)?;
        let (host, port) = match rest.rsplit_once(':') {
            // `[::1]` alone has colons but no port.
            Some((host, port)) if !port.ends_with(']') => {
                (host, port.parse().map_err(|_| SyslogTargetError)?)
            }
            _ => (rest, 514),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') {
            return Err(SyslogTargetError);
        }
        Ok(Self::Udp {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for SyslogTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
            Self::Udp { host, port } if host.contains(':') => write!(f, "udp://[{host}]:{port}"),
            Self::Udp { host, port } => write!(f, "udp://{host}:{port}"),
        }
    }
}

/// A syslog facility (RFC 5424 table 1), as fumidai offers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Facility {
    /// `user` (1).
    User,
    /// `daemon` (3).
    Daemon,
    /// `auth` (4): security and authorisation messages.
    Auth,
    /// `authpriv` (10): the same, kept private (alerts name engineers and hosts).
    #[default]
    Authpriv,
    /// `local0` (16).
    Local0,
    /// `local1` (17).
    Local1,
    /// `local2` (18).
    Local2,
    /// `local3` (19).
    Local3,
    /// `local4` (20).
    Local4,
    /// `local5` (21).
    Local5,
    /// `local6` (22).
    Local6,
    /// `local7` (23).
    Local7,
}

impl Facility {
    /// The facility's code.
    pub fn code(self) -> u8 {
        match self {
            Self::User => 1,
            Self::Daemon => 3,
            Self::Auth => 4,
            Self::Authpriv => 10,
            Self::Local0 => 16,
            Self::Local1 => 17,
            Self::Local2 => 18,
            Self::Local3 => 19,
            Self::Local4 => 20,
            Self::Local5 => 21,
            Self::Local6 => 22,
            Self::Local7 => 23,
        }
    }

    /// The name as written in `fumidai.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Daemon => "daemon",
            Self::Auth => "auth",
            Self::Authpriv => "authpriv",
            Self::Local0 => "local0",
            Self::Local1 => "local1",
            Self::Local2 => "local2",
            Self::Local3 => "local3",
            Self::Local4 => "local4",
            Self::Local5 => "local5",
            Self::Local6 => "local6",
            Self::Local7 => "local7",
        }
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (port 587 by default).
    #[default]
    Starttls,
    /// TLS from the first byte, "SMTPS" (port 465 by default).
    Tls,
    /// No encryption (port 25 by default): only for a relay on this host or a trusted
    /// segment. Credentials are refused in this mode.
    None,
}

impl SmtpTls {
    /// The usual port for the mode.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Starttls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }

    /// The name as written in `fumidai.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starttls => "starttls",
            Self::Tls => "tls",
            Self::None => "none",
        }
    }
}

/// Everything the sinks need, secrets included. Built by `fumidai serve` from `[alerts]`
/// with [`Settings::load`]; no sink reads a file.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The webhook, when `webhook_url` is set.
    pub webhook: Option<WebhookSettings>,
    /// Syslog, when `syslog` is set.
    pub syslog: Option<SyslogSettings>,
    /// E-mail, when `smtp_host` is set.
    pub email: Option<EmailSettings>,
    /// How deliveries are retried.
    pub retry: Retry,
}

/// The webhook sink's settings.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Where to POST.
    pub url: WebhookUrl,
    /// Key of the HMAC-SHA256 signature header; `None`: requests are not signed.
    pub secret: Option<SecretString>,
    /// Longest time for one attempt: connect, TLS, request and response.
    pub timeout: Duration,
    /// TLS for `https`: rustls with *ring*, trusting `tls_ca_file`'s CAs
    /// ([`webhook::client_config`](super::webhook::client_config)).
    pub tls: Arc<rustls::ClientConfig>,
}

/// The syslog sink's settings.
#[derive(Debug, Clone)]
pub struct SyslogSettings {
    /// Where to send.
    pub target: SyslogTarget,
    /// The facility of every message.
    pub facility: Facility,
}

/// The e-mail sink's settings.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// The relay's host name (also the TLS server name).
    pub host: String,
    /// The relay's port.
    pub port: u16,
    /// How the connection is protected.
    pub tls: SmtpTls,
    /// Login and password, when the relay wants them.
    pub credentials: Option<(String, SecretString)>,
    /// The sender.
    pub from: Mailbox,
    /// The planning managers.
    pub to: Vec<Mailbox>,
    /// Certificate authorities trusted for TLS, as PEM.
    pub ca_pem: Arc<Vec<u8>>,
    /// Longest time for one SMTP command.
    pub timeout: Duration,
}

/// Attempts and backoff: `attempts` tries, waiting `first`, then twice as long each time,
/// at most `max`, between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries per alert and sink, at least 1.
    pub attempts: u32,
    /// Wait after the first failure.
    pub first: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 5,
            first: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

impl Retry {
    /// The wait after failed attempt `n` (1-based).
    pub fn delay_after(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1));
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// Why the alert settings could not be loaded; `serve` does not start then.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A secret or CA file could not be read.
    #[error("[alerts] {key}: cannot read {path}: {source}")]
    Read {
        /// The key naming the file.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A secret file is empty.
    #[error("[alerts] {key}: {path} is empty")]
    Empty {
        /// The key naming the file.
        key: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// The TLS client configuration could not be built.
    #[error("[alerts] cannot set up TLS for the webhook: {0}")]
    Tls(#[source] rustls::Error),
    /// The CA file holds no usable certificate.
    #[error("[alerts] tls_ca_file: {path} holds no usable CA certificate")]
    NoCa {
        /// The file.
        path: PathBuf,
    },
}

/// Debian's bundle of the system's trusted CAs (package `ca-certificates`), used when
/// `tls_ca_file` is not set.
pub const SYSTEM_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";

impl Settings {
    /// Reads the secret and CA files `section` names; relative paths are inside `base`
    /// (the data directory). Only what is configured is read: with no TLS sink, no CA file.
    pub fn load(section: &AlertsSection, base: &Path) -> Result<Self, SettingsError> {
        let needs_tls = section.webhook_url.as_ref().is_some_and(|u| u.tls)
            || (section.smtp_host.is_some() && section.smtp_tls != SmtpTls::None);
        let (ca_pem, roots) = if needs_tls {
            let path = section
                .tls_ca_file
                .as_ref()
                .map_or_else(|| PathBuf::from(SYSTEM_CA_FILE), |p| base.join(p));
            let pem = std::fs::read(&path).map_err(|source| SettingsError::Read {
                key: "tls_ca_file",
                path: path.clone(),
                source,
            })?;
            let mut roots = rustls::RootCertStore::empty();
            let (added, _ignored) = roots.add_parsable_certificates(
                CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok),
            );
            if added == 0 {
                return Err(SettingsError::NoCa { path });
            }
            (pem, roots)
        } else {
            (Vec::new(), rustls::RootCertStore::empty())
        };
        let webhook = match &section.webhook_url {
            Some(url) => Some(WebhookSettings {
                url: url.clone(),
                secret: section
                    .webhook_secret_file
                    .as_ref()
                    .map(|p| read_secret("webhook_secret_file", &base.join(p)))
                    .transpose()?,
                timeout: section.webhook_timeout,
                tls: super::webhook::client_config(roots).map_err(SettingsError::Tls)?,
            }),
            None => None,
        };
        let syslog = section.syslog.clone().map(|target| SyslogSettings {
            target,
            facility: section.syslog_facility,
        });
        let email = match (&section.smtp_host, &section.mail_from) {
            (Some(host), Some(from)) => {
                let credentials = match (&section.smtp_user, &section.smtp_password_file) {
                    (Some(user), Some(file)) => Some((
                        user.clone(),
                        read_secret("smtp_password_file", &base.join(file))?,
                    )),
                    _ => None,
                };
                Some(EmailSettings {
                    host: host.clone(),
                    port: section
                        .smtp_port
                        .unwrap_or_else(|| section.smtp_tls.default_port()),
                    tls: section.smtp_tls,
                    credentials,
                    from: from.clone(),
                    to: section.mail_to.clone(),
                    ca_pem: Arc::new(ca_pem),
                    timeout: section.smtp_timeout,
                })
            }
            _ => None,
        };
        Ok(Self {
            webhook,
            syslog,
            email,
            retry: Retry::default(),
        })
    }
}

/// A secret file's first line.
fn read_secret(key: &'static str, path: &Path) -> Result<SecretString, SettingsError> {
    let bytes = crate::datadir::read_secret(path).map_err(|source| SettingsError::Read {
        key,
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let line = text.lines().next().unwrap_or_default().trim_end();
    if line.is_empty() {
        return Err(SettingsError::Empty {
            key,
            path: path.to_owned(),
        });
    }
    Ok(SecretString::from(line))
}
