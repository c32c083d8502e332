//! The phase's transitions that keep or drop the login's registration, and the accessors
//! the channel callbacks rely on (a table per question; the rounds themselves are driven
//! end to end by `tests/tests/{ssh_login,target_menu,emergency,actors}.rs`).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use fumidai_core::live::{Hangup, LiveConnection, LoginParts, Registry};
use policy::ids::{AccountKind, SessionId};
use policy::recheck::LostAuthority;

use super::*;

#[derive(Debug)]
struct Nowhere;

#[async_trait]
impl LiveConnection for Nowhere {
    async fn warn(&self, _text: &str) {}

    async fn disconnect(&self, _why: &Hangup) {}
}

fn who() -> LoggedIn {
    LoggedIn {
        account: Account {
            login: "alice".parse().unwrap(),
            kind: AccountKind::Engineer,
            display_name: None,
            vendor: Some("acme".parse().unwrap()),
            role: None,
            enabled: true,
            created_at: Utc::now(),
            locked_until: None,
            must_change_password: false,
        },
        target: Some("db01".parse().unwrap()),
        emergency: None,
        target_is_rdp: None,
    }
}

fn login(registry: &Registry) -> LoginGuard {
    let parts = LoginParts {
        id: SessionId::generate(),
        engineer: "alice".parse().unwrap(),
        serial: None,
        logged_in_at: Utc::now(),
    };
    registry.register_login(parts, Arc::new(Nowhere), None)
}

fn refusal(reason: &'static str) -> Refusal {
    Refusal {
        reason,
        message: format!("{reason}\r\n"),
    }
}

#[test]
fn only_a_login_or_a_refused_login_keeps_its_registration() {
    let registry = Registry::default();
    let mut logged_in = Phase::LoggedIn {
        who: who(),
        login: None,
    };
    logged_in.register_login(login(&registry));
    assert!(logged_in.login().is_some());

    // A refusal keeps the login listed, killable and re-checked (issue 12).
    logged_in.refuse(refusal("no_plan"), None);
    assert!(logged_in.login().is_some());
    assert_eq!(logged_in.refusal().map(|r| r.reason), Some("no_plan"));
    assert_eq!(logged_in.lost(), None);

    // A second refusal (lost authority) replaces the first and keeps the login.
    logged_in.refuse(refusal("revoked"), Some(LostAuthority::Revoked));
    assert!(logged_in.login().is_some());
    assert_eq!(logged_in.refusal().map(|r| r.reason), Some("revoked"));
    assert_eq!(logged_in.lost(), Some(LostAuthority::Revoked));

    // Before `LoggedIn` there is nowhere to keep it: it is dropped at once.
    let mut choosing = Phase::DeclaringEmergency {
        who: who(),
        user: "alice:db01:emergency".to_owned(),
    };
    choosing.register_login(login(&registry));
    assert!(choosing.login().is_none());
}

#[test]
fn nothing_is_refused_before_the_credentials() {
    let mut phase = Phase::start(None);
    phase.refuse(refusal("no_plan"), None);
    assert!(matches!(phase, Phase::AwaitingLogin { .. }));
    assert!(phase.who().is_none());
    assert!(phase.refusal().is_none());
}

#[test]
fn who_is_known_in_every_phase_after_the_credentials() {
    let table: Vec<(Phase, bool)> = vec![
        (Phase::start(None), false),
        (
            Phase::DeclaringEmergency {
                who: who(),
                user: String::new(),
            },
            true,
        ),
        (
            Phase::LoggedIn {
                who: who(),
                login: None,
            },
            true,
        ),
        (
            Phase::Refused {
                who: who(),
                login: None,
                refusal: refusal("x"),
                lost: None,
            },
            true,
        ),
    ];
    for (phase, known) in table {
        assert_eq!(phase.who().is_some(), known);
        assert!(phase.proxying().is_none());
    }
}

#[test]
fn take_leaves_a_connection_awaiting_login_without_the_slot() {
    let mut phase = Phase::LoggedIn {
        who: who(),
        login: None,
    };
    let taken = phase.take();
    assert!(matches!(taken, Phase::LoggedIn { .. }));
    assert!(matches!(
        phase,
        Phase::AwaitingLogin {
            notice: None,
            unauthenticated_slot: None
        }
    ));
}
