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
        withdrawal: None,
    })
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
        assert_eq!(approve(&plan, "alice", now), Err(PlanError::SelfApproval));
        let approved = approve(&plan, "olga", now + Duration::hours(3)).unwrap();
        assert_eq!(approved.status, PlanStatus::Active);
        assert_eq!(approved.decided_by.as_deref(), Some("olga"));
        assert_eq!(approval(&approved), Some(Approval::Approved));
        let planned = Plan {
            kind: PlanKind::Planned,
            ..approved.clone()
        };
        assert_eq!(approval(&planned), None);
        assert_eq!(
            approve(&approved, "oscar", now),
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
