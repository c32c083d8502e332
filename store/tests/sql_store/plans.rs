//! Plans: submission with its reference checks, decisions as compare-and-set, and the
//! queries admission uses.

use std::sync::Arc;

use fumidai_store::{AuditKind, Error};
use policy::admission::{AdmissionRequest, Decision, admit};
use policy::ids::PlanId;
use policy::plan::{PlanStatus, approve, reject};
use policy::target::TargetAuth;
use serde_json::json;

use crate::harness::*;

on_both_backends!(
    plans_round_trip_with_their_audit_events,
    submission_checks_engineers_vendor_and_targets,
    decisions_are_compare_and_set,
    racing_decisions_let_one_win,
    plans_for_an_engineer_match_exactly,
    admission_facts_in_one_call,
);

async fn plans_round_trip_with_their_audit_events(db: TestDb) {
    with_alice_and_db01(&db).await;
    let plan = new_plan(&["alice"], &["db01"]);
    let (stored, appended) = db
        .appended_by(db.store.submit_plan(plan.clone(), &cli()))
        .await;
    assert_eq!(stored.unwrap(), plan);
    assert_eq!(appended, kinds(&[AuditKind::PlanSubmitted]));
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.subject, plan.id.to_string());
    assert_eq!(record.detail["engineers"], json!(["alice"]));
    assert_eq!(record.detail["targets"], json!(["db01"]));
    assert_eq!(record.detail["submitted_by"], json!("olga"));
    assert_eq!(
        record.detail["allow"],
        json!({"upload": true, "download": false, "forward": false, "content": ["archive"]})
    );
    assert_eq!(db.store.plan(&plan.id).await.unwrap(), Some(plan.clone()));
    assert_eq!(db.store.plan(&PlanId::generate()).await.unwrap(), None);

    let approved = approve(
        &plan,
        policy::plan::Approver::operator("oscar"),
        now_micros(),
    )
    .unwrap();
    let (decided, appended) = db
        .appended_by(db.store.decide_plan(approved.clone(), &cli()))
        .await;
    assert_eq!(decided.unwrap(), approved);
    assert_eq!(appended, kinds(&[AuditKind::PlanApproved]));
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.detail["decided_by"], json!("oscar"));
    assert_eq!(record.detail["submitted_by"], json!("olga"));
    assert_eq!(
        db.store.plan(&plan.id).await.unwrap(),
        Some(approved.clone())
    );

    let second = new_plan(&["alice"], &["db01"]);
    db.store.submit_plan(second.clone(), &cli()).await.unwrap();
    let rejected = reject(&second, "oscar", "overlaps the backup window", now_micros()).unwrap();
    let (decided, appended) = db
        .appended_by(db.store.decide_plan(rejected.clone(), &cli()))
        .await;
    assert_eq!(decided.unwrap(), rejected);
    assert_eq!(appended, kinds(&[AuditKind::PlanRejected]));
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.detail["reason"], json!("overlaps the backup window"));

    let all = db.store.plans().await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.contains(&approved) && all.contains(&rejected));

    // The same ID twice: refused.
    let (dup, appended) = db
        .appended_by(db.store.submit_plan(plan.clone(), &cli()))
        .await;
    assert!(
        matches!(dup, Err(Error::AlreadyExists { kind: "plan", .. })),
        "{dup:?}"
    );
    assert!(appended.is_empty());
}

async fn submission_checks_engineers_vendor_and_targets(db: TestDb) {
    with_alice_and_db01(&db).await;
    db.store
        .add_vendor(new_vendor("beta", &[]), &cli())
        .await
        .unwrap();
    db.store
        .add_account(engineer("bea", "beta", b"bea-secret-000000000"), &cli())
        .await
        .unwrap();
    db.store
        .add_account(
            operator("olga", policy::ids::OperatorRole::Operator),
            &cli(),
        )
        .await
        .unwrap();
    let mut other_vendor = new_plan(&["alice"], &["db01"]);
    other_vendor.vendor = vendor_name("nobody");
    let approved = approve(
        &new_plan(&["alice"], &["db01"]),
        policy::plan::Approver::operator("oscar"),
        now_micros(),
    )
    .unwrap();
    let cases = vec![
        (new_plan(&["carol"], &["db01"]), "engineer carol not found"),
        (new_plan(&["olga"], &["db01"]), "engineer olga not found"),
        (
            new_plan(&["alice", "bea"], &["db01"]),
            "engineer bea does not belong to vendor acme",
        ),
        (new_plan(&["alice"], &["db09"]), "target db09 not found"),
        (other_vendor, "vendor nobody not found"),
        (approved, "is new; it cannot become approved"),
    ];
    for (plan, message) in cases {
        let (result, appended) = db.appended_by(db.store.submit_plan(plan, &cli())).await;
        let err = result.unwrap_err().to_string().replace('"', "");
        assert!(err.contains(message), "{err}");
        assert!(appended.is_empty());
    }
    assert!(db.store.plans().await.unwrap().is_empty());
}

