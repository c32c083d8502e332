//! Plan submission and decisions as tables.

use chrono::TimeZone;

use super::*;

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap() + Duration::hours(h)
}

fn request() -> PlanRequest {
    PlanRequest {
        vendor: "acme".parse().unwrap(),
        engineers: vec!["alice".parse().unwrap()],
        targets: vec!["db01".parse().unwrap()],
        starts_at: t(9),
        ends_at: t(12),
        purpose: "apply the November security patches".into(),
        steps: vec!["stop the service".into(), "apt upgrade".into()],
        allow: Allowances::default(),
        personal_data: None,
        data_deletion: None,
        take_out: None,
    }
}

/// A change to a request, for the tables.
type Change = Box<dyn Fn(&mut PlanRequest)>;

fn submitted() -> Plan {
    submit(request(), PlanId::generate(), "olga", t(8)).unwrap()
}

#[test]
fn submit_builds_an_undecided_plan() {
    let mut req = request();
    req.engineers.push("bob".parse().unwrap());
    req.engineers.push("alice".parse().unwrap());
    req.targets.push("db01".parse().unwrap());
    req.purpose = "  patching \n".into();
    let id = PlanId::generate();
    let plan = submit(req, id, " olga ", t(8)).unwrap();
    assert_eq!(plan.id, id);
    assert_eq!(plan.status, PlanStatus::Submitted);
    assert_eq!(
        plan.engineers,
        vec!["alice".parse().unwrap(), "bob".parse::<Login>().unwrap()]
    );
    assert_eq!(plan.targets.len(), 1);
    assert_eq!(plan.purpose, "patching");
    assert_eq!(plan.submitted_by, "olga");
    assert_eq!(plan.submitted_at, t(8));
    assert_eq!(
        (plan.decided_by, plan.decision_reason, plan.decided_at),
        (None, None, None)
    );
}

#[test]
fn new_plans_are_validated() {
    let now = t(8);
    let cases: Vec<(Change, PlanError)> = vec![
        (
            Box::new(|r| r.ends_at = r.starts_at),
            PlanError::EndNotAfterStart,
        ),
        (
            Box::new(|r| r.ends_at = r.starts_at - Duration::minutes(1)),
            PlanError::EndNotAfterStart,
        ),
        (
            Box::new(|r| {
                r.starts_at = t(1);
                r.ends_at = t(8);
            }),
            PlanError::WindowInPast { ended_at: t(8) },
        ),
        (
            Box::new(|r| r.ends_at = r.starts_at + Duration::days(31) + Duration::seconds(1)),
            PlanError::WindowTooLong { max_days: 31 },
        ),
        (
            Box::new(|r| {
                r.allow.upload = false;
                r.allow.content =
                    crate::transfer::ContentKinds::NONE.with(crate::transfer::ContentKind::Script);
            }),
            PlanError::ContentWithoutUpload,
        ),
        (Box::new(|r| r.engineers.clear()), PlanError::NoEngineer),
        (Box::new(|r| r.targets.clear()), PlanError::NoTarget),
        (
            Box::new(|r| r.purpose = " \n ".into()),
            PlanError::NoPurpose,
        ),
        (
            Box::new(|r| r.purpose = "x".repeat(MAX_TEXT_CHARS + 1)),
            PlanError::TextTooLong {
                what: "purpose",
                max: MAX_TEXT_CHARS,
            },
        ),
        (
            Box::new(|r| r.purpose = "patch\x1b]0;approved\x07".into()),
            PlanError::ControlCharacter { what: "purpose" },
        ),
        (
            Box::new(|r| r.purpose = "patch \u{202e}gnirts".into()),
            PlanError::ControlCharacter { what: "purpose" },
        ),
        (
            Box::new(|r| r.steps.push("  ".into())),
            PlanError::EmptyStep,
        ),
        (
            Box::new(|r| r.steps.push("s".repeat(MAX_STEP_CHARS + 1).into())),
            PlanError::TextTooLong {
                what: "step",
                max: MAX_STEP_CHARS,
            },
        ),
        (
            Box::new(|r| r.steps = vec!["s".into(); MAX_STEPS + 1]),
            PlanError::TooManySteps { max: MAX_STEPS },
        ),
    ];
    for (i, (change, expected)) in cases.into_iter().enumerate() {
        let mut req = request();
        change(&mut req);
        assert_eq!(
            submit(req, PlanId::generate(), "olga", now),
            Err(expected),
            "case {i}"
        );
    }
    // Boundaries that pass: exactly 31 days; a window already open but not ended; a
    // multi-line purpose with tabs; Japanese text.
    let ok: Vec<Change> = vec![
        Box::new(|r| r.ends_at = r.starts_at + Duration::days(31)),
        Box::new(|r| {
            r.starts_at = t(1);
            r.ends_at = t(8) + Duration::seconds(1);
        }),
        Box::new(|r| r.purpose = "パッチ適用\n\t手順は別紙".into()),
        Box::new(|r| r.steps.clear()),
    ];
    for (i, change) in ok.into_iter().enumerate() {
        let mut req = request();
        change(&mut req);
        assert!(
            submit(req, PlanId::generate(), "olga", now).is_ok(),
            "ok case {i}"
        );
    }
    assert_eq!(
        submit(request(), PlanId::generate(), " ", now),
        Err(PlanError::NoPerson)
    );
}

