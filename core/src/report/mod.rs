//! The reconciliation report (R-10-5): for one plan, everything that happened under it —
//! sessions with their ends, commands, transfers and forwards — checked against the plan by
//! `policy::reconcile`, with the findings, the recordings' digests and the audit chain's head,
//! sealed (SHA-256 + Ed25519) and recorded in the audit chain.
//!
//! # Layout
//!
//! - [`facts`]: the plan and its sessions as `policy::reconcile` reads them, from the store,
//!   the audit chain (transfers, forwards) and the recordings (commands).
//! - [`body`]: the report as sealed: a versioned JSON document, its digest and signature.
//! - [`render`]: HTML (print-ready A4), plain text, Japanese or English — always from the
//!   sealed body, so every rendering says the same thing.
//! - [`produce`] closes a plan whose window is over and produces its report; `serve` runs
//!   it for every such plan once a minute, the CLI on demand. Whichever produced a report
//!   raises its alerts ([`Produced::raise_alerts`]).
//!
//! # What this module does not do
//!
//! It decides nothing: findings are `policy::reconcile`'s, transitions
//! `policy::plan::lifecycle`'s. It does not send the report anywhere (alerts say it is
//! ready).

pub mod body;
pub mod commands;
pub mod facts;
pub mod render;
mod terms;

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use policy::ids::PlanId;
use policy::plan::{self, Plan, PlanStatus};
use policy::risk::RuleSet;
use serde_json::json;
use store::{Actor, Store, StoredReport};

use crate::datadir::DataDir;
pub use body::ReportBody;

/// Why a report was not produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No such plan.
    #[error("no plan {0} / 作業計画 {0} はありません")]
    NoPlan(PlanId),
    /// The plan can't be closed or reported now (window open, never approved, …).
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    /// A session under the plan is still live.
    #[error(
        "a session under plan {0} is still live: the report waits for it / 作業計画 {0} のセッションがまだ実行中です"
    )]
    SessionLive(PlanId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The recordings could not be read.
    #[error("recordings: {0}")]
    Recordings(String),
}

/// Closes `plan_id` if its window is over and its sessions have ended, then produces,
/// seals and stores its report. A plan already reported (or confirmed) returns its stored
/// report unchanged.
pub async fn produce(
    store: &dyn Store,
    dir: &DataDir,
    key: &SigningKey,
    rules: &RuleSet,
    plan_id: &PlanId,
    now: DateTime<Utc>,
) -> Result<Produced, ReportError> {
    let mut plan = store
        .plan(plan_id)
        .await?
        .ok_or(ReportError::NoPlan(*plan_id))?;
    if let Some(report) = store.report(plan_id).await? {
        return Ok(Produced { report, body: None });
    }
    let sessions = store.sessions_of_plan(plan_id).await?;
    if matches!(plan.status, PlanStatus::Approved | PlanStatus::Active) {
        let closed = plan::lifecycle::close(&plan, now)?;
        // Sessions are cut at the window's end; one not ended yet is being ended now.
        if sessions.iter().any(|s| s.ended_at.is_none()) {
            return Err(ReportError::SessionLive(*plan_id));
        }
        plan = store
            .advance_plan(closed, plan.status, &Actor::System)
            .await?;
    }
    let reported = plan::lifecycle::reported(&plan, now)?;
    let facts = facts::gather(store, dir, &reported, &sessions, rules).await?;
    let head = store
        .audit_tail(1)
        .await?
        .into_iter()
        .next()
        .map(|r| format!("{}:{}", r.seq, r.hash))
        .unwrap_or_default();
    let mut body = ReportBody::build(&reported, &facts, rules, &head, now);
    // Overlapping plans: work in this window admitted by another plan is named here.
    body.under_other_plans =
        body::OtherPlanSession::of(&reported, &store.sessions(false).await?, now);
    let report = body.seal(key)?;
    // Per session too: the console's session list filters by it (issue 15).
    let mut session_findings = serde_json::Map::new();
    for finding in &body.findings {
        if let Some(session) = &finding.session {
            let n = session_findings
                .get(session)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            session_findings.insert(session.clone(), json!(n + 1));
        }
    }
    let summary = json!({
        "findings": body.findings.len(),
        "highest_severity": body.highest_severity,
        "session_findings": session_findings,
    });
    store
        .store_report(reported, report.clone(), summary, &Actor::System)
        .await?;
    Ok(Produced {
        report,
        body: Some(body),
    })
}

