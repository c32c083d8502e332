//! The login procedure against a real SQLite store.

use policy::ids::AccountKind;
use store::{Actor, CertSerial, MasterKey, NewAccount, NewVendor};

use super::*;

const PASSWORD: &str = "Suzuran-Kagami-7731";

async fn authenticator() -> (Authenticator, TotpSecret, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = store::open(&url, MasterKey::generate()).await.unwrap();
    let actor = Actor::Cli {
        os_user: "test".to_owned(),
    };
    let vendor = NewVendor {
        name: "acme".parse().unwrap(),
        allow_from: vec!["192.0.2.0/24".parse().unwrap()],
        emergency_allowed: false,
    };
    store.add_vendor(vendor, &actor).await.unwrap();
    let totp = TotpSecret::generate();
    let account = NewAccount {
        login: "alice".parse().unwrap(),
        kind: AccountKind::Engineer,
        display_name: None,
        vendor: Some("acme".parse().unwrap()),
        role: None,
        password_hash: policy::password::hash(&SecretString::from(PASSWORD)).unwrap(),
        totp_secret: TotpSecret::from_bytes(totp.expose_bytes().to_vec()),
    };
    store.add_account(account, &actor).await.unwrap();
    (
        Authenticator::new(store, LockoutPolicy::default()),
        totp,
        dir,
    )
}

fn request(login: &str, from: &str, password: &str, code: &str) -> LoginRequest {
    LoginRequest {
        login: login.to_owned(),
        entrance: Entrance::Certificate {
            certificate: PeerIdentity {
                login: "alice".parse().unwrap(),
                serial: CertSerial::parse("01").unwrap(),
            },
            client_addr: from.parse().unwrap(),
        },
        password: SecretString::from(password),
        code: SecretString::from(code),
        protocol: "test",
        admits: AccountKind::Engineer,
    }
}

#[tokio::test]
async fn source_outside_the_vendors_allow_list_is_refused() {
    let (auth, totp, _dir) = authenticator().await;
    let code = totp.code_at(Utc::now());
    let outcome = auth
        .login(request("alice", "198.51.100.7:4000", PASSWORD, &code))
        .await;
    assert_eq!(
        outcome.unwrap(),
        LoginOutcome::Reject(LoginRejection::SourceNotAllowed)
    );
    let outcome = auth
        .login(request("alice", "192.0.2.7:4000", PASSWORD, &code))
        .await;
    assert!(
        matches!(outcome.unwrap(), LoginOutcome::Accept { account } if account.login.as_str() == "alice")
    );
}

#[tokio::test]
async fn five_wrong_passwords_lock_out_the_right_one() {
    let (auth, totp, _dir) = authenticator().await;
    let from = "192.0.2.7:4000";
    for _ in 0..5 {
        let outcome = auth
            .login(request("alice", from, "Wrong-Kagami-7731", "000000"))
            .await;
        assert_eq!(
            outcome.unwrap(),
            LoginOutcome::Reject(LoginRejection::WrongPassword)
        );
    }
    let code = totp.code_at(Utc::now());
    let outcome = auth.login(request("alice", from, PASSWORD, &code)).await;
    assert_eq!(
        outcome.unwrap(),
        LoginOutcome::Reject(LoginRejection::LockedOut)
    );
}

