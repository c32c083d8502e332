//! `fumidai.toml`: one typed struct per section, defaults in one place, unknown keys
//! refused, and errors that name the file, the line and the key (STYLE.md §21).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::alerts::settings::{Facility, SmtpTls, SyslogTarget, WebhookUrl};
use crate::clamd::{ClamdSocket, ScannerConfig};

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the gateway listens.
    pub gateway: GatewaySection,
    /// Where state is kept.
    pub database: DatabaseSection,
    /// The front door's TLS settings.
    pub tls: TlsSection,
    /// Caps and time-outs that protect the gateway.
    pub limits: LimitsSection,
    /// Authentication settings.
    pub auth: AuthSection,
    /// Client certificate issuance.
    pub certificates: CertificatesSection,
    /// What happens to files sent through SFTP/SCP.
    pub transfers: TransfersSection,
    /// Log output.
    pub logging: LoggingSection,
    /// Where alerts go (R-17.1-ALERT).
    pub alerts: AlertsSection,
    /// The reconciliation report (R-10-5).
    pub report: ReportSection,
}

/// `[report]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSection {
    /// The hospital's own risk rules (a TOML file in the shipped format, see
    /// `policy/src/risk/default_rules.toml`; relative to the data directory). Absent: the
    /// shipped rules. `serve` refuses to start with a file that doesn't load, and every
    /// rule's examples must hold.
    pub risk_rules: Option<std::path::PathBuf>,
}

impl ReportSection {
    /// The risk rules reports use: the file's, or the shipped ones.
    pub fn rules(&self, data_dir: &std::path::Path) -> anyhow::Result<policy::risk::RuleSet> {
        let Some(path) = &self.risk_rules else {
            return Ok(policy::risk::RuleSet::shipped());
        };
        let path = data_dir.join(path);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("[report] risk_rules {}: {e}", path.display()))?;
        policy::risk::RuleSet::parse(&text)
            .map_err(|e| anyhow::anyhow!("[report] risk_rules {}: {e}", path.display()))
    }
}

/// `[gateway]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySection {
    /// The vendor-facing mutual-TLS front door. The only port vendors reach (R-13-5).
    pub listen: SocketAddr,
    /// The internal side: `/healthz`, `/metrics`, later the operator UI. Must not be reachable
    /// from outside (R-13-5), hence loopback by default.
    pub ui_listen: SocketAddr,
    /// Names (DNS or IP) the front door's certificate was issued for; vendors' clients
    /// check the first one.
    pub server_name: String,
}

impl Default for GatewaySection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            ui_listen: SocketAddr::from(([127, 0, 0, 1], 9443)),
            server_name: "localhost".to_owned(),
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    /// `sqlite://PATH` (relative paths are inside the data directory) or `postgres://…` for
    /// several nodes sharing state.
    pub url: String,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self {
            url: "sqlite://fumidai.db".to_owned(),
        }
    }
}

/// `[tls]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// Also accept TLS 1.2, and then only ECDHE with AEAD suites (IPA "high security").
    /// Off by default: R-13-6 limits TLS to 1.3 unless 1.2 is unavoidable.
    pub allow_tls12: bool,
    /// A client that hasn't finished the handshake by then is dropped.
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
}

