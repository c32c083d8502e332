//! Admission as a table: every reason, the window's boundaries, and the choice among plans.

use chrono::{Duration, TimeZone};

use super::*;
use crate::plan::{Allowances, PlanStatus};

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap() + Duration::hours(h)
}

const NOW: i64 = 10;

fn plan(status: PlanStatus, from: i64, to: i64, engineers: &[&str], targets: &[&str]) -> Plan {
    Plan {
        id: PlanId::generate(),
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
        take_out: None,
        kind: crate::plan::PlanKind::Planned,
        attestation: None,
        closed_at: None,
        reported_at: None,
        confirmation: None,
        withdrawal: None,
    }
}

use PlanStatus::{Approved, Rejected, Submitted};

/// A plan for alice on db01.
fn mine(status: PlanStatus, from: i64, to: i64) -> Plan {
    plan(status, from, to, &["alice"], &["db01"])
}

fn request() -> AdmissionRequest {
    AdmissionRequest {
        engineer: "alice".parse().unwrap(),
        target: "db01".parse().unwrap(),
    }
}

fn facts(plans: Vec<Plan>) -> AdmissionFacts {
    AdmissionFacts {
        target_exists: true,
        plans,
        personal_data: false,
    }
}

/// What the table expects: admission under the plan at this index, or a denial.
#[derive(Debug)]
enum Expect {
    AdmitUnder(usize),
    Deny(DenyReason),
}

#[test]
fn every_reason_and_every_choice() {
    use DenyReason::{NoPlan, NotApprovedYet, TargetNotInPlan, WindowEnded, WindowNotStarted};
    use Expect::{AdmitUnder, Deny as D};
    let cases: Vec<(&str, Vec<Plan>, Expect)> = vec![
        ("no plan at all", vec![], D(NoPlan)),
        (
            "only other engineers' plans",
            vec![plan(Approved, 9, 12, &["bob"], &["db01"])],
            D(NoPlan),
        ),
        (
            "plans, but for other targets",
            vec![
                plan(Approved, 9, 12, &["alice"], &["db02"]),
                plan(Submitted, 9, 12, &["alice", "bob"], &["db03"]),
            ],
            D(TargetNotInPlan),
        ),
        (
            "db01 is in bob's plan, not alice's",
            vec![
                plan(Approved, 9, 12, &["bob"], &["db01"]),
                plan(Approved, 9, 12, &["alice"], &["db02"]),
            ],
            D(TargetNotInPlan),
        ),
        (
            "approved, covering now",
            vec![mine(Approved, 9, 12)],
            AdmitUnder(0),
        ),
        (
            "exactly at the start",
            vec![mine(Approved, NOW, 12)],
            AdmitUnder(0),
        ),
        (
            "exactly at the end",
            vec![mine(Approved, 8, NOW)],
            D(WindowEnded { ended_at: t(NOW) }),
        ),
        (
            "approved, later",
            vec![mine(Approved, 13, 15)],
            D(WindowNotStarted { starts_at: t(13) }),
        ),
        (
            "two approved later: the earliest start",
            vec![mine(Approved, 20, 22), mine(Approved, 13, 15)],
            D(WindowNotStarted { starts_at: t(13) }),
        ),
        (
            "submitted, covering now",
            vec![mine(Submitted, 9, 12)],
            D(NotApprovedYet),
        ),
        (
            "submitted now beats approved later",
            vec![mine(Approved, 13, 15), mine(Submitted, 9, 12)],
            D(NotApprovedYet),
        ),
        (
            "approved later beats submitted later",
            vec![mine(Submitted, 11, 12), mine(Approved, 13, 15)],
            D(WindowNotStarted { starts_at: t(13) }),
        ),
        (
            "submitted, later",
            vec![mine(Submitted, 13, 15)],
            D(NotApprovedYet),
        ),
        (
            "rejected, covering now",
            vec![mine(Rejected, 9, 12)],
            D(DenyReason::Rejected),
        ),
        (
            "rejected later",
            vec![mine(Rejected, 13, 15)],
            D(DenyReason::Rejected),
        ),
        (
            "rejected now beats approved ended",
            vec![mine(Approved, 1, 2), mine(Rejected, 9, 12)],
            D(DenyReason::Rejected),
        ),
        (
            "approved, ended: the latest end",
            vec![mine(Approved, 1, 2), mine(Approved, 5, 8)],
            D(WindowEnded { ended_at: t(8) }),
        ),
        (
            "submitted, ended without approval",
            vec![mine(Submitted, 5, 8)],
            D(WindowEnded { ended_at: t(8) }),
        ),
        (
            "approved ended is named before submitted ended",
            vec![mine(Submitted, 5, 9), mine(Approved, 5, 8)],
            D(WindowEnded { ended_at: t(8) }),
        ),
        (
            "rejected, past",
            vec![mine(Rejected, 1, 2)],
            D(DenyReason::Rejected),
        ),
        (
            "ended approved plus past rejected: the ending",
            vec![mine(Rejected, 3, 4), mine(Approved, 1, 2)],
            D(WindowEnded { ended_at: t(2) }),
        ),
        (
            "two covering: the one ending latest",
            vec![
                mine(Approved, 9, 11),
                mine(Approved, 8, 14),
                mine(Approved, 10, 12),
            ],
            AdmitUnder(1),
        ),
        (
            "approved covering beats everything else",
            vec![
                mine(Rejected, 9, 12),
                mine(Submitted, 9, 20),
                mine(Approved, 9, 11),
                mine(Approved, 13, 15),
            ],
            AdmitUnder(2),
        ),
        (
            "a plan for several engineers and targets",
            vec![plan(Approved, 9, 12, &["bob", "alice"], &["db02", "db01"])],
            AdmitUnder(0),
        ),
        (
            "approved for another target does not help this one",
            vec![
                plan(Approved, 9, 12, &["alice"], &["db02"]),
                mine(Submitted, 9, 12),
            ],
            D(NotApprovedYet),
        ),
    ];
    for (name, plans, expected) in cases {
        let mut plans = plans;
        // The order plans come in must not matter.
        for order in 0..2 {
            if order == 1 {
                plans.reverse();
            }
            let got = admit(&request(), &facts(plans.clone()), t(NOW));
            match &expected {
                Expect::AdmitUnder(i) => {
                    // Indexes are into the table's order.
                    let original = if order == 1 { plans.len() - 1 - i } else { *i };
                    let chosen = &plans[original];
                    assert_eq!(
                        got,
                        Decision::Admit {
                            plan: chosen.id,
                            ends_at: chosen.ends_at,
                            allow: chosen.allow
                        },
                        "{name} (order {order})"
                    );
                }
                Expect::Deny(reason) => {
                    assert_eq!(got, Decision::Deny(*reason), "{name} (order {order})");
                }
            }
        }
    }
}