#[test]
fn a_decided_plan_is_not_new() {
    let approved = approve(&submitted(), crate::plan::Approver::operator("oscar"), t(8)).unwrap();
    assert_eq!(
        validate_new_plan(&approved, t(8)),
        Err(PlanError::NotSubmitted {
            status: PlanStatus::Approved
        })
    );
    let mut forged = submitted();
    forged.decided_by = Some("oscar".into());
    assert!(validate_new_plan(&forged, t(8)).is_err());
}

#[test]
fn approval_needs_a_second_person() {
    let plan = submitted();
    // R-14-4: the submitter can neither approve nor reject their own plan.
    assert_eq!(
        approve(&plan, crate::plan::Approver::operator("olga"), t(9)),
        Err(PlanError::SelfApproval)
    );
    assert_eq!(
        approve(&plan, crate::plan::Approver::operator(" olga "), t(9)),
        Err(PlanError::SelfApproval)
    );
    assert_eq!(
        reject(&plan, "olga", "not needed", t(9)),
        Err(PlanError::SelfApproval)
    );
    assert_eq!(
        approve(&plan, crate::plan::Approver::operator(""), t(9)),
        Err(PlanError::NoPerson)
    );

    let approved = approve(&plan, crate::plan::Approver::operator("oscar"), t(9)).unwrap();
    assert_eq!(approved.status, PlanStatus::Approved);
    assert_eq!(approved.decided_by.as_deref(), Some("oscar"));
    assert_eq!(approved.decided_at, Some(t(9)));
    assert_eq!(approved.decision_reason, None);
    // Nothing but the decision changed.
    assert_eq!(
        Plan {
            status: PlanStatus::Submitted,
            decided_by: None,
            decided_at: None,
            ..approved.clone()
        },
        plan
    );
}

#[test]
fn only_submitted_plans_can_be_decided() {
    let plan = submitted();
    let approved = approve(&plan, crate::plan::Approver::operator("oscar"), t(9)).unwrap();
    let rejected = reject(&plan, "oscar", "window overlaps the backup", t(9)).unwrap();
    assert_eq!(rejected.status, PlanStatus::Rejected);
    assert_eq!(
        rejected.decision_reason.as_deref(),
        Some("window overlaps the backup")
    );
    for (decided, status) in [
        (&approved, PlanStatus::Approved),
        (&rejected, PlanStatus::Rejected),
    ] {
        let again = PlanError::NotSubmitted { status };
        assert_eq!(
            approve(decided, crate::plan::Approver::operator("paula"), t(10)),
            Err(again.clone())
        );
        assert_eq!(reject(decided, "paula", "no", t(10)), Err(again));
    }
    assert_eq!(reject(&plan, "oscar", "  ", t(9)), Err(PlanError::NoReason));
    assert_eq!(
        reject(&plan, "oscar", "no\x1b[2J", t(9)),
        Err(PlanError::ControlCharacter { what: "reason" })
    );
}

#[test]
fn errors_speak_both_languages() {
    for e in [
        PlanError::SelfApproval,
        PlanError::NotSubmitted {
            status: PlanStatus::Rejected,
        },
        PlanError::WindowInPast { ended_at: t(0) },
        PlanError::EndNotAfterStart,
    ] {
        let text = e.to_string();
        assert!(!text.is_ascii() && text.contains(" / "), "{text}");
        assert!(!text.ends_with('.'), "{text}");
        assert_eq!(
            text.chars().next().map(char::is_lowercase),
            Some(true),
            "{text}"
        );
    }
    assert!(
        PlanError::WindowInPast { ended_at: t(0) }
            .to_string()
            .contains("2026-11-26 09:00 JST")
    );
}

#[test]
fn statuses_and_windows() {
    for s in [
        PlanStatus::Submitted,
        PlanStatus::Approved,
        PlanStatus::Rejected,
        PlanStatus::Active,
        PlanStatus::Closed,
        PlanStatus::Reported,
        PlanStatus::Confirmed,
        PlanStatus::Withdrawn,
    ] {
        assert_eq!(s.as_str().parse::<PlanStatus>(), Ok(s));
        assert_eq!(
            s.admits(),
            matches!(s, PlanStatus::Approved | PlanStatus::Active)
        );
    }
    assert!("emergency".parse::<PlanStatus>().is_err());
    let plan = submitted();
    assert!(!plan.covers(t(9) - Duration::microseconds(1)));
    assert!(plan.covers(t(9)));
    assert!(plan.covers(t(12) - Duration::microseconds(1)));
    assert!(!plan.covers(t(12)));
    assert_eq!(Allowances::default().describe(), "none");
    assert_eq!(
        Allowances {
            upload: true,
            download: false,
            forward: true,
            ..Allowances::default()
        }
        .describe(),
        "upload, forward"
    );
}

#[test]
fn step_patterns_and_declarations_are_checked() {
    let mut r = request();
    r.steps.push(PlannedStep {
        text: "dump".into(),
        expect: vec!["re:(".into()],
    });
    let err = submit(r, PlanId::generate(), "olga", t(8)).unwrap_err();
    assert!(matches!(err, PlanError::BadPattern { .. }), "{err}");
    let mut r = request();
    r.personal_data = Some("read the patient index".into());
    assert_eq!(
        submit(r.clone(), PlanId::generate(), "olga", t(8)),
        Err(PlanError::NoDeletionStep)
    );
    r.data_deletion = Some("  ".into());
    assert_eq!(
        submit(r.clone(), PlanId::generate(), "olga", t(8)),
        Err(PlanError::EmptyText {
            what: "data-deletion step"
        })
    );
    r.data_deletion = Some("delete /tmp/export".into());
    let plan = submit(r, PlanId::generate(), "olga", t(8)).unwrap();
    assert_eq!(plan.kind, PlanKind::Planned);
}