impl Default for TlsSection {
    fn default() -> Self {
        Self {
            allow_tls12: false,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// `[limits]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Connections accepted but not yet logged in, at most. Further ones are closed at once,
    /// so a flood can't grow memory without bound.
    pub max_unauthenticated: usize,
    /// Time from TCP accept to a completed login; then the connection is closed.
    #[serde(with = "humantime_serde")]
    pub login_grace: Duration,
    /// A maintenance session with no engineer input and no target output for this long is
    /// cut with reason `idle` (R-10.2-TIMEOUT, R-12-6); an SSH connection with no traffic
    /// at all is closed a minute after that. `0s` switches the session rule off (not
    /// recommended).
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// The longest a maintenance session may last, whatever its plan's window says; then it
    /// is cut with reason `max-length` (R-10.2-TIMEOUT). `0s` switches it off.
    #[serde(with = "humantime_serde")]
    pub max_session: Duration,
    /// How long before the session is cut at its window's end (or maximum length) the
    /// engineer is warned, once. `0s`: no warning.
    #[serde(with = "humantime_serde")]
    pub window_warning: Duration,
    /// How long an emergency session (user name `engineer:target:emergency`, vendor
    /// allowed with `vendor add --emergency`) may last: its emergency plan's window
    /// (R-10.1-APPROVE).
    #[serde(with = "humantime_serde")]
    pub emergency_max: Duration,
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self {
            max_unauthenticated: 1024,
            login_grace: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(15 * 60),
            max_session: Duration::from_secs(8 * 3600),
            window_warning: Duration::from_secs(5 * 60),
            emergency_max: Duration::from_secs(2 * 3600),
        }
    }
}

impl LimitsSection {
    /// The session limits as the policy's type; a zero duration switches that limit off.
    pub fn session_limits(&self) -> policy::limits::Limits {
        let limit = |d: Duration| {
            (!d.is_zero())
                .then(|| chrono::TimeDelta::from_std(d).ok())
                .flatten()
        };
        policy::limits::Limits {
            idle_timeout: limit(self.idle_timeout),
            window_warning: limit(self.window_warning),
            max_length: limit(self.max_session),
        }
    }
}

/// `[auth]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    /// Consecutive failures that lock an account (R-14-6(6)).
    pub lockout_threshold: u32,
    /// How long a lock lasts.
    #[serde(with = "humantime_serde")]
    pub lockout_duration: Duration,
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            lockout_threshold: 5,
            lockout_duration: Duration::from_secs(15 * 60),
        }
    }
}

impl AuthSection {
    /// As the policy's type.
    pub fn lockout_policy(&self) -> policy::lockout::LockoutPolicy {
        policy::lockout::LockoutPolicy {
            threshold: self.lockout_threshold,
            duration: chrono::Duration::from_std(self.lockout_duration)
                .unwrap_or(chrono::Duration::minutes(15)),
        }
    }
}

/// `[certificates]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CertificatesSection {
    /// Default validity of a client certificate, in days.
    pub client_days: u32,
}

impl Default for CertificatesSection {
    fn default() -> Self {
        Self { client_days: 90 }
    }
}

/// `[transfers]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransfersSection {
    /// clamd's socket (its `LocalSocket`, or a loopback `IP:PORT` for its `TCPSocket`).
    /// When set, every upload is streamed to clamd and refused unless clamd calls it clean,
    /// and `serve` refuses to start while clamd doesn't answer (R-10-6, fail closed).
    /// Absent: uploads are not scanned.
    pub clamd_socket: Option<ClamdSocket>,
    /// How long clamd may take to accept a connection or a chunk, and to give its verdict
    /// once an upload has ended. clamd scans only then, so this bounds the scan of the
    /// whole file: about 80 MiB/s was measured (zeros, 2 cores), so the default leaves
    /// room for a `max_scan_size` upload. A hung clamd holds an upload this long before
    /// it is refused.
    #[serde(with = "humantime_serde")]
    pub clamd_timeout: Duration,
    /// Uploads larger than this many bytes are refused while scanning is on: a file that
    /// can't be scanned can't be called clean. clamd.conf must allow as much
    /// (`StreamMaxLength`, `MaxFileSize`, `MaxScanSize`) and set `AlertExceedsMax yes`, or
    /// clamd answers "OK" for what it didn't scan. ClamAV can't scan files over 2 GB, hence
    /// the default.
    pub max_scan_size: u64,
}

impl Default for TransfersSection {
    fn default() -> Self {
        Self {
            clamd_socket: None,
            clamd_timeout: Duration::from_secs(120),
            max_scan_size: 2 * 1024 * 1024 * 1024,
        }
    }
}

impl TransfersSection {
    /// The scanner's configuration, when a clamd socket is configured.
    pub fn scanner_config(&self) -> Option<ScannerConfig> {
        self.clamd_socket.clone().map(|socket| ScannerConfig {
            socket,
            timeout: self.clamd_timeout,
            max_stream: self.max_scan_size,
        })
    }
}

/// `[logging]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSection {
    /// `text` for people, `json` for a log collector.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `fumidai_gateway=debug,info`; `RUST_LOG` overrides.
    pub filter: String,
}

