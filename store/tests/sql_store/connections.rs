//! Logged-in connections without a session (issue 12): recorded per node, listed for every
//! process, killed through a request with `session.killed`, forgotten on close and at a
//! node's restart.

use fumidai_store::{Actor, AuditKind, Error, NewConnection};
use policy::ids::SessionId;

use crate::harness::*;

on_both_backends!(
    connections_are_listed_killed_and_forgotten,
    a_restarted_node_forgets_only_its_own_connections,
    a_blocked_engineer_no_longer_sees_the_plan_in_admission
);

fn new_connection() -> NewConnection {
    NewConnection {
        id: SessionId::generate(),
        engineer: login("alice"),
        client_addr: "192.0.2.10:50022".parse().unwrap(),
    }
}

fn olga() -> Actor {
    Actor::Cli {
        os_user: "olga".into(),
    }
}

async fn connections_are_listed_killed_and_forgotten(db: TestDb) {
    with_alice_and_db01(&db).await;
    db.store.set_node("node-a").unwrap();
    let first = new_connection();
    let second = new_connection();
    db.store.add_connection(first.clone()).await.unwrap();
    db.store.add_connection(second.clone()).await.unwrap();
    assert!(db.store.add_connection(first.clone()).await.is_err());
    // Another process on the same database sees them.
    let other = db.reopen(db.key.clone()).await;
    let listed = fumidai_store::Store::connections(&other).await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![first.id, second.id]
    );
    assert_eq!(listed[0].engineer.as_str(), "alice");
    assert_eq!(listed[0].node.as_deref(), Some("node-a"));
    assert!(listed[0].kill_requested_at.is_none());

    let (killed, appended) = db
        .appended_by(
            db.store
                .request_connection_kill(&first.id, "left logged in", &olga()),
        )
        .await;
    let killed = killed.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::SessionKilled]));
    assert_eq!(killed.kill_requested_by.as_deref(), Some("cli:olga"));
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.subject, first.id.to_string());
    assert_eq!(record.detail["state"], "logged_in_no_channel");
    assert_eq!(record.detail["reason"], "left logged in");
    // Twice: refused, nothing appended.
    let (again, appended) = db
        .appended_by(
            db.store
                .request_connection_kill(&first.id, "again", &olga()),
        )
        .await;
    assert!(
        matches!(
            again,
            Err(Error::KillPending {
                kind: "connection",
                ..
            })
        ),
        "{again:?}"
    );
    assert!(appended.is_empty());
    // Unknown: not found.
    assert!(matches!(
        db.store
            .request_connection_kill(&SessionId::generate(), "x", &olga())
            .await,
        Err(Error::NotFound { .. })
    ));

    db.store.remove_connection(&first.id).await.unwrap();
    db.store.remove_connection(&first.id).await.unwrap();
    let left = db.store.connections().await.unwrap();
    assert_eq!(
        left.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![second.id]
    );
}

async fn a_restarted_node_forgets_only_its_own_connections(db: TestDb) {
    with_alice_and_db01(&db).await;
    assert!(matches!(
        db.store.remove_orphaned_connections().await,
        Err(Error::NotFound { .. })
    ));
    db.store.set_node("node-a").unwrap();
    let a = new_connection();
    db.store.add_connection(a.clone()).await.unwrap();
    let node_b = db.reopen(db.key.clone()).await;
    fumidai_store::Store::set_node(&node_b, "node-b").unwrap();
    let b = new_connection();
    fumidai_store::Store::add_connection(&node_b, b.clone())
        .await
        .unwrap();
    let restarted = db.reopen(db.key.clone()).await;
    fumidai_store::Store::set_node(&restarted, "node-a").unwrap();
    let removed = fumidai_store::Store::remove_orphaned_connections(&restarted)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let left = db.store.connections().await.unwrap();
    assert_eq!(left.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b.id]);
}

async fn a_blocked_engineer_no_longer_sees_the_plan_in_admission(db: TestDb) {
    with_alice_and_db01(&db).await;
    let plan = new_plan(&["alice"], &["db01"]);
    db.store.submit_plan(plan.clone(), &olga()).await.unwrap();
    let approved = policy::plan::approve(
        &plan,
        policy::plan::Approver::operator("oscar"),
        now_micros(),
    )
    .unwrap();
    db.store.decide_plan(approved, &olga()).await.unwrap();
    let facts = db
        .store
        .admission_facts(&login("alice"), &target_name("db01"))
        .await
        .unwrap();
    assert_eq!(facts.plans.len(), 1);

    let (blocked, appended) = db
        .appended_by(
            db.store
                .block_engineer(&plan.id, &login("alice"), "killed, blocked", &olga()),
        )
        .await;
    blocked.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::PlanEngineerBlocked]));
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.detail["engineer"], "alice");
    assert_eq!(record.actor, "cli:olga");
    let facts = db
        .store
        .admission_facts(&login("alice"), &target_name("db01"))
        .await
        .unwrap();
    assert!(facts.plans.is_empty(), "{:?}", facts.plans);
    // The plan itself is untouched, for others and the report.
    assert!(db.store.plan(&plan.id).await.unwrap().is_some());
    // Twice: refused, nothing appended; an unknown plan: not found.
    let (again, appended) = db
        .appended_by(
            db.store
                .block_engineer(&plan.id, &login("alice"), "again", &olga()),
        )
        .await;
    assert!(
        matches!(again, Err(Error::AlreadyExists { .. })),
        "{again:?}"
    );
    assert!(appended.is_empty());
    assert!(matches!(
        db.store
            .block_engineer(
                &policy::ids::PlanId::generate(),
                &login("alice"),
                "x",
                &olga()
            )
            .await,
        Err(Error::NotFound { .. })
    ));
}
