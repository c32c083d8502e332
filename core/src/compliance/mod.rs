//! Compliance evidence (適合状況): for every requirement ID of the requirements list, whether
//! this installation meets it and why, from its configuration, the store's counts and the
//! audit chain verified now.
//!
//! [`assess`] is a pure function of those facts (the CLI gathers them); [`text`] renders
//! the result for an inspector, Japanese first. It is honest by construction: what fumidai
//! does not do is `not_met`, what needs a person's check (the host's updates, its clock,
//! backups, firewalls) is `manual`, and a `met` names the evidence it rests on.
//!
//! # Layout
//!
//! - this file: the [`Check`], [`Status`] and [`Counts`] types, the document and its text.
//! - `checks`: [`assess`], the table in the list's order, and the helpers building a check.
//! - `facts`: the values several checks share, worked out once.
//! - one file per family of the requirements list: `remote_path` (§10.2),
//!   `maintenance` (§10, §10.1), `authentication` (§14), `network` (§13), `audit_trail`
//!   (§17), `operations` (§11, §12, §18, §8.2, §7).

mod audit_trail;
mod authentication;
mod checks;
mod facts;
mod maintenance;
mod network;
mod operations;
mod remote_path;
mod settings;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use store::AuditVerification;

pub use checks::assess;
pub use settings::Settings;

/// How far a requirement is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Met by what fumidai does, as configured here.
    Met,
    /// Partly met: the note says what is missing.
    Partial,
    /// Not met: fumidai doesn't do it (yet), or this installation is set up against it.
    NotMet,
    /// Needs a person's check outside fumidai (the note says what to check).
    Manual,
}

impl Status {
    /// The label, Japanese first.
    pub fn label(self) -> &'static str {
        match self {
            Self::Met => "適合 / met",
            Self::Partial => "一部適合 / partial",
            Self::NotMet => "未対応 / not met",
            Self::Manual => "要確認 / manual check",
        }
    }
}

/// One fact behind a status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// What it is, Japanese first (a configuration key is named as in `fumidai.toml`).
    pub label: &'static str,
    /// Its value in this installation.
    pub value: Value,
}

/// One requirement's assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// The requirement ID (`policy::requirement::ALL`).
    pub id: &'static str,
    /// What it asks, Japanese first.
    pub title: &'static str,
    /// The verdict for this installation.
    pub status: Status,
    /// What fumidai does for it.
    pub how: &'static str,
    /// The facts it rests on.
    pub evidence: Vec<Evidence>,
    /// Why not met, or what a person must check; Japanese and English.
    pub note: Option<String>,
}

/// The counts the assessment reads from the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Vendors registered.
    pub vendors: usize,
    /// Vendors whose engineers may connect from any address (no allow list).
    pub vendors_without_allow_list: usize,
    /// Vendors allowed emergency access.
    pub vendors_allowed_emergency: usize,
    /// Enabled engineer accounts.
    pub engineers: usize,
    /// Enabled operator accounts (any role).
    pub operators: usize,
    /// Enabled planning managers.
    pub managers: usize,
    /// Registered targets.
    pub targets: usize,
    /// Of them, RDP targets (Windows servers, xrdp).
    pub targets_rdp: usize,
    /// Targets fumidai logs in to with a per-session certificate naming the engineer.
    pub targets_cert_auth: usize,
    /// Targets tagged `personal-data`.
    pub targets_personal_data: usize,
    /// Targets whose login is a factory account (`root`, `Administrator`, `admin`),
    /// registered with `--allow-shared-admin` and a reason (R-10.1-NODEFAULT).
    pub targets_factory_login: usize,
    /// Unrevoked, unexpired client certificates.
    pub certificates_valid: usize,
    /// Revoked client certificates.
    pub certificates_revoked: usize,
    /// Plans approved (before or after the work).
    pub plans_approved: usize,
    /// Plans rejected.
    pub plans_rejected: usize,
    /// Plans declaring access to personal data.
    pub plans_personal_data: usize,
    /// Plans whose data deletion the engineer attested.
    pub plans_attested: usize,
    /// Emergency plans.
    pub emergency_plans: usize,
    /// Emergency plans not yet approved afterwards.
    pub emergency_awaiting_approval: usize,
    /// Sessions recorded.
    pub sessions: usize,
    /// Ended sessions whose recording is sealed.
    pub sessions_sealed: usize,
    /// Sessions live now.
    pub sessions_live: usize,
    /// Reports waiting for the planning manager.
    pub reports_awaiting: usize,
    /// Of those, waiting longer than [`OVERDUE_DAYS`].
    pub reports_overdue: usize,
    /// Reports confirmed.
    pub reports_confirmed: usize,
    /// Items the account review lists now (R-14-8).
    pub review_items: usize,
}

