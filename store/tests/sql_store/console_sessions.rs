//! Console sessions (issue 15): found by the token's digest only while live, touched
//! without a record, ended once with `console.signed_out`; sign-in and sign-out on record
//! with who did them.

use chrono::Duration;
use fumidai_store::{
    Actor, AuditKind, ConsoleEnd, ConsoleSessionId, Error, NewConsoleSession, TokenDigest,
};
use policy::ids::OperatorRole;

use crate::harness::*;

on_both_backends!(
    a_console_session_lives_until_it_ends_once,
    only_the_digest_is_stored
);

fn new_session(token: [u8; 32]) -> NewConsoleSession {
    NewConsoleSession {
        id: ConsoleSessionId::generate(),
        token: TokenDigest(token),
        login: login("olga"),
        client_addr: Some("192.0.2.7".parse().unwrap()),
        csrf_token: "c".repeat(64),
        at: now_micros(),
    }
}

async fn a_console_session_lives_until_it_ends_once(db: TestDb) {
    db.store
        .add_account(operator("olga", OperatorRole::Operator), &cli())
        .await
        .unwrap();
    let new = new_session([7; 32]);
    let (started, appended) = db
        .appended_by(db.store.start_console_session(new.clone()))
        .await;
    let started = started.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::ConsoleSignedIn]));
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.actor, "person:olga");
    assert_eq!(record.subject, "olga");
    assert_eq!(record.detail["console_session"], new.id.to_string());
    assert_eq!(record.detail["client_addr"], "192.0.2.7");

    // Found by the digest, from another process too; not by another digest.
    let other = db.reopen(db.key.clone()).await;
    let found = fumidai_store::Store::console_session(&other, &TokenDigest([7; 32]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, started);
    assert_eq!(found.csrf_token, "c".repeat(64));
    assert!(
        db.store
            .console_session(&TokenDigest([8; 32]))
            .await
            .unwrap()
            .is_none()
    );
    // The same token twice: refused.
    let again = NewConsoleSession {
        id: ConsoleSessionId::generate(),
        ..new.clone()
    };
    assert!(db.store.start_console_session(again).await.is_err());

    // Touching moves last_seen forward only, and records nothing.
    let later = new.at + Duration::minutes(5);
    let (touched, appended) = db
        .appended_by(db.store.touch_console_session(&new.id, later))
        .await;
    touched.unwrap();
    assert!(appended.is_empty());
    db.store
        .touch_console_session(&new.id, new.at)
        .await
        .unwrap();
    let seen = db.store.console_session(&new.token).await.unwrap().unwrap();
    assert_eq!(seen.last_seen_at, later);

    // Ended by the system after idling: on record, and no longer found.
    let (ended, appended) = db
        .appended_by(
            db.store
                .end_console_session(&new.id, ConsoleEnd::Idle, &Actor::System),
        )
        .await;
    assert_eq!(ended.unwrap().login.as_str(), "olga");
    assert_eq!(appended, kinds(&[AuditKind::ConsoleSignedOut]));
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.actor, "system");
    assert_eq!(record.detail["reason"], "idle");
    assert!(
        db.store
            .console_session(&new.token)
            .await
            .unwrap()
            .is_none()
    );
    // Ending twice: refused, nothing appended; unknown: not found.
    let (twice, appended) = db
        .appended_by(db.store.end_console_session(
            &new.id,
            ConsoleEnd::SignedOut,
            &Actor::Person(login("olga")),
        ))
        .await;
    assert!(
        matches!(twice, Err(Error::InvalidTransition { ref from, .. }) if from == "idle"),
        "{twice:?}"
    );
    assert!(appended.is_empty());
    assert!(matches!(
        db.store
            .end_console_session(
                &ConsoleSessionId::generate(),
                ConsoleEnd::SignedOut,
                &Actor::System
            )
            .await,
        Err(Error::NotFound { .. })
    ));
    db.store.verify_audit().await.unwrap();
}

async fn only_the_digest_is_stored(db: TestDb) {
    use sqlx::Row;
    db.store
        .add_account(operator("olga", OperatorRole::Operator), &cli())
        .await
        .unwrap();
    db.store
        .start_console_session(new_session([0xab; 32]))
        .await
        .unwrap();
    let mut raw = db.raw().await;
    let row = sqlx::query("SELECT token_sha256 FROM console_sessions")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    let stored: String = row.try_get("token_sha256").unwrap();
    assert_eq!(stored, "ab".repeat(32));
}
