use std::time::Duration;

use chrono::Utc;
use store::AuditVerification;

use super::checks::redact;
use super::*;
use crate::config::Config;

fn intact() -> AuditHead {
    AuditHead {
        verification: AuditVerification::Intact {
            records: 12,
            head: "ab".repeat(32),
        },
        head_seq: Some(12),
    }
}

fn status(checks: &[Check], id: &str) -> Status {
    checks
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.status)
        .unwrap_or_else(|| panic!("{id} not assessed"))
}

#[test]
fn every_listed_requirement_is_assessed_once_in_order() {
    let checks = assess(
        &Settings::of(&Config::default()),
        &Counts::default(),
        &intact(),
    );
    let ids: Vec<_> = checks.iter().map(|c| c.id).collect();
    assert_eq!(ids, policy::requirement::ALL);
    for c in &checks {
        assert!(
            c.title.contains(" / "),
            "{}: Japanese / English title",
            c.id
        );
        assert!(c.how.contains(" / "), "{}: Japanese / English how", c.id);
        if c.status != Status::Met {
            assert!(
                c.note.is_some(),
                "{} is {:?} without a note",
                c.id,
                c.status
            );
        }
    }
}

#[test]
fn the_verdicts_follow_the_installation() {
    // (what to change, requirement, status with defaults, status after the change)
    type Change = fn(&mut Config, &mut Counts, &mut AuditHead);
    let cases: [(Change, &str, Status, Status); 10] = [
        (
            |c, _, _| c.tls.allow_tls12 = true,
            "R-13-6",
            Status::Met,
            Status::Partial,
        ),
        (
            |c, _, _| c.tls.allow_tls12 = true,
            "R-10.2-CRYPTO",
            Status::Met,
            Status::Partial,
        ),
        (
            |c, _, _| c.limits.idle_timeout = Duration::ZERO,
            "R-12-6",
            Status::Met,
            Status::NotMet,
        ),
        (
            |c, _, _| c.limits.max_session = Duration::ZERO,
            "R-10.2-TIMEOUT",
            Status::Met,
            Status::Partial,
        ),
        (
            |c, _, _| c.gateway.ui_listen = "0.0.0.0:9443".parse().unwrap(),
            "R-13-5",
            Status::Met,
            Status::Manual,
        ),
        (
            |c, _, _| c.transfers.clamd_socket = Some("/run/clamav/clamd.ctl".parse().unwrap()),
            "R-10-6",
            Status::Partial,
            Status::Met,
        ),
        (
            |_, n, _| n.reports_overdue = 1,
            "R-10-5",
            Status::Met,
            Status::Partial,
        ),
        (
            |_, n, _| n.review_items = 3,
            "R-14-8",
            Status::Met,
            Status::Partial,
        ),
        (
            |_, n, _| n.vendors_without_allow_list = 1,
            "R-10.2-PATH",
            Status::Met,
            Status::Partial,
        ),
        (
            |_, _, a| {
                a.verification = AuditVerification::Broken {
                    seq: 5,
                    problem: store::ChainBreak::HashMismatch,
                }
            },
            "R-17-2",
            Status::Met,
            Status::NotMet,
        ),
    ];
    for (change, id, before, after) in cases {
        let (mut config, mut counts, mut audit) = (Config::default(), Counts::default(), intact());
        counts.managers = 1;
        assert_eq!(
            status(&assess(&Settings::of(&config), &counts, &audit), id),
            before,
            "{id} before"
        );
        change(&mut config, &mut counts, &mut audit);
        assert_eq!(
            status(&assess(&Settings::of(&config), &counts, &audit), id),
            after,
            "{id} after"
        );
    }
}

#[test]
fn attribution_depends_on_how_targets_are_logged_in_to() {
    let config = Config::default();
    for (targets, cert, factory, expected) in [
        (0, 0, 0, Status::Manual),
        (2, 2, 0, Status::Met),
        (2, 1, 0, Status::Partial),
        // R-10.1-NODEFAULT: a factory account as login, even by certificate, is flagged.
        (2, 2, 1, Status::Partial),
    ] {
        let counts = Counts {
            targets,
            targets_cert_auth: cert,
            targets_factory_login: factory,
            ..Counts::default()
        };
        assert_eq!(
            status(
                &assess(&Settings::of(&config), &counts, &intact()),
                "R-10.1-NODEFAULT"
            ),
            expected,
            "{targets} targets, {cert} by certificate, {factory} factory logins"
        );
    }
}

#[test]
fn the_text_names_the_audit_head_and_summarises() {
    let doc = evidence(
        &Settings::of(&Config::default()),
        &Counts::default(),
        intact(),
        Utc::now(),
    );
    let text = text(&doc);
    assert!(text.contains("監査証跡 / audit chain: 検証済み"), "{text}");
    assert!(text.contains(&"ab".repeat(32)));
    assert!(text.contains("head seq 12"));
    assert!(text.contains("[適合 / met] R-10.2-2FA"), "{text}");
    assert!(text.contains("[tls] allow_tls12: false"), "{text}");
    let s = doc.summary;
    assert_eq!(
        s.met + s.partial + s.manual + s.not_met,
        policy::requirement::ALL.len()
    );
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(json["audit"]["verification"]["status"], "intact");
    assert_eq!(json["requirements"][0]["status"], "met");
}

#[test]
fn database_passwords_are_not_shown() {
    assert_eq!(redact("sqlite://fumidai.db"), "sqlite://fumidai.db");
    assert_eq!(
        redact("postgres://fumidai:s3cret@db:5432/fumidai"),
        "postgres://fumidai:***@db:5432/fumidai"
    );
    assert_eq!(
        redact("postgres://fumidai@db/fumidai"),
        "postgres://fumidai@db/fumidai"
    );
}

#[test]
fn rdp_is_described_as_it_ships() {
    let config = Config::default();
    let counts = Counts {
        targets: 2,
        targets_rdp: 1,
        ..Counts::default()
    };
    let checks = assess(&Settings::of(&config), &counts, &intact());
    for check in &checks {
        let text = format!("{} {}", check.how, check.note.clone().unwrap_or_default());
        assert!(!text.contains("RDP is not offered"), "{}: {text}", check.id);
        assert!(
            !(text.contains("RDP") && text.contains("not implemented")),
            "{}: {text}",
            check.id
        );
    }
    let crypto = checks.iter().find(|c| c.id == "R-10.2-CRYPTO").unwrap();
    assert!(crypto.how.contains("RDP"), "{}", crypto.how);
    assert!(
        crypto
            .evidence
            .iter()
            .any(|e| e.label.contains("RDP") && e.value == serde_json::json!(1)),
        "{:?}",
        crypto.evidence
    );
}