#[test]
fn an_unknown_or_removed_target_is_refused_whatever_the_plans() {
    let f = AdmissionFacts {
        target_exists: false,
        plans: vec![mine(Approved, 9, 12)],
        personal_data: false,
    };
    assert_eq!(
        admit(&request(), &f, t(NOW)),
        Decision::Deny(DenyReason::UnknownTarget)
    );
}

/// An engineer can't tell an unknown target from a known one outside their plans.
#[test]
fn target_names_cannot_be_probed() {
    let unknown = |plans| AdmissionFacts {
        target_exists: false,
        plans,
        personal_data: false,
    };
    // Without plans: the same reason whether the target exists or not.
    assert_eq!(
        admit(&request(), &unknown(vec![]), t(NOW)),
        admit(&request(), &facts(vec![]), t(NOW))
    );
    // With plans elsewhere: the same words, a different audit name.
    let elsewhere = vec![plan(Approved, 9, 12, &["alice"], &["db02"])];
    let Decision::Deny(unknown_reason) = admit(&request(), &unknown(elsewhere.clone()), t(NOW))
    else {
        panic!("admitted to an unknown target");
    };
    let Decision::Deny(not_in_plan) = admit(&request(), &facts(elsewhere), t(NOW)) else {
        panic!("admitted to a target outside the plan");
    };
    assert_eq!(
        (unknown_reason, not_in_plan),
        (DenyReason::UnknownTarget, DenyReason::TargetNotInPlan)
    );
    assert_eq!(unknown_reason.message_en(), not_in_plan.message_en());
    assert_eq!(unknown_reason.message_ja(), not_in_plan.message_ja());
    assert_ne!(unknown_reason.as_str(), not_in_plan.as_str());
}

#[test]
fn the_window_is_half_open_to_the_microsecond() {
    let p = mine(Approved, 9, 12);
    let f = facts(vec![p.clone()]);
    let admitted = |at| matches!(admit(&request(), &f, at), Decision::Admit { .. });
    assert!(!admitted(t(9) - Duration::microseconds(1)));
    assert!(admitted(t(9)));
    assert!(admitted(t(12) - Duration::microseconds(1)));
    assert!(!admitted(t(12)));
    assert_eq!(
        admit(&request(), &f, t(9) - Duration::microseconds(1)),
        Decision::Deny(DenyReason::WindowNotStarted { starts_at: t(9) })
    );
}

#[test]
fn admission_carries_the_plans_allowances() {
    let mut p = mine(Approved, 9, 12);
    p.allow = Allowances {
        upload: true,
        download: false,
        forward: true,
        ..Allowances::default()
    };
    assert_eq!(
        admit(&request(), &facts(vec![p.clone()]), t(NOW)),
        Decision::Admit {
            plan: p.id,
            ends_at: t(12),
            allow: p.allow
        }
    );
}

