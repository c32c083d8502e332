//! The limits on emergencies (R-11-1) as a table.

#![allow(clippy::unwrap_used, reason = "unit tests")]

use chrono::{Duration, TimeZone};

use super::*;
use crate::plan::{Approver, PlanStatus, reject};

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap() + Duration::hours(h)
}

fn names() -> (Login, VendorName, TargetName) {
    (
        "alice".parse().unwrap(),
        "acme".parse().unwrap(),
        "db02".parse().unwrap(),
    )
}

/// An emergency of alice on `target` opened at `at`.
fn emergency_at(target: &str, at: i64) -> Plan {
    let (alice, acme, _) = names();
    let target: TargetName = target.parse().unwrap();
    let d = Declaration {
        engineer: &alice,
        vendor: &acme,
        vendor_allows: true,
        target: &target,
        reason: "PACS down",
    };
    open(&d, PlanId::generate(), t(at), DEFAULT_MAX).unwrap()
}

/// A planned plan of alice on db02, rejected at hour `at`.
fn rejected_at(at: i64) -> Plan {
    let mut plan = emergency_at("db02", 0);
    plan.kind = PlanKind::Planned;
    plan.status = PlanStatus::Submitted;
    plan.submitted_by = "vera".into();
    reject(&plan, "oscar", "not this week", t(at)).unwrap()
}

/// A planned plan of alice on db02, approved at hour 0 and withdrawn at hour `at`.
fn withdrawn_at(at: i64) -> Plan {
    let mut plan = emergency_at("db02", 0);
    plan.kind = PlanKind::Planned;
    plan.status = PlanStatus::Submitted;
    plan.submitted_by = "vera".into();
    let approved = crate::plan::approve(&plan, Approver::operator("oscar"), t(0)).unwrap();
    crate::plan::lifecycle::withdraw(
        &approved,
        &"oscar".parse().unwrap(),
        "vendor unreachable",
        t(at),
    )
    .unwrap()
}

fn facts(plans: Vec<Plan>) -> EmergencyFacts {
    EmergencyFacts {
        vendor: Some(("acme".parse().unwrap(), true)),
        contracted: true,
        personal_data: false,
        plans,
    }
}

#[test]
fn every_limit() {
    let (alice, _, db02) = names();
    let approved_afterwards = Approver::operator("olga");
    let earlier_approved =
        crate::plan::approve(&emergency_at("db01", 1), approved_afterwards, t(3)).unwrap();
    let earlier_pending = emergency_at("db01", 1);
    let pending_id = earlier_pending.id;
    let rejected = rejected_at(2);
    let rejected_id = rejected.id;
    let withdrawn = withdrawn_at(2);
    let withdrawn_id = withdrawn.id;
    let mut not_allowed = facts(vec![]);
    not_allowed.vendor = Some(("acme".parse().unwrap(), false));
    let mut no_vendor = facts(vec![]);
    no_vendor.vendor = None;
    let mut not_contracted = facts(vec![]);
    not_contracted.contracted = false;
    let mut personal = facts(vec![]);
    personal.personal_data = true;
    let mut elsewhere = rejected_at(2);
    elsewhere.targets = vec!["db01".parse().unwrap()];
    let mut bobs = rejected_at(2);
    bobs.engineers = vec!["bob".parse().unwrap()];
    let cases: Vec<(&str, EmergencyFacts, i64, Result<(), PlanError>)> = vec![
        ("nothing in the way", facts(vec![]), 5, Ok(())),
        (
            "vendor not allowed",
            not_allowed,
            5,
            Err(PlanError::EmergencyNotAllowed),
        ),
        (
            "no vendor",
            no_vendor,
            5,
            Err(PlanError::EmergencyNotAllowed),
        ),
        (
            "unknown or not contracted target: one answer",
            not_contracted,
            5,
            Err(PlanError::EmergencyNotContracted),
        ),
        (
            "an earlier emergency awaits approval",
            facts(vec![earlier_pending]),
            5,
            Err(PlanError::EmergencyPending { plan: pending_id }),
        ),
        (
            "an earlier emergency approved afterwards",
            facts(vec![earlier_approved]),
            5,
            Ok(()),
        ),
        (
            "rejected an hour ago",
            facts(vec![rejected.clone()]),
            3,
            Err(PlanError::EmergencyAfterRefusal { plan: rejected_id }),
        ),
        (
            "rejected 23 h 59 min ago",
            facts(vec![rejected.clone()]),
            25,
            Err(PlanError::EmergencyAfterRefusal { plan: rejected_id }),
        ),
        (
            "rejected 24 h ago: the bar is lifted",
            facts(vec![rejected]),
            26,
            Ok(()),
        ),
        (
            "withdrawn an hour ago",
            facts(vec![withdrawn.clone()]),
            3,
            Err(PlanError::EmergencyAfterRefusal { plan: withdrawn_id }),
        ),
        (
            "withdrawn 24 h ago: the bar is lifted",
            facts(vec![withdrawn]),
            26,
            Ok(()),
        ),
        (
            "rejected on another target",
            facts(vec![elsewhere]),
            3,
            Ok(()),
        ),
        ("another engineer's rejection", facts(vec![bobs]), 3, Ok(())),
        (
            "personal-data target",
            personal,
            5,
            Err(PlanError::EmergencyPersonalData),
        ),
    ];
    for (name, facts, at, expected) in cases {
        let now = if name.contains("23 h 59") {
            t(at) + Duration::minutes(59) - Duration::hours(1)
        } else {
            t(at)
        };
        assert_eq!(check_limits(&alice, &db02, &facts, now), expected, "{name}");
    }
}
