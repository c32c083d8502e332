//! Sessions: start and end with their audit events, the seal in the chain, live listing.

use fumidai_store::{AuditKind, Error, NewSession, RecordingSeal, Store};
use policy::ids::{PlanId, SessionId};
use policy::limits::EndReason;
use policy::plan::approve;
use serde_json::json;

use crate::harness::*;

on_both_backends!(
    sessions_start_and_end_once,
    sessions_need_their_references,
    a_restarting_node_ends_its_own_orphaned_sessions_only
);

/// alice on db01 under an approved plan; returns the plan's ID.
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

fn new_session(plan: PlanId) -> NewSession {
    let id = SessionId::generate();
    NewSession {
        id,
        engineer: login("alice"),
        target: target_name("db01"),
        plan,
        client_addr: "192.0.2.10:50022".parse().unwrap(),
        recording: Some(format!("{id}.cast")),
    }
}

async fn sessions_start_and_end_once(db: TestDb) {
    let plan = admitted(&db).await;
    let new = new_session(plan);
    let (started, appended) = db.appended_by(db.store.start_session(new.clone())).await;
    let started = started.unwrap();
    // The plan's first session makes it active.
    assert_eq!(
        appended,
        kinds(&[AuditKind::SessionStarted, AuditKind::PlanActivated])
    );
    assert_eq!(
        (started.id, started.ended_at, started.end_reason),
        (new.id, None, None)
    );
    let record = db.store.audit_tail(2).await.unwrap().remove(0);
    assert_eq!(record.subject, new.id.to_string());
    assert_eq!(record.actor, "person:alice");
    assert_eq!(
        record.detail,
        json!({
            "engineer": "alice",
            "target": "db01",
            "plan_id": plan.to_string(),
            "client_addr": "192.0.2.10:50022",
            "recording": format!("{}.cast", new.id),
        })
    );
    let other = db.store.start_session(new_session(plan)).await.unwrap();
    assert_eq!(
        db.store.session(&new.id).await.unwrap(),
        Some(started.clone())
    );
    assert_eq!(
        db.store.session(&SessionId::generate()).await.unwrap(),
        None
    );
    let live = db.store.sessions(true).await.unwrap();
    assert_eq!(live.len(), 2);

    let seal = RecordingSeal {
        sha256: "ab".repeat(32),
        signature: "cd".repeat(64),
    };
    let (ended, appended) = db
        .appended_by(
            db.store
                .end_session(&new.id, EndReason::Normal, Some(seal.clone())),
        )
        .await;
    let ended = ended.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::SessionEnded]));
    assert_eq!(ended.end_reason, Some(EndReason::Normal));
    assert!(ended.ended_at.is_some_and(|t| t >= ended.started_at));
    assert_eq!(ended.seal, Some(seal.clone()));
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.actor, "system");
    assert_eq!(record.detail["reason"], json!("normal"));
    assert_eq!(record.detail["recording_sha256"], json!(seal.sha256));
    assert_eq!(record.detail["recording_signature"], json!(seal.signature));

    // Ended once only: a kill racing the close changes nothing.
    let (again, appended) = db
        .appended_by(db.store.end_session(&new.id, EndReason::Killed, None))
        .await;
    assert!(
        matches!(
            again,
            Err(Error::InvalidTransition {
                kind: "session",
                ..
            })
        ),
        "{again:?}"
    );
    assert!(appended.is_empty());
    assert_eq!(
        db.store.session(&new.id).await.unwrap(),
        Some(ended.clone())
    );

    assert_eq!(db.store.sessions(true).await.unwrap(), vec![other.clone()]);
    let all = db.store.sessions(false).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.contains(&ended) && all.contains(&other));

    // Without a recording seal (e.g. a session refused before recording).
    let ended_other = db
        .store
        .end_session(&other.id, EndReason::Error, None)
        .await
        .unwrap();
    assert_eq!(ended_other.seal, None);
    assert!(db.store.sessions(true).await.unwrap().is_empty());
    assert!(matches!(
        db.store
            .end_session(&SessionId::generate(), EndReason::Normal, None)
            .await,
        Err(Error::NotFound {
            kind: "session",
            ..
        })
    ));
}

async fn sessions_need_their_references(db: TestDb) {
    let plan = admitted(&db).await;
    let new = new_session(plan);
    db.store.start_session(new.clone()).await.unwrap();
    let (dup, appended) = db.appended_by(db.store.start_session(new)).await;
    assert!(
        matches!(
            dup,
            Err(Error::AlreadyExists {
                kind: "session",
                ..
            })
        ),
        "{dup:?}"
    );
    assert!(appended.is_empty());
    let mut unknown_plan = new_session(PlanId::generate());
    let (missing, appended) = db
        .appended_by(db.store.start_session(unknown_plan.clone()))
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    assert!(appended.is_empty());
    unknown_plan.plan = plan;
    unknown_plan.target = target_name("db99");
    assert!(matches!(
        db.store.start_session(unknown_plan).await,
        Err(Error::NotFound { .. })
    ));
}

/// Two gateway nodes share the database; node A dies with a session live, node B holds one
/// that really runs. A's restart ends A's session only, with reason and cause on record.
async fn a_restarting_node_ends_its_own_orphaned_sessions_only(db: TestDb) {
    let plan = admitted(&db).await;
    // Without a node name, nothing can be told apart: refused.
    assert!(matches!(
        db.store
            .end_orphaned_sessions(EndReason::Error, "gateway_restart")
            .await,
        Err(Error::NotFound { .. })
    ));
    db.store.set_node("node-a").unwrap();
    db.store.set_node("node-a").unwrap();
    assert!(matches!(
        db.store.set_node("node-b"),
        Err(Error::InvalidTransition { .. })
    ));
    let a_live = db.store.start_session(new_session(plan)).await.unwrap();
    let a_done = db.store.start_session(new_session(plan)).await.unwrap();
    db.store
        .end_session(&a_done.id, EndReason::Normal, None)
        .await
        .unwrap();
    let node_b = db.reopen(db.key.clone()).await;
    node_b.set_node("node-b").unwrap();
    let b_live = node_b.start_session(new_session(plan)).await.unwrap();

    // Node A starts again: a new process, the same node name.
    let restarted = db.reopen(db.key.clone()).await;
    restarted.set_node("node-a").unwrap();
    let (ended, appended) = db
        .appended_by(restarted.end_orphaned_sessions(EndReason::Error, "gateway_restart"))
        .await;
    let ended = ended.unwrap();
    assert_eq!(
        ended.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![a_live.id]
    );
    assert_eq!(appended, kinds(&[AuditKind::SessionEnded]));
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.subject, a_live.id.to_string());
    assert_eq!(record.detail["reason"], "error");
    assert_eq!(record.detail["cause"], "gateway_restart");
    let stored = db.store.session(&a_live.id).await.unwrap().unwrap();
    assert_eq!(stored.end_reason, Some(EndReason::Error));
    // Node B's session still runs; A's finished one kept its reason.
    let live: Vec<SessionId> = db
        .store
        .sessions(true)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live, vec![b_live.id]);
    let done = db.store.session(&a_done.id).await.unwrap().unwrap();
    assert_eq!(done.end_reason, Some(EndReason::Normal));
    // A second start finds nothing left to end.
    assert!(
        restarted
            .end_orphaned_sessions(EndReason::Error, "gateway_restart")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        db.store.verify_audit().await.unwrap(),
        fumidai_store::AuditVerification::Intact { .. }
    ));
}
