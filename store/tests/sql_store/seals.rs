//! Recording seals read back by session, not by scanning the chain.

use fumidai_store::{Actor, AuditEvent, AuditKind, Seal};
use policy::ids::SessionId;
use serde_json::json;

use crate::harness::*;

on_both_backends!(
    session_seals_are_that_sessions_oldest_first,
    recording_seals_lists_every_session
);

async fn seal(db: &TestDb, session: SessionId, statement: &str) -> i64 {
    let event = AuditEvent::new(
        AuditKind::RecordingSealed,
        Actor::System,
        session.to_string(),
    )
    .with_detail(json!({
        "statement": statement,
        "signature": "ab".repeat(64),
        "engineer": "alice",
        "target": "db01",
    }));
    db.store.append_audit(event).await.unwrap().seq
}

async fn session_seals_are_that_sessions_oldest_first(db: TestDb) {
    let (a, b) = (SessionId::generate(), SessionId::generate());
    assert!(db.store.session_seals(&a).await.unwrap().is_empty());
    let first = seal(&db, a, "statement a/1").await;
    seal(&db, b, "statement b").await;
    // Another kind naming the same session is no seal.
    db.store
        .append_audit(AuditEvent::new(
            AuditKind::SessionKilled,
            cli(),
            a.to_string(),
        ))
        .await
        .unwrap();
    let second = seal(&db, a, "statement a/2").await;
    // A record without statement or signature reads back with them empty.
    let bare = db
        .store
        .append_audit(AuditEvent::new(
            AuditKind::RecordingSealed,
            Actor::System,
            a.to_string(),
        ))
        .await
        .unwrap();

    let seals = db.store.session_seals(&a).await.unwrap();
    assert_eq!(
        seals
            .iter()
            .map(|s| (s.seq, s.session, s.statement.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (first, a, "statement a/1"),
            (second, a, "statement a/2"),
            (bare.seq, a, ""),
        ]
    );
    let Some(Seal { signature, at, .. }) = seals.first() else {
        panic!("no seal")
    };
    assert_eq!(signature, &"ab".repeat(64));
    let tail = db.store.audit_tail(100).await.unwrap();
    assert_eq!(
        Some(*at),
        tail.iter().find(|r| r.seq == first).map(|r| r.at)
    );
    assert_eq!(seals.last().map(|s| s.signature.as_str()), Some(""));
}

async fn recording_seals_lists_every_session(db: TestDb) {
    assert!(db.store.recording_seals().await.unwrap().is_empty());
    let (a, b) = (SessionId::generate(), SessionId::generate());
    seal(&db, a, "a").await;
    db.store
        .append_audit(AuditEvent::new(AuditKind::ConfigLoaded, cli(), "x"))
        .await
        .unwrap();
    seal(&db, b, "b").await;
    let all = db.store.recording_seals().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|s| (s.session, s.statement.as_str()))
            .collect::<Vec<_>>(),
        vec![(a, "a"), (b, "b")]
    );
}
