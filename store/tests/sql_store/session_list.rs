//! The console's session list (issue 15): every filter narrows, pages follow the index
//! `(started_at, id)` without gaps or repeats while sessions start meanwhile, findings
//! come with the plan's report, and a session's transfer records are its own.

use chrono::Duration;
use fumidai_store::{
    AuditEvent, AuditKind, FindingsFilter, NewSession, SessionCursor, SessionFilter, SessionState,
    StoredReport,
};
use policy::ids::{PlanId, SessionId};
use policy::limits::EndReason;
use policy::plan::{PlanStatus, approve, lifecycle};
use policy::target::{CertFingerprint, TargetPin, TargetProtocol};
use serde_json::json;

use crate::harness::*;

on_both_backends!(
    every_filter_narrows_the_list,
    pages_follow_the_index_without_gaps_or_repeats,
    findings_come_with_the_report,
    a_sessions_transfers_are_its_own
);

/// acme's alice on db01 (SSH) and kumo's bob on ws01 (RDP), each under an approved plan
/// of their vendor. Returns (acme's plan, kumo's plan).
async fn two_vendors(db: &TestDb) -> (PlanId, PlanId) {
    with_alice_and_db01(db).await;
    db.store
        .add_vendor(new_vendor("kumo", &[]), &cli())
        .await
        .unwrap();
    db.store
        .add_account(engineer("bob", "kumo", b"bob-secret-0123456789"), &cli())
        .await
        .unwrap();
    let mut ws01 = new_target("ws01", policy::target::TargetAuth::Password, Some(b"pw"));
    ws01.pin = TargetPin::RdpCertificate(CertFingerprint::of_der(b"a certificate"));
    ws01.tags = Vec::new();
    db.store.add_target(ws01, &cli()).await.unwrap();
    let acme = approved(db, new_plan(&["alice"], &["db01"])).await;
    let mut kumo = new_plan(&["bob"], &["ws01"]);
    kumo.vendor = vendor_name("kumo");
    kumo.personal_data = None;
    let kumo = approved(db, kumo).await;
    (acme, kumo)
}

async fn approved(db: &TestDb, plan: policy::plan::Plan) -> PlanId {
    db.store.submit_plan(plan.clone(), &cli()).await.unwrap();
    let decided = approve(
        &plan,
        policy::plan::Approver::operator("oscar"),
        now_micros(),
    )
    .unwrap();
    db.store.decide_plan(decided, &cli()).await.unwrap();
    plan.id
}

async fn start(db: &TestDb, plan: PlanId, engineer: &str, target: &str) -> SessionId {
    let id = SessionId::generate();
    db.store
        .start_session(NewSession {
            id,
            engineer: login(engineer),
            target: target_name(target),
            plan,
            client_addr: "192.0.2.10:50022".parse().unwrap(),
            recording: None,
        })
        .await
        .unwrap();
    id
}

async fn ids(db: &TestDb, filter: SessionFilter) -> Vec<SessionId> {
    db.store
        .session_page(&filter, None, 100)
        .await
        .unwrap()
        .sessions
        .into_iter()
        .map(|l| l.session.id)
        .collect()
}