#[tokio::test]
async fn empty_answers_never_lock_but_wrong_passwords_still_do() {
    let (auth, totp, _dir) = authenticator().await;
    let from = "192.0.2.7:4000";
    let code = totp.code_at(Utc::now());
    // What `scp` without a terminal sends, more often than the lock-out threshold; the
    // right password with an empty code, and an unknown login, alike.
    let empty = LoginOutcome::Reject(LoginRejection::EmptyAnswer);
    for (login, password, code) in [
        ("alice", "", ""),
        ("alice", "", ""),
        ("alice", "", code.as_str()),
        ("alice", PASSWORD, ""),
        ("alice", "", ""),
        ("alice", "", ""),
        ("mallory", "", ""),
    ] {
        let outcome = auth.login(request(login, from, password, code)).await;
        assert_eq!(outcome.unwrap(), empty);
    }
    let records = auth.store.audit_tail(100).await.unwrap();
    let failures: Vec<_> = records
        .iter()
        .filter(|r| r.kind == AuditKind::LoginFailure.as_str())
        .collect();
    assert_eq!(failures.len(), 7);
    for f in &failures {
        assert_eq!(f.detail["reason"], "empty_answer", "{f:?}");
        assert_eq!(f.detail["counted"], false, "{f:?}");
    }
    assert!(
        records
            .iter()
            .all(|r| r.kind != AuditKind::AccountLocked.as_str())
    );
    // Not locked: the right credentials get in, which also resets the device budget.
    let outcome = auth.login(request("alice", from, PASSWORD, &code)).await;
    assert!(
        matches!(outcome.unwrap(), LoginOutcome::Accept { .. }),
        "empty answers locked the account"
    );
    // A real wrong password still counts: five lock.
    for _ in 0..5 {
        let outcome = auth
            .login(request("alice", from, "Wrong-Kagami-7731", "000000"))
            .await;
        assert_eq!(
            outcome.unwrap(),
            LoginOutcome::Reject(LoginRejection::WrongPassword)
        );
    }
    let outcome = auth
        .login(request("alice", from, PASSWORD, &totp.code_at(Utc::now())))
        .await;
    assert_eq!(
        outcome.unwrap(),
        LoginOutcome::Reject(LoginRejection::LockedOut)
    );
}

#[tokio::test]
async fn empty_answers_spend_the_certificates_budget() {
    let (auth, totp, _dir) = authenticator().await;
    let auth = auth.with_failure_budget(FailureBudget {
        failures: 3,
        ..FailureBudget::default()
    });
    let from = "192.0.2.7:4000";
    for _ in 0..3 {
        let outcome = auth.login(request("alice", from, "", "")).await;
        assert_eq!(
            outcome.unwrap(),
            LoginOutcome::Reject(LoginRejection::EmptyAnswer)
        );
    }
    // A flood of empty answers is bounded like any other: the device is blocked (for
    // minutes, in memory), the person's account is not locked.
    let outcome = auth
        .login(request("alice", from, PASSWORD, &totp.code_at(Utc::now())))
        .await;
    assert_eq!(
        outcome.unwrap(),
        LoginOutcome::Reject(LoginRejection::FailureBudgetExhausted)
    );
    let account = auth
        .store
        .account(&"alice".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.locked_until, None);
}

#[tokio::test]
async fn a_certificates_failed_logins_are_bounded_then_refused_without_a_record_each() {
    let (auth, totp, _dir) = authenticator().await;
    let auth = auth.with_failure_budget(FailureBudget {
        failures: 3,
        ..FailureBudget::default()
    });
    let from = "192.0.2.7:4000";
    let mut outcomes = Vec::new();
    for i in 0..6 {
        let outcome = auth
            .login(request(&format!("ghost{i}"), from, "Guess-0000", "000000"))
            .await
            .unwrap();
        outcomes.push(outcome);
    }
    let unknown = LoginOutcome::Reject(LoginRejection::UnknownAccount);
    let blocked = LoginOutcome::Reject(LoginRejection::FailureBudgetExhausted);
    assert_eq!(
        outcomes,
        [
            unknown.clone(),
            unknown.clone(),
            unknown,
            blocked.clone(),
            blocked.clone(),
            blocked.clone()
        ]
    );
    let records = auth.store.audit_tail(100).await.unwrap();
    let count = |kind: AuditKind| records.iter().filter(|r| r.kind == kind.as_str()).count();
    assert_eq!(count(AuditKind::LoginFailure), 3);
    assert_eq!(count(AuditKind::LoginBudgetExhausted), 1);
    // Even the right credentials get nothing from this certificate while it is blocked.
    let code = totp.code_at(Utc::now());
    let outcome = auth.login(request("alice", from, PASSWORD, &code)).await;
    assert_eq!(outcome.unwrap(), blocked);
    // Another certificate (serial) is unaffected.
    let mut other = request("alice", from, PASSWORD, &code);
    if let Entrance::Certificate { certificate, .. } = &mut other.entrance {
        certificate.serial = CertSerial::parse("02").unwrap();
    }
    let outcome = auth.login(other).await.unwrap();
    assert!(
        matches!(outcome, LoginOutcome::Accept { .. }),
        "{outcome:?}"
    );
}

#[test]
fn debug_shows_no_secret() {
    let text = format!(
        "{:?}",
        request("alice", "192.0.2.7:4000", PASSWORD, "123456")
    );
    assert!(
        !text.contains(PASSWORD) && !text.contains("123456") && !text.contains("alice"),
        "{text}"
    );
}
