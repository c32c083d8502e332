//! Reading plans at the console (issue 15): the list with its filters, and one plan with
//! everything that hangs off it (its sessions and its report). Read only; who may read is
//! the console's sign-in (every hospital-side role reads).

use chrono::{DateTime, Utc};
use policy::ids::{Login, PlanId, TargetName, VendorName};
use policy::plan::{Plan, PlanStatus};
use store::{SessionRecord, Store, StoredReport};

use super::OpError;
use super::plan_decision::plan_by_id;

/// Which plans to list; every field set narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanFilter {
    /// In this state.
    pub status: Option<PlanStatus>,
    /// Of this vendor.
    pub vendor: Option<VendorName>,
    /// Naming this engineer.
    pub engineer: Option<Login>,
    /// Naming this target.
    pub target: Option<TargetName>,
    /// Whose window overlaps `[from, to)` (either end open when unset).
    pub window_from: Option<DateTime<Utc>>,
    /// See `window_from`.
    pub window_to: Option<DateTime<Utc>>,
}

impl PlanFilter {
    /// Whether `plan` passes every set field.
    pub fn matches(&self, plan: &Plan) -> bool {
        self.status.is_none_or(|s| plan.status == s)
            && self.vendor.as_ref().is_none_or(|v| &plan.vendor == v)
            && self
                .engineer
                .as_ref()
                .is_none_or(|e| plan.names_engineer(e))
            && self.target.as_ref().is_none_or(|t| plan.names_target(t))
            && self.window_from.is_none_or(|from| plan.ends_at > from)
            && self.window_to.is_none_or(|to| plan.starts_at < to)
    }
}

/// The plans `filter` lets through, latest window first.
pub async fn list(store: &dyn Store, filter: &PlanFilter) -> Result<Vec<Plan>, OpError> {
    let mut plans: Vec<Plan> = store
        .plans()
        .await?
        .into_iter()
        .filter(|p| filter.matches(p))
        .collect();
    plans.reverse();
    Ok(plans)
}

/// One plan and what hangs off it.
#[derive(Debug, Clone)]
pub struct PlanDetail {
    /// The plan as stored.
    pub plan: Plan,
    /// Its sessions, oldest first.
    pub sessions: Vec<SessionRecord>,
    /// Its sealed reconciliation report, once produced (R-10-5).
    pub report: Option<StoredReport>,
}

/// Plan `id` with its sessions and report, or [`OpError::NotFound`].
pub async fn detail(store: &dyn Store, id: &PlanId) -> Result<PlanDetail, OpError> {
    let plan = plan_by_id(store, id).await?;
    let sessions = store.sessions_of_plan(id).await?;
    let report = store.report(id).await?;
    Ok(PlanDetail {
        plan,
        sessions,
        report,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use policy::plan::{Allowances, PlanRequest};

    use super::*;

    #[allow(clippy::unwrap_used, reason = "test fixture")]
    fn plan() -> Plan {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap();
        policy::plan::submit(
            PlanRequest {
                vendor: "acme".parse().unwrap(),
                engineers: vec!["alice".parse().unwrap()],
                targets: vec!["db01".parse().unwrap()],
                starts_at: now,
                ends_at: now + Duration::hours(2),
                purpose: "patching".into(),
                steps: Vec::new(),
                allow: Allowances::default(),
                personal_data: None,
                data_deletion: None,
                take_out: None,
            },
            PlanId::generate(),
            "sasaki",
            now,
        )
        .unwrap()
    }

    #[test]
    fn every_field_narrows() {
        let p = plan();
        let at = |h: i64| p.starts_at + Duration::hours(h);
        let table: Vec<(PlanFilter, bool)> = vec![
            (PlanFilter::default(), true),
            (
                PlanFilter {
                    status: Some(PlanStatus::Submitted),
                    ..Default::default()
                },
                true,
            ),
            (
                PlanFilter {
                    status: Some(PlanStatus::Approved),
                    ..Default::default()
                },
                false,
            ),
            (
                PlanFilter {
                    vendor: Some("other".parse().unwrap()),
                    ..Default::default()
                },
                false,
            ),
            (
                PlanFilter {
                    engineer: Some("alice".parse().unwrap()),
                    target: Some("db01".parse().unwrap()),
                    ..Default::default()
                },
                true,
            ),
            (
                PlanFilter {
                    engineer: Some("bob".parse().unwrap()),
                    ..Default::default()
                },
                false,
            ),
            (
                PlanFilter {
                    target: Some("db02".parse().unwrap()),
                    ..Default::default()
                },
                false,
            ),
            (
                PlanFilter {
                    window_from: Some(at(1)),
                    window_to: Some(at(3)),
                    ..Default::default()
                },
                true,
            ),
            (
                PlanFilter {
                    window_from: Some(at(2)),
                    ..Default::default()
                },
                false,
            ),
            (
                PlanFilter {
                    window_to: Some(at(0)),
                    ..Default::default()
                },
                false,
            ),
        ];
        for (filter, expected) in table {
            assert_eq!(filter.matches(&p), expected, "{filter:?}");
        }
    }
}
