//! Emergency access (事後承認, R-10.1-APPROVE, R-11-1): an engineer whose vendor may do so
//! declares an emergency at login, with a reason, when no approved plan covers the work. The
//! session is admitted under an `emergency` plan opened on the spot — active at once, for a
//! short maximum, with nothing beyond a terminal allowed — which an operator approves
//! afterwards and whose report flags it. Alerts go out at once (the gateway's part).

use chrono::{DateTime, Duration, Utc};

use super::{MAX_TEXT_CHARS, Plan, PlanError, PlanKind, PlanStatus, check_text};
use crate::ids::{Login, PlanId, TargetName, VendorName};
use crate::plan::Allowances;

/// Default longest emergency session.
pub const DEFAULT_MAX: Duration = Duration::hours(2);

/// What an emergency declaration needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration<'a> {
    /// Who declares it.
    pub engineer: &'a Login,
    /// Their vendor.
    pub vendor: &'a VendorName,
    /// Whether the vendor is allowed emergencies (`vendor add --emergency`).
    pub vendor_allows: bool,
    /// The target.
    pub target: &'a TargetName,
    /// Why, as typed at login.
    pub reason: &'a str,
}

/// Opens the emergency plan for a declaration, or says why not.
pub fn open(
    declaration: &Declaration<'_>,
    id: PlanId,
    now: DateTime<Utc>,
    max: Duration,
) -> Result<Plan, PlanError> {
    if !declaration.vendor_allows {
        return Err(PlanError::EmergencyNotAllowed);
    }
    let reason = declaration.reason.trim();
    if reason.is_empty() {
        return Err(PlanError::EmptyText {
            what: "emergency reason",
        });
    }
    check_text("emergency reason", reason, MAX_TEXT_CHARS)?;
    Ok(Plan {
        id,
        vendor: declaration.vendor.clone(),
        engineers: vec![declaration.engineer.clone()],
        targets: vec![declaration.target.clone()],
        starts_at: now,
        ends_at: now + max,
        purpose: reason.to_owned(),
        steps: Vec::new(),
        allow: Allowances::default(),
        personal_data: None,
        data_deletion: None,
        kind: PlanKind::Emergency,
        status: PlanStatus::Active,
        submitted_by: declaration.engineer.to_string(),
        decided_by: None,
        decision_reason: None,
        submitted_at: now,
        decided_at: None,
        attestation: None,
        closed_at: None,
        reported_at: None,
        confirmation: None,
        take_out: None,
        withdrawal: None,
    })
}

/// How long a refusal (a rejected or withdrawn plan) bars an emergency on its target.
pub const REFUSAL_BARS: Duration = Duration::hours(24);

/// What the limits on an emergency are checked against (R-11-1): one store call gathers
/// them (`Store::emergency_facts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyFacts {
    /// The engineer's vendor, and whether it may declare emergencies; `None` when the
    /// engineer has no vendor (or it is gone).
    pub vendor: Option<(VendorName, bool)>,
    /// The target is registered, not removed, and on the vendor's list of contracted
    /// targets (`vendor targets add`). An unknown target is simply not contracted.
    pub contracted: bool,
    /// The target is tagged `personal-data`.
    pub personal_data: bool,
    /// The plans naming the engineer, in any state and of any kind.
    pub plans: Vec<Plan>,
}

/// Whether an emergency may open for `engineer` on `target` at `now` (R-11-1), checked in
/// this order so that nothing about the target is told before the vendor's contract is:
///
/// 1. the vendor may declare emergencies ([`PlanError::EmergencyNotAllowed`]);
/// 2. the target is among the vendor's contracted targets — an unknown or removed target is
///    answered the same ([`PlanError::EmergencyNotContracted`]);
/// 3. no earlier emergency of this engineer awaits its approval afterwards: one open
///    emergency per engineer ([`PlanError::EmergencyPending`]);
/// 4. no plan naming this engineer and target was refused (rejected or withdrawn) less
///    than [`REFUSAL_BARS`] ago ([`PlanError::EmergencyAfterRefusal`]);
/// 5. the target holds no personal data: an emergency declares none
///    ([`PlanError::EmergencyPersonalData`], R-10-2).
pub fn check_limits(
    engineer: &Login,
    target: &TargetName,
    facts: &EmergencyFacts,
    now: DateTime<Utc>,
) -> Result<(), PlanError> {
    if !facts.vendor.as_ref().is_some_and(|(_, allows)| *allows) {
        return Err(PlanError::EmergencyNotAllowed);
    }
    if !facts.contracted {
        return Err(PlanError::EmergencyNotContracted);
    }
    let mine = facts.plans.iter().filter(|p| p.names_engineer(engineer));
    if let Some(pending) = mine
        .clone()
        .find(|p| approval(p) == Some(Approval::Pending))
    {
        return Err(PlanError::EmergencyPending { plan: pending.id });
    }
    let refused = mine
        .filter(|p| p.names_target(target))
        .find(|p| refused_at(p).is_some_and(|at| at <= now && now - at < REFUSAL_BARS));
    if let Some(refused) = refused {
        return Err(PlanError::EmergencyAfterRefusal { plan: refused.id });
    }
    if facts.personal_data {
        return Err(PlanError::EmergencyPersonalData);
    }
    Ok(())
}

