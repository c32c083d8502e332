//! Login outcomes: TOTP step claims (a code works once), failure counting and lock-out.

use chrono::Duration;
use fumidai_store::{AuditKind, Error, FailureRecorded, StepClaim};
use policy::lockout::{AfterFailure, FailureState, LockoutPolicy};
use policy::login::LoginRejection;
use policy::totp::TimeStep;
use serde_json::json;

use crate::harness::*;

on_both_backends!(
    a_step_is_claimed_once,
    five_counted_failures_lock,
    success_resets_the_count,
    failures_that_say_nothing_about_secrets_are_not_counted,
    unknown_logins_are_audited_without_error,
    last_logins_come_from_the_audit_trail,
);

async fn a_step_is_claimed_once(db: TestDb) {
    with_alice(&db).await;
    let alice = login("alice");
    let (claim, appended) = db
        .appended_by(
            db.store
                .record_login_success(&alice, TimeStep(100), &attempt(t0())),
        )
        .await;
    assert_eq!(claim.unwrap(), StepClaim::Claimed);
    assert_eq!(appended, kinds(&[AuditKind::LoginSuccess]));
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(
        (record.actor.as_str(), record.subject.as_str()),
        ("person:alice", "alice")
    );
    assert_eq!(
        record.detail,
        json!({"protocol": "ssh", "client_addr": "192.0.2.10:50022", "certificate_serial": "1a2b", "totp_step": 100})
    );

    // The same step again, or an earlier one: refused, and nothing recorded.
    for step in [100, 99] {
        let (claim, appended) = db
            .appended_by(
                db.store
                    .record_login_success(&alice, TimeStep(step), &attempt(t0())),
            )
            .await;
        assert_eq!(claim.unwrap(), StepClaim::AlreadyUsed, "step {step}");
        assert!(appended.is_empty());
    }
    let claim = db
        .store
        .record_login_success(&alice, TimeStep(101), &attempt(t0()))
        .await;
    assert_eq!(claim.unwrap(), StepClaim::Claimed);
    let creds = db.store.credentials(&alice).await.unwrap().unwrap();
    assert_eq!(creds.last_totp_step, Some(TimeStep(101)));

    let unknown = db
        .store
        .record_login_success(&login("nobody"), TimeStep(5), &attempt(t0()))
        .await;
    assert!(
        matches!(
            unknown,
            Err(Error::NotFound {
                kind: "account",
                ..
            })
        ),
        "{unknown:?}"
    );
}

