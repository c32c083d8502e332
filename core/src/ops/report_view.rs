//! Reading the reconciliation report (R-10-5): a plan's sealed report, produced now if it
//! is due and not there yet (its alerts raised, R-17.1-ALERT), opened against the
//! gateway's signature; and the reports waiting too long for the planning manager.

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use policy::ids::PlanId;
use policy::plan::{Plan, PlanStatus};
use policy::risk::RuleSet;
use store::{Store, StoredReport};

use super::OpError;
use crate::alerts::Alerts;
use crate::datadir::DataDir;
use crate::report::{self, body::ReportBody};

/// A report to show.
#[derive(Debug)]
pub struct ReportView {
    /// The sealed report as stored.
    pub report: StoredReport,
    /// Its body, opened (its seal checked against the gateway's key).
    pub body: ReportBody,
    /// Whether this call produced it (and raised its alerts on the given `alerts`).
    pub produced_now: bool,
}

/// Plan `plan`'s report: produced first if due (its alerts raised on `alerts`, which the
/// caller lets settle), then opened. A report whose seal no longer matches is an error.
pub async fn show(
    store: &dyn Store,
    dir: &DataDir,
    (key, rules): (&SigningKey, &RuleSet),
    plan: &PlanId,
    alerts: &Alerts,
    now: DateTime<Utc>,
) -> Result<ReportView, OpError> {
    let produced = report::produce(store, dir, key, rules, plan, now).await?;
    let produced_now = produced.raise_alerts(alerts);
    let report = produced.report;
    let body = report::body::open(&report, &key.verifying_key()).map_err(|problem| {
        OpError::ReportSealBroken {
            plan: *plan,
            problem,
        }
    })?;
    Ok(ReportView {
        report,
        body,
        produced_now,
    })
}

/// Plan `plan`'s report if it has been produced, opened against the gateway's public key
/// (`signing.pub`); nothing is produced here (`serve` produces due reports every minute).
pub async fn open(
    store: &dyn Store,
    dir: &DataDir,
    plan: &PlanId,
) -> Result<Option<(StoredReport, ReportBody)>, OpError> {
    let Some(report) = store.report(plan).await? else {
        return Ok(None);
    };
    let key = super::audit::verifying_key(dir)?;
    let body = report::body::open(&report, &key).map_err(|problem| OpError::ReportSealBroken {
        plan: *plan,
        problem,
    })?;
    Ok(Some((report, body)))
}

/// The plans whose report waits for the planning manager's confirmation (R-10-5), oldest
/// report first, and those confirmed, newest first (at most `confirmed_max`).
pub async fn waiting_and_confirmed(
    store: &dyn Store,
    confirmed_max: usize,
) -> Result<(Vec<Plan>, Vec<Plan>), OpError> {
    let plans = store.plans().await?;
    let mut waiting: Vec<Plan> = plans
        .iter()
        .filter(|p| p.status == PlanStatus::Reported)
        .cloned()
        .collect();
    waiting.sort_by_key(|p| p.reported_at);
    let mut confirmed: Vec<Plan> = plans
        .into_iter()
        .filter(|p| p.status == PlanStatus::Confirmed)
        .collect();
    confirmed.sort_by_key(|p| std::cmp::Reverse(p.reported_at));
    confirmed.truncate(confirmed_max);
    Ok((waiting, confirmed))
}

/// The plans whose report has waited for the planning manager's confirmation longer
/// than `days` days (R-10-5).
pub async fn overdue(
    store: &dyn Store,
    days: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Plan>, OpError> {
    let cutoff = now - Duration::days(days);
    Ok(store
        .plans()
        .await?
        .into_iter()
        .filter(|p| p.status == PlanStatus::Reported && p.reported_at.is_some_and(|at| at < cutoff))
        .collect())
}
