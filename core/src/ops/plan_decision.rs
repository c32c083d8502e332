//! Approving or rejecting a submitted plan (R-10.1-APPROVE): never one's own (four eyes),
//! a personal-data take-out only by a planning manager, and a plan that names a target
//! tagged `personal-data` only if it declares personal data (R-10-2) — checked again here,
//! as the targets' tags may have changed since submission. The rules are
//! `policy::plan`'s; this reads what they need and records the decision.

use chrono::{DateTime, Utc};
use policy::authority::Action;
use policy::ids::{PlanId, TargetName};
use policy::plan::{self, Plan};
use store::Store;

use super::{OpError, Person};

/// The tag that marks a target holding personal data.
pub const PERSONAL_DATA_TAG: &str = "personal-data";

/// Approves plan `id` as `person`; returns the plan as stored.
pub async fn approve(
    store: &dyn Store,
    person: &Person,
    id: &PlanId,
    now: DateTime<Utc>,
) -> Result<Plan, OpError> {
    person.may(Action::DecidePlan)?;
    let stored = plan_by_id(store, id).await?;
    check_personal_data_targets(store, &stored).await?;
    let role = person.role().ok_or_else(|| OpError::NoRole {
        login: person.login().clone(),
    })?;
    let approver = plan::Approver {
        name: person.login().as_str(),
        role,
    };
    let decided = plan::approve(&stored, approver, now)?;
    Ok(store.decide_plan(decided, &person.actor()).await?)
}

/// Rejects plan `id` as `person`, with a reason; returns the plan as stored.
pub async fn reject(
    store: &dyn Store,
    person: &Person,
    id: &PlanId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Plan, OpError> {
    person.may(Action::DecidePlan)?;
    let stored = plan_by_id(store, id).await?;
    let decided = plan::reject(&stored, person.login().as_str(), reason, now)?;
    Ok(store.decide_plan(decided, &person.actor()).await?)
}

/// A plan by ID, or [`OpError::NotFound`].
pub async fn plan_by_id(store: &dyn Store, id: &PlanId) -> Result<Plan, OpError> {
    store.plan(id).await?.ok_or_else(|| OpError::NotFound {
        kind: "plan",
        kind_ja: "作業計画",
        name: id.to_string(),
    })
}

/// R-10-2: refuses a plan naming a registered target tagged `personal-data` without
/// declaring personal-data access (at submission and again at approval).
pub async fn check_personal_data_targets(store: &dyn Store, plan: &Plan) -> Result<(), OpError> {
    let mut tagged: Vec<TargetName> = Vec::new();
    for name in &plan.targets {
        let target = store.target(name).await?;
        if target.is_some_and(|t| t.tags.iter().any(|tag| tag.as_str() == PERSONAL_DATA_TAG)) {
            tagged.push(name.clone());
        }
    }
    plan::personal::check_targets(plan, &tagged)?;
    Ok(())
}
