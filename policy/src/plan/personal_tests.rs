//! Personal data in plans (R-10-2, §7 ②, §7.1) as tables.

#![allow(clippy::unwrap_used, reason = "unit tests")]

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::ids::PlanId;
use crate::plan::{Allowances, PlanRequest, approve, submit};

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap() + Duration::hours(h)
}

fn take_out() -> TakeOut {
    TakeOut {
        purpose: "hand the index to the auditor".into(),
        item_count: 120,
        items: "patient ID, name".into(),
        storage: "encrypted USB stick in the vendor's safe".into(),
    }
}

fn request(personal: bool, download: bool, take: Option<TakeOut>) -> PlanRequest {
    PlanRequest {
        vendor: "acme".parse().unwrap(),
        engineers: vec!["alice".parse().unwrap()],
        targets: vec!["emr01".parse().unwrap()],
        starts_at: t(9),
        ends_at: t(12),
        purpose: "export the index".into(),
        steps: vec![],
        allow: Allowances {
            download,
            ..Allowances::default()
        },
        personal_data: personal.then(|| "verify the patient index".to_owned()),
        data_deletion: personal.then(|| "shred the export".to_owned()),
        take_out: take,
    }
}

fn new(personal: bool, download: bool, take: Option<TakeOut>) -> Result<Plan, PlanError> {
    submit(
        request(personal, download, take),
        PlanId::generate(),
        "vera",
        t(8),
    )
}

#[test]
fn a_take_out_is_described_exactly_when_personal_data_may_leave() {
    let zero = TakeOut {
        item_count: 0,
        ..take_out()
    };
    let blank = TakeOut {
        storage: "  ".into(),
        ..take_out()
    };
    let cases: Vec<(&str, Result<Plan, PlanError>, Option<PlanError>)> = vec![
        (
            "no personal data, no download",
            new(false, false, None),
            None,
        ),
        (
            "download without personal data",
            new(false, true, None),
            None,
        ),
        ("personal data, no download", new(true, false, None), None),
        (
            "personal data and download, take-out described",
            new(true, true, Some(take_out())),
            None,
        ),
        (
            "personal data and download, no take-out",
            new(true, true, None),
            Some(PlanError::NoTakeOut),
        ),
        (
            "a take-out on a plan letting nothing leave",
            new(true, false, Some(take_out())),
            Some(PlanError::TakeOutWithoutDownload),
        ),
        (
            "a take-out without personal data",
            new(false, true, Some(take_out())),
            Some(PlanError::TakeOutWithoutDownload),
        ),
        (
            "no items counted",
            new(true, true, Some(zero)),
            Some(PlanError::TakeOutCount {
                max: MAX_TAKE_OUT_ITEMS,
            }),
        ),
        (
            "blank storage",
            new(true, true, Some(blank)),
            Some(PlanError::EmptyText {
                what: "take-out storage",
            }),
        ),
    ];
    for (name, got, expected) in cases {
        assert_eq!(got.err(), expected, "{name}");
    }
}

#[test]
fn a_take_out_of_personal_data_is_approved_by_a_planning_manager() {
    let take = new(true, true, Some(take_out())).unwrap();
    let declared_only = new(true, false, None).unwrap();
    let plain = new(false, true, None).unwrap();
    let auditor = Approver {
        name: "ava",
        role: OperatorRole::Auditor,
    };
    let cases: Vec<(&str, &Plan, Approver<'_>, Option<PlanError>)> = vec![
        (
            "take-out by an operator",
            &take,
            Approver::operator("oscar"),
            Some(PlanError::TakeOutNeedsManager),
        ),
        (
            "take-out by a manager",
            &take,
            Approver::manager("mia"),
            None,
        ),
        (
            "personal data without take-out, by an operator",
            &declared_only,
            Approver::operator("oscar"),
            None,
        ),
        (
            "download without personal data, by an operator",
            &plain,
            Approver::operator("oscar"),
            None,
        ),
        (
            "an auditor never decides",
            &plain,
            auditor,
            Some(PlanError::RoleMayNotDecide {
                role: OperatorRole::Auditor,
            }),
        ),
        (
            "a manager who submitted it still may not approve it",
            &take,
            Approver::manager("vera"),
            Some(PlanError::SelfApproval),
        ),
    ];
    for (name, plan, approver, expected) in cases {
        let got = approve(plan, approver, t(8));
        assert_eq!(got.as_ref().err(), expected.as_ref(), "{name}");
        if let Ok(approved) = got {
            assert_eq!(
                approved.decided_by.as_deref(),
                Some(approver.name),
                "{name}"
            );
        }
    }
}

#[test]
fn a_plan_naming_a_personal_data_target_declares_it() {
    let emr01: TargetName = "emr01".parse().unwrap();
    let undeclared = new(false, false, None).unwrap();
    let declared = new(true, false, None).unwrap();
    assert_eq!(
        check_targets(&undeclared, std::slice::from_ref(&emr01)),
        Err(PlanError::PersonalDataUndeclared {
            target: emr01.clone()
        })
    );
    assert_eq!(
        check_targets(&declared, std::slice::from_ref(&emr01)),
        Ok(())
    );
    assert_eq!(check_targets(&undeclared, &[]), Ok(()));
}
