//! What the console's dashboard shows a hospital-side person at a glance (issue 15): live
//! sessions, plans waiting for a decision (ahead of the work, or an emergency's afterwards,
//! R-10.1-APPROVE), reports waiting for the planning manager and those overdue (R-10-5),
//! the latest records that raise alerts (R-17.1-ALERT), and the audit chain's state
//! (R-17-2). Read only; the rules of what counts as waiting or overdue are those the
//! compliance evidence and `report overdue` use.

use chrono::{DateTime, Duration, Utc};
use policy::plan::emergency::{self, Approval};
use policy::plan::{Plan, PlanKind, PlanStatus};
use store::{AuditKind, AuditRecord, AuditVerification, SessionRecord, Store};

use super::OpError;
use crate::compliance::OVERDUE_DAYS;

/// How many audit records back the dashboard looks for alerts.
pub const ALERT_LOOKBACK: u32 = 500;
/// How many alerting records it shows.
pub const ALERTS_SHOWN: usize = 10;

/// The audit kinds that raise an alert (`crate::alerts`), as the dashboard lists them.
pub const ALERTING_KINDS: [AuditKind; 6] = [
    AuditKind::EmergencyAccess,
    AuditKind::AccountLocked,
    AuditKind::HostKeyMismatch,
    AuditKind::SessionKilled,
    AuditKind::TotpReset,
    AuditKind::ReportProduced,
];

/// The dashboard's facts.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Sessions not ended, newest first.
    pub live_sessions: Vec<SessionRecord>,
    /// Planned work waiting for an operator's decision, by window start.
    pub awaiting_approval: Vec<Plan>,
    /// Emergency plans not approved afterwards yet (事後承認待ち).
    pub emergency_awaiting: Vec<Plan>,
    /// Reports waiting for the planning manager's confirmation.
    pub reports_awaiting: Vec<Plan>,
    /// Of those, the ones waiting longer than [`OVERDUE_DAYS`].
    pub reports_overdue: Vec<Plan>,
    /// The latest records of alerting kinds, newest first.
    pub recent_alerts: Vec<AuditRecord>,
}

/// Reads the dashboard's facts at `now`.
pub async fn overview(store: &dyn Store, now: DateTime<Utc>) -> Result<Overview, OpError> {
    let live_sessions = store.sessions(true).await?;
    let plans = store.plans().await?;
    let overdue_before = now - Duration::days(OVERDUE_DAYS);
    let awaiting_approval = plans
        .iter()
        .filter(|p| p.kind == PlanKind::Planned && p.status == PlanStatus::Submitted)
        .cloned()
        .collect();
    let emergency_awaiting = plans
        .iter()
        .filter(|p| emergency::approval(p) == Some(Approval::Pending))
        .cloned()
        .collect();
    let reports_awaiting: Vec<Plan> = plans
        .iter()
        .filter(|p| p.status == PlanStatus::Reported)
        .cloned()
        .collect();
    let reports_overdue = reports_awaiting
        .iter()
        .filter(|p| p.reported_at.is_some_and(|at| at < overdue_before))
        .cloned()
        .collect();
    let alerting: Vec<&str> = ALERTING_KINDS.iter().map(|k| k.as_str()).collect();
    let recent_alerts = store
        .audit_tail(ALERT_LOOKBACK)
        .await?
        .into_iter()
        .rev()
        .filter(|r| alerting.contains(&r.kind.as_str()))
        .take(ALERTS_SHOWN)
        .collect();
    Ok(Overview {
        live_sessions,
        awaiting_approval,
        emergency_awaiting,
        reports_awaiting,
        reports_overdue,
        recent_alerts,
    })
}

/// The audit chain walked now, with the number of its last record (R-17-2).
pub async fn audit_chain(store: &dyn Store) -> Result<AuditVerification, OpError> {
    Ok(store.verify_audit().await?)
}
