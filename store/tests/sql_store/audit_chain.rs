//! The audit chain through the store: appends, the tail, verification across pages.

use fumidai_store::audit::{GENESIS_HASH, format_time, record_hash};
use fumidai_store::{Actor, AuditEvent, AuditKind, AuditVerification, ChainBreak};
use serde_json::json;
use sqlx::{Acquire, Executor};

use crate::harness::*;

on_both_backends!(
    appended_records_read_back_exactly,
    tail_is_oldest_first,
    long_chains_verify_page_by_page
);

async fn appended_records_read_back_exactly(db: TestDb) {
    assert_eq!(
        db.store.verify_audit().await.unwrap(),
        AuditVerification::Intact {
            records: 0,
            head: GENESIS_HASH.to_owned()
        }
    );
    let event = AuditEvent::new(AuditKind::GatewayStarted, Actor::System, "node-1")
        .with_detail(json!({"version": "0.1.0", "nested": {"b": 1, "a": [true, null]}}));
    let (first, appended) = db.appended_by(db.store.append_audit(event)).await;
    let first = first.unwrap();
    assert_eq!(appended, kinds(&[AuditKind::GatewayStarted]));
    assert_eq!((first.seq, first.prev_hash.as_str()), (1, GENESIS_HASH));
    assert_eq!(
        first.at.timestamp_subsec_nanos() % 1000,
        0,
        "microsecond precision"
    );
    let second = db
        .store
        .append_audit(AuditEvent::new(
            AuditKind::ConfigLoaded,
            cli(),
            "fumidai.toml",
        ))
        .await
        .unwrap();
    assert_eq!((second.seq, &second.prev_hash), (2, &first.hash));

    // Exactly what was appended, time included: the hash covers it.
    assert_eq!(
        db.store.audit_tail(10).await.unwrap(),
        vec![first, second.clone()]
    );
    assert_eq!(
        db.store.verify_audit().await.unwrap(),
        AuditVerification::Intact {
            records: 2,
            head: second.hash
        }
    );
}

async fn tail_is_oldest_first(db: TestDb) {
    for i in 0..5 {
        db.store
            .append_audit(AuditEvent::new(
                AuditKind::ConfigLoaded,
                Actor::System,
                format!("n{i}"),
            ))
            .await
            .unwrap();
    }
    let tail = db.store.audit_tail(3).await.unwrap();
    assert_eq!(
        tail.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert_eq!(db.store.audit_tail(100).await.unwrap().len(), 5);
    assert!(db.store.audit_tail(0).await.unwrap().is_empty());
}

/// More rows than one verification page (1000), written straight into the table with valid
/// links (appending them one by one through the store would be slow), then a break past
/// the first page.
async fn long_chains_verify_page_by_page(db: TestDb) {
    const N: i64 = 2345;
    let mut raw = db.raw().await;
    let mut tx = raw.begin().await.unwrap();
    let conn = tx.acquire().await.unwrap();
    let mut prev = GENESIS_HASH.to_owned();
    let at = t0();
    for seq in 1..=N {
        let detail = json!({"n": seq});
        let hash = record_hash(
            &prev,
            seq,
            &format_time(at),
            "system",
            "config.loaded",
            "bulk",
            &detail,
        );
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, kind, subject, detail, prev_hash, hash) \
             VALUES ($1, $2, 'system', 'config.loaded', 'bulk', $3, $4, $5)",
        )
        .bind(seq)
        .bind(at.timestamp_micros())
        .bind(detail.to_string())
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *conn)
        .await
        .unwrap();
        prev = hash;
    }
    tx.commit().await.unwrap();
    assert_eq!(
        db.store.verify_audit().await.unwrap(),
        AuditVerification::Intact {
            records: N as u64,
            head: prev
        }
    );

    // The store appends after them.
    let next = db
        .store
        .append_audit(AuditEvent::new(
            AuditKind::GatewayStarted,
            Actor::System,
            "x",
        ))
        .await
        .unwrap();
    assert_eq!(next.seq, N + 1);
    assert!(
        matches!(db.store.verify_audit().await.unwrap(), AuditVerification::Intact { records, .. } if records == N as u64 + 1)
    );

    db.drop_audit_triggers().await;
    raw.execute("UPDATE audit_log SET subject = 'edited' WHERE seq = 2001")
        .await
        .unwrap();
    assert_eq!(
        db.store.verify_audit().await.unwrap(),
        AuditVerification::Broken {
            seq: 2001,
            problem: ChainBreak::HashMismatch
        }
    );
}
