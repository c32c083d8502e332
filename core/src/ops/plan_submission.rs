//! Submitting a work plan (作業計画, R-10.1-APPROVE) in two steps, so that a plan that can't
//! be submitted costs the submitter no TOTP code and records nothing:
//!
//! 1. [`check`]: the engineers are registered and of one vendor, the targets are
//!    registered, the plan passes `policy::plan::submit` and the personal-data target
//!    check (R-10-2) — a [`CheckedPlan`], or why not;
//! 2. [`submit`]: the signed-in submitter (`Action::SubmitPlan`) stores it, as actor.

use chrono::{DateTime, Utc};
use policy::authority::Action;
use policy::ids::{AccountKind, Login, PlanId, VendorName};
use policy::plan::{self, Plan, PlanRequest};
use store::Store;

use super::{OpError, Person};

/// A plan that passed every check for its submitter; only [`check`] makes one.
#[derive(Debug)]
pub struct CheckedPlan(Plan);

impl CheckedPlan {
    /// The plan as it will be stored.
    pub fn plan(&self) -> &Plan {
        &self.0
    }
}

/// The one vendor all `engineers` belong to: each must be a registered engineer, and all of
/// one vendor (a plan covers one vendor's work).
pub async fn vendor_of(store: &dyn Store, engineers: &[Login]) -> Result<VendorName, OpError> {
    let mut vendor: Option<VendorName> = None;
    for login in engineers {
        let account = store.account(login).await?;
        let Some(account) = account.filter(|a| a.kind == AccountKind::Engineer) else {
            return Err(OpError::NotAnEngineer(login.clone()));
        };
        let Some(of) = account.vendor else {
            return Err(OpError::EngineerWithoutVendor(login.clone()));
        };
        match &vendor {
            None => vendor = Some(of),
            Some(v) if *v == of => {}
            Some(v) => {
                return Err(OpError::VendorsDiffer {
                    login: login.clone(),
                    of,
                    expected: v.clone(),
                });
            }
        }
    }
    vendor.ok_or(OpError::NoEngineer)
}

/// Checks `request` for `submitter` now; nothing is recorded.
pub async fn check(
    store: &dyn Store,
    request: PlanRequest,
    submitter: &Login,
    now: DateTime<Utc>,
) -> Result<CheckedPlan, OpError> {
    for target in &request.targets {
        if store.target(target).await?.is_none() {
            return Err(OpError::NotFound {
                kind: "target",
                kind_ja: "接続先",
                name: target.to_string(),
            });
        }
    }
    let new = plan::submit(request, PlanId::generate(), submitter.as_str(), now)?;
    super::plan_decision::check_personal_data_targets(store, &new).await?;
    Ok(CheckedPlan(new))
}

/// Stores the checked plan in `person`'s name; they must be the submitter it was checked
/// for, and may submit plans.
pub async fn submit(
    store: &dyn Store,
    person: &Person,
    checked: CheckedPlan,
) -> Result<Plan, OpError> {
    person.may(Action::SubmitPlan)?;
    if checked.0.submitted_by != person.login().as_str() {
        return Err(OpError::NotTheSubmitter {
            login: person.login().clone(),
        });
    }
    Ok(store.submit_plan(checked.0, &person.actor()).await?)
}