/// Days a report may wait for confirmation before it counts as overdue (as
/// `fumidai report overdue`'s default).
pub const OVERDUE_DAYS: i64 = 7;

/// The audit chain as verified now, with its head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditHead {
    /// The verdict of `Store::verify_audit`.
    pub verification: AuditVerification,
    /// The last record's sequence number, if any.
    pub head_seq: Option<i64>,
}

impl AuditHead {
    /// Whether every link holds.
    pub fn intact(&self) -> bool {
        matches!(self.verification, AuditVerification::Intact { .. })
    }
}

/// The whole evidence document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Compliance {
    /// When it was produced.
    pub generated_at: DateTime<Utc>,
    /// The guideline the IDs come from.
    pub guideline: &'static str,
    /// The audit chain verified now.
    pub audit: AuditHead,
    /// How many requirements have each status.
    pub summary: Summary,
    /// Every requirement, in the list's order.
    pub requirements: Vec<Check>,
}

/// How many requirements have each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// [`Status::Met`].
    pub met: usize,
    /// [`Status::Partial`].
    pub partial: usize,
    /// [`Status::Manual`].
    pub manual: usize,
    /// [`Status::NotMet`].
    pub not_met: usize,
}

impl Summary {
    fn of(checks: &[Check]) -> Self {
        let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
        Self {
            met: count(Status::Met),
            partial: count(Status::Partial),
            manual: count(Status::Manual),
            not_met: count(Status::NotMet),
        }
    }
}

/// The guideline, as the requirements list names it.
pub const GUIDELINE: &str = "医療情報システムの安全管理に関するガイドライン 第7.0版 システム運用編 / \
                             MHLW Guidelines for the Security Management of Medical Information \
                             Systems, version 7.0, System Operations volume";

/// Assesses every requirement and summarises.
pub fn evidence(
    settings: &Settings,
    counts: &Counts,
    audit: AuditHead,
    now: DateTime<Utc>,
) -> Compliance {
    let requirements = assess(settings, counts, &audit);
    let summary = Summary::of(&requirements);
    Compliance {
        generated_at: now,
        guideline: GUIDELINE,
        audit,
        summary,
        requirements,
    }
}

/// The document as text for an inspector.
pub fn text(doc: &Compliance) -> String {
    let mut out = format!(
        "fumidai 適合状況 / compliance evidence\n{}\n作成日時 / generated: {}\n",
        doc.guideline,
        policy::jst::format(doc.generated_at)
    );
    out.push_str(&format!(
        "監査証跡 / audit chain: {}\n",
        audit_line(&doc.audit)
    ));
    let s = doc.summary;
    out.push_str(&format!(
        "集計 / summary: {} {}, {} {}, {} {}, {} {}\n",
        Status::Met.label(),
        s.met,
        Status::Partial.label(),
        s.partial,
        Status::Manual.label(),
        s.manual,
        Status::NotMet.label(),
        s.not_met
    ));
    for check in &doc.requirements {
        out.push_str(&format!(
            "\n[{}] {}  {}\n  対応 / how: {}\n",
            check.status.label(),
            check.id,
            check.title,
            check.how
        ));
        if !check.evidence.is_empty() {
            out.push_str("  根拠 / evidence:\n");
        }
        for e in &check.evidence {
            let value = match &e.value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("    - {}: {value}\n", e.label));
        }
        if let Some(note) = &check.note {
            out.push_str(&format!("  注記 / note: {note}\n"));
        }
    }
    out
}

/// The chain's state in one line.
fn audit_line(audit: &AuditHead) -> String {
    match &audit.verification {
        AuditVerification::Intact { records, head } => format!(
            "検証済み・改ざんなし / verified intact — {records} 件 / records, 先頭 / head seq {} hash {head}",
            audit
                .head_seq
                .map_or_else(|| "-".to_owned(), |s| s.to_string())
        ),
        AuditVerification::Broken { seq, problem } => {
            format!("破損 / BROKEN at record {seq}: {problem:?}")
        }
    }
}

#[cfg(test)]
mod tests;