async fn five_counted_failures_lock(db: TestDb) {
    with_alice(&db).await;
    let policy = LockoutPolicy::default();
    for i in 1..=4 {
        let (rec, appended) = db
            .appended_by(db.store.record_login_failure(
                "alice",
                LoginRejection::WrongCode,
                &attempt(t0()),
                &policy,
            ))
            .await;
        let expected = FailureState {
            consecutive_failures: i,
            locked_until: None,
        };
        assert_eq!(
            rec.unwrap(),
            FailureRecorded::Applied(AfterFailure::Count(expected))
        );
        assert_eq!(appended, kinds(&[AuditKind::LoginFailure]));
    }
    let until = t0() + Duration::minutes(15);
    let (rec, appended) = db
        .appended_by(db.store.record_login_failure(
            "alice",
            LoginRejection::WrongPassword,
            &attempt(t0()),
            &policy,
        ))
        .await;
    let locked = FailureState {
        consecutive_failures: 0,
        locked_until: Some(until),
    };
    assert_eq!(
        rec.unwrap(),
        FailureRecorded::Applied(AfterFailure::Lock(locked))
    );
    assert_eq!(
        appended,
        kinds(&[AuditKind::LoginFailure, AuditKind::AccountLocked])
    );
    let lock_record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(lock_record.subject, "alice");
    assert_eq!(
        lock_record.detail["locked_until"],
        json!("2026-11-26T09:15:00.000000Z")
    );

    let creds = db
        .store
        .credentials(&login("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.failures, locked);
    assert_eq!(creds.account.locked_until, Some(until));

    // Counted failures during the lock don't extend it (an attacker guessing slowly can't
    // keep the person out for ever).
    let later = t0() + Duration::minutes(10);
    let (rec, appended) = db
        .appended_by(db.store.record_login_failure(
            "alice",
            LoginRejection::WrongCode,
            &attempt(later),
            &policy,
        ))
        .await;
    assert_eq!(
        rec.unwrap(),
        FailureRecorded::Applied(AfterFailure::StillLocked(locked))
    );
    assert_eq!(appended, kinds(&[AuditKind::LoginFailure]));
    let creds = db
        .store
        .credentials(&login("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.failures.locked_until, Some(until));
}

async fn success_resets_the_count(db: TestDb) {
    with_alice(&db).await;
    let policy = LockoutPolicy::default();
    for _ in 0..4 {
        db.store
            .record_login_failure("alice", LoginRejection::WrongCode, &attempt(t0()), &policy)
            .await
            .unwrap();
    }
    assert_eq!(
        db.store
            .credentials(&login("alice"))
            .await
            .unwrap()
            .unwrap()
            .failures
            .consecutive_failures,
        4
    );
    let claim = db
        .store
        .record_login_success(&login("alice"), TimeStep(7), &attempt(t0()))
        .await
        .unwrap();
    assert_eq!(claim, StepClaim::Claimed);
    assert_eq!(
        db.store
            .credentials(&login("alice"))
            .await
            .unwrap()
            .unwrap()
            .failures,
        FailureState::default()
    );
    // Counting starts again: four more don't lock.
    let mut last = None;
    for _ in 0..4 {
        last = Some(
            db.store
                .record_login_failure("alice", LoginRejection::WrongCode, &attempt(t0()), &policy)
                .await
                .unwrap(),
        );
    }
    let four = FailureState {
        consecutive_failures: 4,
        locked_until: None,
    };
    assert_eq!(
        last,
        Some(FailureRecorded::Applied(AfterFailure::Count(four)))
    );

    // A success also lifts a lock (policy refuses logins while locked; the store just records).
    db.store
        .record_login_failure("alice", LoginRejection::WrongCode, &attempt(t0()), &policy)
        .await
        .unwrap();
    assert!(
        db.store
            .account(&login("alice"))
            .await
            .unwrap()
            .unwrap()
            .locked_until
            .is_some()
    );
    db.store
        .record_login_success(&login("alice"), TimeStep(8), &attempt(t0()))
        .await
        .unwrap();
    assert_eq!(
        db.store
            .account(&login("alice"))
            .await
            .unwrap()
            .unwrap()
            .locked_until,
        None
    );
}

async fn failures_that_say_nothing_about_secrets_are_not_counted(db: TestDb) {
    with_alice(&db).await;
    let policy = LockoutPolicy::default();
    for reason in [
        LoginRejection::LockedOut,
        LoginRejection::CertificateMismatch,
        LoginRejection::SourceNotAllowed,
        LoginRejection::EmptyAnswer,
    ] {
        for _ in 0..6 {
            let (rec, appended) = db
                .appended_by(db.store.record_login_failure(
                    "alice",
                    reason,
                    &attempt(t0()),
                    &policy,
                ))
                .await;
            assert_eq!(rec.unwrap(), FailureRecorded::NotCounted);
            assert_eq!(appended, kinds(&[AuditKind::LoginFailure]));
        }
        let record = db.store.audit_tail(1).await.unwrap().remove(0);
        assert_eq!(record.detail["reason"], json!(reason.as_str()));
        assert_eq!(record.detail["counted"], json!(false));
    }
    assert_eq!(
        db.store
            .credentials(&login("alice"))
            .await
            .unwrap()
            .unwrap()
            .failures,
        FailureState::default()
    );
}

async fn unknown_logins_are_audited_without_error(db: TestDb) {
    let policy = LockoutPolicy::default();
    let (rec, appended) = db
        .appended_by(db.store.record_login_failure(
            "mallory",
            LoginRejection::UnknownAccount,
            &attempt(t0()),
            &policy,
        ))
        .await;
    assert_eq!(rec.unwrap(), FailureRecorded::UnknownAccount);
    assert_eq!(appended, kinds(&[AuditKind::LoginFailure]));
    // Even a counted reason, and a login that isn't even a valid name.
    let rec = db
        .store
        .record_login_failure(
            "Not A Login!",
            LoginRejection::WrongPassword,
            &attempt(t0()),
            &policy,
        )
        .await;
    assert_eq!(rec.unwrap(), FailureRecorded::UnknownAccount);

    let tail = db.store.audit_tail(2).await.unwrap();
    assert_eq!(tail[0].subject, "mallory");
    assert_eq!(tail[0].actor, "peer:192.0.2.10:50022");
    assert_eq!(
        tail[0].detail,
        json!({
            "reason": "unknown_account",
            "protocol": "ssh",
            "client_addr": "192.0.2.10:50022",
            "certificate_serial": "1a2b",
            "counted": false,
        })
    );
    assert_eq!(tail[1].subject, "Not A Login!");

    // Whatever a client types is kept, but bounded.
    let long = "x".repeat(10_000);
    db.store
        .record_login_failure(
            &long,
            LoginRejection::WrongPassword,
            &attempt(t0()),
            &policy,
        )
        .await
        .unwrap();
    assert_eq!(db.store.audit_tail(1).await.unwrap()[0].subject.len(), 128);
}

async fn last_logins_come_from_the_audit_trail(db: TestDb) {
    with_alice(&db).await;
    db.store
        .add_account(engineer("bob", "acme", b"bob-secret-0123456789"), &cli())
        .await
        .unwrap();
    assert!(db.store.last_logins().await.unwrap().is_empty());

    let alice = login("alice");
    let before = chrono::Utc::now() - Duration::seconds(1);
    let claim = db
        .store
        .record_login_success(&alice, TimeStep(100), &attempt(t0()))
        .await;
    assert_eq!(claim.unwrap(), StepClaim::Claimed);
    let first = db.store.last_logins().await.unwrap();
    assert_eq!(first.len(), 1, "bob never logged in: {first:?}");
    let (who, at) = first[0].clone();
    assert_eq!(who, alice);
    assert!(at >= before && at <= chrono::Utc::now(), "{at}");

    // A failure is not a login; a later success moves the time on.
    db.store
        .record_login_failure(
            "alice",
            LoginRejection::WrongPassword,
            &attempt(t0()),
            &LockoutPolicy::default(),
        )
        .await
        .unwrap();
    assert_eq!(db.store.last_logins().await.unwrap(), first);
    let claim = db
        .store
        .record_login_success(&alice, TimeStep(101), &attempt(t0()))
        .await;
    assert_eq!(claim.unwrap(), StepClaim::Claimed);
    let second = db.store.last_logins().await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].0, alice);
    assert!(second[0].1 >= at);
}