impl Default for LoggingSection {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".to_owned(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[alerts]`: where alerts go (R-17.1-ALERT). Every sink is optional; with none, alerts
/// are only logged (WARN). Checked as a whole: a half-configured sink is an error that
/// names the missing key.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsSection {
    /// Alerts are POSTed here as JSON (`http://` or `https://`).
    pub webhook_url: Option<WebhookUrl>,
    /// A file (mode 600) whose first line keys the HMAC-SHA256 signature of every webhook
    /// body; a file rather than a value so `fumidai.toml` holds no secret.
    pub webhook_secret_file: Option<PathBuf>,
    /// How long one webhook attempt may take, connection to answer.
    pub webhook_timeout: Duration,
    /// `udp://HOST:PORT` or `unix:/dev/log`: RFC 5424 messages go there.
    pub syslog: Option<SyslogTarget>,
    /// The syslog facility; `authpriv` by default, since alerts name people and hosts.
    pub syslog_facility: Facility,
    /// The SMTP relay; set it to mail alerts to `mail_to`.
    pub smtp_host: Option<String>,
    /// The relay's port; 587, 465 or 25 by `smtp_tls` unless set.
    pub smtp_port: Option<u16>,
    /// `starttls` (required, the default), `tls` or `none`.
    pub smtp_tls: SmtpTls,
    /// Login at the relay, when it wants one (with `smtp_password_file`).
    pub smtp_user: Option<String>,
    /// A file (mode 600) holding the relay password on its first line; never the password
    /// itself in `fumidai.toml`.
    pub smtp_password_file: Option<PathBuf>,
    /// How long one SMTP command may take.
    pub smtp_timeout: Duration,
    /// The sender, e.g. `fumidai <fumidai@hospital.example.jp>`.
    pub mail_from: Option<lettre::message::Mailbox>,
    /// The planning managers who receive the mails.
    pub mail_to: Vec<lettre::message::Mailbox>,
    /// CA certificates (PEM) trusted for `https` webhooks and SMTP TLS; the system bundle
    /// (`/etc/ssl/certs/ca-certificates.crt`) when unset. A hospital's internal CA goes here.
    pub tls_ca_file: Option<PathBuf>,
}

impl Default for AlertsSection {
    fn default() -> Self {
        Self {
            webhook_url: None,
            webhook_secret_file: None,
            webhook_timeout: Duration::from_secs(10),
            syslog: None,
            syslog_facility: Facility::default(),
            smtp_host: None,
            smtp_port: None,
            smtp_tls: SmtpTls::default(),
            smtp_user: None,
            smtp_password_file: None,
            smtp_timeout: Duration::from_secs(30),
            mail_from: None,
            mail_to: Vec::new(),
            tls_ca_file: None,
        }
    }
}

impl<'de> Deserialize<'de> for AlertsSection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawAlertsSection::deserialize(d)?
            .check()
            .map_err(serde::de::Error::custom)
    }
}

/// `[alerts]` as written, before the keys are checked together.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlertsSection {
    #[serde(default, deserialize_with = "parsed")]
    webhook_url: Option<WebhookUrl>,
    #[serde(default)]
    webhook_secret_file: Option<PathBuf>,
    #[serde(default, with = "humantime_serde")]
    webhook_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "parsed")]
    syslog: Option<SyslogTarget>,
    #[serde(default)]
    syslog_facility: Facility,
    #[serde(default)]
    smtp_host: Option<String>,
    #[serde(default)]
    smtp_port: Option<u16>,
    #[serde(default)]
    smtp_tls: SmtpTls,
    #[serde(default)]
    smtp_user: Option<String>,
    #[serde(default)]
    smtp_password_file: Option<PathBuf>,
    #[serde(default, with = "humantime_serde")]
    smtp_timeout: Option<Duration>,
    #[serde(default)]
    mail_from: Option<String>,
    #[serde(default)]
    mail_to: Vec<String>,
    #[serde(default)]
    tls_ca_file: Option<PathBuf>,
}

