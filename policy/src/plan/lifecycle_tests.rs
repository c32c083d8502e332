//! The life cycle after approval, as tables.

use chrono::{Duration, TimeZone};

use super::*;
use crate::ids::PlanId;
use crate::plan::{Allowances, PlanRequest, approve, submit};

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap() + Duration::hours(h)
}

fn approved(deletion: Option<&str>) -> Plan {
    let request = PlanRequest {
        vendor: "acme".parse().unwrap(),
        engineers: vec!["alice".parse().unwrap()],
        targets: vec!["db01".parse().unwrap()],
        starts_at: t(9),
        ends_at: t(12),
        purpose: "patch".into(),
        steps: vec!["apt upgrade".into()],
        allow: Allowances::default(),
        personal_data: deletion.map(|_| "check the patient index after the upgrade".into()),
        data_deletion: deletion.map(str::to_owned),
        take_out: None,
    };
    let plan = submit(request, PlanId::generate(), "vera", t(8)).unwrap();
    approve(&plan, crate::plan::Approver::operator("olga"), t(8)).unwrap()
}

fn alice() -> Login {
    "alice".parse().unwrap()
}

#[test]
fn a_plan_goes_from_approved_to_confirmed() {
    let plan = approved(None);
    let active = activate(&plan).unwrap();
    assert_eq!(active.status, PlanStatus::Active);
    assert_eq!(
        close(&active, t(11)),
        Err(PlanError::WindowStillOpen { ends_at: t(12) })
    );
    let closed = close(&active, t(12)).unwrap();
    assert_eq!(
        (closed.status, closed.closed_at),
        (PlanStatus::Closed, Some(t(12)))
    );
    let reported = reported(&closed, t(13)).unwrap();
    assert_eq!(reported.reported_at, Some(t(13)));
    let confirmed = confirm(&reported, "mana", Some("  no remarks "), t(14)).unwrap();
    assert_eq!(confirmed.status, PlanStatus::Confirmed);
    let c = confirmed.confirmation.unwrap();
    assert_eq!(
        (c.by.as_str(), c.at, c.note.as_deref()),
        ("mana", t(14), Some("no remarks"))
    );
}

#[test]
fn an_approved_plan_nobody_used_closes_too() {
    let closed = close(&approved(None), t(12)).unwrap();
    assert_eq!(closed.status, PlanStatus::Closed);
}

#[test]
fn transitions_out_of_order_are_refused_with_the_state() {
    let plan = approved(None);
    let wrong = |status, action| Err(PlanError::WrongState { status, action });
    assert_eq!(
        reported(&plan, t(13)),
        wrong(PlanStatus::Approved, "reported")
    );
    assert_eq!(
        confirm(&plan, "mana", None, t(13)),
        wrong(PlanStatus::Approved, "confirmed")
    );
    let active = activate(&plan).unwrap();
    assert_eq!(activate(&active), wrong(PlanStatus::Active, "activated"));
    let closed = close(&active, t(12)).unwrap();
    assert_eq!(close(&closed, t(13)), wrong(PlanStatus::Closed, "closed"));
    let mut submitted = plan.clone();
    submitted.status = PlanStatus::Submitted;
    assert_eq!(
        activate(&submitted),
        wrong(PlanStatus::Submitted, "activated")
    );
    assert_eq!(
        close(&submitted, t(13)),
        wrong(PlanStatus::Submitted, "closed")
    );
    assert_eq!(confirm(&plan, " ", None, t(13)), Err(PlanError::NoPerson));
}

// R-10-1: the engineer named in the plan attests the deletion, once, after the work began.
#[test]
fn the_data_deletion_is_attested_once_by_a_named_engineer() {
    let plan = approved(Some("rm -rf /tmp/export on db01; shred the laptop copy"));
    assert_eq!(
        attest(&plan, &alice(), "done", t(10)),
        Err(PlanError::WrongState {
            status: PlanStatus::Approved,
            action: "attested"
        })
    );
    let active = activate(&plan).unwrap();
    assert_eq!(
        attest(&active, &"bob".parse().unwrap(), "done", t(10)),
        Err(PlanError::NotNamed)
    );
    assert_eq!(
        attest(&active, &alice(), "  ", t(10)),
        Err(PlanError::EmptyText {
            what: "attestation"
        })
    );
    let attested = attest(&active, &alice(), " deleted /tmp/export ", t(10)).unwrap();
    let a = attested.attestation.clone().unwrap();
    assert_eq!(
        (a.by, a.at, a.note.as_str()),
        (alice(), t(10), "deleted /tmp/export")
    );
    assert_eq!(attested.status, PlanStatus::Active);
    assert_eq!(
        attest(&attested, &alice(), "again", t(11)),
        Err(PlanError::AlreadyAttested)
    );
    let without = activate(&approved(None)).unwrap();
    assert_eq!(
        attest(&without, &alice(), "done", t(10)),
        Err(PlanError::NothingToAttest)
    );
}

#[test]
fn only_approved_or_active_plans_are_withdrawn() {
    let olga: Login = "olga".parse().unwrap();
    let plan = approved(None);
    let active = activate(&plan).unwrap();
    for from in [&plan, &active] {
        let withdrawn = withdraw(from, &olga, " vendor contract ended ", t(10)).unwrap();
        assert_eq!(withdrawn.status, PlanStatus::Withdrawn);
        let w = withdrawn.withdrawal.as_ref().unwrap();
        assert_eq!(
            (w.by.as_str(), w.reason.as_str()),
            ("olga", "vendor contract ended")
        );
        assert!(!withdrawn.status.admits());
        // Once withdrawn, it stays so.
        assert!(matches!(
            withdraw(&withdrawn, &olga, "again", t(10)),
            Err(PlanError::WrongState { .. })
        ));
    }
    assert_eq!(
        withdraw(&plan, &olga, "  ", t(10)),
        Err(PlanError::NoReason)
    );
    let closed = close(&active, t(12)).unwrap();
    assert!(matches!(
        withdraw(&closed, &olga, "late", t(13)),
        Err(PlanError::WrongState { .. })
    ));
    let mut submitted = plan.clone();
    submitted.status = PlanStatus::Submitted;
    assert!(matches!(
        withdraw(&submitted, &olga, "not yet", t(8)),
        Err(PlanError::WrongState { .. })
    ));
}
