//! What follows approval: a plan becomes active with its first session, closes once its
//! window is over and its sessions have ended, is reported (the reconciliation report,
//! R-10-5) and is confirmed by the planning manager. Apart from the states, the engineer
//! attests the data deletion (R-10-1). Each function returns the plan as it should be
//! stored, or why not; the store writes it compare-and-set on the old state.

use chrono::{DateTime, Utc};

use super::{
    Attestation, Confirmation, MAX_TEXT_CHARS, Plan, PlanError, PlanStatus, Withdrawal, check_text,
};
use crate::ids::Login;

/// The first session started under an approved plan.
pub fn activate(plan: &Plan) -> Result<Plan, PlanError> {
    match plan.status {
        PlanStatus::Approved => Ok(Plan {
            status: PlanStatus::Active,
            ..plan.clone()
        }),
        status => Err(PlanError::WrongState {
            status,
            action: "activated",
        }),
    }
}

/// Closes an approved or active plan whose window is over (its live sessions are for the
/// caller to check: they are cut at the window's end anyway). A plan never decided stays
/// submitted and is never reported: nobody could work under it.
pub fn close(plan: &Plan, now: DateTime<Utc>) -> Result<Plan, PlanError> {
    match plan.status {
        PlanStatus::Approved | PlanStatus::Active if now >= plan.ends_at => Ok(Plan {
            status: PlanStatus::Closed,
            closed_at: Some(now),
            ..plan.clone()
        }),
        PlanStatus::Approved | PlanStatus::Active => Err(PlanError::WindowStillOpen {
            ends_at: plan.ends_at,
        }),
        status => Err(PlanError::WrongState {
            status,
            action: "closed",
        }),
    }
}

/// The reconciliation report of a closed plan was produced.
pub fn reported(plan: &Plan, now: DateTime<Utc>) -> Result<Plan, PlanError> {
    match plan.status {
        PlanStatus::Closed => Ok(Plan {
            status: PlanStatus::Reported,
            reported_at: Some(now),
            ..plan.clone()
        }),
        status => Err(PlanError::WrongState {
            status,
            action: "reported",
        }),
    }
}

/// The planning manager confirms the report, optionally with findings of their own. That
/// they hold the planning-manager role is for the caller to check against the accounts.
pub fn confirm(
    plan: &Plan,
    manager: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    let manager = manager.trim();
    if manager.is_empty() {
        return Err(PlanError::NoPerson);
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if let Some(note) = note {
        check_text("finding", note, MAX_TEXT_CHARS)?;
    }
    match plan.status {
        PlanStatus::Reported => Ok(Plan {
            status: PlanStatus::Confirmed,
            confirmation: Some(Confirmation {
                by: manager.to_owned(),
                at: now,
                note: note.map(str::to_owned),
            }),
            ..plan.clone()
        }),
        status => Err(PlanError::WrongState {
            status,
            action: "confirmed",
        }),
    }
}

/// An engineer named in the plan attests that the work's data was deleted as the plan's
/// data-deletion step says (R-10-1). Once, after the work started and before the report
/// is confirmed.
pub fn attest(
    plan: &Plan,
    engineer: &Login,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    match plan.status {
        PlanStatus::Active | PlanStatus::Closed | PlanStatus::Reported => {}
        status => {
            return Err(PlanError::WrongState {
                status,
                action: "attested",
            });
        }
    }
    if plan.data_deletion.is_none() {
        return Err(PlanError::NothingToAttest);
    }
    if plan.attestation.is_some() {
        return Err(PlanError::AlreadyAttested);
    }
    if !plan.names_engineer(engineer) {
        return Err(PlanError::NotNamed);
    }
    let note = note.trim();
    if note.is_empty() {
        return Err(PlanError::EmptyText {
            what: "attestation",
        });
    }
    check_text("attestation", note, MAX_TEXT_CHARS)?;
    Ok(Plan {
        attestation: Some(Attestation {
            by: engineer.clone(),
            at: now,
            note: note.to_owned(),
        }),
        ..plan.clone()
    })
}

/// An operator withdraws an approved or active plan (R-14-8, §10.2): no session starts
/// under it any more (`admission::admit`), and the gateway ends the live ones. A reason is
/// required; that the operator holds the right is `authority`'s.
pub fn withdraw(
    plan: &Plan,
    by: &Login,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    match plan.status {
        PlanStatus::Approved | PlanStatus::Active => {}
        status => {
            return Err(PlanError::WrongState {
                status,
                action: "withdrawn",
            });
        }
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(PlanError::NoReason);
    }
    check_text("reason", reason, MAX_TEXT_CHARS)?;
    Ok(Plan {
        status: PlanStatus::Withdrawn,
        withdrawal: Some(Withdrawal {
            by: by.clone(),
            at: now,
            reason: reason.to_owned(),
        }),
        ..plan.clone()
    })
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