impl RawAlertsSection {
    fn check(self) -> Result<AlertsSection, String> {
        let defaults = AlertsSection::default();
        let mailbox = |key: &str, text: &str| {
            text.parse::<lettre::message::Mailbox>()
                .map_err(|e| format!("[alerts] {key}: {text:?} is not a mail address: {e}"))
        };
        let mail_from = self
            .mail_from
            .as_deref()
            .map(|t| mailbox("mail_from", t))
            .transpose()?;
        let mail_to = self
            .mail_to
            .iter()
            .map(|t| mailbox("mail_to", t))
            .collect::<Result<Vec<_>, _>>()?;
        if self.smtp_host.as_deref().is_some_and(str::is_empty) {
            return Err("[alerts] smtp_host must not be empty".to_owned());
        }
        let smtp = self.smtp_host.is_some();
        if smtp && mail_from.is_none() {
            return Err("[alerts] smtp_host is set but mail_from is not".to_owned());
        }
        if smtp && mail_to.is_empty() {
            return Err("[alerts] smtp_host is set but mail_to names nobody".to_owned());
        }
        for (key, set) in [
            ("mail_from", mail_from.is_some()),
            ("mail_to", !mail_to.is_empty()),
            ("smtp_port", self.smtp_port.is_some()),
            ("smtp_user", self.smtp_user.is_some()),
            ("smtp_password_file", self.smtp_password_file.is_some()),
        ] {
            if set && !smtp {
                return Err(format!("[alerts] {key} is set but smtp_host is not"));
            }
        }
        match (&self.smtp_user, &self.smtp_password_file) {
            (Some(_), None) => {
                return Err("[alerts] smtp_user is set but smtp_password_file is not".to_owned());
            }
            (None, Some(_)) => {
                return Err("[alerts] smtp_password_file is set but smtp_user is not".to_owned());
            }
            _ => {}
        }
        if self.smtp_user.is_some() && self.smtp_tls == SmtpTls::None {
            return Err(
                "[alerts] smtp_user with smtp_tls = \"none\" would send the password in clear"
                    .to_owned(),
            );
        }
        if self.webhook_secret_file.is_some() && self.webhook_url.is_none() {
            return Err("[alerts] webhook_secret_file is set but webhook_url is not".to_owned());
        }
        Ok(AlertsSection {
            webhook_url: self.webhook_url,
            webhook_secret_file: self.webhook_secret_file,
            webhook_timeout: self.webhook_timeout.unwrap_or(defaults.webhook_timeout),
            syslog: self.syslog,
            syslog_facility: self.syslog_facility,
            smtp_host: self.smtp_host,
            smtp_port: self.smtp_port,
            smtp_tls: self.smtp_tls,
            smtp_user: self.smtp_user,
            smtp_password_file: self.smtp_password_file,
            smtp_timeout: self.smtp_timeout.unwrap_or(defaults.smtp_timeout),
            mail_from,
            mail_to,
            tls_ca_file: self.tls_ca_file,
        })
    }
}

/// An optional value parsed from its text by `FromStr`, the error naming the value.
fn parsed<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text = String::deserialize(d)?;
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid, with where and why.
    #[error("{path}:{line}:{column}: {message}\n    {line_text}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, naming the key.
        message: String,
        /// The offending line, to show the operator.
        line_text: String,
    },
}