async fn every_filter_narrows_the_list(db: TestDb) {
    let (acme, kumo) = two_vendors(&db).await;
    let a1 = start(&db, acme, "alice", "db01").await;
    let b1 = start(&db, kumo, "bob", "ws01").await;
    let a2 = start(&db, acme, "alice", "db01").await;
    db.store
        .end_session(&a1, EndReason::Idle, None)
        .await
        .unwrap();
    db.store
        .end_session(&b1, EndReason::Killed, None)
        .await
        .unwrap();

    // Newest first, each with its protocol and vendor.
    let page = db
        .store
        .session_page(&SessionFilter::default(), None, 100)
        .await
        .unwrap();
    let listed: Vec<_> = page
        .sessions
        .iter()
        .map(|l| (l.session.id, l.protocol, l.vendor.to_string(), l.findings))
        .collect();
    assert_eq!(
        listed,
        vec![
            (a2, TargetProtocol::Ssh, "acme".to_owned(), None),
            (b1, TargetProtocol::Rdp, "kumo".to_owned(), None),
            (a1, TargetProtocol::Ssh, "acme".to_owned(), None),
        ]
    );
    assert_eq!(page.next, None);

    let started = db.store.session(&b1).await.unwrap().unwrap().started_at;
    let table: Vec<(&str, SessionFilter, Vec<SessionId>)> = vec![
        (
            "engineer",
            SessionFilter {
                engineer: Some(login("bob")),
                ..Default::default()
            },
            vec![b1],
        ),
        (
            "vendor",
            SessionFilter {
                vendor: Some(vendor_name("acme")),
                ..Default::default()
            },
            vec![a2, a1],
        ),
        (
            "target",
            SessionFilter {
                target: Some(target_name("ws01")),
                ..Default::default()
            },
            vec![b1],
        ),
        (
            "plan",
            SessionFilter {
                plan: Some(acme),
                ..Default::default()
            },
            vec![a2, a1],
        ),
        (
            "protocol",
            SessionFilter {
                protocol: Some(TargetProtocol::Rdp),
                ..Default::default()
            },
            vec![b1],
        ),
        (
            "from the second session's start",
            SessionFilter {
                started_from: Some(started),
                ..Default::default()
            },
            vec![a2, b1],
        ),
        (
            "before the second session's start",
            SessionFilter {
                started_before: Some(started),
                ..Default::default()
            },
            vec![a1],
        ),
        (
            "a day long past",
            SessionFilter {
                started_before: Some(t0() - Duration::days(400)),
                ..Default::default()
            },
            vec![],
        ),
        (
            "live",
            SessionFilter {
                state: Some(SessionState::Live),
                ..Default::default()
            },
            vec![a2],
        ),
        (
            "killed",
            SessionFilter {
                state: Some(SessionState::Ended(EndReason::Killed)),
                ..Default::default()
            },
            vec![b1],
        ),
        (
            "two at once",
            SessionFilter {
                engineer: Some(login("alice")),
                state: Some(SessionState::Ended(EndReason::Idle)),
                ..Default::default()
            },
            vec![a1],
        ),
        (
            "vendor and protocol that never meet",
            SessionFilter {
                vendor: Some(vendor_name("acme")),
                protocol: Some(TargetProtocol::Rdp),
                ..Default::default()
            },
            vec![],
        ),
        (
            "not reported yet",
            SessionFilter {
                findings: Some(FindingsFilter::NotReported),
                ..Default::default()
            },
            vec![a2, b1, a1],
        ),
        (
            "with findings",
            SessionFilter {
                findings: Some(FindingsFilter::Some),
                ..Default::default()
            },
            vec![],
        ),
    ];
    for (name, filter, want) in table {
        assert_eq!(ids(&db, filter).await, want, "{name}");
    }
}

async fn pages_follow_the_index_without_gaps_or_repeats(db: TestDb) {
    let (acme, _) = two_vendors(&db).await;
    let mut started = Vec::new();
    for _ in 0..7 {
        started.push(start(&db, acme, "alice", "db01").await);
    }
    started.reverse();
    let filter = SessionFilter::default();
    let mut seen = Vec::new();
    let mut after: Option<SessionCursor> = None;
    let mut pages = 0;
    loop {
        let page = db
            .store
            .session_page(&filter, after.as_ref(), 3)
            .await
            .unwrap();
        assert!(page.sessions.len() <= 3);
        seen.extend(page.sessions.iter().map(|l| l.session.id));
        pages += 1;
        if pages == 1 {
            // Sessions starting meanwhile don't move the next pages (they are newer).
            start(&db, acme, "alice", "db01").await;
        }
        match page.next {
            Some(next) => {
                // The cursor survives its text form (the page's link).
                after = Some(next.to_string().parse().unwrap());
            }
            None => break,
        }
    }
    assert_eq!(seen, started);
    assert_eq!(pages, 3);
    // Two sessions at the same microsecond are told apart by ID.
    let cursor = SessionCursor {
        started_at: db
            .store
            .session(&started[2])
            .await
            .unwrap()
            .unwrap()
            .started_at,
        id: started[2],
    };
    let rest = db
        .store
        .session_page(&filter, Some(&cursor), 100)
        .await
        .unwrap();
    assert_eq!(
        rest.sessions
            .iter()
            .map(|l| l.session.id)
            .collect::<Vec<_>>(),
        started[3..].to_vec()
    );
}

