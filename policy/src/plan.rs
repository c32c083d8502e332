//! Work plans (作業計画書) and their approval (R-10.1-APPROVE): a vendor's engineers may reach
//! the named targets within the window, for the stated purpose, only once a hospital-side
//! operator other than the submitter has approved (R-14-4: four eyes).
//!
//! Life cycle (every transition audited by the store with who and why):
//!
//! ```text
//! submitted → approved | rejected
//! approved → active (first session) → closed (window over) → reported → confirmed
//! ```
//!
//! Deciding is here; what follows approval is in [`lifecycle`]; a plan written as a file
//! (TOML or JSON, for vendors' templates) is read by [`file`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{Login, PlanId, TargetName, VendorName};
use crate::transfer::{ContentKind, ContentKinds};

/// The longest window a plan may ask for. Longer work is planned in several plans, so that
/// each is approved with its own look at who, what and when.
pub const MAX_WINDOW_DAYS: i64 = 31;
/// Longest purpose or decision reason, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest planned step, in characters.
pub const MAX_STEP_CHARS: usize = 500;
/// Most planned steps.
pub const MAX_STEPS: usize = 100;
/// Most command patterns per step.
pub const MAX_PATTERNS: usize = 20;

/// A work plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Identifier, printed on submission and quoted in approvals, banners and reports.
    pub id: PlanId,
    /// The vendor doing the work; every engineer belongs to it.
    pub vendor: VendorName,
    /// Who may connect under this plan (R-10.2-PRIV: named persons, never a shared ID).
    pub engineers: Vec<Login>,
    /// Which targets they may reach.
    pub targets: Vec<TargetName>,
    /// The window opens at this instant (inclusive)…
    pub starts_at: DateTime<Utc>,
    /// …and closes at this one (exclusive): sessions are cut here.
    pub ends_at: DateTime<Utc>,
    /// Why the work is done, as the approver read it.
    pub purpose: String,
    /// The planned steps, reconciled against what happened afterwards (R-10-5).
    pub steps: Vec<PlannedStep>,
    /// What beyond a terminal the work needs (§7 ②: no data leaves without saying so).
    pub allow: Allowances,
    /// Declared access to personal data, with its justification (R-10-2): `None` when
    /// the work does not touch it.
    #[serde(default)]
    pub personal_data: Option<String>,
    /// How data used in the work is deleted afterwards (R-10-1); required when personal
    /// data is declared. The engineer attests it ([`lifecycle::attest`]).
    #[serde(default)]
    pub data_deletion: Option<String>,
    /// Planned ahead, or opened in an emergency and approved afterwards (R-10.1-APPROVE).
    #[serde(default)]
    pub kind: PlanKind,
    /// Where the plan is in its life cycle.
    pub status: PlanStatus,
    /// Who submitted it: a login, or the CLI actor (`cli:USER`).
    pub submitted_by: String,
    /// Who approved or rejected it; never the submitter (R-14-4).
    pub decided_by: Option<String>,
    /// Why it was rejected (or a note on approval).
    pub decision_reason: Option<String>,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// When it was decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// The engineer's attestation that the data was deleted (R-10-1).
    #[serde(default)]
    pub attestation: Option<Attestation>,
    /// When the plan closed (its window over, its sessions ended).
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    /// When its reconciliation report was produced (R-10-5).
    #[serde(default)]
    pub reported_at: Option<DateTime<Utc>>,
    /// The planning manager's confirmation of the report (R-10-5).
    #[serde(default)]
    pub confirmation: Option<Confirmation>,
    /// The take-out of personal data, when the plan lets it leave (§7.1): required then,
    /// and the plan is approved by a planning manager ([`personal`]).
    #[serde(default)]
    pub take_out: Option<TakeOut>,
    /// Who withdrew the plan after approval, when and why (`plan withdraw`).
    #[serde(default)]
    pub withdrawal: Option<Withdrawal>,
}

/// One planned step (作業手順): free text, and optionally the command patterns the step is
/// expected to run ([`crate::risk::CommandPattern`]: a glob read like a command line, e.g.
/// `systemctl restart pacs*`, or `re:REGEX`), which reconciliation matches commands against.
/// Stored and read as a plain string when it has no patterns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StepForm", into = "StepForm")]
pub struct PlannedStep {
    /// What the step does, as the approver read it.
    pub text: String,
    /// Commands expected in this step, as command patterns (may be empty).
    pub expect: Vec<String>,
}

impl PlannedStep {
    /// A step without command patterns.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            expect: Vec::new(),
        }
    }
}

