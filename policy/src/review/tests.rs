use chrono::TimeZone;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap()
}

fn days_ago(days: i64) -> DateTime<Utc> {
    now() - Duration::days(days)
}

fn account(login: &str, kind: AccountKind, created: i64, last: Option<i64>) -> AccountFacts {
    AccountFacts {
        login: login.parse().unwrap(),
        kind,
        enabled: true,
        created_at: days_ago(created),
        last_login: last.map(days_ago),
        has_totp: true,
        locked_until: None,
    }
}

fn cert(serial: &str, login: &str, expires_in_days: i64, revoked: bool) -> CertificateFacts {
    CertificateFacts {
        serial: serial.to_owned(),
        login: login.parse().unwrap(),
        not_after: now() + Duration::days(expires_in_days),
        revoked,
    }
}

fn vendor(name: &str, created: i64, latest_plan: Option<i64>) -> VendorFacts {
    VendorFacts {
        name: name.parse().unwrap(),
        created_at: days_ago(created),
        latest_plan: latest_plan.map(days_ago),
    }
}

fn listed(facts: Facts, thresholds: Thresholds) -> Vec<(ReviewKind, String)> {
    review(&facts, &thresholds, now())
        .into_iter()
        .map(|i| (i.kind, i.subject))
        .collect()
}

#[test]
fn engineers_are_dormant_after_ninety_days_without_a_login() {
    use AccountKind::{Engineer, Operator};
    // (account, listed as dormant)
    let cases = [
        (account("fresh", Engineer, 10, None), false),
        (account("never", Engineer, 90, None), true),
        (account("recent", Engineer, 400, Some(89)), false),
        (account("stale", Engineer, 400, Some(90)), true),
        (account("ancient", Engineer, 900, Some(500)), true),
        // Operators log in at the console, not through the gateway.
        (account("op", Operator, 400, None), false),
        (
            AccountFacts {
                enabled: false,
                ..account("disabled", Engineer, 400, None)
            },
            false,
        ),
    ];
    for (facts, expected) in cases {
        let login = facts.login.to_string();
        let got = listed(
            Facts {
                accounts: vec![facts],
                ..Facts::default()
            },
            Thresholds::default(),
        );
        let dormant = got == [(ReviewKind::DormantEngineer, login.clone())];
        assert_eq!(dormant, expected, "{login}: {got:?}");
        assert!(dormant || got.is_empty(), "{login}: {got:?}");
    }
}

#[test]
fn a_zero_threshold_lists_every_enabled_engineer() {
    let facts = Facts {
        accounts: vec![account("fresh", AccountKind::Engineer, 0, None)],
        ..Facts::default()
    };
    let zero = Thresholds {
        dormant: Duration::zero(),
        ..Thresholds::default()
    };
    let items = review(&facts, &zero, now());
    assert_eq!(items.len(), 1);
    let item = items.first().unwrap();
    assert_eq!(item.since, now());
    assert!(item.detail.contains("never logged in"), "{}", item.detail);
    assert!(item.detail.contains("一度もログインしていません"));
}

#[test]
fn certificates_expiring_within_thirty_days_are_listed_unless_renewed_or_revoked() {
    // (certificates, serials listed)
    let cases: [(Vec<CertificateFacts>, Vec<&str>); 7] = [
        (vec![cert("0a", "alice", 10, false)], vec!["0a"]),
        (vec![cert("0a", "alice", 30, false)], vec!["0a"]),
        (vec![cert("0a", "alice", 31, false)], vec![]),
        (vec![cert("0a", "alice", 10, true)], vec![]),
        // Expired already: it no longer opens the door, nothing to renew.
        (vec![cert("0a", "alice", -1, false)], vec![]),
        // Renewed: the new certificate outlives the window.
        (
            vec![
                cert("0a", "alice", 10, false),
                cert("0b", "alice", 90, false),
            ],
            vec![],
        ),
        // Bob's new certificate doesn't renew Alice's; a revoked one renews nothing.
        (
            vec![
                cert("0a", "alice", 10, false),
                cert("0b", "bob", 90, false),
                cert("0c", "alice", 90, true),
            ],
            vec!["0a"],
        ),
    ];
    for (certificates, expected) in cases {
        let got = listed(
            Facts {
                certificates: certificates.clone(),
                ..Facts::default()
            },
            Thresholds::default(),
        );
        let expected: Vec<_> = expected
            .into_iter()
            .map(|s| (ReviewKind::ExpiringCertificate, s.to_owned()))
            .collect();
        assert_eq!(got, expected, "{certificates:?}");
    }
}

