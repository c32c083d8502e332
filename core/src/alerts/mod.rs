//! Alerts: events an operator must hear about at once, sent to a webhook, to syslog and by
//! e-mail to the planning manager (R-17.1-ALERT: "raise alerts in emergencies").
//!
//! Whoever notices something calls [`Alerts::raise`] with an [`Alert`]. Raising never
//! waits and never fails: the alert is logged (WARN, with `ALERT` in the line), counted,
//! and put on a bounded queue per configured sink; a background task per sink delivers it,
//! retrying with exponential backoff. A session or a login never waits for a webhook, a
//! syslog server or a mail relay, and a dead one costs only log lines.
//!
//! # Layout
//!
//! - this file: the [`Alert`] itself: its [`AlertKind`], [`Severity`], [`Subject`]
//!   (engineer, session, plan, target), a bilingual [`Summary`] and a JSON detail, with one
//!   constructor per kind.
//! - [`dispatch`]: the [`Alerts`] handle, the queues and the retrying delivery tasks.
//! - [`settings`]: the typed `[alerts]` settings and the values they are parsed into.
//! - [`webhook`]: JSON POST over HTTP/1.1, plain or TLS, signed with HMAC-SHA256.
//! - [`syslog`]: RFC 5424 messages over UDP or a local datagram socket (`/dev/log`).
//! - [`email`]: a Japanese and English mail through SMTP (`lettre`).
//!
//! # What this module does not do
//!
//! It decides nothing (the caller knows what happened), keeps nothing (the audit trail is
//! the record; an alert that could not be delivered after its retries is logged and
//! dropped), and reads no file: the secrets arrive in [`settings::Settings`].

pub mod dispatch;
pub mod email;
pub mod settings;
pub mod syslog;
pub mod webhook;

use std::fmt;
use std::net::SocketAddr;

use chrono::{DateTime, SecondsFormat, Utc};
use policy::ids::{Login, PlanId, SessionId, TargetName};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

pub use dispatch::Alerts;

/// What happened. A closed set: sinks and receivers can rely on these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// An engineer was admitted through the emergency procedure, outside the usual
    /// approval (R-10.1-APPROVE's exception).
    EmergencyAccess,
    /// An account was locked after repeated failed logins (R-14-6(6)).
    LockOut,
    /// A target presented a host key other than the pinned one: somebody may be in the
    /// middle (R-13-9/10).
    HostKeyMismatch,
    /// A live session was killed by an operator.
    SessionKilled,
    /// The review of a session found something of high severity.
    HighSeverityFinding,
    /// A maintenance report is ready for the planning manager.
    ReportReady,
    /// An operator re-enrolled a person's TOTP: the break-glass for a lost device
    /// (R-14-3), worth a second person's look.
    TotpReset,
}

impl AlertKind {
    /// Every kind, for tables and tests.
    pub const ALL: [Self; 7] = [
        Self::EmergencyAccess,
        Self::LockOut,
        Self::HostKeyMismatch,
        Self::SessionKilled,
        Self::HighSeverityFinding,
        Self::ReportReady,
        Self::TotpReset,
    ];

    /// The stable name used in JSON, syslog's MSGID and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmergencyAccess => "emergency_access",
            Self::LockOut => "lock_out",
            Self::HostKeyMismatch => "host_key_mismatch",
            Self::SessionKilled => "session_killed",
            Self::HighSeverityFinding => "high_severity_finding",
            Self::ReportReady => "report_ready",
            Self::TotpReset => "totp_reset",
        }
    }

    /// How severe an alert of this kind is unless its raiser says otherwise.
    pub fn default_severity(self) -> Severity {
        match self {
            Self::EmergencyAccess | Self::HostKeyMismatch => Severity::Critical,
            Self::HighSeverityFinding => Severity::Error,
            Self::LockOut | Self::SessionKilled | Self::TotpReset => Severity::Warning,
            Self::ReportReady => Severity::Notice,
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How urgent an alert is; the names and order are syslog's (RFC 5424 §6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Act now: a possible attack, or access outside the usual controls.
    Critical,
    /// Something went wrong that needs a person.
    Error,
    /// Worth a look soon.
    Warning,
    /// Normal but significant.
    Notice,
}

impl Severity {
    /// The stable name used in JSON and syslog's structured data.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Notice => "notice",
        }
    }

    /// The syslog severity code (RFC 5424 table 2).
    pub fn syslog_code(self) -> u8 {
        match self {
            Self::Critical => 2,
            Self::Error => 3,
            Self::Warning => 4,
            Self::Notice => 5,
        }
    }
}