impl From<&str> for PlannedStep {
    fn from(text: &str) -> Self {
        Self::text(text)
    }
}

impl From<String> for PlannedStep {
    fn from(text: String) -> Self {
        Self::text(text)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum StepForm {
    Text(String),
    Full {
        text: String,
        #[serde(default)]
        expect: Vec<String>,
    },
}

impl From<StepForm> for PlannedStep {
    fn from(form: StepForm) -> Self {
        match form {
            StepForm::Text(text) => Self::text(text),
            StepForm::Full { text, expect } => Self { text, expect },
        }
    }
}

impl From<PlannedStep> for StepForm {
    fn from(step: PlannedStep) -> Self {
        if step.expect.is_empty() {
            Self::Text(step.text)
        } else {
            Self::Full {
                text: step.text,
                expect: step.expect,
            }
        }
    }
}

/// How a plan came about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanKind {
    /// Submitted and approved before the work (事前承認).
    #[default]
    Planned,
    /// Opened at login in an emergency, approved afterwards (事後承認, R-10.1-APPROVE).
    Emergency,
}

impl PlanKind {
    /// The kind as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Emergency => "emergency",
        }
    }
}

/// An engineer's attestation that the work's data was deleted (R-10-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// The engineer (named in the plan).
    pub by: Login,
    /// When.
    pub at: DateTime<Utc>,
    /// What they say was deleted, and how.
    pub note: String,
}

/// An operator's withdrawal of an approved or active plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    /// The authenticated operator or manager.
    pub by: Login,
    /// When.
    pub at: DateTime<Utc>,
    /// Why, for the engineer and the audit trail.
    pub reason: String,
}

/// The planning manager's confirmation of a plan's report (R-10-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The planning manager.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Their findings or remarks, if any.
    pub note: Option<String>,
}

impl Plan {
    /// Whether the window covers `at`: from `starts_at` inclusive to `ends_at` exclusive.
    pub fn covers(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.ends_at
    }

    /// Whether the plan names this engineer.
    pub fn names_engineer(&self, engineer: &Login) -> bool {
        self.engineers.contains(engineer)
    }

    /// Whether the plan names this target.
    pub fn names_target(&self, target: &TargetName) -> bool {
        self.targets.contains(target)
    }
}

/// What a plan allows beyond shell and exec. All off unless the plan says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Allowances {
    /// Files may be sent to the target (SFTP/SCP upload).
    pub upload: bool,
    /// Files may be fetched from the target (SFTP/SCP download): data leaving the hospital.
    pub download: bool,
    /// TCP port forwarding to the target host itself.
    pub forward: bool,
    /// Kinds of file that may be uploaded although they can run code (R-10-6): declared
    /// one by one, none by default.
    #[serde(default)]
    pub content: ContentKinds,
}

impl Allowances {
    /// The allowed names, for display: `upload, download`, or `none`.
    pub fn describe(&self) -> String {
        let names: Vec<&str> = [
            (self.upload, "upload"),
            (self.download, "download"),
            (self.forward, "forward"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .chain(self.content.iter().map(ContentKind::as_str))
        .collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    }
}

/// Where a plan is in its life cycle.
///
/// Open for growth: later issues add `Active`, `Closed`, `Reported`, `Confirmed` and
/// `Emergency`. It is deliberately not `#[non_exhaustive]`: matches on it stay exhaustive,
/// so the compiler points at every decision (admission above all) that a new state touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanStatus {
    /// Waiting for an operator's decision.
    Submitted,
    /// Approved: sessions may start within the window.
    Approved,
    /// Rejected: no session will start under it.
    Rejected,
    /// Approved, and a session has started under it; sessions may still start in the
    /// window.
    Active,
    /// The window is over and its sessions have ended: waiting for the report.
    Closed,
    /// The reconciliation report is out: waiting for the planning manager (R-10-5).
    Reported,
    /// The planning manager confirmed the report.
    Confirmed,
    /// Withdrawn by an operator after approval (`plan withdraw`): no session starts
    /// under it any more, and live ones are ended (R-14-8, §10.2).
    Withdrawn,
}

impl PlanStatus {
    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Active => "active",
            Self::Closed => "closed",
            Self::Reported => "reported",
            Self::Confirmed => "confirmed",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// Whether sessions may start under a plan in this state (within its window).
    pub fn admits(self) -> bool {
        matches!(self, Self::Approved | Self::Active)
    }
}

impl fmt::Display for PlanStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown status name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown plan status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for PlanStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, UnknownStatus> {
        match s {
            "submitted" => Ok(Self::Submitted),
            "approved" => Ok(Self::Approved),
            "rejected" => Ok(Self::Rejected),
            "active" => Ok(Self::Active),
            "closed" => Ok(Self::Closed),
            "reported" => Ok(Self::Reported),
            "confirmed" => Ok(Self::Confirmed),
            "withdrawn" => Ok(Self::Withdrawn),
            other => Err(UnknownStatus(other.to_owned())),
        }
    }
}

