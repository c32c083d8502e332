//! The live re-check as a table: each fact that was checked at login or admission, changed
//! while the connection lives.

use chrono::{Duration, TimeZone};

use super::*;
use crate::plan::{Allowances, Plan};

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap() + Duration::hours(h)
}

const NOW: i64 = 10;

fn plan_id() -> PlanId {
    "00000000-0000-4000-8000-000000000001".parse().unwrap()
}

fn plan(status: PlanStatus, from: i64, to: i64, engineers: &[&str], targets: &[&str]) -> Plan {
    Plan {
        id: plan_id(),
        vendor: "acme".parse().unwrap(),
        engineers: engineers.iter().map(|e| e.parse().unwrap()).collect(),
        targets: targets.iter().map(|t| t.parse().unwrap()).collect(),
        starts_at: t(from),
        ends_at: t(to),
        purpose: "maintenance".into(),
        steps: vec![],
        allow: Allowances::default(),
        status,
        submitted_by: "olga".into(),
        decided_by: None,
        decision_reason: None,
        submitted_at: t(0),
        decided_at: None,
        personal_data: None,
        data_deletion: None,
        kind: PlanKind::Planned,
        attestation: None,
        closed_at: None,
        reported_at: None,
        confirmation: None,
        take_out: None,
        withdrawal: None,
    }
}

fn emergency(status: PlanStatus) -> Plan {
    let mut p = ours(status);
    p.kind = PlanKind::Emergency;
    p
}

fn ours(status: PlanStatus) -> Plan {
    plan(status, 8, 12, &["alice"], &["db01"])
}

fn held() -> Held {
    Held {
        engineer: "alice".parse().unwrap(),
        session: Some(("db01".parse().unwrap(), plan_id())),
    }
}

fn facts(revoked: bool, enabled: bool, target_exists: bool, plans: Vec<Plan>) -> Facts {
    Facts {
        certificate_revoked: revoked,
        account_enabled: enabled,
        admission: AdmissionFacts {
            target_exists,
            plans,
            personal_data: false,
        },
    }
}

#[test]
fn every_fact_that_changed_loses_authority() {
    use LostAuthority::{Disabled, Revoked, WindowOver, Withdrawn};
    use PlanStatus::{Active, Approved, Closed, Submitted};
    let other = || {
        let mut p = plan(Approved, 8, 12, &["alice"], &["db01"]);
        p.id = PlanId::generate();
        p
    };
    let cases: Vec<(&str, Facts, Recheck)> = vec![
        (
            "approved, in window",
            facts(false, true, true, vec![ours(Approved)]),
            Recheck::Keep,
        ),
        (
            "active, in window",
            facts(false, true, true, vec![ours(Active)]),
            Recheck::Keep,
        ),
        (
            "certificate revoked",
            facts(true, true, true, vec![ours(Active)]),
            Recheck::Lose(Revoked),
        ),
        (
            "revoked and disabled: revocation first",
            facts(true, false, true, vec![ours(Active)]),
            Recheck::Lose(Revoked),
        ),
        (
            "account disabled",
            facts(false, false, true, vec![ours(Active)]),
            Recheck::Lose(Disabled),
        ),
        (
            "plan rejected",
            facts(false, true, true, vec![ours(PlanStatus::Rejected)]),
            Recheck::Lose(LostAuthority::Rejected),
        ),
        (
            "plan withdrawn",
            facts(false, true, true, vec![ours(PlanStatus::Withdrawn)]),
            Recheck::Lose(Withdrawn),
        ),
        (
            "the emergency plan of this session, active",
            facts(false, true, true, vec![emergency(Active)]),
            Recheck::Keep,
        ),
        (
            "the emergency plan closed (its session ended)",
            facts(false, true, true, vec![emergency(Closed)]),
            Recheck::Lose(Withdrawn),
        ),
        (
            "plan closed",
            facts(false, true, true, vec![ours(Closed)]),
            Recheck::Lose(Withdrawn),
        ),
        (
            "plan back to submitted",
            facts(false, true, true, vec![ours(Submitted)]),
            Recheck::Lose(Withdrawn),
        ),
        (
            "plan gone",
            facts(false, true, true, vec![]),
            Recheck::Lose(Withdrawn),
        ),
        (
            "only another plan admits",
            facts(false, true, true, vec![other()]),
            Recheck::Lose(Withdrawn),
        ),
        (
            "target removed",
            facts(false, true, false, vec![ours(Active)]),
            Recheck::Lose(Withdrawn),
        ),
        (
            "engineer withdrawn from the plan",
            facts(
                false,
                true,
                true,
                vec![plan(Active, 8, 12, &["bob"], &["db01"])],
            ),
            Recheck::Lose(Withdrawn),
        ),
        (
            "target taken out of the plan",
            facts(
                false,
                true,
                true,
                vec![plan(Active, 8, 12, &["alice"], &["db02"])],
            ),
            Recheck::Lose(Withdrawn),
        ),
        (
            "window over",
            facts(
                false,
                true,
                true,
                vec![plan(Active, 8, NOW, &["alice"], &["db01"])],
            ),
            Recheck::Lose(WindowOver),
        ),
        (
            "window moved later",
            facts(
                false,
                true,
                true,
                vec![plan(Approved, 11, 12, &["alice"], &["db01"])],
            ),
            Recheck::Lose(WindowOver),
        ),
    ];
    for (name, facts, expected) in cases {
        assert_eq!(recheck(&held(), &facts, t(NOW)), expected, "{name}");
    }
}

#[test]
fn a_login_without_a_session_is_checked_for_certificate_and_account_only() {
    let login = Held {
        engineer: "alice".parse().unwrap(),
        session: None,
    };
    let no_plans = facts(false, true, false, vec![]);
    assert_eq!(recheck(&login, &no_plans, t(NOW)), Recheck::Keep);
    let revoked = facts(true, true, false, vec![]);
    assert_eq!(
        recheck(&login, &revoked, t(NOW)),
        Recheck::Lose(LostAuthority::Revoked)
    );
    let disabled = facts(false, false, false, vec![]);
    assert_eq!(
        recheck(&login, &disabled, t(NOW)),
        Recheck::Lose(LostAuthority::Disabled)
    );
}

#[test]
fn every_loss_ends_the_connection_with_its_own_reason() {
    use LostAuthority::*;
    let all = [Revoked, Disabled, Rejected, Withdrawn, WindowOver];
    let mut names: Vec<&str> = all.iter().map(|l| l.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all.len());
    for lost in all {
        assert!(lost.ends_connection());
        let text = lost.message();
        assert!(text.contains("fumidai"), "{text}");
        assert!(!text.is_ascii(), "{lost:?} has Japanese: {text}");
    }
    assert_eq!(Revoked.end_reason(), EndReason::Revoked);
    assert_eq!(WindowOver.end_reason(), EndReason::WindowEnd);
}
