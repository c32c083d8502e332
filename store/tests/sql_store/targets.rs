//! Targets: registration, the sealed credential, soft removal, names never reused.

use fumidai_store::{AuditKind, Error, MasterKey, Store};
use policy::target::TargetAuth;
use secrecy::ExposeSecret;
use serde_json::json;
use sqlx::{Executor, Row};

use crate::harness::*;

on_both_backends!(
    targets_round_trip_without_their_credential,
    credentials_open_only_in_their_own_row_and_under_their_key,
    credential_must_fit_the_auth,
    removed_targets_vanish_but_keep_their_name,
    rdp_targets_keep_their_certificate_pin_and_need_a_password,
);

/// An RDP target's pinned certificate digest comes back as stored; an RDP target without a
/// password is refused by the schema itself.
async fn rdp_targets_keep_their_certificate_pin_and_need_a_password(db: TestDb) {
    use policy::target::{CertFingerprint, TargetPin, TargetProtocol};
    let pin = TargetPin::RdpCertificate(CertFingerprint::of_der(b"a certificate"));
    let mut new = new_target("win01", TargetAuth::Password, Some(b"Rdp-Password-1"));
    new.pin = pin.clone();
    let added = db.store.add_target(new, &cli()).await.unwrap();
    assert_eq!(added.protocol, TargetProtocol::Rdp);
    let read = db
        .store
        .target(&target_name("win01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.pin, pin);
    assert_eq!(read.protocol, TargetProtocol::Rdp);

    let mut keyed = new_target("win02", TargetAuth::Key, Some(b"key"));
    keyed.pin = pin;
    assert!(db.store.add_target(keyed, &cli()).await.is_err());
}

async fn targets_round_trip_without_their_credential(db: TestDb) {
    let secret = b"-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-body\n";
    let (added, appended) = db
        .appended_by(
            db.store
                .add_target(new_target("db01", TargetAuth::Key, Some(secret)), &cli()),
        )
        .await;
    let added = added.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::TargetAdded]));
    assert_eq!(added.address.to_string(), "127.0.0.1:2222");
    assert_eq!(added.pin.to_string(), HOST_KEY);
    let cert = db
        .store
        .add_target(new_target("app01", TargetAuth::Cert, None), &cli())
        .await
        .unwrap();

    assert_eq!(
        db.store.target(&target_name("db01")).await.unwrap(),
        Some(added.clone())
    );
    assert_eq!(db.store.target(&target_name("nope")).await.unwrap(), None);
    assert_eq!(
        db.store.targets().await.unwrap(),
        vec![cert.clone(), added.clone()]
    );

    let opened = db
        .store
        .target_credential(&target_name("db01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.expose_secret().as_slice(), secret);
    // Certificate logins store nothing.
    assert!(
        db.store
            .target_credential(&target_name("app01"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .target_credential(&target_name("nope"))
            .await
            .unwrap()
            .is_none()
    );

    // The audit detail has the public facts and never the credential.
    let record = &db.store.audit_tail(2).await.unwrap()[0];
    assert_eq!(record.subject, "db01");
    assert_eq!(
        record.detail,
        json!({
            "protocol": "ssh",
            "address": "127.0.0.1:2222",
            "login": "maint",
            "auth": "key",
            "host_key": HOST_KEY,
            "host_key_fingerprint": "SHA256:2ECjM/f81+KQ9PWBlN/dReNkupSj+DFb4Y8mYcgNvlg",
            "tags": ["personal-data"],
        })
    );
    let tail = serde_json::to_string(&db.store.audit_tail(100).await.unwrap()).unwrap();
    assert!(!tail.contains("secret-key-body"));

    // Nor is it in the database in clear.
    let mut raw = db.raw().await;
    let row = raw
        .fetch_one("SELECT credential_sealed FROM targets WHERE name = 'db01'")
        .await
        .unwrap();
    let sealed: Vec<u8> = row.try_get("credential_sealed").unwrap();
    assert!(!sealed.windows(15).any(|w| w == b"secret-key-body"));

    let (dup, appended) = db
        .appended_by(
            db.store
                .add_target(new_target("db01", TargetAuth::Cert, None), &cli()),
        )
        .await;
    assert!(
        matches!(dup, Err(Error::AlreadyExists { kind: "target", ref name }) if name == "db01"),
        "{dup:?}"
    );
    assert!(appended.is_empty());
}

async fn credentials_open_only_in_their_own_row_and_under_their_key(db: TestDb) {
    for (name, pw) in [("db01", b"db01-Password-77"), ("db02", b"db02-Password-88")] {
        db.store
            .add_target(new_target(name, TargetAuth::Password, Some(pw)), &cli())
            .await
            .unwrap();
    }
    // Another master key: refused, not an empty credential.
    let other: Box<dyn Store> = Box::new(db.reopen(MasterKey::generate()).await);
    assert!(matches!(
        other.target_credential(&target_name("db01")).await,
        Err(Error::Unseal)
    ));
    // Reading the target itself needs no key.
    assert!(other.target(&target_name("db01")).await.unwrap().is_some());
    // The same key, reopened: fine.
    let same: Box<dyn Store> = Box::new(db.reopen(db.key.clone()).await);
    assert!(
        same.target_credential(&target_name("db01"))
            .await
            .unwrap()
            .is_some()
    );

    // db01's sealed credential copied into db02's row: the context doesn't match.
    let mut raw = db.raw().await;
    raw.execute(
        "UPDATE targets SET credential_sealed = \
         (SELECT credential_sealed FROM targets WHERE name = 'db01') WHERE name = 'db02'",
    )
    .await
    .unwrap();
    assert!(matches!(
        db.store.target_credential(&target_name("db02")).await,
        Err(Error::Unseal)
    ));
    assert_eq!(
        db.store
            .target_credential(&target_name("db01"))
            .await
            .unwrap()
            .unwrap()
            .expose_secret()
            .as_slice(),
        b"db01-Password-77"
    );
}

async fn credential_must_fit_the_auth(db: TestDb) {
    let cases = [
        (TargetAuth::Key, None),
        (TargetAuth::Password, None),
        (TargetAuth::Cert, Some(b"stray".as_slice())),
    ];
    for (auth, credential) in cases {
        let (result, appended) = db
            .appended_by(
                db.store
                    .add_target(new_target("db01", auth, credential), &cli()),
            )
            .await;
        assert!(
            matches!(result, Err(Error::CredentialMismatch { auth: a }) if a == auth),
            "{result:?}"
        );
        assert!(appended.is_empty());
    }
    assert!(db.store.targets().await.unwrap().is_empty());
}

async fn removed_targets_vanish_but_keep_their_name(db: TestDb) {
    with_alice_and_db01(&db).await;
    let plan = db
        .store
        .submit_plan(new_plan(&["alice"], &["db01"]), &cli())
        .await
        .unwrap();
    let (removed, appended) = db
        .appended_by(db.store.remove_target(&target_name("db01"), &cli()))
        .await;
    assert_eq!(removed.unwrap().name, target_name("db01"));
    assert_eq!(appended, kinds(&[AuditKind::TargetRemoved]));
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(
        record.detail,
        json!({"address": "127.0.0.1:2222", "login": "maint", "auth": "password"})
    );

    assert_eq!(db.store.target(&target_name("db01")).await.unwrap(), None);
    assert!(db.store.targets().await.unwrap().is_empty());
    assert!(
        db.store
            .target_credential(&target_name("db01"))
            .await
            .unwrap()
            .is_none()
    );
    // The sealed credential is gone from the row, not just hidden.
    let mut raw = db.raw().await;
    let row = raw
        .fetch_one("SELECT credential_sealed, removed_at FROM targets WHERE name = 'db01'")
        .await
        .unwrap();
    assert!(
        row.try_get::<Option<Vec<u8>>, _>("credential_sealed")
            .unwrap()
            .is_none()
    );
    assert!(
        row.try_get::<Option<i64>, _>("removed_at")
            .unwrap()
            .is_some()
    );

    // Not admissible, though the plan still names it.
    let facts = db
        .store
        .admission_facts(&login("alice"), &target_name("db01"))
        .await
        .unwrap();
    assert!(!facts.target_exists);
    assert_eq!(facts.plans, vec![plan.clone()]);
    let request = policy::admission::AdmissionRequest {
        engineer: login("alice"),
        target: target_name("db01"),
    };
    assert_eq!(
        policy::admission::admit(&request, &facts, now_micros()),
        policy::admission::Decision::Deny(policy::admission::DenyReason::UnknownTarget)
    );
    // History keeps the name.
    assert_eq!(db.store.plan(&plan.id).await.unwrap(), Some(plan));

    // Removing again, or re-adding the name: refused, nothing appended.
    let (again, appended) = db
        .appended_by(db.store.remove_target(&target_name("db01"), &cli()))
        .await;
    assert!(
        matches!(again, Err(Error::NotFound { kind: "target", .. })),
        "{again:?}"
    );
    assert!(appended.is_empty());
    let (readd, appended) = db
        .appended_by(
            db.store
                .add_target(new_target("db01", TargetAuth::Cert, None), &cli()),
        )
        .await;
    assert!(
        matches!(readd, Err(Error::NameRetired { kind: "target", ref name }) if name == "db01"),
        "{readd:?}"
    );
    assert!(appended.is_empty());
    // A plan can't name a removed target.
    let (submitted, appended) = db
        .appended_by(
            db.store
                .submit_plan(new_plan(&["alice"], &["db01"]), &cli()),
        )
        .await;
    assert!(
        matches!(submitted, Err(Error::NotFound { kind: "target", .. })),
        "{submitted:?}"
    );
    assert!(appended.is_empty());
}