/// Whom and what an alert is about; each part is there when it applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// The engineer (or other account) concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engineer: Option<Login>,
    /// The session concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionId>,
    /// The maintenance plan concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanId>,
    /// The target concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetName>,
}

/// One line saying what happened, for people, in Japanese and in English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// 日本語.
    pub ja: String,
    /// English.
    pub en: String,
}

/// One alert. Build it with the constructor for its kind, then add what applies with the
/// `with_…` methods; hand it to [`Alerts::raise`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Unique and time-ordered (UUID v7), so a receiver can drop a retried duplicate.
    pub id: Uuid,
    /// What happened.
    pub kind: AlertKind,
    /// How urgent it is.
    pub severity: Severity,
    /// When it was raised.
    #[serde(serialize_with = "rfc3339")]
    pub at: DateTime<Utc>,
    /// Whom and what it concerns.
    pub subject: Subject,
    /// For people, in both languages.
    pub summary: Summary,
    /// For machines: the facts behind the alert (addresses, keys, reasons). No secret
    /// ever goes here.
    pub detail: Value,
}

impl Alert {
    /// An alert of `kind` with its default severity, raised now, about nothing yet.
    pub fn new(kind: AlertKind, ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind,
            severity: kind.default_severity(),
            at: Utc::now(),
            subject: Subject::default(),
            summary: Summary {
                ja: ja.into(),
                en: en.into(),
            },
            detail: json!({}),
        }
    }

    /// `engineer` was admitted to `target` through the emergency procedure, for `reason`.
    pub fn emergency_access(engineer: &Login, target: &TargetName, reason: &str) -> Self {
        Self::new(
            AlertKind::EmergencyAccess,
            format!("緊急アクセス: {engineer} が {target} に緊急手続きで接続しました（理由: {reason}）"),
            format!("Emergency access: {engineer} connected to {target} through the emergency procedure (reason: {reason})"),
        )
        .with_engineer(engineer)
        .with_target(target)
        .with_detail(json!({ "reason": reason }))
    }

    /// `login` was locked until `locked_until` after repeated failures, the last one from
    /// `client_addr` (R-14-6(6)).
    pub fn lock_out(
        login: &Login,
        client_addr: Option<SocketAddr>,
        locked_until: Option<DateTime<Utc>>,
    ) -> Self {
        let until = locked_until.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
        let until_text = until.as_deref().unwrap_or("-");
        let client_addr = client_addr.map_or_else(|| "console".to_owned(), |a| a.to_string());
        Self::new(
            AlertKind::LockOut,
            format!("アカウントロック: {login} はログイン失敗が続いたためロックされました（{until_text} まで、接続元 {client_addr}）"),
            format!("Lock-out: {login} was locked after repeated failed logins (until {until_text}, last from {client_addr})"),
        )
        .with_engineer(login)
        .with_detail(json!({
            "client_addr": client_addr.to_string(),
            "locked_until": until,
        }))
    }

    /// `target` presented the host key `presented` instead of the pinned `pinned`, when
    /// `engineer` tried to connect under `plan` (R-13-9/10).
    pub fn host_key_mismatch(
        engineer: &Login,
        target: &TargetName,
        plan: PlanId,
        presented: &str,
        pinned: &str,
    ) -> Self {
        Self::new(
            AlertKind::HostKeyMismatch,
            format!("ホスト鍵不一致: 接続先 {target} のホスト鍵が登録と一致しません。中間者攻撃の可能性があります（{engineer} の接続を拒否）"),
            format!("Host key mismatch: target {target} presented a host key other than the registered one; possible man-in-the-middle ({engineer}'s connection refused)"),
        )
        .with_engineer(engineer)
        .with_target(target)
        .with_plan(plan)
        .with_detail(json!({ "presented": presented, "pinned": pinned }))
    }

    /// `by` re-enrolled `login`'s TOTP after checking their identity as `note` says
    /// (R-14-3).
    pub fn totp_reset(login: &Login, by: &str, note: &str) -> Self {
        Self::new(
            AlertKind::TotpReset,
            format!("二要素認証の再登録: {by} が {login} のワンタイムパスワードを再登録しました（本人確認: {note}）"),
            format!("TOTP re-enrolled: {by} re-enrolled {login}'s one-time codes (identity check: {note})"),
        )
        .with_engineer(login)
        .with_detail(json!({ "by": by, "identity_check": note }))
    }

    /// Session `session` of `engineer` on `target` was killed at `requested_by`'s request,
    /// for `reason`.
    pub fn session_killed(
        session: SessionId,
        engineer: &Login,
        target: &TargetName,
        plan: PlanId,
        requested_by: &str,
        reason: &str,
    ) -> Self {
        Self::new(
            AlertKind::SessionKilled,
            format!("セッション強制終了: {engineer} の {target} へのセッションを {requested_by} が終了させました（理由: {reason}）"),
            format!("Session killed: {requested_by} ended {engineer}'s session on {target} (reason: {reason})"),
        )
        .with_session(session)
        .with_engineer(engineer)
        .with_target(target)
        .with_plan(plan)
        .with_detail(json!({ "requested_by": requested_by, "reason": reason }))
    }

    /// The review of `session` found `finding` (one line, as the reviewer or the
    /// inspector names it) of high severity.
    pub fn high_severity_finding(session: SessionId, finding: &str) -> Self {
        Self::new(
            AlertKind::HighSeverityFinding,
            format!("重大な所見: セッション {session} で重大度の高い所見がありました: {finding}"),
            format!("High-severity finding in session {session}: {finding}"),
        )
        .with_session(session)
        .with_detail(json!({ "finding": finding }))
    }

    /// The report of `plan` is ready; `location` says where to read it (a path or URL).
    pub fn report_ready(plan: PlanId, location: &str) -> Self {
        Self::new(
            AlertKind::ReportReady,
            format!("作業報告書の準備ができました: 計画 {plan}（{location}）"),
            format!("Maintenance report ready for plan {plan} ({location})"),
        )
        .with_plan(plan)
        .with_detail(json!({ "location": location }))
    }

    /// Overrides the kind's default severity.
    #[must_use]
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Names the engineer concerned.
    #[must_use]
    pub fn with_engineer(mut self, engineer: &Login) -> Self {
        self.subject.engineer = Some(engineer.clone());
        self
    }

    /// Names the session concerned.
    #[must_use]
    pub fn with_session(mut self, session: SessionId) -> Self {
        self.subject.session = Some(session);
        self
    }

    /// Names the plan concerned.
    #[must_use]
    pub fn with_plan(mut self, plan: PlanId) -> Self {
        self.subject.plan = Some(plan);
        self
    }

    /// Names the target concerned.
    #[must_use]
    pub fn with_target(mut self, target: &TargetName) -> Self {
        self.subject.target = Some(target.clone());
        self
    }

    /// Merges the fields of `detail` (an object) into the detail; a non-object replaces it.
    #[must_use]
    pub fn with_detail(mut self, detail: Value) -> Self {
        match (&mut self.detail, detail) {
            (Value::Object(mine), Value::Object(more)) => mine.extend(more),
            (mine, other) => *mine = other,
        }
        self
    }

    /// The JSON document a webhook receives (schema version 1): the alert's fields plus
    /// `source` and `gateway` (this host's name).
    pub fn to_json(&self, gateway: &str) -> Value {
        let mut doc = json!({ "version": 1, "source": "fumidai", "gateway": gateway });
        if let (Value::Object(doc), Ok(Value::Object(alert))) =
            (&mut doc, serde_json::to_value(self))
        {
            doc.extend(alert);
        }
        doc
    }
}

fn rfc3339<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// This machine's host name, for syslog's HOSTNAME and the webhook's `gateway`; `-` (the
/// RFC 5424 NILVALUE) when it can't be read.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
mod tests;
