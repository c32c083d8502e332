//! Withdrawing an approved or active plan: from then on no session starts under it, and
//! the gateways end those running (the live re-check sees the plan gone).

use chrono::{DateTime, Utc};
use policy::authority::Action;
use policy::ids::PlanId;
use policy::plan::{Plan, lifecycle};
use store::Store;

use super::plan_decision::plan_by_id;
use super::{OpError, Person};

/// Withdraws plan `id` as `person`, with a reason; returns the plan as stored.
pub async fn withdraw(
    store: &dyn Store,
    person: &Person,
    id: &PlanId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Plan, OpError> {
    person.may(Action::WithdrawPlan)?;
    let plan = plan_by_id(store, id).await?;
    let withdrawn = lifecycle::withdraw(&plan, person.login(), reason, now)?;
    Ok(store
        .advance_plan(withdrawn, plan.status, &person.actor())
        .await?)
}
