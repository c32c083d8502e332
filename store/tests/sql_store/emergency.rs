//! Emergency limits (R-11-1): the vendor's contracted targets, the facts an emergency is
//! decided on, the emergency plan closing with its session; the take-out (§7.1) and the
//! factory-account reason (R-10.1-NODEFAULT) kept with plan and target.

use fumidai_store::{AuditKind, Error, NewSession, NewVendor};
use policy::ids::SessionId;
use policy::limits::EndReason;
use policy::plan::emergency::{self, Declaration};
use policy::plan::{PlanKind, PlanStatus, TakeOut};
use serde_json::json;

use crate::harness::*;

on_both_backends!(
    contracted_targets_are_listed_audited_and_checked,
    emergency_facts_tell_contract_personal_data_and_plans,
    an_emergency_plan_closes_with_its_session,
    take_out_and_shared_admin_reason_round_trip
);

async fn contracted_targets_are_listed_audited_and_checked(db: TestDb) {
    with_alice_and_db01(&db).await;
    let acme = vendor_name("acme");
    let db01 = target_name("db01");
    let (added, appended) = db
        .appended_by(
            db.store
                .add_vendor_targets(&acme, &[db01.clone(), db01.clone()], &cli()),
        )
        .await;
    assert_eq!(added.unwrap(), vec![db01.clone()]);
    assert_eq!(appended, kinds(&[AuditKind::VendorTargetAdded]));
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(
        (record.subject.as_str(), record.detail),
        ("acme", json!({ "target": "db01" }))
    );
    // Adding again changes nothing and records nothing.
    let (again, appended) = db
        .appended_by(
            db.store
                .add_vendor_targets(&acme, std::slice::from_ref(&db01), &cli()),
        )
        .await;
    assert_eq!((again.unwrap(), appended), (vec![], vec![]));
    assert_eq!(
        db.store.vendor_targets(&acme).await.unwrap(),
        vec![db01.clone()]
    );
    // Unknown target or vendor: nothing changes.
    let ghost = target_name("ghost");
    assert!(matches!(
        db.store
            .add_vendor_targets(&acme, std::slice::from_ref(&ghost), &cli())
            .await,
        Err(Error::NotFound { kind: "target", .. })
    ));
    assert!(matches!(
        db.store
            .add_vendor_targets(&vendor_name("nobody"), std::slice::from_ref(&db01), &cli())
            .await,
        Err(Error::NotFound { kind: "vendor", .. })
    ));
    let (removed, appended) = db
        .appended_by(
            db.store
                .remove_vendor_targets(&acme, std::slice::from_ref(&db01), &cli()),
        )
        .await;
    assert_eq!(removed.unwrap(), vec![db01.clone()]);
    assert_eq!(appended, kinds(&[AuditKind::VendorTargetRemoved]));
    assert!(matches!(
        db.store.remove_vendor_targets(&acme, &[db01], &cli()).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(db.store.vendor_targets(&acme).await.unwrap(), vec![]);
}

async fn emergency_facts_tell_contract_personal_data_and_plans(db: TestDb) {
    with_alice_and_db01(&db).await;
    db.store
        .add_vendor(
            NewVendor {
                emergency_allowed: true,
                ..new_vendor("beta", &[])
            },
            &cli(),
        )
        .await
        .unwrap();
    db.store
        .add_account(engineer("bob", "beta", b"bob-secret-012345678"), &cli())
        .await
        .unwrap();
    let (alice, bob, db01) = (login("alice"), login("bob"), target_name("db01"));
    let facts = db.store.emergency_facts(&alice, &db01).await.unwrap();
    assert_eq!(
        (
            facts.vendor,
            facts.contracted,
            facts.personal_data,
            facts.plans.len()
        ),
        (Some((vendor_name("acme"), false)), false, false, 0)
    );
    db.store
        .add_vendor_targets(&vendor_name("beta"), std::slice::from_ref(&db01), &cli())
        .await
        .unwrap();
    let facts = db.store.emergency_facts(&bob, &db01).await.unwrap();
    // db01 is tagged personal-data by the harness.
    assert_eq!(
        (facts.vendor, facts.contracted, facts.personal_data),
        (Some((vendor_name("beta"), true)), true, true)
    );
    // acme is not contracted for db01, whatever beta is; unknown targets and engineers
    // are simply not contracted.
    assert!(
        !db.store
            .emergency_facts(&alice, &db01)
            .await
            .unwrap()
            .contracted
    );
    let unknown = db
        .store
        .emergency_facts(&bob, &target_name("ghost"))
        .await
        .unwrap();
    assert_eq!((unknown.contracted, unknown.personal_data), (false, false));
    let nobody = db
        .store
        .emergency_facts(&login("nobody"), &db01)
        .await
        .unwrap();
    assert_eq!((nobody.vendor, nobody.contracted), (None, false));
    // The plans naming the engineer come along.
    db.store
        .submit_plan(new_plan(&["alice"], &["db01"]), &cli())
        .await
        .unwrap();
    assert_eq!(
        db.store
            .emergency_facts(&alice, &db01)
            .await
            .unwrap()
            .plans
            .len(),
        1
    );
    // A removed target is not contracted any more.
    db.store.remove_target(&db01, &cli()).await.unwrap();
    assert!(
        !db.store
            .emergency_facts(&bob, &db01)
            .await
            .unwrap()
            .contracted
    );
}

async fn an_emergency_plan_closes_with_its_session(db: TestDb) {
    with_alice_and_db01(&db).await;
    let (alice, acme, db01) = (login("alice"), vendor_name("acme"), target_name("db01"));
    let declaration = Declaration {
        engineer: &alice,
        vendor: &acme,
        vendor_allows: true,
        target: &db01,
        reason: "PACS down",
    };
    let plan = emergency::open(
        &declaration,
        policy::ids::PlanId::generate(),
        now_micros(),
        emergency::DEFAULT_MAX,
    )
    .unwrap();
    db.store
        .submit_plan(plan.clone(), &fumidai_store::Actor::Person(login("alice")))
        .await
        .unwrap();
    let id = SessionId::generate();
    db.store
        .start_session(NewSession {
            id,
            engineer: alice.clone(),
            target: db01.clone(),
            plan: plan.id,
            client_addr: "192.0.2.10:50022".parse().unwrap(),
            recording: None,
        })
        .await
        .unwrap();
    // A second emergency racing past the gateway's check is refused inside the insert.
    let second = emergency::open(
        &declaration,
        policy::ids::PlanId::generate(),
        now_micros(),
        emergency::DEFAULT_MAX,
    )
    .unwrap();
    assert!(matches!(
        db.store
            .submit_plan(second, &fumidai_store::Actor::Person(login("alice")))
            .await,
        Err(Error::InvalidTransition {
            kind: "emergency",
            ..
        })
    ));
    let (ended, appended) = db
        .appended_by(db.store.end_session(&id, EndReason::Normal, None))
        .await;
    ended.unwrap();
    assert_eq!(
        appended,
        kinds(&[AuditKind::SessionEnded, AuditKind::PlanClosed])
    );
    let stored = db.store.plan(&plan.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.kind, stored.status),
        (PlanKind::Emergency, PlanStatus::Closed)
    );
    assert!(stored.closed_at.is_some());
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.detail["cause"], "emergency_session_ended");
    // Still approvable afterwards, in the state its session left it.
    let approved = policy::plan::approve(
        &stored,
        policy::plan::Approver::operator("oscar"),
        now_micros(),
    )
    .unwrap();
    let decided = db.store.decide_plan(approved, &cli()).await.unwrap();
    assert_eq!(
        (decided.status, decided.decided_by.as_deref()),
        (PlanStatus::Closed, Some("oscar"))
    );
    // A planned plan's session ending leaves its plan as it was.
    let planned = new_plan(&["alice"], &["db01"]);
    db.store.submit_plan(planned.clone(), &cli()).await.unwrap();
    let approved = policy::plan::approve(
        &planned,
        policy::plan::Approver::operator("oscar"),
        now_micros(),
    )
    .unwrap();
    db.store.decide_plan(approved, &cli()).await.unwrap();
    let id = SessionId::generate();
    db.store
        .start_session(NewSession {
            id,
            engineer: alice,
            target: db01,
            plan: planned.id,
            client_addr: "192.0.2.10:50022".parse().unwrap(),
            recording: None,
        })
        .await
        .unwrap();
    let (_, appended) = db
        .appended_by(db.store.end_session(&id, EndReason::Normal, None))
        .await;
    assert_eq!(appended, kinds(&[AuditKind::SessionEnded]));
    assert_eq!(
        db.store.plan(&planned.id).await.unwrap().unwrap().status,
        PlanStatus::Active
    );
}

async fn take_out_and_shared_admin_reason_round_trip(db: TestDb) {
    with_alice_and_db01(&db).await;
    let mut plan = new_plan(&["alice"], &["db01"]);
    plan.allow.download = true;
    plan.take_out = Some(TakeOut {
        purpose: "hand the index to the auditor".into(),
        item_count: 120,
        items: "patient ID, name".into(),
        storage: "encrypted USB stick in the vendor's safe".into(),
    });
    db.store.submit_plan(plan.clone(), &cli()).await.unwrap();
    assert_eq!(db.store.plan(&plan.id).await.unwrap().unwrap(), plan);
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.detail["take_out"]["item_count"], 120);

    let mut target = new_target("db09", policy::target::TargetAuth::Cert, None);
    target.login = "root".into();
    target.shared_admin_reason = Some("the appliance has no other account".into());
    let stored = db.store.add_target(target, &cli()).await.unwrap();
    assert_eq!(
        stored.shared_admin_reason.as_deref(),
        Some("the appliance has no other account")
    );
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(
        record.detail["shared_admin_reason"],
        "the appliance has no other account"
    );
    let read = db
        .store
        .target(&target_name("db09"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.shared_admin_reason, stored.shared_admin_reason);
}