/// What a submitter asks for; [`submit`] turns it into a [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    /// The vendor doing the work.
    pub vendor: VendorName,
    /// Who will connect.
    pub engineers: Vec<Login>,
    /// Which targets.
    pub targets: Vec<TargetName>,
    /// Window start.
    pub starts_at: DateTime<Utc>,
    /// Window end.
    pub ends_at: DateTime<Utc>,
    /// Why.
    pub purpose: String,
    /// Planned steps.
    pub steps: Vec<PlannedStep>,
    /// What beyond a terminal the work needs.
    pub allow: Allowances,
    /// Declared personal-data access and why (R-10-2).
    pub personal_data: Option<String>,
    /// How the work's data is deleted afterwards (R-10-1).
    pub data_deletion: Option<String>,
    /// The take-out of personal data, when it may leave (§7.1).
    pub take_out: Option<TakeOut>,
}

/// Builds a submitted plan from a request: names de-duplicated (first mention kept), texts
/// trimmed, then [`validate_new_plan`].
pub fn submit(
    request: PlanRequest,
    id: PlanId,
    submitted_by: &str,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    let plan = Plan {
        id,
        vendor: request.vendor,
        engineers: dedup(request.engineers),
        targets: dedup(request.targets),
        starts_at: request.starts_at,
        ends_at: request.ends_at,
        purpose: request.purpose.trim().to_owned(),
        steps: request
            .steps
            .into_iter()
            .map(|s| PlannedStep {
                text: s.text.trim().to_owned(),
                expect: s.expect.iter().map(|e| e.trim().to_owned()).collect(),
            })
            .collect(),
        allow: request.allow,
        personal_data: request.personal_data.map(|t| t.trim().to_owned()),
        data_deletion: request.data_deletion.map(|t| t.trim().to_owned()),
        kind: PlanKind::Planned,
        status: PlanStatus::Submitted,
        submitted_by: submitted_by.trim().to_owned(),
        decided_by: None,
        decision_reason: None,
        submitted_at: now,
        decided_at: None,
        attestation: None,
        closed_at: None,
        reported_at: None,
        confirmation: None,
        take_out: request.take_out.map(|t| TakeOut {
            purpose: t.purpose.trim().to_owned(),
            item_count: t.item_count,
            items: t.items.trim().to_owned(),
            storage: t.storage.trim().to_owned(),
        }),
        withdrawal: None,
    };
    validate_new_plan(&plan, now)?;
    Ok(plan)
}

/// Checks a plan about to be stored as new: submitted and undecided; the window ends after
/// it starts, is not entirely past, and is at most [`MAX_WINDOW_DAYS`] long; at least one
/// engineer and one target; a purpose; texts of sane length without control characters.
/// That the engineers and targets exist, and the engineers belong to the vendor, is for the
/// caller to check against the store.
pub fn validate_new_plan(plan: &Plan, now: DateTime<Utc>) -> Result<(), PlanError> {
    if plan.status != PlanStatus::Submitted
        || plan.decided_by.is_some()
        || plan.decided_at.is_some()
    {
        return Err(PlanError::NotSubmitted {
            status: plan.status,
        });
    }
    if plan.ends_at <= plan.starts_at {
        return Err(PlanError::EndNotAfterStart);
    }
    if plan.ends_at <= now {
        return Err(PlanError::WindowInPast {
            ended_at: plan.ends_at,
        });
    }
    if plan.ends_at - plan.starts_at > Duration::days(MAX_WINDOW_DAYS) {
        return Err(PlanError::WindowTooLong {
            max_days: MAX_WINDOW_DAYS,
        });
    }
    if plan.allow.content != ContentKinds::NONE && !plan.allow.upload {
        return Err(PlanError::ContentWithoutUpload);
    }
    if plan.engineers.is_empty() {
        return Err(PlanError::NoEngineer);
    }
    if plan.targets.is_empty() {
        return Err(PlanError::NoTarget);
    }
    if plan.submitted_by.trim().is_empty() {
        return Err(PlanError::NoPerson);
    }
    if plan.purpose.trim().is_empty() {
        return Err(PlanError::NoPurpose);
    }
    check_text("purpose", &plan.purpose, MAX_TEXT_CHARS)?;
    if plan.steps.len() > MAX_STEPS {
        return Err(PlanError::TooManySteps { max: MAX_STEPS });
    }
    for step in &plan.steps {
        if step.text.trim().is_empty() {
            return Err(PlanError::EmptyStep);
        }
        check_text("step", &step.text, MAX_STEP_CHARS)?;
        if step.expect.len() > MAX_PATTERNS {
            return Err(PlanError::TooManyPatterns { max: MAX_PATTERNS });
        }
        for pattern in &step.expect {
            check_text("command pattern", pattern, MAX_STEP_CHARS)?;
            crate::risk::CommandPattern::parse(pattern).map_err(|e| PlanError::BadPattern {
                pattern: pattern.clone(),
                problem: e.to_string(),
            })?;
        }
    }
    for (what, text) in [
        ("personal-data justification", &plan.personal_data),
        ("data-deletion step", &plan.data_deletion),
    ] {
        if let Some(text) = text {
            if text.trim().is_empty() {
                return Err(PlanError::EmptyText { what });
            }
            check_text(what, text, MAX_TEXT_CHARS)?;
        }
    }
    if plan.personal_data.is_some() && plan.data_deletion.is_none() {
        return Err(PlanError::NoDeletionStep);
    }
    personal::check_take_out(plan)?;
    Ok(())
}

