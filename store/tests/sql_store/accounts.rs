//! Vendors, accounts and credentials: round trips, sealing, duplicates, missing vendors.

use fumidai_store::{AuditKind, Error, MasterKey, Store};
use policy::ids::{AccountKind, OperatorRole};
use policy::lockout::FailureState;
use serde_json::json;
use sqlx::Executor;

use crate::harness::*;

on_both_backends!(
    vendors_round_trip,
    accounts_and_credentials_round_trip,
    wrong_master_key_fails_closed,
    sealed_secret_moved_to_another_row_fails_closed,
    duplicates_already_exist,
    engineers_need_a_known_vendor,
);

async fn vendors_round_trip(db: TestDb) {
    let (added, appended) = db
        .appended_by(db.store.add_vendor(
            new_vendor("acme", &["192.0.2.0/24", "2001:db8::/32"]),
            &cli(),
        ))
        .await;
    let added = added.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::VendorAdded]));
    let mut beta = new_vendor("beta", &[]);
    beta.emergency_allowed = true;
    db.store.add_vendor(beta, &cli()).await.unwrap();

    assert_eq!(
        db.store.vendor(&vendor_name("acme")).await.unwrap(),
        Some(added.clone())
    );
    assert_eq!(db.store.vendor(&vendor_name("zeta")).await.unwrap(), None);
    let all = db.store.vendors().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], added);
    assert_eq!(all[1].name.as_str(), "beta");
    assert!(all[1].emergency_allowed && all[1].allow_from.is_empty());

    let record = &db.store.audit_tail(2).await.unwrap()[0];
    assert_eq!(
        (record.subject.as_str(), record.actor.as_str()),
        ("acme", "cli:root")
    );
    assert_eq!(
        record.detail,
        json!({"allow_from": ["192.0.2.0/24", "2001:db8::/32"], "emergency_allowed": false})
    );
}

async fn accounts_and_credentials_round_trip(db: TestDb) {
    db.store
        .add_vendor(new_vendor("acme", &["192.0.2.0/24"]), &cli())
        .await
        .unwrap();
    let secret = b"alice-secret-0123456";
    let (alice, appended) = db
        .appended_by(
            db.store
                .add_account(engineer("alice", "acme", secret), &cli()),
        )
        .await;
    let alice = alice.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::AccountAdded]));
    assert!(alice.enabled);
    assert_eq!(alice.locked_until, None);
    let olga = db
        .store
        .add_account(operator("olga", OperatorRole::Manager), &cli())
        .await
        .unwrap();

    assert_eq!(
        db.store.account(&login("alice")).await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(db.store.account(&login("nobody")).await.unwrap(), None);
    assert_eq!(
        db.store.accounts(None).await.unwrap(),
        vec![alice.clone(), olga.clone()]
    );
    assert_eq!(
        db.store
            .accounts(Some(AccountKind::Engineer))
            .await
            .unwrap(),
        vec![alice.clone()]
    );
    assert_eq!(
        db.store
            .accounts(Some(AccountKind::Operator))
            .await
            .unwrap(),
        vec![olga.clone()]
    );

    let creds = db
        .store
        .credentials(&login("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.account, alice);
    assert_eq!(creds.totp_secret.expose_bytes(), secret);
    assert_eq!(creds.password_hash.as_phc(), "$argon2id$v=19$fake$alice");
    assert_eq!(creds.last_totp_step, None);
    assert_eq!(creds.failures, FailureState::default());
    assert_eq!(creds.allow_from, vec!["192.0.2.0/24".parse().unwrap()]);

    let creds = db.store.credentials(&login("olga")).await.unwrap().unwrap();
    assert_eq!(creds.account.role, Some(OperatorRole::Manager));
    assert!(creds.allow_from.is_empty());
    assert!(
        db.store
            .credentials(&login("nobody"))
            .await
            .unwrap()
            .is_none()
    );

    // The audit detail names the account, never its secrets.
    let record = &db.store.audit_tail(2).await.unwrap()[0];
    assert_eq!(record.subject, "alice");
    assert_eq!(
        record.detail,
        json!({"kind": "engineer", "vendor": "acme", "role": null, "must_change_password": true})
    );
    let tail = serde_json::to_string(&db.store.audit_tail(100).await.unwrap()).unwrap();
    assert!(!tail.contains("argon2") && !tail.contains("alice-secret"));
}

async fn wrong_master_key_fails_closed(db: TestDb) {
    with_alice(&db).await;
    let same_key = db.reopen(db.key.clone()).await;
    assert!(
        same_key
            .credentials(&login("alice"))
            .await
            .unwrap()
            .is_some()
    );
    let other_key = db.reopen(MasterKey::generate()).await;
    assert!(matches!(
        other_key.credentials(&login("alice")).await,
        Err(Error::Unseal)
    ));
    // Reading the account without its secrets doesn't need the key.
    assert!(other_key.account(&login("alice")).await.unwrap().is_some());
}

async fn sealed_secret_moved_to_another_row_fails_closed(db: TestDb) {
    with_alice(&db).await;
    db.store
        .add_account(engineer("bob", "acme", b"bob-secret-000000000"), &cli())
        .await
        .unwrap();
    let mut raw = db.raw().await;
    raw.execute(
        "UPDATE accounts SET totp_secret_sealed = \
         (SELECT totp_secret_sealed FROM accounts WHERE login = 'alice') WHERE login = 'bob'",
    )
    .await
    .unwrap();
    assert!(matches!(
        db.store.credentials(&login("bob")).await,
        Err(Error::Unseal)
    ));
    assert!(
        db.store
            .credentials(&login("alice"))
            .await
            .unwrap()
            .is_some()
    );
}

async fn duplicates_already_exist(db: TestDb) {
    with_alice(&db).await;
    let (dup, appended) = db
        .appended_by(db.store.add_vendor(new_vendor("acme", &[]), &cli()))
        .await;
    assert!(
        matches!(dup, Err(Error::AlreadyExists { kind: "vendor", ref name }) if name == "acme"),
        "{dup:?}"
    );
    assert!(
        appended.is_empty(),
        "a refused change appends nothing: {appended:?}"
    );

    let (dup, appended) = db
        .appended_by(
            db.store
                .add_account(engineer("alice", "acme", b"x"), &cli()),
        )
        .await;
    assert!(
        matches!(dup, Err(Error::AlreadyExists { kind: "account", ref name }) if name == "alice"),
        "{dup:?}"
    );
    assert!(appended.is_empty());
    // The first secret is still the one stored.
    let creds = db
        .store
        .credentials(&login("alice"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.totp_secret.expose_bytes(), b"alice-secret-0123456");
    // And the store still works after the failed transactions.
    db.store
        .add_vendor(new_vendor("beta", &[]), &cli())
        .await
        .unwrap();
}

async fn engineers_need_a_known_vendor(db: TestDb) {
    let (res, appended) = db
        .appended_by(
            db.store
                .add_account(engineer("alice", "ghost", b"x"), &cli()),
        )
        .await;
    assert!(
        matches!(res, Err(Error::NotFound { kind: "vendor", ref name }) if name == "ghost"),
        "{res:?}"
    );
    assert!(appended.is_empty());

    let mut orphan = engineer("bob", "ghost", b"x");
    orphan.vendor = None;
    let res = db.store.add_account(orphan, &cli()).await;
    assert!(matches!(res, Err(Error::NotFound { .. })), "{res:?}");
    assert!(db.store.accounts(None).await.unwrap().is_empty());
    assert_eq!(db.head_seq().await, 0);
}
