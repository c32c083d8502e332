//! The e-mail sink: one mail per alert to the planning managers (`mail_to`) through an
//! SMTP relay, with `lettre`: STARTTLS (required, not opportunistic), TLS from the first
//! byte, or none for a relay on a trusted segment; optional login. TLS uses rustls with
//! *ring* and trusts the CAs of `tls_ca_file`.
//!
//! The subject and body are in Japanese and then English; the body ends with the alert's
//! JSON document, for whoever wants the details.

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use super::dispatch::{DeliveryError, Sink};
use super::settings::{EmailSettings, SmtpTls};
use super::{Alert, AlertKind, Severity};

/// Mails alerts.
pub struct Email {
    /// Relay, addresses, credentials.
    settings: EmailSettings,
    /// This gateway's host name, in every mail.
    gateway: String,
}

impl Email {
    /// An e-mail sink for `settings`; `gateway` names this host in the mails.
    pub fn new(settings: EmailSettings, gateway: String) -> Self {
        Self { settings, gateway }
    }

    /// The mail for `alert`.
    pub fn message(&self, alert: &Alert) -> Result<Message, DeliveryError> {
        let mut builder = Message::builder()
            .from(self.settings.from.clone())
            .subject(subject(alert))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.settings.to {
            builder = builder.to(to.clone());
        }
        builder
            .body(body(alert, &self.gateway))
            .map_err(|e| DeliveryError::Permanent(format!("cannot build the mail: {e}")))
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
        let s = &self.settings;
        let tls = match s.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(self.tls_parameters()?),
            SmtpTls::Tls => Tls::Wrapper(self.tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
            .port(s.port)
            .tls(tls)
            .timeout(Some(s.timeout));
        if let Some((user, password)) = &s.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(builder.build())
    }

    fn tls_parameters(&self) -> Result<TlsParameters, DeliveryError> {
        let ca = Certificate::from_pem(&self.settings.ca_pem)
            .map_err(|e| DeliveryError::Permanent(format!("tls_ca_file is unusable: {e}")))?;
        // Only the CAs of `tls_ca_file` (or the system bundle), as for the webhook.
        TlsParameters::builder(self.settings.host.clone())
            .certificate_store(CertificateStore::None)
            .add_root_certificate(ca)
            .build_rustls()
            .map_err(|e| DeliveryError::Permanent(format!("cannot set up TLS: {e}")))
    }
}

#[async_trait]
impl Sink for Email {
    fn name(&self) -> &'static str {
        "email"
    }

    async fn deliver(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let message = self.message(alert)?;
        let transport = self.transport()?;
        match transport.send(message).await {
            Ok(_) => Ok(()),
            // A 5xx answer (unknown recipient, refused sender) would be refused again.
            Err(e) if e.is_permanent() => Err(DeliveryError::Permanent(format!(
                "the relay refused the mail: {e}"
            ))),
            Err(e) => Err(DeliveryError::Transient(format!(
                "cannot send through {}:{}: {e}",
                self.settings.host, self.settings.port
            ))),
        }
    }
}

/// `[fumidai] 【重大】ホスト鍵不一致 / [CRITICAL] Host key mismatch (db01)`.
pub fn subject(alert: &Alert) -> String {
    let (level_ja, level_en) = match alert.severity {
        Severity::Critical => ("緊急", "CRITICAL"),
        Severity::Error => ("重大", "ERROR"),
        Severity::Warning => ("警告", "WARNING"),
        Severity::Notice => ("通知", "NOTICE"),
    };
    let (kind_ja, kind_en) = kind_names(alert.kind);
    let about = alert
        .subject
        .target
        .as_ref()
        .map(|t| t.to_string())
        .or_else(|| alert.subject.engineer.as_ref().map(|e| e.to_string()))
        .or_else(|| alert.subject.plan.map(|p| p.to_string()))
        .or_else(|| alert.subject.session.map(|s| s.to_string()))
        .map(|about| format!(" ({about})"))
        .unwrap_or_default();
    format!("[fumidai] 【{level_ja}】{kind_ja} / [{level_en}] {kind_en}{about}")
}

/// The body: Japanese, English, then the JSON document.
pub fn body(alert: &Alert, gateway: &str) -> String {
    let document =
        serde_json::to_string_pretty(&alert.to_json(gateway)).unwrap_or_else(|_| "{}".to_owned());
    let at_jst = policy::jst::format(alert.at);
    format!(
        "fumidai ({gateway}) からの通知です。\n\n{ja}\n\n日時: {at_jst}\n通知ID: {id}\n\n\
         ----\n\nAlert from fumidai ({gateway}).\n\n{en}\n\nTime: {at_utc}\nAlert ID: {id}\n\n\
         ----\n\n{document}\n",
        ja = alert.summary.ja,
        en = alert.summary.en,
        at_utc = alert.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        id = alert.id,
    )
}

fn kind_names(kind: AlertKind) -> (&'static str, &'static str) {
    match kind {
        AlertKind::EmergencyAccess => ("緊急アクセス", "Emergency access"),
        AlertKind::LockOut => ("アカウントロック", "Account locked out"),
        AlertKind::HostKeyMismatch => ("ホスト鍵不一致", "Host key mismatch"),
        AlertKind::SessionKilled => ("セッション強制終了", "Session killed"),
        AlertKind::HighSeverityFinding => ("重大な所見", "High-severity finding"),
        AlertKind::ReportReady => ("作業報告書", "Report ready"),
        AlertKind::TotpReset => ("二要素認証の再登録", "TOTP re-enrolled"),
    }
}