impl Config {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<(Self, String), Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        let config = Self::parse(path, &text)?;
        Ok((config, text))
    }

    /// Parses configuration text; `path` only names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            let (line, column) = line_and_column(text, offset);
            Error::Invalid {
                path: path.to_owned(),
                line,
                column,
                message: e.message().to_owned(),
                line_text: text
                    .lines()
                    .nth(line.saturating_sub(1))
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            }
        })
    }
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// The commented `fumidai.toml` that `fumidai init` writes.
pub fn commented_template(config: &Config) -> String {
    let c = config;
    let a = &c.alerts;
    format!(
        r#"# fumidai configuration. Every key is optional; the values shown are the defaults
# unless `fumidai init` was given others. Durations take units: "90s", "15m", "1h".

[gateway]
# The vendor-facing mutual-TLS front door: the only port vendors reach (R-13-5).
listen = "{listen}"
# Internal side: /healthz and /metrics (later the operator UI). Keep it off the vendor side.
ui_listen = "{ui_listen}"
# Name the front door's certificate was issued for (what vendors' clients check).
server_name = "{server_name}"

[database]
# sqlite://PATH (relative to this directory) for one box, postgres://... for several nodes.
url = "{db}"

[tls]
# TLS 1.3 only unless this is true; then TLS 1.2 with ECDHE + AEAD suites only (R-13-6).
allow_tls12 = {tls12}
# Clients that haven't finished the TLS handshake by then are dropped.
handshake_timeout = "{hs}"

[limits]
# Connections not yet logged in, at most; more are closed at once.
max_unauthenticated = {max_unauth}
# Time allowed from connect to completed login.
login_grace = "{grace}"
# A session with no input or output this long is cut (R-10.2-TIMEOUT, R-12-6).
idle_timeout = "{idle}"
# The longest a session may last, whatever its plan's window; "0s" switches this off.
max_session = "{max_session}"
# Engineers are warned this long before their session is cut at the window's end.
window_warning = "{window_warning}"
# Longest emergency session (user name ENGINEER:TARGET:emergency, R-10.1-APPROVE).
emergency_max = "{emergency_max}"

[auth]
# Consecutive failed logins that lock an account, and for how long (R-14-6(6)).
lockout_threshold = {threshold}
lockout_duration = "{lock}"

[certificates]
# Default validity of client certificates issued by `fumidai cert issue`, in days.
client_days = {days}

[transfers]
# Malware scanning of uploads (R-10-6) by ClamAV's clamd: its LocalSocket, or a loopback
# "IP:PORT" for its TCPSocket. Unset: uploads are not scanned. When set, `fumidai serve`
# won't start while clamd doesn't answer, and an upload is refused unless clamd calls it
# clean (fail closed).
{clamd_socket}
# How long clamd may take to take data, and to give its verdict once an upload ends
# (clamd scans then: a large file takes a while).
clamd_timeout = "{clamd_timeout}"
# Uploads larger than this (bytes) are refused while scanning is on. In clamd.conf set
# StreamMaxLength, MaxFileSize and MaxScanSize at least as large, and AlertExceedsMax yes
# (otherwise clamd answers "OK" for files over its limits without scanning them).
max_scan_size = {max_scan_size}

[logging]
# "text" or "json"; filter like "info" or "fumidai_gateway=debug,info" (RUST_LOG overrides).
format = "{format}"
filter = "{filter}"

[report]
# The reconciliation report (R-10-5) checks commands against risk rules. To use the
# hospital's own (a TOML file in the shipped format, relative to the data directory; every
# rule's examples must hold, or serve refuses to start):
{risk_rules}

[alerts]
# Alerts (R-17.1-ALERT): emergency access, lock-outs, target host key mismatches, killed
# sessions, high-severity findings, reports ready. Every sink is optional; with none, alerts
# are only logged. Deliveries are retried (5 tries, 1 s to 30 s apart) in the background and
# never hold up a session or a login.
# Webhook: each alert POSTed as JSON. With a secret file (mode 600, first line), the body is
# signed: header X-Fumidai-Signature: sha256=<hex HMAC-SHA256(secret, body)>.
{webhook_url}
{webhook_secret_file}
webhook_timeout = "{webhook_timeout}"
# Syslog (RFC 5424): "udp://HOST:PORT" or "unix:/dev/log"; facility user, daemon, auth,
# authpriv or local0-local7.
{syslog}
syslog_facility = "{syslog_facility}"
# Mail to the planning managers through an SMTP relay. smtp_tls: "starttls" (required),
# "tls" or "none"; the port is 587, 465 or 25 accordingly unless smtp_port is set. The
# password lives in a file (mode 600), never in this file.
{smtp_host}
{smtp_port}
smtp_tls = "{smtp_tls}"
{smtp_user}
{smtp_password_file}
smtp_timeout = "{smtp_timeout}"
{mail_from}
{mail_to}
# CA certificates (PEM) trusted for https webhooks and SMTP TLS; unset: the system bundle.
{tls_ca_file}
"#,
        listen = c.gateway.listen,
        ui_listen = c.gateway.ui_listen,
        server_name = c.gateway.server_name,
        db = c.database.url,
        tls12 = c.tls.allow_tls12,
        hs = humantime::format_duration(c.tls.handshake_timeout),
        max_unauth = c.limits.max_unauthenticated,
        grace = humantime::format_duration(c.limits.login_grace),
        idle = humantime::format_duration(c.limits.idle_timeout),
        max_session = humantime::format_duration(c.limits.max_session),
        window_warning = humantime::format_duration(c.limits.window_warning),
        emergency_max = humantime::format_duration(c.limits.emergency_max),
        risk_rules = match &c.report.risk_rules {
            Some(path) => format!("risk_rules = {:?}", path.display().to_string()),
            None => "# risk_rules = \"risk-rules.toml\"".to_owned(),
        },
        threshold = c.auth.lockout_threshold,
        lock = humantime::format_duration(c.auth.lockout_duration),
        days = c.certificates.client_days,
        clamd_socket = match &c.transfers.clamd_socket {
            Some(socket) => format!("clamd_socket = {:?}", socket.to_string()),
            None => "# clamd_socket = \"/run/clamav/clamd.ctl\"".to_owned(),
        },
        clamd_timeout = humantime::format_duration(c.transfers.clamd_timeout),
        max_scan_size = c.transfers.max_scan_size,
        format = match c.logging.format {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        },
        filter = c.logging.filter,
        webhook_url = setting(
            "webhook_url",
            a.webhook_url.as_ref().map(|u| quoted(&u.to_string())),
            "\"https://alerts.hospital.example.jp/hooks/fumidai\"",
        ),
        webhook_secret_file = setting(
            "webhook_secret_file",
            a.webhook_secret_file
                .as_ref()
                .map(|p| quoted(&p.display().to_string())),
            "\"/etc/fumidai/webhook-secret\"",
        ),
        webhook_timeout = humantime::format_duration(a.webhook_timeout),
        syslog = setting(
            "syslog",
            a.syslog.as_ref().map(|t| quoted(&t.to_string())),
            "\"udp://127.0.0.1:514\"",
        ),
        syslog_facility = a.syslog_facility.as_str(),
        smtp_host = setting(
            "smtp_host",
            a.smtp_host.as_deref().map(quoted),
            "\"mail.hospital.example.jp\"",
        ),
        smtp_port = setting("smtp_port", a.smtp_port.map(|p| p.to_string()), "587"),
        smtp_tls = a.smtp_tls.as_str(),
        smtp_user = setting(
            "smtp_user",
            a.smtp_user.as_deref().map(quoted),
            "\"fumidai\"",
        ),
        smtp_password_file = setting(
            "smtp_password_file",
            a.smtp_password_file
                .as_ref()
                .map(|p| quoted(&p.display().to_string())),
            "\"/etc/fumidai/smtp-password\"",
        ),
        smtp_timeout = humantime::format_duration(a.smtp_timeout),
        mail_from = setting(
            "mail_from",
            a.mail_from.as_ref().map(|m| quoted(&m.to_string())),
            "\"fumidai <fumidai@hospital.example.jp>\"",
        ),
        mail_to = setting(
            "mail_to",
            (!a.mail_to.is_empty()).then(|| {
                let list: Vec<String> = a.mail_to.iter().map(|m| quoted(&m.to_string())).collect();
                format!("[{}]", list.join(", "))
            }),
            "[\"planning-manager@hospital.example.jp\"]",
        ),
        tls_ca_file = setting(
            "tls_ca_file",
            a.tls_ca_file
                .as_ref()
                .map(|p| quoted(&p.display().to_string())),
            "\"/etc/fumidai/hospital-ca.crt\"",
        ),
    )
}

