//! Personal data in plans (R-10-2, §7 ②, §7.1): a plan that reaches a target tagged
//! `personal-data` declares personal-data access; one that lets data leave such a target
//! (`download`) carries the take-out's particulars — purpose, item count, items and where
//! they will be kept (持ち出しの目的や件数、項目、持出し先での保存環境) — and is approved by a
//! planning manager (企画管理者, role `manager`), not an operator.
//!
//! Admission enforces the declaration (`admission::admit`); submission and approval the
//! rest. The plan itself does not know which targets are tagged: [`check_targets`] takes
//! them from the caller (the store's targets).

use serde::{Deserialize, Serialize};

use super::{MAX_TEXT_CHARS, Plan, PlanError, check_text};
use crate::ids::{OperatorRole, TargetName};

/// Most items one take-out may declare (a sanity bound on the count typed).
pub const MAX_TAKE_OUT_ITEMS: u32 = 10_000_000;

/// A take-out of personal data (§7.1): what leaves, how much, why, and where it will be
/// kept. Shown to the approver, in `plan show` and in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakeOut {
    /// Why the data leaves (持ち出しの目的).
    pub purpose: String,
    /// How many records or files (件数).
    pub item_count: u32,
    /// Which items (fields, columns, documents: 項目).
    pub items: String,
    /// Where and how they will be kept once out (持出し先での保存環境).
    pub storage: String,
}

/// Who decides a plan: the account's login and its role, as stored (the caller looks the
/// account up; `policy` trusts it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approver<'a> {
    /// The deciding account's login (or the CLI actor).
    pub name: &'a str,
    /// Its role.
    pub role: OperatorRole,
}

impl<'a> Approver<'a> {
    /// An operator (システム運用担当者).
    pub fn operator(name: &'a str) -> Self {
        Self {
            name,
            role: OperatorRole::Operator,
        }
    }

    /// A planning manager (企画管理者).
    pub fn manager(name: &'a str) -> Self {
        Self {
            name,
            role: OperatorRole::Manager,
        }
    }
}

/// Whether the plan lets personal data leave: it declares personal-data access and allows
/// `download` (plans have no RDP clipboard or drive allowance: RDP files are withheld, and
/// pastes towards the engineer follow `download` too).
pub fn takes_out(plan: &Plan) -> bool {
    plan.personal_data.is_some() && plan.allow.download
}

/// Whether `approver` may approve `plan` (§7 ②, R-14-4): auditors never decide; a take-out of
/// personal data needs a planning manager.
pub fn check_approver(plan: &Plan, approver: &Approver<'_>) -> Result<(), PlanError> {
    match approver.role {
        OperatorRole::Auditor => Err(PlanError::RoleMayNotDecide {
            role: approver.role,
        }),
        OperatorRole::Operator if takes_out(plan) => Err(PlanError::TakeOutNeedsManager),
        OperatorRole::Operator | OperatorRole::Manager => Ok(()),
    }
}

/// Checks a new plan's take-out: required when personal data may leave, its texts present
/// and sane and its count at least one; refused on a plan that lets nothing leave (a
/// take-out nobody may carry out would mislead the approver).
pub fn check_take_out(plan: &Plan) -> Result<(), PlanError> {
    let Some(take_out) = &plan.take_out else {
        return if takes_out(plan) {
            Err(PlanError::NoTakeOut)
        } else {
            Ok(())
        };
    };
    if !takes_out(plan) {
        return Err(PlanError::TakeOutWithoutDownload);
    }
    for (what, text) in [
        ("take-out purpose", &take_out.purpose),
        ("take-out items", &take_out.items),
        ("take-out storage", &take_out.storage),
    ] {
        if text.trim().is_empty() {
            return Err(PlanError::EmptyText { what });
        }
        check_text(what, text, MAX_TEXT_CHARS)?;
    }
    if take_out.item_count == 0 || take_out.item_count > MAX_TAKE_OUT_ITEMS {
        return Err(PlanError::TakeOutCount {
            max: MAX_TAKE_OUT_ITEMS,
        });
    }
    Ok(())
}

/// R-10-2 at submission and approval: a plan naming a target tagged `personal-data`
/// (`tagged`: those among its targets, or more) must declare personal-data access.
pub fn check_targets(plan: &Plan, tagged: &[TargetName]) -> Result<(), PlanError> {
    if plan.personal_data.is_some() {
        return Ok(());
    }
    match plan.targets.iter().find(|t| tagged.contains(t)) {
        Some(target) => Err(PlanError::PersonalDataUndeclared {
            target: target.clone(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "personal_tests.rs"]
mod tests;
