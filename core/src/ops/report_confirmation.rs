//! The planning manager (企画管理者) confirms a plan's reconciliation report, with a
//! finding or remark of their own if any (R-10-5). Only a planning manager may
//! (`policy::authority`).

use chrono::{DateTime, Utc};
use policy::authority::Action;
use policy::ids::PlanId;
use policy::plan::{Plan, PlanStatus, lifecycle};
use store::Store;

use super::plan_decision::plan_by_id;
use super::{OpError, Person};

/// Confirms plan `id`'s report as `person`; returns the plan as stored.
pub async fn confirm(
    store: &dyn Store,
    person: &Person,
    id: &PlanId,
    finding: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Plan, OpError> {
    person.may(Action::ConfirmReport)?;
    let stored = plan_by_id(store, id).await?;
    let confirmed = lifecycle::confirm(&stored, person.login().as_str(), finding, now)?;
    Ok(store
        .advance_plan(confirmed, PlanStatus::Reported, &person.actor())
        .await?)
}
