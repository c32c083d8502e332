//! `fumidai.toml`: one typed struct per section, defaults in one place, unknown keys
//! refused, and errors that name the file, the line and the key (STYLE.md §21).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

mod alerts_section;
pub mod clamd;
mod floods_section;
pub mod ssh;
mod ssh_section;
mod template;

use clamd::{ClamdSocket, ScannerConfig};

pub use alerts_section::AlertsSection;
pub use floods_section::FloodsSection;
pub use ssh_section::SshSection;
pub use template::commented_template;

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
    /// How far floods of connections and failed logins reach (issue 12).
    pub floods: FloodsSection,
    /// What the SSH service offers vendors' clients (issue 13).
    pub ssh: SshSection,
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
    /// The internal side: the operator console, `/healthz`, `/metrics`. Must not be
    /// reachable from outside (R-13-5), hence loopback by default.
    pub ui_listen: SocketAddr,
    /// Names (DNS or IP) the front door's certificate was issued for; vendors' clients
    /// check the first one.
    pub server_name: String,
    /// The console's HTTPS certificate chain (PEM; relative paths are inside the data
    /// directory): `init` issues `ui.crt` from fumidai's CA, or the hospital's own. With
    /// both this and `ui_tls_key` the console speaks HTTPS; without, plain HTTP, which
    /// `serve` allows only on a loopback `ui_listen` (behind a local reverse proxy).
    pub ui_tls_cert: Option<PathBuf>,
    /// The console certificate's private key (PEM, mode 0600).
    pub ui_tls_key: Option<PathBuf>,
}

impl Default for GatewaySection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            ui_listen: SocketAddr::from(([127, 0, 0, 1], 9443)),
            server_name: "localhost".to_owned(),
            ui_tls_cert: None,
            ui_tls_key: None,
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
    /// The issuer authenticator apps show beside each TOTP entry: the hospital's name, so
    /// an engineer serving several hospitals tells their entries apart.
    pub totp_issuer: String,
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            lockout_threshold: 5,
            lockout_duration: Duration::from_secs(15 * 60),
            totp_issuer: "fumidai".to_owned(),
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
    /// Files copied over the RDP clipboard larger than this many bytes are refused. The
    /// gateway fetches such a file whole and holds it in memory while it judges, scans and
    /// records it, before any of it reaches the other side; larger files go by SFTP,
    /// which streams. 64 MiB by default ([`DEFAULT_CLIPBOARD_MAX_FILE`]).
    pub clipboard_max_file: u64,
}

/// The largest file the RDP clipboard carries by default: 64 MiB covers the logs,
/// configurations, screenshots and small installers people copy by hand, and bounds the
/// memory one session's clipboard holds (one file per direction, judged whole).
pub const DEFAULT_CLIPBOARD_MAX_FILE: u64 = 64 * 1024 * 1024;

impl Default for TransfersSection {
    fn default() -> Self {
        Self {
            clamd_socket: None,
            clamd_timeout: Duration::from_secs(120),
            max_scan_size: 2 * 1024 * 1024 * 1024,
            clipboard_max_file: DEFAULT_CLIPBOARD_MAX_FILE,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::settings::{Facility, SmtpTls, SyslogTarget};

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
        c.transfers.clipboard_max_file = 8 << 20;
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