#[test]
fn vendors_without_a_plan_for_a_year_are_listed() {
    // (vendor, listed)
    let cases = [
        (vendor("new", 30, None), false),
        (vendor("quiet", 365, None), true),
        (vendor("busy", 900, Some(10)), false),
        (vendor("lapsed", 900, Some(366)), true),
    ];
    for (facts, expected) in cases {
        let name = facts.name.to_string();
        let got = listed(
            Facts {
                vendors: vec![facts],
                ..Facts::default()
            },
            Thresholds::default(),
        );
        assert_eq!(
            got == [(ReviewKind::IdleVendor, name.clone())],
            expected,
            "{name}: {got:?}"
        );
        assert!(expected || got.is_empty());
    }
}

#[test]
fn operators_without_totp_are_listed() {
    let without = AccountFacts {
        has_totp: false,
        ..account("nototp", AccountKind::Operator, 1, None)
    };
    let disabled = AccountFacts {
        enabled: false,
        ..without.clone()
    };
    let with = account("withtotp", AccountKind::Operator, 1, None);
    let got = listed(
        Facts {
            accounts: vec![without, disabled, with],
            ..Facts::default()
        },
        Thresholds::default(),
    );
    assert_eq!(
        got,
        [(ReviewKind::OperatorWithoutTotp, "nototp".to_owned())]
    );
}

#[test]
fn items_come_by_kind_then_subject() {
    let facts = Facts {
        accounts: vec![
            account("zed", AccountKind::Engineer, 100, None),
            account("amy", AccountKind::Engineer, 100, None),
        ],
        certificates: vec![cert("ff", "zed", 5, false)],
        vendors: vec![vendor("acme", 400, None)],
    };
    let got = listed(facts, Thresholds::default());
    assert_eq!(
        got,
        [
            (ReviewKind::DormantEngineer, "amy".to_owned()),
            (ReviewKind::DormantEngineer, "zed".to_owned()),
            (ReviewKind::ExpiringCertificate, "ff".to_owned()),
            (ReviewKind::IdleVendor, "acme".to_owned()),
        ]
    );
    assert_eq!(ReviewKind::ALL.len(), 4);
    for kind in ReviewKind::ALL {
        assert!(kind.heading().contains(" / "), "Japanese / English");
    }
}

#[test]
fn accounts_locked_now_are_listed_with_their_end_in_jst() {
    use AccountKind::{Engineer, Operator};
    let lock = |login: &str, kind, minutes: Option<i64>| AccountFacts {
        locked_until: minutes.map(|m| now() + Duration::minutes(m)),
        ..account(login, kind, 10, Some(1))
    };
    let accounts = [
        lock("zed", Engineer, Some(15)),
        lock("alice", Engineer, Some(1)),
        // A lock that ended is no lock, even while the row still holds its end.
        lock("ended", Engineer, Some(0)),
        lock("past", Engineer, Some(-5)),
        lock("never", Engineer, None),
        AccountFacts {
            enabled: false,
            ..lock("olga", Operator, Some(10))
        },
    ];
    let locked = locked_accounts(&accounts, now());
    let listed: Vec<(&str, AccountKind)> =
        locked.iter().map(|l| (l.login.as_str(), l.kind)).collect();
    assert_eq!(
        listed,
        [("alice", Engineer), ("olga", Operator), ("zed", Engineer)]
    );
    assert_eq!(
        locked[0].detail,
        "locked until 2026-11-26 18:01:00 JST / 2026-11-26 18:01:00 JST までロック中"
    );
    // Not review items: the review itself is unchanged by locks.
    let facts = Facts {
        accounts: accounts.to_vec(),
        ..Facts::default()
    };
    assert!(review(&facts, &Thresholds::default(), now()).is_empty());
}