/// `key = value` when set, else the key commented out with an example.
fn setting(key: &str, value: Option<String>, example: &str) -> String {
    match value {
        Some(value) => format!("{key} = {value}"),
        None => format!("# {key} = {example}"),
    }
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_back_to_the_same_config() {
        let mut c = Config::default();
        c.gateway.server_name = "gw.example.jp".into();
        c.tls.allow_tls12 = true;
        c.database.url = "postgres://fumidai@db/fumidai".into();
        c.limits.max_session = Duration::from_secs(90 * 60);
        c.limits.window_warning = Duration::from_secs(2 * 60);
        c.limits.emergency_max = Duration::from_secs(3600);
        let parsed = Config::parse(Path::new("t.toml"), &commented_template(&c)).unwrap();
        assert_eq!(parsed, c);
        c.report.risk_rules = Some("rules/hospital.toml".into());
        let parsed = Config::parse(Path::new("t.toml"), &commented_template(&c)).unwrap();
        assert_eq!(parsed, c);
        c.transfers.clamd_socket = Some(ClamdSocket::Unix("/run/clamav/clamd.ctl".into()));
        c.transfers.clamd_timeout = Duration::from_secs(90);
        c.transfers.max_scan_size = 100 << 20;
        let parsed = Config::parse(Path::new("t.toml"), &commented_template(&c)).unwrap();
        assert_eq!(parsed, c);
        assert_eq!(
            Config::parse(Path::new("t.toml"), "").unwrap(),
            Config::default()
        );
    }

    #[test]
    fn the_alerts_section_round_trips_and_is_checked_as_a_whole() {
        let text = r#"[alerts]
webhook_url = "https://alerts.example.jp:8443/hook"
webhook_secret_file = "webhook-secret"
syslog = "unix:/dev/log"
syslog_facility = "local3"
smtp_host = "mail.example.jp"
smtp_tls = "tls"
smtp_user = "fumidai"
smtp_password_file = "/etc/fumidai/smtp-password"
mail_from = "fumidai <fumidai@example.jp>"
mail_to = ["pm@example.jp", "計画 管理者 <pm2@example.jp>"]
"#;
        let c = Config::parse(Path::new("t.toml"), text).unwrap();
        let a = &c.alerts;
        assert_eq!(a.webhook_url.as_ref().unwrap().port, 8443);
        assert_eq!(a.syslog, Some(SyslogTarget::Unix("/dev/log".into())));
        assert_eq!(a.syslog_facility, Facility::Local3);
        assert_eq!(a.smtp_tls, SmtpTls::Tls);
        assert_eq!(a.mail_to.len(), 2);
        assert_eq!(a.webhook_timeout, Duration::from_secs(10));
        let parsed = Config::parse(Path::new("t.toml"), &commented_template(&c)).unwrap();
        assert_eq!(parsed, c);
        let template = commented_template(&Config::default());
        assert!(template.contains("# smtp_host = "), "{template}");
        assert!(template.contains("# webhook_url = "), "{template}");
    }

    #[test]
    fn alerts_errors_name_the_key() {
        let cases = [
            ("webhook_url = \"ftp://x/\"", "webhook_url"),
            ("webhook_url = \"https://u:p@x/\"", "webhook_secret_file"),
            ("webhook_secret_file = \"s\"", "webhook_url is not"),
            ("syslog = \"127.0.0.1:514\"", "syslog"),
            ("syslog_facility = \"kern\"", "kern"),
            ("smtp_tls = \"ssl\"", "ssl"),
            ("smtp_host = \"m\"\nmail_to = [\"pm@x.jp\"]", "mail_from"),
            ("smtp_host = \"m\"\nmail_from = \"f@x.jp\"", "mail_to"),
            ("mail_to = [\"pm@x.jp\"]", "smtp_host"),
            (
                "smtp_host = \"m\"\nmail_from = \"f@x.jp\"\nmail_to = [\"not an address\"]",
                "mail_to",
            ),
            (
                "smtp_host = \"m\"\nmail_from = \"f@x.jp\"\nmail_to = [\"p@x.jp\"]\nsmtp_user = \"u\"",
                "smtp_password_file",
            ),
            (
                "smtp_host = \"m\"\nmail_from = \"f@x.jp\"\nmail_to = [\"p@x.jp\"]\nsmtp_tls = \"none\"\nsmtp_user = \"u\"\nsmtp_password_file = \"p\"",
                "in clear",
            ),
            ("smtp_password = \"hunter2\"", "smtp_password"),
        ];
        for (body, key) in cases {
            let text = format!("[alerts]\n{body}\n");
            let err = Config::parse(Path::new("/etc/fumidai.toml"), &text).unwrap_err();
            let shown = err.to_string();
            assert!(shown.contains(key), "{shown} should name {key}");
            assert!(shown.starts_with("/etc/fumidai.toml:"), "{shown}");
        }
    }

    #[test]
    fn session_limits_come_from_the_limits_section() {
        let text =
            "[limits]\nidle_timeout = \"2s\"\nmax_session = \"0s\"\nwindow_warning = \"10m\"\n";
        let c = Config::parse(Path::new("t.toml"), text).unwrap();
        let limits = c.limits.session_limits();
        assert_eq!(limits.idle_timeout, Some(chrono::TimeDelta::seconds(2)));
        assert_eq!(limits.max_length, None, "0s switches the maximum off");
        assert_eq!(limits.window_warning, Some(chrono::TimeDelta::minutes(10)));
        let defaults = Config::default().limits.session_limits();
        assert_eq!(defaults.idle_timeout, Some(chrono::TimeDelta::minutes(15)));
        assert_eq!(defaults.max_length, Some(chrono::TimeDelta::hours(8)));
        assert_eq!(defaults.window_warning, Some(chrono::TimeDelta::minutes(5)));
    }

    #[test]
    fn the_deployment_example_parses() {
        let text = include_str!("../../deploy/fumidai.example.toml");
        let c = Config::parse(Path::new("fumidai.example.toml"), text).unwrap();
        assert_eq!(
            c.transfers.clamd_socket,
            Some(ClamdSocket::Unix("/run/clamav/clamd.ctl".into()))
        );
    }

    #[test]
    fn scanning_is_off_unless_a_clamd_socket_is_set() {
        assert_eq!(Config::default().transfers.scanner_config(), None);
        let text = "[transfers]\nclamd_socket = \"127.0.0.1:3310\"\nmax_scan_size = 1048576\n";
        let c = Config::parse(Path::new("t.toml"), text).unwrap();
        assert_eq!(
            c.transfers.scanner_config(),
            Some(ScannerConfig {
                socket: ClamdSocket::Tcp(SocketAddr::from(([127, 0, 0, 1], 3310))),
                timeout: Duration::from_secs(120),
                max_stream: 1 << 20,
            })
        );
    }

    #[test]
    fn errors_name_the_key_and_the_line() {
        let cases = [
            (
                "[gateway]\nlisten = \"0.0.0.0:8443\"\nlisen = \"x\"\n",
                3,
                "lisen",
            ),
            ("[gateway]\n\nlisten = \"not an address\"\n", 3, "listen"),
            ("[tls]\nallow_tls12 = \"yes\"\n", 2, "allow_tls12"),
            (
                "[limits]\nidle_timeout = \"15 fortnights\"\n",
                2,
                "idle_timeout",
            ),
            ("[nonsense]\n", 1, "nonsense"),
            (
                "[transfers]\n\nclamd_socket = \"192.0.2.1:3310\"\n",
                3,
                "loopback",
            ),
            (
                "[transfers]\nclamd_socket = \"clamd.ctl\"\n",
                2,
                "clamd_socket",
            ),
            ("[transfers]\nmax_scan_size = -1\n", 2, "max_scan_size"),
        ];
        for (text, line, key) in cases {
            let err = Config::parse(Path::new("/etc/fumidai.toml"), text).unwrap_err();
            let shown = err.to_string();
            assert!(
                matches!(err, Error::Invalid { line: l, .. } if l == line),
                "{shown}"
            );
            assert!(shown.contains(key), "{shown} should name {key}");
            assert!(
                shown.starts_with(&format!("/etc/fumidai.toml:{line}:")),
                "{shown}"
            );
        }
    }
}

