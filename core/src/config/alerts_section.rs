//! `[alerts]`: parsed as written, then checked as a whole, so a half-configured sink is an
//! error naming the missing key.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::alerts::settings::{Facility, SmtpTls, SyslogTarget, WebhookUrl};

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