#[test]
fn the_menu_lists_targets_admissible_now() {
    let db01_short = plan(Approved, 9, 12, &["alice"], &["db01", "db02"]);
    let db01_long = plan(Approved, 8, 14, &["alice"], &["db01"]);
    let plans = vec![
        db01_short.clone(),
        db01_long.clone(),
        plan(Submitted, 9, 12, &["alice"], &["db03"]),
        plan(Approved, 13, 15, &["alice"], &["db04"]),
        plan(Approved, 1, 2, &["alice"], &["db06"]),
        plan(Rejected, 9, 12, &["alice"], &["db07"]),
        plan(Approved, 9, 12, &["bob"], &["db05"]),
    ];
    let alice: Login = "alice".parse().unwrap();
    assert_eq!(
        admissible_targets(&alice, &plans, t(NOW)),
        vec![
            ("db01".parse().unwrap(), db01_long.id),
            ("db02".parse().unwrap(), db01_short.id),
        ]
    );
    // The menu agrees with admission for every target it lists.
    for (target, plan_id) in admissible_targets(&alice, &plans, t(NOW)) {
        let req = AdmissionRequest {
            engineer: alice.clone(),
            target,
        };
        assert!(matches!(
            admit(&req, &facts(plans.clone()), t(NOW)),
            Decision::Admit { plan, .. } if plan == plan_id
        ));
    }
    assert!(admissible_targets(&"carol".parse().unwrap(), &plans, t(NOW)).is_empty());
    assert!(admissible_targets(&alice, &plans, t(16)).is_empty());
}

#[test]
fn every_reason_has_a_name_and_two_messages() {
    use DenyReason::{
        NoPlan, NotApprovedYet, TargetNotInPlan, UnknownTarget, WindowEnded, WindowNotStarted,
    };
    let all = [
        UnknownTarget,
        NoPlan,
        NotApprovedYet,
        DenyReason::Rejected,
        WindowNotStarted { starts_at: t(9) },
        WindowEnded { ended_at: t(12) },
        TargetNotInPlan,
    ];
    let mut names: Vec<&str> = all.iter().map(|r| r.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all.len(), "names are unique");
    for r in all {
        let (ja, en) = (r.message_ja(), r.message_en());
        assert!(!ja.is_ascii(), "{ja}");
        assert!(en.is_ascii(), "{en}");
        assert!(
            !en.ends_with('.') && en.starts_with(char::is_lowercase),
            "{en}"
        );
    }
    assert_eq!(
        WindowNotStarted { starts_at: t(9) }.message_en(),
        "your work window starts at 2026-11-26 18:00 JST"
    );
    assert_eq!(
        WindowEnded { ended_at: t(15) }.message_ja(),
        "作業時間帯は 2026-11-27 00:00 JST に終了しました"
    );
}

/// R-10-2: a personal-data target is reached only under a plan declaring it.
#[test]
fn a_personal_data_target_needs_a_declaring_plan() {
    let undeclared = mine(Approved, 9, 12);
    let mut declared = mine(Approved, 9, 11);
    declared.personal_data = Some("verify the patient index".into());
    let tagged = |plans| AdmissionFacts {
        target_exists: true,
        plans,
        personal_data: true,
    };
    assert_eq!(
        admit(&request(), &tagged(vec![undeclared.clone()]), t(NOW)),
        Decision::Deny(DenyReason::PersonalDataUndeclared)
    );
    // The declaring plan admits, though the undeclared one would run longer.
    let Decision::Admit { plan, .. } = admit(
        &request(),
        &tagged(vec![undeclared.clone(), declared.clone()]),
        t(NOW),
    ) else {
        panic!("refused under a declaring plan");
    };
    assert_eq!(plan, declared.id);
    // Untagged: the undeclared plan admits as before.
    assert!(matches!(
        admit(&request(), &facts(vec![undeclared]), t(NOW)),
        Decision::Admit { .. }
    ));
    // Nothing covering now: the usual reason, not a personal-data one.
    assert_eq!(
        admit(&request(), &tagged(vec![mine(Approved, 11, 12)]), t(NOW)),
        Decision::Deny(DenyReason::WindowNotStarted { starts_at: t(11) })
    );
}

/// R-11-1: an emergency plan admits no plain login; only the connection it was opened for.
#[test]
fn an_emergency_plan_admits_only_its_own_connection() {
    let mut emergency = mine(PlanStatus::Active, 9, 12);
    emergency.kind = crate::plan::PlanKind::Emergency;
    let f = facts(vec![emergency.clone()]);
    assert_eq!(
        admit(&request(), &f, t(NOW)),
        Decision::Deny(DenyReason::NoPlan)
    );
    assert_eq!(
        admissible_targets(&request().engineer, &f.plans, t(NOW)),
        vec![]
    );
    assert!(matches!(
        readmit_emergency(&request(), emergency.id, &f, t(NOW)),
        Decision::Admit { plan, .. } if plan == emergency.id
    ));
    let mut closed = emergency.clone();
    closed.status = PlanStatus::Closed;
    let other = mine(Approved, 9, 12);
    for (name, facts, id) in [
        ("closed with its session", facts(vec![closed]), emergency.id),
        ("a planned plan", facts(vec![other.clone()]), other.id),
        ("unknown plan", f.clone(), PlanId::generate()),
    ] {
        assert_eq!(
            readmit_emergency(&request(), id, &facts, t(NOW)),
            Decision::Deny(DenyReason::EmergencyOver),
            "{name}"
        );
    }
    assert_eq!(
        readmit_emergency(&request(), emergency.id, &f, t(12)),
        Decision::Deny(DenyReason::EmergencyOver)
    );
}