#[cfg(test)]
mod report_tests {
    #![allow(clippy::unwrap_used, reason = "unit tests")]

    use super::*;

    const ONE_RULE: &str = r#"
[[rule]]
id = "his-export"
category = "data-export"
severity = "critical"
requirement = "R-10-2"
title_ja = "電子カルテの書き出し"
title_en = "EHR export"
pattern = '^his-export(\s|$)'
examples = ["his-export --all"]
counter_examples = ["his-status"]
"#;

    // The hospital's own rules replace the shipped ones; a file that doesn't load names
    // the key and the file.
    #[test]
    fn risk_rules_come_from_the_hospitals_file_or_the_shipped_set() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            ReportSection::default()
                .rules(dir.path())
                .unwrap()
                .rules()
                .len()
                > 30
        );
        std::fs::write(dir.path().join("rules.toml"), ONE_RULE).unwrap();
        let own = ReportSection {
            risk_rules: Some("rules.toml".into()),
        };
        let rules = own.rules(dir.path()).unwrap();
        assert_eq!(rules.rules().len(), 1);
        assert_eq!(rules.classify("sudo his-export --all").len(), 1);
        std::fs::write(
            dir.path().join("rules.toml"),
            ONE_RULE.replace("his-export --all", "x"),
        )
        .unwrap();
        let err = own.rules(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("[report] risk_rules") && err.contains("rules.toml"),
            "{err}"
        );
        let missing = ReportSection {
            risk_rules: Some("nope.toml".into()),
        };
        assert!(missing.rules(dir.path()).is_err());
    }
}
