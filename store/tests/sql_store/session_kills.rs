//! Kill requests: recorded with `session.killed` (who and why), pending until the session
//! ends, refused for ended or unknown sessions, seen by another store on the same database.

use fumidai_store::{Actor, AuditKind, Error, NewSession, SessionRecord};
use policy::ids::{PlanId, SessionId};
use policy::limits::EndReason;
use policy::plan::approve;
use serde_json::json;

use crate::harness::*;

on_both_backends!(
    kills_are_recorded_and_pending_until_the_session_ends,
    kills_of_ended_or_unknown_sessions_are_refused,
    another_process_sees_the_request
);

async fn admitted(db: &TestDb) -> PlanId {
    with_alice_and_db01(db).await;
    let plan = new_plan(&["alice"], &["db01"]);
    db.store.submit_plan(plan.clone(), &cli()).await.unwrap();
    let approved = approve(
        &plan,
        policy::plan::Approver::operator("oscar"),
        now_micros(),
    )
    .unwrap();
    db.store.decide_plan(approved, &cli()).await.unwrap();
    plan.id
}

async fn started(db: &TestDb, plan: PlanId) -> SessionRecord {
    let new = NewSession {
        id: SessionId::generate(),
        engineer: login("alice"),
        target: target_name("db01"),
        plan,
        client_addr: "192.0.2.10:50022".parse().unwrap(),
        recording: None,
    };
    db.store.start_session(new).await.unwrap()
}

fn olga() -> Actor {
    Actor::Cli {
        os_user: "olga".into(),
    }
}

async fn kills_are_recorded_and_pending_until_the_session_ends(db: TestDb) {
    let plan = admitted(&db).await;
    let first = started(&db, plan).await;
    let second = started(&db, plan).await;
    assert!(db.store.pending_kills().await.unwrap().is_empty());

    let before = now_micros();
    let (request, appended) = db
        .appended_by(
            db.store
                .request_kill(&first.id, "suspicious activity / 不審な操作", &olga()),
        )
        .await;
    let request = request.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::SessionKilled]));
    assert_eq!(request.session, first.id);
    assert_eq!(request.requested_by, "cli:olga");
    assert_eq!(request.reason, "suspicious activity / 不審な操作");
    assert!(request.requested_at >= before);
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.subject, first.id.to_string());
    assert_eq!(record.actor, "cli:olga");
    assert_eq!(
        record.detail,
        json!({
            "engineer": "alice",
            "target": "db01",
            "plan_id": plan.to_string(),
            "reason": "suspicious activity / 不審な操作",
        })
    );

    // Pending, read back exactly; the other session is untouched and still live.
    assert_eq!(
        db.store.pending_kills().await.unwrap(),
        vec![request.clone()]
    );
    assert_eq!(db.store.sessions(true).await.unwrap().len(), 2);

    // A second request while one is pending changes nothing.
    let (again, appended) = db
        .appended_by(db.store.request_kill(&first.id, "again", &cli()))
        .await;
    assert!(
        matches!(
            &again,
            Err(Error::KillPending {
                kind: "session",
                ..
            })
        ),
        "{again:?}"
    );
    assert!(appended.is_empty());
    assert_eq!(
        db.store.pending_kills().await.unwrap(),
        vec![request.clone()]
    );

    // The gateway ends the session: the request is no longer pending.
    let ended = db
        .store
        .end_session(&first.id, EndReason::Killed, None)
        .await
        .unwrap();
    assert_eq!(ended.end_reason, Some(EndReason::Killed));
    assert!(db.store.pending_kills().await.unwrap().is_empty());

    // Two pending at once come oldest first.
    let third = started(&db, plan).await;
    let a = db
        .store
        .request_kill(&second.id, "a", &cli())
        .await
        .unwrap();
    let b = db.store.request_kill(&third.id, "b", &cli()).await.unwrap();
    assert_eq!(db.store.pending_kills().await.unwrap(), vec![a, b]);
}

async fn kills_of_ended_or_unknown_sessions_are_refused(db: TestDb) {
    let plan = admitted(&db).await;
    let session = started(&db, plan).await;
    db.store
        .end_session(&session.id, EndReason::Normal, None)
        .await
        .unwrap();
    let (ended, appended) = db
        .appended_by(db.store.request_kill(&session.id, "too late", &cli()))
        .await;
    assert!(
        matches!(&ended, Err(Error::InvalidTransition { kind: "session", from, .. }) if from == "ended"),
        "{ended:?}"
    );
    assert!(appended.is_empty());

    let (unknown, appended) = db
        .appended_by(
            db.store
                .request_kill(&SessionId::generate(), "nobody", &cli()),
        )
        .await;
    assert!(
        matches!(
            unknown,
            Err(Error::NotFound {
                kind: "session",
                ..
            })
        ),
        "{unknown:?}"
    );
    assert!(appended.is_empty());
    assert!(db.store.pending_kills().await.unwrap().is_empty());
}

/// `fumidai session kill` runs in another process (or on another node): its store is
/// another connection pool on the same database.
async fn another_process_sees_the_request(db: TestDb) {
    let plan = admitted(&db).await;
    let session = started(&db, plan).await;
    let cli_store = db.reopen(db.key.clone()).await;
    let request = fumidai_store::Store::request_kill(&cli_store, &session.id, "x", &cli())
        .await
        .unwrap();
    assert_eq!(db.store.pending_kills().await.unwrap(), vec![request]);
    cli_store.close().await;
    assert!(matches!(
        db.store.verify_audit().await.unwrap(),
        fumidai_store::AuditVerification::Intact { .. }
    ));
}
