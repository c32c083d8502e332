//! Account and vendor life cycle: disable/enable, vendor changes and contract end, password
//! reset and change, TOTP re-enrolment, role changes — each with its audit record.

use chrono::Duration;
use fumidai_store::{Actor, AuditKind, Error, PasswordSet, VendorChange};
use policy::ids::OperatorRole;
use policy::lockout::LockoutPolicy;
use policy::login::LoginRejection;
use policy::totp::TotpSecret;
use secrecy::SecretString;
use serde_json::json;

use crate::harness::*;

on_both_backends!(
    accounts_are_disabled_and_enabled,
    vendor_changes_reach_the_credentials,
    password_reset_and_change,
    totp_reset_replaces_the_secret,
    roles_change,
    a_lock_is_lifted_once_and_only_while_it_holds,
);

async fn accounts_are_disabled_and_enabled(db: TestDb) {
    with_alice(&db).await;
    let (disabled, appended) = db
        .appended_by(db.store.set_account_enabled(&login("alice"), false, &cli()))
        .await;
    assert!(!disabled.unwrap().enabled);
    assert_eq!(appended, kinds(&[AuditKind::AccountDisabled]));
    let creds = db
        .store
        .credentials(&login("alice"))
        .await
        .unwrap()
        .unwrap();
    assert!(!creds.account.enabled);
    let (enabled, appended) = db
        .appended_by(db.store.set_account_enabled(&login("alice"), true, &cli()))
        .await;
    assert!(enabled.unwrap().enabled);
    assert_eq!(appended, kinds(&[AuditKind::AccountEnabled]));
    assert!(matches!(
        db.store
            .set_account_enabled(&login("nobody"), false, &cli())
            .await,
        Err(Error::NotFound { .. })
    ));
}

async fn vendor_changes_reach_the_credentials(db: TestDb) {
    with_alice(&db).await;
    let creds = db
        .store
        .credentials(&login("alice"))
        .await
        .unwrap()
        .unwrap();
    assert!(creds.vendor_enabled && creds.contract_end.is_none());
    // The operator typed an engineer's first password: the first login replaces it.
    assert!(creds.account.must_change_password);
    let end = t0() + Duration::days(30);
    let change = VendorChange {
        enabled: Some(false),
        contract_end: Some(Some(end)),
        allow_from: Some(vec!["198.51.100.0/24".parse().unwrap()]),
        emergency_allowed: Some(true),
    };
    let (vendor, appended) = db
        .appended_by(
            db.store
                .change_vendor(&vendor_name("acme"), &change, &cli()),
        )
        .await;
    let vendor = vendor.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::VendorChanged]));
    assert!(!vendor.enabled && vendor.emergency_allowed);
    assert_eq!(vendor.contract_end, Some(end));
    assert_eq!(
        db.store.vendor(&vendor_name("acme")).await.unwrap(),
        Some(vendor)
    );
    let creds = db
        .store
        .credentials(&login("alice"))
        .await
        .unwrap()
        .unwrap();
    assert!(!creds.vendor_enabled);
    assert_eq!(creds.contract_end, Some(end));
    assert_eq!(creds.allow_from.len(), 1);
    let record = &db.store.audit_tail(1).await.unwrap()[0];
    assert_eq!(record.detail["enabled"], json!(false));
    assert_eq!(record.detail["emergency_allowed"], json!(true));
    // Only what changed is named.
    let (_, _) = db
        .appended_by(db.store.change_vendor(
            &vendor_name("acme"),
            &VendorChange {
                enabled: Some(true),
                ..VendorChange::default()
            },
            &cli(),
        ))
        .await;
    let record = &db.store.audit_tail(1).await.unwrap()[0];
    assert_eq!(record.detail, json!({"enabled": true}));
    assert!(matches!(
        db.store
            .change_vendor(&vendor_name("zeta"), &VendorChange::default(), &cli())
            .await,
        Err(Error::NotFound { .. })
    ));
}

async fn password_reset_and_change(db: TestDb) {
    with_alice(&db).await;
    let hash = policy::password::hash(&SecretString::from("Kinmokusei-Aki-4410")).unwrap();
    let how = PasswordSet::ResetByOperator {
        note: "identity checked by phone call-back".into(),
    };
    let (done, appended) = db
        .appended_by(db.store.set_password(&login("alice"), &hash, &how, &cli()))
        .await;
    done.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::PasswordReset]));
    let record = &db.store.audit_tail(1).await.unwrap()[0];
    assert_eq!(
        record.detail,
        json!({"identity_check": "identity checked by phone call-back"})
    );
    let creds = db
        .store
        .credentials(&login("alice"))
        .await
        .unwrap()
        .unwrap();
    assert!(creds.account.must_change_password);
    assert!(policy::password::verify(
        Some(&creds.password_hash),
        &SecretString::from("Kinmokusei-Aki-4410")
    ));
    let (done, appended) = db
        .appended_by(db.store.set_password(
            &login("alice"),
            &hash,
            &PasswordSet::ChangedByOwner,
            &cli(),
        ))
        .await;
    done.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::PasswordChanged]));
    let creds = db
        .store
        .credentials(&login("alice"))
        .await
        .unwrap()
        .unwrap();
    assert!(!creds.account.must_change_password);
    // The person asks for a change at the next login.
    let (done, appended) = db
        .appended_by(
            db.store
                .require_password_change(&login("alice"), &Actor::Person(login("alice"))),
        )
        .await;
    done.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::PasswordChangeRequested]));
    let creds = db
        .store
        .credentials(&login("alice"))
        .await
        .unwrap()
        .unwrap();
    assert!(creds.account.must_change_password);
}