async fn decisions_are_compare_and_set(db: TestDb) {
    with_alice_and_db01(&db).await;
    let plan = new_plan(&["alice"], &["db01"]);
    db.store.submit_plan(plan.clone(), &cli()).await.unwrap();
    let approved = approve(
        &plan,
        policy::plan::Approver::operator("oscar"),
        now_micros(),
    )
    .unwrap();
    let rejected = reject(&plan, "paula", "no", now_micros()).unwrap();
    db.store
        .decide_plan(approved.clone(), &cli())
        .await
        .unwrap();

    // A decision taken on the stale submitted copy: refused, nothing changes.
    let (late, appended) = db.appended_by(db.store.decide_plan(rejected, &cli())).await;
    assert!(
        matches!(
            late,
            Err(Error::InvalidTransition { kind: "plan", ref from, ref to, .. })
                if from == "approved" && to == "rejected"
        ),
        "{late:?}"
    );
    assert!(appended.is_empty());
    assert_eq!(
        db.store.plan(&plan.id).await.unwrap(),
        Some(approved.clone())
    );
    // Approving twice is no better.
    assert!(matches!(
        db.store.decide_plan(approved, &cli()).await,
        Err(Error::InvalidTransition { .. })
    ));

    // A "decision" that leaves the plan submitted, and one for an unknown plan.
    let other = new_plan(&["alice"], &["db01"]);
    db.store.submit_plan(other.clone(), &cli()).await.unwrap();
    assert!(matches!(
        db.store.decide_plan(other.clone(), &cli()).await,
        Err(Error::InvalidTransition { .. })
    ));
    let unknown = approve(
        &new_plan(&["alice"], &["db01"]),
        policy::plan::Approver::operator("oscar"),
        now_micros(),
    )
    .unwrap();
    assert!(matches!(
        db.store.decide_plan(unknown, &cli()).await,
        Err(Error::NotFound { kind: "plan", .. })
    ));
    assert_eq!(
        db.store.plan(&other.id).await.unwrap().unwrap().status,
        PlanStatus::Submitted
    );
}

async fn racing_decisions_let_one_win(db: TestDb) {
    with_alice_and_db01(&db).await;
    let plan = new_plan(&["alice"], &["db01"]);
    db.store.submit_plan(plan.clone(), &cli()).await.unwrap();
    let before = db.head_seq().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = Arc::clone(&db.store);
        let decided = if i % 2 == 0 {
            approve(
                &plan,
                policy::plan::Approver::operator(&format!("op{i}")),
                now_micros(),
            )
            .unwrap()
        } else {
            reject(&plan, &format!("op{i}"), "no", now_micros()).unwrap()
        };
        tasks.spawn(async move { store.decide_plan(decided, &cli()).await });
    }
    let results = tasks.join_all().await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| matches!(r, Err(Error::InvalidTransition { .. })))
    );
    let stored = db.store.plan(&plan.id).await.unwrap().unwrap();
    assert_eq!(&stored, winners[0]);
    assert_eq!(db.kinds_after(before).await.len(), 1);
}

async fn plans_for_an_engineer_match_exactly(db: TestDb) {
    db.store
        .add_vendor(new_vendor("acme", &[]), &cli())
        .await
        .unwrap();
    // `_` is a LIKE wildcard and SQLite's LIKE ignores case: the coarse filter over-matches
    // "al_x" to "alax", and the exact check in Rust must drop it.
    for name in ["al_x", "alax", "bob"] {
        db.store
            .add_account(engineer(name, "acme", b"secret-0000000000000"), &cli())
            .await
            .unwrap();
    }
    db.store
        .add_target(new_target("db01", TargetAuth::Cert, None), &cli())
        .await
        .unwrap();
    let p1 = new_plan(&["al_x"], &["db01"]);
    let p2 = new_plan(&["alax", "bob"], &["db01"]);
    let p3 = new_plan(&["bob", "al_x"], &["db01"]);
    for p in [&p1, &p2, &p3] {
        db.store.submit_plan(p.clone(), &cli()).await.unwrap();
    }
    let ids = |plans: Vec<policy::plan::Plan>| {
        let mut ids: Vec<PlanId> = plans.into_iter().map(|p| p.id).collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<PlanId>| {
        v.sort();
        v
    };
    assert_eq!(
        ids(db.store.plans_for_engineer(&login("al_x")).await.unwrap()),
        sorted(vec![p1.id, p3.id])
    );
    assert_eq!(
        ids(db.store.plans_for_engineer(&login("alax")).await.unwrap()),
        vec![p2.id]
    );
    assert_eq!(
        ids(db.store.plans_for_engineer(&login("bob")).await.unwrap()),
        sorted(vec![p2.id, p3.id])
    );
    assert!(
        db.store
            .plans_for_engineer(&login("al"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn admission_facts_in_one_call(db: TestDb) {
    with_alice_and_db01(&db).await;
    let request = AdmissionRequest {
        engineer: login("alice"),
        target: target_name("db01"),
    };
    let facts = db
        .store
        .admission_facts(&login("alice"), &target_name("db01"))
        .await
        .unwrap();
    assert!(facts.target_exists && facts.plans.is_empty());

    let plan = new_plan(&["alice"], &["db01"]);
    db.store.submit_plan(plan.clone(), &cli()).await.unwrap();
    let facts = db
        .store
        .admission_facts(&login("alice"), &target_name("db01"))
        .await
        .unwrap();
    assert_eq!(
        admit(&request, &facts, now_micros()),
        Decision::Deny(policy::admission::DenyReason::NotApprovedYet)
    );

    let approved = approve(
        &plan,
        policy::plan::Approver::operator("oscar"),
        now_micros(),
    )
    .unwrap();
    db.store
        .decide_plan(approved.clone(), &cli())
        .await
        .unwrap();
    let facts = db
        .store
        .admission_facts(&login("alice"), &target_name("db01"))
        .await
        .unwrap();
    assert_eq!(
        admit(&request, &facts, now_micros()),
        Decision::Admit {
            plan: plan.id,
            ends_at: plan.ends_at,
            allow: plan.allow
        }
    );
    let unknown = db
        .store
        .admission_facts(&login("alice"), &target_name("db99"))
        .await
        .unwrap();
    assert!(!unknown.target_exists);
}
