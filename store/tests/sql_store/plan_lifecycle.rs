//! A plan after approval: active with its first session, attested, closed, reported with
//! its sealed report, confirmed — each compare-and-set on the stored state, each audited.

use fumidai_store::{AuditKind, Error, NewSession, StoredReport};
use policy::ids::{PlanId, SessionId};
use policy::plan::{PlanStatus, approve, lifecycle};
use serde_json::json;

use crate::harness::*;

on_both_backends!(
    a_plan_goes_from_active_to_confirmed_with_its_report,
    lifecycle_steps_are_compare_and_set,
    a_withdrawn_plan_is_stored_and_audited
);

async fn approved(db: &TestDb) -> policy::plan::Plan {
    with_alice_and_db01(db).await;
    let plan = new_plan(&["alice"], &["db01"]);
    db.store.submit_plan(plan.clone(), &cli()).await.unwrap();
    let approved = approve(
        &plan,
        policy::plan::Approver::operator("oscar"),
        now_micros(),
    )
    .unwrap();
    db.store.decide_plan(approved, &cli()).await.unwrap()
}

fn session(plan: PlanId) -> NewSession {
    NewSession {
        id: SessionId::generate(),
        engineer: login("alice"),
        target: target_name("db01"),
        plan,
        client_addr: "192.0.2.10:50022".parse().unwrap(),
        recording: None,
    }
}

fn report(plan: PlanId) -> StoredReport {
    StoredReport {
        plan,
        produced_at: now_micros(),
        body: "{\"findings\":[]}".into(),
        sha256: "ab".repeat(32),
        signature: "cd".repeat(64),
        audit_head: "7:".to_owned() + &"ef".repeat(32),
    }
}

async fn a_plan_goes_from_active_to_confirmed_with_its_report(db: TestDb) {
    let plan = approved(&db).await;
    db.store.start_session(session(plan.id)).await.unwrap();
    let active = db.store.plan(&plan.id).await.unwrap().unwrap();
    assert_eq!(active.status, PlanStatus::Active);
    // A second session doesn't activate it again.
    let (_, appended) = db
        .appended_by(db.store.start_session(session(plan.id)))
        .await;
    assert_eq!(appended, kinds(&[AuditKind::SessionStarted]));
    assert_eq!(db.store.sessions_of_plan(&plan.id).await.unwrap().len(), 2);

    // R-10-1: the attestation is stored and audited; the state doesn't move.
    let attested = lifecycle::attest(
        &active,
        &login("alice"),
        "deleted /tmp/export",
        now_micros(),
    )
    .unwrap();
    let (stored, appended) = db
        .appended_by(
            db.store
                .advance_plan(attested.clone(), PlanStatus::Active, &cli()),
        )
        .await;
    assert_eq!(stored.unwrap(), attested);
    assert_eq!(appended, kinds(&[AuditKind::PlanAttested]));
    assert_eq!(
        db.store.audit_tail(1).await.unwrap()[0].detail["attestation"],
        json!("deleted /tmp/export")
    );

    let closed = lifecycle::close(&attested, attested.ends_at).unwrap();
    let (stored, appended) = db
        .appended_by(
            db.store
                .advance_plan(closed.clone(), PlanStatus::Active, &cli()),
        )
        .await;
    assert_eq!(stored.unwrap(), closed);
    assert_eq!(appended, kinds(&[AuditKind::PlanClosed]));

    let reported = lifecycle::reported(&closed, now_micros()).unwrap();
    let (stored, appended) = db
        .appended_by(db.store.store_report(
            reported.clone(),
            report(plan.id),
            json!({"findings": 0}),
            &cli(),
        ))
        .await;
    assert_eq!(stored.unwrap(), reported);
    assert_eq!(appended, kinds(&[AuditKind::ReportProduced]));
    let detail = &db.store.audit_tail(1).await.unwrap()[0].detail;
    assert_eq!(detail["sha256"], json!("ab".repeat(32)));
    assert_eq!(detail["findings"], json!(0));
    assert_eq!(
        db.store.report(&plan.id).await.unwrap(),
        Some(report_like(&db, plan.id).await)
    );

    let confirmed = lifecycle::confirm(&reported, "mana", Some("ok"), now_micros()).unwrap();
    let (stored, appended) = db
        .appended_by(
            db.store
                .advance_plan(confirmed.clone(), PlanStatus::Reported, &cli()),
        )
        .await;
    assert_eq!(stored.unwrap(), confirmed);
    assert_eq!(appended, kinds(&[AuditKind::ReportConfirmed]));
    assert_eq!(db.store.plan(&plan.id).await.unwrap(), Some(confirmed));
}

/// The stored report, read back (its time is the one we gave).
async fn report_like(db: &TestDb, plan: PlanId) -> StoredReport {
    let stored = db.store.report(&plan).await.unwrap().unwrap();
    assert_eq!(stored.body, "{\"findings\":[]}");
    stored
}

async fn lifecycle_steps_are_compare_and_set(db: TestDb) {
    let plan = approved(&db).await;
    let closed = lifecycle::close(&plan, plan.ends_at).unwrap();
    db.store
        .advance_plan(closed.clone(), PlanStatus::Approved, &cli())
        .await
        .unwrap();
    // Someone closed it first: a second close from `approved` is refused with the state.
    let again = db
        .store
        .advance_plan(closed.clone(), PlanStatus::Approved, &cli())
        .await;
    assert!(
        matches!(&again, Err(Error::InvalidTransition { from, .. }) if from == "closed"),
        "{again:?}"
    );
    // A report for a plan that isn't closed any more is refused, and nothing is stored.
    let reported = lifecycle::reported(&closed, now_micros()).unwrap();
    db.store
        .store_report(reported.clone(), report(plan.id), json!({}), &cli())
        .await
        .unwrap();
    let twice = db
        .store
        .store_report(reported, report(plan.id), json!({}), &cli())
        .await;
    assert!(
        matches!(twice, Err(Error::InvalidTransition { .. })),
        "{twice:?}"
    );
    // An attestation goes in once.
    let mut attested = db.store.plan(&plan.id).await.unwrap().unwrap();
    attested.attestation = Some(policy::plan::Attestation {
        by: login("alice"),
        at: now_micros(),
        note: "deleted".into(),
    });
    db.store
        .advance_plan(attested.clone(), PlanStatus::Reported, &cli())
        .await
        .unwrap();
    let second = db
        .store
        .advance_plan(attested, PlanStatus::Reported, &cli())
        .await;
    assert!(
        matches!(second, Err(Error::InvalidTransition { .. })),
        "{second:?}"
    );
}

async fn a_withdrawn_plan_is_stored_and_audited(db: TestDb) {
    let plan = approved(&db).await;
    let withdrawn =
        lifecycle::withdraw(&plan, &login("oscar"), "contract ended", now_micros()).unwrap();
    let (stored, appended) = db
        .appended_by(
            db.store
                .advance_plan(withdrawn.clone(), PlanStatus::Approved, &cli()),
        )
        .await;
    let stored = stored.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::PlanWithdrawn]));
    assert_eq!(stored.status, PlanStatus::Withdrawn);
    assert_eq!(stored, withdrawn);
    let record = &db.store.audit_tail(1).await.unwrap()[0];
    assert_eq!(
        record.detail,
        json!({"withdrawn_by": "oscar", "reason": "contract ended"})
    );
    // Compare-and-set: withdrawing again from approved changes nothing.
    assert!(matches!(
        db.store
            .advance_plan(withdrawn, PlanStatus::Approved, &cli())
            .await,
        Err(Error::InvalidTransition { .. })
    ));
}