/// When the hospital refused the plan, if it did: rejected (its decision time) or withdrawn
/// (the withdrawal's time). Exhaustive on purpose: a new refusing state must say here when
/// it was refused.
fn refused_at(plan: &Plan) -> Option<DateTime<Utc>> {
    match plan.status {
        PlanStatus::Rejected => plan.decided_at,
        PlanStatus::Withdrawn => plan.withdrawal.as_ref().map(|w| w.at),
        PlanStatus::Submitted
        | PlanStatus::Approved
        | PlanStatus::Active
        | PlanStatus::Closed
        | PlanStatus::Reported
        | PlanStatus::Confirmed => None,
    }
}

/// Where an emergency plan stands with its approval afterwards (事後承認, R-10.1-APPROVE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Nobody has approved it yet: the access ran, or runs, on the engineer's word.
    Pending,
    /// An operator approved it afterwards.
    Approved,
}

impl Approval {
    /// The name as shown and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
        }
    }
}

/// The approval afterwards of an emergency plan; `None` for a planned one (approved before
/// the work or never admitted). Emergency plans can only be approved afterwards, so a
/// decision on one is an approval.
pub fn approval(plan: &Plan) -> Option<Approval> {
    match (plan.kind, &plan.decided_by) {
        (PlanKind::Planned, _) => None,
        (PlanKind::Emergency, None) => Some(Approval::Pending),
        (PlanKind::Emergency, Some(_)) => Some(Approval::Approved),
    }
}

#[cfg(test)]
#[path = "emergency_tests.rs"]
mod limit_tests;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "unit tests")]

    use chrono::TimeZone;

    use super::*;
    use crate::plan::approve;

    fn declaration<'a>(
        engineer: &'a Login,
        vendor: &'a VendorName,
        target: &'a TargetName,
        allows: bool,
        reason: &'a str,
    ) -> Declaration<'a> {
        Declaration {
            engineer,
            vendor,
            vendor_allows: allows,
            target,
            reason,
        }
    }

    #[test]
    fn an_emergency_opens_an_active_plan_approved_afterwards_by_someone_else() {
        let (alice, acme, db01) = (
            "alice".parse().unwrap(),
            "acme".parse().unwrap(),
            "db01".parse().unwrap(),
        );
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap();
        let d = declaration(&alice, &acme, &db01, true, " PACS down since 02:40 ");
        let plan = open(&d, PlanId::generate(), now, DEFAULT_MAX).unwrap();
        assert_eq!(
            (plan.kind, plan.status),
            (PlanKind::Emergency, PlanStatus::Active)
        );
        assert_eq!(plan.ends_at - plan.starts_at, DEFAULT_MAX);
        assert_eq!(plan.purpose, "PACS down since 02:40");
        assert_eq!(plan.allow, Allowances::default());
        assert_eq!(approval(&plan), Some(Approval::Pending));
        // R-14-4 still holds afterwards: not by the engineer who declared it.
        assert_eq!(
            approve(&plan, crate::plan::Approver::operator("alice"), now),
            Err(PlanError::SelfApproval)
        );
        let approved = approve(
            &plan,
            crate::plan::Approver::operator("olga"),
            now + Duration::hours(3),
        )
        .unwrap();
        assert_eq!(approved.status, PlanStatus::Active);
        assert_eq!(approved.decided_by.as_deref(), Some("olga"));
        assert_eq!(approval(&approved), Some(Approval::Approved));
        let planned = Plan {
            kind: PlanKind::Planned,
            ..approved.clone()
        };
        assert_eq!(approval(&planned), None);
        assert_eq!(
            approve(&approved, crate::plan::Approver::operator("oscar"), now),
            Err(PlanError::NotSubmitted {
                status: PlanStatus::Active
            })
        );

        let refused = declaration(&alice, &acme, &db01, false, "down");
        assert_eq!(
            open(&refused, PlanId::generate(), now, DEFAULT_MAX),
            Err(PlanError::EmergencyNotAllowed)
        );
        let blank = declaration(&alice, &acme, &db01, true, "  ");
        assert_eq!(
            open(&blank, PlanId::generate(), now, DEFAULT_MAX),
            Err(PlanError::EmptyText {
                what: "emergency reason"
            })
        );
    }
}
