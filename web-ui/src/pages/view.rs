//! Rows as the tables show them: typed records turned into display text once, in the
//! page's language, with untrusted text made visible (`text::visible`). Templates only
//! place these strings; askama escapes them.

use policy::plan::{Plan, PlanStatus};
use store::{AuditRecord, SessionRecord};

use crate::lang::Lang;
use crate::text::{self, visible};

/// A plan in a list.
pub(crate) struct PlanRow {
    pub(crate) href: String,
    pub(crate) kind: &'static str,
    pub(crate) emergency: bool,
    pub(crate) status: &'static str,
    pub(crate) status_class: &'static str,
    pub(crate) vendor: String,
    pub(crate) engineers: String,
    pub(crate) targets: String,
    pub(crate) window: String,
    pub(crate) purpose: String,
}

impl PlanRow {
    pub(crate) fn new(plan: &Plan, lang: Lang) -> Self {
        Self {
            href: format!("/plans/{}", plan.id),
            kind: text::kind(plan.kind, lang),
            emergency: plan.kind == policy::plan::PlanKind::Emergency,
            status: text::status(plan.status, lang),
            status_class: status_class(plan.status),
            vendor: plan.vendor.to_string(),
            engineers: join(plan.engineers.iter().map(ToString::to_string)),
            targets: join(plan.targets.iter().map(ToString::to_string)),
            window: text::window(&plan.starts_at, &plan.ends_at),
            purpose: visible(plan.purpose.lines().next().unwrap_or_default()),
        }
    }
}

/// The badge's colour for a plan's state.
pub(crate) fn status_class(status: PlanStatus) -> &'static str {
    match status {
        PlanStatus::Approved | PlanStatus::Active | PlanStatus::Confirmed => "ok",
        PlanStatus::Submitted | PlanStatus::Closed | PlanStatus::Reported => "warn",
        PlanStatus::Rejected | PlanStatus::Withdrawn => "bad",
    }
}

/// A maintenance session in a list.
pub(crate) struct SessionRow {
    pub(crate) id: String,
    pub(crate) engineer: String,
    pub(crate) target: String,
    pub(crate) plan_id: String,
    pub(crate) plan_href: String,
    pub(crate) client: String,
    pub(crate) started: String,
    pub(crate) ended: String,
    pub(crate) sealed: bool,
}

impl SessionRow {
    pub(crate) fn new(session: &SessionRecord, lang: Lang) -> Self {
        let ended = match (session.ended_at, session.end_reason) {
            (None, _) => lang.t("接続中", "live").to_owned(),
            (Some(at), Some(reason)) => {
                format!(
                    "{}（{}）",
                    text::jst_seconds(&at),
                    text::end_reason(reason, lang)
                )
            }
            (Some(at), None) => text::jst_seconds(&at),
        };
        Self {
            id: session.id.to_string(),
            engineer: session.engineer.to_string(),
            target: session.target.to_string(),
            plan_id: session.plan.to_string(),
            plan_href: format!("/plans/{}", session.plan),
            client: session.client_addr.to_string(),
            started: text::jst_seconds(&session.started_at),
            ended,
            sealed: session.seal.is_some(),
        }
    }
}

/// An audit record that raised an alert.
pub(crate) struct AlertRow {
    pub(crate) at: String,
    pub(crate) kind: String,
    pub(crate) actor: String,
    pub(crate) subject: String,
}

impl AlertRow {
    pub(crate) fn new(record: &AuditRecord, lang: Lang) -> Self {
        Self {
            at: text::jst_seconds(&record.at),
            kind: alert_kind(&record.kind, lang).to_owned(),
            actor: visible(&record.actor),
            subject: visible(&record.subject),
        }
    }
}

fn alert_kind(kind: &str, lang: Lang) -> &str {
    match (kind, lang) {
        ("plan.emergency", Lang::Ja) => "緊急時アクセス",
        ("account.locked", Lang::Ja) => "アカウントロック",
        ("host_key.mismatch", Lang::Ja) => "ホスト鍵の不一致",
        ("session.killed", Lang::Ja) => "セッションの強制終了",
        ("account.totp_reset", Lang::Ja) => "TOTP の再登録",
        ("report.produced", Lang::Ja) => "報告書の作成",
        ("plan.emergency", Lang::En) => "emergency access",
        ("account.locked", Lang::En) => "account locked",
        ("host_key.mismatch", Lang::En) => "host key mismatch",
        ("session.killed", Lang::En) => "session killed",
        ("account.totp_reset", Lang::En) => "TOTP re-enrolled",
        ("report.produced", Lang::En) => "report produced",
        (other, _) => other,
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}