async fn totp_reset_replaces_the_secret(db: TestDb) {
    with_alice(&db).await;
    let secret = TotpSecret::generate();
    let (done, appended) = db
        .appended_by(
            db.store
                .reset_totp(&login("alice"), &secret, "passport seen", &cli()),
        )
        .await;
    done.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::TotpReset]));
    let creds = db
        .store
        .credentials(&login("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.totp_secret.expose_bytes(), secret.expose_bytes());
    // Never the secret in the trail.
    let record = &db.store.audit_tail(1).await.unwrap()[0];
    assert_eq!(record.detail, json!({"identity_check": "passport seen"}));
}

async fn roles_change(db: TestDb) {
    db.store
        .add_account(operator("olga", OperatorRole::Operator), &cli())
        .await
        .unwrap();
    let (changed, appended) = db
        .appended_by(
            db.store
                .set_role(&login("olga"), OperatorRole::Auditor, &cli()),
        )
        .await;
    assert_eq!(changed.unwrap().role, Some(OperatorRole::Auditor));
    assert_eq!(appended, kinds(&[AuditKind::RoleChanged]));
    let record = &db.store.audit_tail(1).await.unwrap()[0];
    assert_eq!(record.detail, json!({"from": "operator", "to": "auditor"}));
    with_alice(&db).await;
    assert!(matches!(
        db.store
            .set_role(&login("alice"), OperatorRole::Manager, &cli())
            .await,
        Err(Error::NotFound { .. })
    ));
}

async fn a_lock_is_lifted_once_and_only_while_it_holds(db: TestDb) {
    with_alice(&db).await;
    let alice = login("alice");
    let olga = Actor::Person(login("olga"));
    // Not locked: nothing to lift, nothing recorded (also with failures counted).
    db.store
        .record_login_failure(
            "alice",
            LoginRejection::WrongCode,
            &attempt(t0()),
            &LockoutPolicy::default(),
        )
        .await
        .unwrap();
    let (refused, appended) = db
        .appended_by(db.store.unlock_account(&alice, t0(), &olga))
        .await;
    assert!(
        matches!(refused, Err(Error::InvalidTransition { .. })),
        "{refused:?}"
    );
    assert!(appended.is_empty());
    // Locked by five counted failures.
    for _ in 0..4 {
        db.store
            .record_login_failure(
                "alice",
                LoginRejection::WrongPassword,
                &attempt(t0()),
                &LockoutPolicy::default(),
            )
            .await
            .unwrap();
    }
    let until = t0() + Duration::minutes(15);
    let creds = db.store.credentials(&alice).await.unwrap().unwrap();
    assert_eq!(creds.account.locked_until, Some(until));
    // A lock that ended by itself is not lifted again.
    let expired = db.store.unlock_account(&alice, until, &olga).await;
    assert!(
        matches!(expired, Err(Error::InvalidTransition { .. })),
        "{expired:?}"
    );
    let during = t0() + Duration::minutes(3);
    let (unlocked, appended) = db
        .appended_by(db.store.unlock_account(&alice, during, &olga))
        .await;
    assert_eq!(unlocked.unwrap().locked_until, None);
    assert_eq!(appended, kinds(&[AuditKind::AccountUnlocked]));
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(
        (record.actor.as_str(), record.subject.as_str()),
        ("person:olga", "alice")
    );
    assert_eq!(
        record.detail,
        json!({ "locked_until": until.to_rfc3339_opts(chrono::SecondsFormat::Micros, true) })
    );
    let creds = db.store.credentials(&alice).await.unwrap().unwrap();
    assert_eq!(creds.failures.consecutive_failures, 0);
    assert_eq!(creds.failures.locked_until, None);
    // Twice: the second finds nothing to lift.
    let again = db.store.unlock_account(&alice, during, &olga).await;
    assert!(
        matches!(again, Err(Error::InvalidTransition { .. })),
        "{again:?}"
    );
    // Counting starts again from zero: four more failures don't lock.
    for _ in 0..4 {
        db.store
            .record_login_failure(
                "alice",
                LoginRejection::WrongPassword,
                &attempt(during),
                &LockoutPolicy::default(),
            )
            .await
            .unwrap();
    }
    let creds = db.store.credentials(&alice).await.unwrap().unwrap();
    assert_eq!(creds.failures.consecutive_failures, 4);
    assert_eq!(creds.account.locked_until, None);
    let unknown = db
        .store
        .unlock_account(&login("nobody"), during, &olga)
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
}