/// A plan's report: the stored one, and the body when it was produced just now (so its
/// findings can be alerted without reading the report back).
#[derive(Debug)]
pub struct Produced {
    /// The sealed report as stored.
    pub report: StoredReport,
    /// The body, when this call produced it.
    pub body: Option<ReportBody>,
}

impl Produced {
    /// Raises the alerts a new report owes (R-17.1-ALERT): `report_ready`, and a
    /// `high_severity_finding` for each high or critical finding. Only the call that
    /// produced the report has its body, so whoever produced it — `serve`'s [`run_due`] or
    /// `fumidai report` — alerts it, once; a report that was already there raises nothing.
    /// Whether it raised any.
    pub fn raise_alerts(&self, alerts: &crate::alerts::Alerts) -> bool {
        let Some(body) = &self.body else {
            return false;
        };
        raise_report_alerts(alerts, &self.report, body);
        true
    }
}

/// How often `serve` looks for plans to report.
pub const DUE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// `serve`'s loop: every [`DUE_EVERY`], produces the report of every plan that is due. A
/// plan that can't be reported yet (a session still ending) is tried again next time;
/// other failures are logged and retried too.
///
/// Each report produced raises `report_ready`, and each high or critical finding in it a
/// `high_severity_finding` alert (R-17.1-ALERT).
pub async fn run_due(
    store: std::sync::Arc<dyn Store>,
    dir: DataDir,
    key: std::sync::Arc<SigningKey>,
    rules: std::sync::Arc<RuleSet>,
    alerts: crate::alerts::Alerts,
) {
    let mut tick = tokio::time::interval(DUE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let plans = match store.plans().await {
            Ok(plans) => plans,
            Err(error) => {
                tracing::warn!(%error, "cannot list plans to report");
                continue;
            }
        };
        for id in due(&plans, Utc::now()) {
            match produce(store.as_ref(), &dir, &key, &rules, &id, Utc::now()).await {
                Ok(produced) => {
                    if produced.raise_alerts(&alerts) {
                        tracing::info!(plan = %id, sha256 = %produced.report.sha256, "reconciliation report produced");
                    }
                    // Otherwise produced (and alerted) first by `fumidai report`.
                }
                Err(ReportError::SessionLive(_)) => {}
                Err(error) => tracing::warn!(plan = %id, %error, "reconciliation report failed"),
            }
        }
    }
}

/// The alerts a new report raises: it is ready, and each high or critical finding.
fn raise_report_alerts(alerts: &crate::alerts::Alerts, report: &StoredReport, body: &ReportBody) {
    use crate::alerts::{Alert, AlertKind};
    let plan = report.plan;
    alerts.raise(Alert::report_ready(plan, &format!("fumidai report {plan}")));
    for f in body
        .findings
        .iter()
        .filter(|f| f.severity == "high" || f.severity == "critical")
    {
        let mut alert = Alert::new(
            AlertKind::HighSeverityFinding,
            format!("重大な指摘: 作業計画 {plan}: {}", f.message_ja),
            format!("High-severity finding, plan {plan}: {}", f.message_en),
        )
        .with_plan(plan)
        .with_detail(
            json!({ "kind": f.kind, "requirement": f.requirement, "severity": f.severity }),
        );
        if let Some(session) = f.session.as_deref().and_then(|s| s.parse().ok()) {
            alert = alert.with_session(session);
        }
        alerts.raise(alert);
    }
}

/// The plans `serve` should report now: approved or active, window over, every session
/// ended. Closed plans without a report (a report that failed) are retried too.
pub fn due(plans: &[Plan], now: DateTime<Utc>) -> Vec<PlanId> {
    plans
        .iter()
        .filter(|p| {
            matches!(
                p.status,
                PlanStatus::Approved | PlanStatus::Active | PlanStatus::Closed
            ) && p.ends_at <= now
        })
        .map(|p| p.id)
        .collect()
}