/// Approves a submitted plan. The approver must not be its submitter (R-14-4), nor an
/// auditor; a plan letting personal data leave needs a planning manager (§7 ②,
/// [`personal::check_approver`]). The role is the stored account's, looked up by the caller.
pub fn approve(plan: &Plan, approver: Approver<'_>, now: DateTime<Utc>) -> Result<Plan, PlanError> {
    personal::check_approver(plan, &approver)?;
    decide(plan, approver.name, None, PlanStatus::Approved, now)
}

/// Rejects a submitted plan, with a reason. Same rules as [`approve`].
pub fn reject(
    plan: &Plan,
    approver: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(PlanError::NoReason);
    }
    check_text("reason", reason, MAX_TEXT_CHARS)?;
    decide(plan, approver, Some(reason), PlanStatus::Rejected, now)
}

fn decide(
    plan: &Plan,
    approver: &str,
    reason: Option<&str>,
    to: PlanStatus,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    // An emergency plan is decided afterwards (事後承認), once, in whatever state its work
    // left it; only approval: an objection goes into the report's confirmation.
    let afterwards = plan.kind == PlanKind::Emergency
        && plan.decided_by.is_none()
        && to == PlanStatus::Approved
        && matches!(
            plan.status,
            PlanStatus::Active | PlanStatus::Closed | PlanStatus::Reported
        );
    match plan.status {
        _ if afterwards => {}
        PlanStatus::Submitted => {}
        status @ (PlanStatus::Approved
        | PlanStatus::Rejected
        | PlanStatus::Active
        | PlanStatus::Closed
        | PlanStatus::Reported
        | PlanStatus::Confirmed
        | PlanStatus::Withdrawn) => {
            return Err(PlanError::NotSubmitted { status });
        }
    }
    let approver = approver.trim();
    if approver.is_empty() {
        return Err(PlanError::NoPerson);
    }
    // R-14-4: four eyes. Logins are lowercase by construction, so equality is identity.
    if approver == plan.submitted_by.trim() {
        return Err(PlanError::SelfApproval);
    }
    Ok(Plan {
        status: if afterwards { plan.status } else { to },
        decided_by: Some(approver.to_owned()),
        decision_reason: reason.map(str::to_owned),
        decided_at: Some(now),
        ..plan.clone()
    })
}

/// Refuses overlong texts and characters that could rewrite a terminal (C0/C1 controls other
/// than newline and tab) or reorder what the approver sees (bidirectional overrides).
fn check_text(what: &'static str, text: &str, max: usize) -> Result<(), PlanError> {
    if text.chars().count() > max {
        return Err(PlanError::TextTooLong { what, max });
    }
    let hostile = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if text.chars().any(hostile) {
        return Err(PlanError::ControlCharacter { what });
    }
    Ok(())
}

/// Removes repeated names, keeping the first mention's order.
fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

pub mod emergency;
mod error;
pub mod file;
pub mod lifecycle;
pub mod personal;

pub use error::PlanError;
pub use personal::{Approver, TakeOut};

#[cfg(test)]
mod tests;
