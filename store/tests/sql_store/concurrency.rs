//! Writers racing: appends stay one chain, a TOTP step is claimed by one login only, and
//! the lock-out counts every failure exactly once.

use std::sync::Arc;

use fumidai_store::{Actor, AuditEvent, AuditKind, AuditVerification, FailureRecorded, StepClaim};
use policy::lockout::{AfterFailure, LockoutPolicy};
use policy::login::LoginRejection;
use policy::totp::TimeStep;
use tokio::task::JoinSet;

use crate::harness::*;

on_both_backends!(
    parallel_appends_keep_one_chain,
    parallel_logins_claim_a_step_once,
    parallel_failures_lock_once
);

async fn parallel_appends_keep_one_chain(db: TestDb) {
    const N: i64 = 20;
    let mut tasks = JoinSet::new();
    for i in 0..N {
        let store = Arc::clone(&db.store);
        tasks.spawn(async move {
            store
                .append_audit(AuditEvent::new(
                    AuditKind::ConfigLoaded,
                    Actor::System,
                    format!("t{i}"),
                ))
                .await
        });
    }
    let mut seqs: Vec<i64> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|r| r.unwrap().seq)
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>());
    assert!(matches!(
        db.store.verify_audit().await.unwrap(),
        AuditVerification::Intact { records, .. } if records == N as u64
    ));
}

async fn parallel_logins_claim_a_step_once(db: TestDb) {
    with_alice(&db).await;
    let mut tasks = JoinSet::new();
    for _ in 0..10 {
        let store = Arc::clone(&db.store);
        tasks.spawn(async move {
            store
                .record_login_success(&login("alice"), TimeStep(500), &attempt(t0()))
                .await
        });
    }
    let claims: Vec<StepClaim> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        claims.iter().filter(|c| **c == StepClaim::Claimed).count(),
        1,
        "{claims:?}"
    );
    let successes = db
        .kinds_after(0)
        .await
        .into_iter()
        .filter(|k| k == AuditKind::LoginSuccess.as_str())
        .count();
    assert_eq!(successes, 1);
}

async fn parallel_failures_lock_once(db: TestDb) {
    with_alice(&db).await;
    let before = db.head_seq().await;
    let mut tasks = JoinSet::new();
    for _ in 0..12 {
        let store = Arc::clone(&db.store);
        tasks.spawn(async move {
            let policy = LockoutPolicy::default();
            store
                .record_login_failure("alice", LoginRejection::WrongCode, &attempt(t0()), &policy)
                .await
        });
    }
    let outcomes: Vec<FailureRecorded> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let count = |f: fn(&AfterFailure) -> bool| {
        outcomes
            .iter()
            .filter(|o| matches!(o, FailureRecorded::Applied(a) if f(a)))
            .count()
    };
    assert_eq!(
        count(|a| matches!(a, AfterFailure::Count(_))),
        4,
        "{outcomes:?}"
    );
    assert_eq!(
        count(|a| matches!(a, AfterFailure::Lock(_))),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        count(|a| matches!(a, AfterFailure::StillLocked(_))),
        7,
        "{outcomes:?}"
    );
    let appended = db.kinds_after(before).await;
    assert_eq!(
        appended
            .iter()
            .filter(|k| *k == AuditKind::AccountLocked.as_str())
            .count(),
        1
    );
    assert_eq!(
        appended
            .iter()
            .filter(|k| *k == AuditKind::LoginFailure.as_str())
            .count(),
        12
    );
    assert!(matches!(
        db.store.verify_audit().await.unwrap(),
        AuditVerification::Intact { .. }
    ));
}
