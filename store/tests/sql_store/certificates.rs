//! Client certificates: issue, list, revoke by login and by serial.

use chrono::Duration;
use fumidai_store::{AuditKind, CertSerial, Error, NewCertificate, RevokeSelector};
use serde_json::json;

use crate::harness::*;

on_both_backends!(
    issue_list_and_revoke,
    issuing_needs_an_account_and_a_fresh_serial
);

fn cert(serial: &str, owner: &str) -> NewCertificate {
    NewCertificate {
        serial: CertSerial::parse(serial).unwrap(),
        login: login(owner),
        not_before: t0(),
        not_after: t0() + Duration::days(90),
        sha256: format!("{serial:0>64}"),
    }
}

fn serial(s: &str) -> CertSerial {
    CertSerial::parse(s).unwrap()
}

async fn issue_list_and_revoke(db: TestDb) {
    with_alice(&db).await;
    db.store
        .add_account(engineer("bob", "acme", b"bob-secret-000000000"), &cli())
        .await
        .unwrap();
    let (a1, appended) = db
        .appended_by(db.store.add_certificate(cert("a1", "alice"), &cli()))
        .await;
    let a1 = a1.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::CertificateIssued]));
    assert_eq!(
        (a1.not_before, a1.not_after, a1.revoked_at),
        (t0(), t0() + Duration::days(90), None)
    );
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.subject, "a1");
    assert_eq!(record.detail["login"], json!("alice"));
    assert_eq!(
        record.detail["not_after"],
        json!("2027-02-24T09:00:00.000000Z")
    );
    let a2 = db
        .store
        .add_certificate(cert("a2", "alice"), &cli())
        .await
        .unwrap();
    let b1 = db
        .store
        .add_certificate(cert("b1", "bob"), &cli())
        .await
        .unwrap();

    let listed = db.store.certificates().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(
        listed.windows(2).all(|w| w[0].issued_at >= w[1].issued_at),
        "newest first"
    );
    for c in [&a1, &a2, &b1] {
        assert!(listed.contains(c), "{c:?}");
    }
    assert!(db.store.revoked_serials().await.unwrap().is_empty());

    // By serial: one certificate, one event.
    let (revoked, appended) = db
        .appended_by(db.store.revoke_certificates(
            &RevokeSelector::Serial(serial("a1")),
            "laptop lost",
            &cli(),
        ))
        .await;
    let revoked = revoked.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::CertificateRevoked]));
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].serial, serial("a1"));
    assert_eq!(revoked[0].revocation_reason.as_deref(), Some("laptop lost"));
    assert!(revoked[0].revoked_at.is_some());
    let record = db.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(
        (record.subject.as_str(), &record.detail),
        ("a1", &json!({"login": "alice", "reason": "laptop lost"}))
    );
    assert_eq!(
        db.store.revoked_serials().await.unwrap(),
        vec![serial("a1")]
    );

    // Again: nothing left to revoke, nothing recorded. Same for an unknown serial.
    for s in ["a1", "ff"] {
        let (revoked, appended) = db
            .appended_by(db.store.revoke_certificates(
                &RevokeSelector::Serial(serial(s)),
                "again",
                &cli(),
            ))
            .await;
        assert!(revoked.unwrap().is_empty());
        assert!(appended.is_empty());
    }

    // By login: every unrevoked certificate of that login, one event each.
    db.store
        .add_certificate(cert("a3", "alice"), &cli())
        .await
        .unwrap();
    let (revoked, appended) = db
        .appended_by(db.store.revoke_certificates(
            &RevokeSelector::Login(login("alice")),
            "left the vendor",
            &cli(),
        ))
        .await;
    let mut serials: Vec<_> = revoked.unwrap().into_iter().map(|c| c.serial).collect();
    serials.sort();
    assert_eq!(serials, vec![serial("a2"), serial("a3")]);
    assert_eq!(
        appended,
        kinds(&[AuditKind::CertificateRevoked, AuditKind::CertificateRevoked])
    );
    assert_eq!(
        db.store.revoked_serials().await.unwrap(),
        vec![serial("a1"), serial("a2"), serial("a3")]
    );

    // The earlier revocation keeps its own reason; bob's certificate is untouched.
    let listed = db.store.certificates().await.unwrap();
    let a1_now = listed.iter().find(|c| c.serial == serial("a1")).unwrap();
    assert_eq!(a1_now.revocation_reason.as_deref(), Some("laptop lost"));
    let b1_now = listed.iter().find(|c| c.serial == serial("b1")).unwrap();
    assert_eq!(b1_now, &b1);
}

async fn issuing_needs_an_account_and_a_fresh_serial(db: TestDb) {
    with_alice(&db).await;
    db.store
        .add_certificate(cert("a1", "alice"), &cli())
        .await
        .unwrap();
    let (dup, appended) = db
        .appended_by(db.store.add_certificate(cert("a1", "alice"), &cli()))
        .await;
    assert!(
        matches!(dup, Err(Error::AlreadyExists { kind: "certificate", ref name }) if name == "a1"),
        "{dup:?}"
    );
    assert!(appended.is_empty());
    let (orphan, appended) = db
        .appended_by(db.store.add_certificate(cert("c1", "carol"), &cli()))
        .await;
    assert!(
        matches!(orphan, Err(Error::NotFound { kind: "account", ref name }) if name == "carol"),
        "{orphan:?}"
    );
    assert!(appended.is_empty());
    assert_eq!(db.store.certificates().await.unwrap().len(), 1);
}