async fn findings_come_with_the_report(db: TestDb) {
    let (acme, _) = two_vendors(&db).await;
    let flagged = start(&db, acme, "alice", "db01").await;
    let clean = start(&db, acme, "alice", "db01").await;
    for id in [flagged, clean] {
        db.store
            .end_session(&id, EndReason::Normal, None)
            .await
            .unwrap();
    }
    let plan = db.store.plan(&acme).await.unwrap().unwrap();
    let closed = lifecycle::close(&plan, plan.ends_at).unwrap();
    db.store
        .advance_plan(closed.clone(), PlanStatus::Active, &cli())
        .await
        .unwrap();
    let reported = lifecycle::reported(&closed, now_micros()).unwrap();
    let report = StoredReport {
        plan: acme,
        produced_at: now_micros(),
        body: "{\"findings\":[]}".into(),
        sha256: "ab".repeat(32),
        signature: "cd".repeat(64),
        audit_head: "7:".to_owned() + &"ef".repeat(32),
    };
    db.store
        .store_report(
            reported,
            report,
            json!({"findings": 2, "session_findings": {flagged.to_string(): 2}}),
            &cli(),
        )
        .await
        .unwrap();
    let with = |f| SessionFilter {
        findings: Some(f),
        ..Default::default()
    };
    assert_eq!(ids(&db, with(FindingsFilter::Some)).await, vec![flagged]);
    assert_eq!(ids(&db, with(FindingsFilter::None)).await, vec![clean]);
    assert_eq!(ids(&db, with(FindingsFilter::NotReported)).await, vec![]);
    let page = db
        .store
        .session_page(&SessionFilter::default(), None, 10)
        .await
        .unwrap();
    let counts: Vec<_> = page.sessions.iter().map(|l| l.findings).collect();
    assert_eq!(counts, vec![Some(0), Some(2)]);
    // The chain says it too.
    let produced = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(produced.kind, AuditKind::ReportProduced.as_str());
    assert_eq!(
        produced.detail["session_findings"][flagged.to_string()],
        json!(2)
    );
}

async fn a_sessions_transfers_are_its_own(db: TestDb) {
    let (acme, _) = two_vendors(&db).await;
    let one = start(&db, acme, "alice", "db01").await;
    let other = start(&db, acme, "alice", "db01").await;
    let transfer = |session: SessionId, path: &str| {
        AuditEvent::new(
            AuditKind::Transfer,
            fumidai_store::Actor::Person(login("alice")),
            "db01",
        )
        .with_detail(json!({
            "session_id": session.to_string(),
            "direction": "upload",
            "path": path,
            "size": 3,
            "sha256": "00".repeat(32),
            "outcome": "completed",
        }))
    };
    for (session, path) in [(one, "/tmp/a"), (other, "/tmp/b"), (one, "/tmp/c")] {
        db.store
            .append_audit(transfer(session, path))
            .await
            .unwrap();
    }
    let record = db.store.session(&one).await.unwrap().unwrap();
    let paths: Vec<_> = db
        .store
        .session_transfers(&record)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.detail["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths, vec!["/tmp/a", "/tmp/c"]);
}
