//! R-17-2: the audit log refuses changes, and changes made behind its back (triggers
//! dropped, raw SQL) are found by `verify_audit`, which names the first broken link.

use fumidai_store::audit::{format_time, record_hash};
use fumidai_store::{Actor, AuditEvent, AuditKind, AuditRecord, AuditVerification, ChainBreak};
use serde_json::json;
use sqlx::{AnyConnection, Executor};

use crate::harness::*;

on_both_backends!(
    triggers_refuse_update_and_delete,
    an_updated_row_is_named,
    an_updated_and_rehashed_row_breaks_the_next_link,
    a_deleted_row_is_named,
    an_inserted_row_is_named,
    an_unreadable_row_is_a_broken_link,
);

/// Five records through the store.
async fn chain_of_five(db: &TestDb) -> Vec<AuditRecord> {
    let mut out = Vec::new();
    for i in 1..=5 {
        let event = AuditEvent::new(AuditKind::ConfigLoaded, Actor::System, format!("r{i}"))
            .with_detail(json!({"i": i}));
        out.push(db.store.append_audit(event).await.unwrap());
    }
    assert!(matches!(
        db.store.verify_audit().await.unwrap(),
        AuditVerification::Intact { records: 5, .. }
    ));
    out
}

async fn broken(db: &TestDb) -> AuditVerification {
    db.store.verify_audit().await.unwrap()
}

async fn triggers_refuse_update_and_delete(db: TestDb) {
    let chain = chain_of_five(&db).await;
    let mut raw = db.raw().await;
    let update = raw
        .execute("UPDATE audit_log SET subject = 'edited' WHERE seq = 3")
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = raw.execute("DELETE FROM audit_log WHERE seq = 3").await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    let delete_all = raw.execute("DELETE FROM audit_log").await;
    assert!(delete_all.is_err());
    assert_eq!(db.store.audit_tail(10).await.unwrap(), chain);
}

async fn an_updated_row_is_named(db: TestDb) {
    chain_of_five(&db).await;
    db.drop_audit_triggers().await;
    let mut raw = db.raw().await;
    let done = raw
        .execute("UPDATE audit_log SET detail = '{\"i\":33}' WHERE seq = 3")
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
    assert_eq!(
        broken(&db).await,
        AuditVerification::Broken {
            seq: 3,
            problem: ChainBreak::HashMismatch
        }
    );
}

async fn an_updated_and_rehashed_row_breaks_the_next_link(db: TestDb) {
    let chain = chain_of_five(&db).await;
    db.drop_audit_triggers().await;
    let r3 = &chain[2];
    let forged_hash = record_hash(
        &r3.prev_hash,
        3,
        &format_time(r3.at),
        &r3.actor,
        &r3.kind,
        "forged",
        &r3.detail,
    );
    let mut raw = db.raw().await;
    sqlx::query("UPDATE audit_log SET subject = 'forged', hash = $1 WHERE seq = 3")
        .bind(forged_hash)
        .execute(&mut raw)
        .await
        .unwrap();
    assert_eq!(
        broken(&db).await,
        AuditVerification::Broken {
            seq: 4,
            problem: ChainBreak::PrevHashMismatch
        }
    );
}

async fn a_deleted_row_is_named(db: TestDb) {
    let chain = chain_of_five(&db).await;
    db.drop_audit_triggers().await;
    let mut raw = db.raw().await;
    raw.execute("DELETE FROM audit_log WHERE seq = 3")
        .await
        .unwrap();
    assert_eq!(
        broken(&db).await,
        AuditVerification::Broken {
            seq: 4,
            problem: ChainBreak::SequenceGap
        }
    );

    // Cutting the end off leaves a shorter valid chain with another head: that is what the
    // head hash printed by `audit verify` is noted down for.
    raw.execute("DELETE FROM audit_log WHERE seq >= 3")
        .await
        .unwrap();
    let AuditVerification::Intact { records, head } = broken(&db).await else {
        panic!("prefix is intact")
    };
    assert_eq!(records, 2);
    assert_ne!(head, chain[4].hash);
}

/// A forged record slipped in at seq 3, everything after renumbered, and the forgery given
/// a hash that links correctly to record 2: the old record 3 (now 4) no longer links.
async fn an_inserted_row_is_named(db: TestDb) {
    let chain = chain_of_five(&db).await;
    db.drop_audit_triggers().await;
    let mut raw = db.raw().await;
    // Renumber in two steps so no intermediate state collides with the primary key.
    raw.execute("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3")
        .await
        .unwrap();
    raw.execute("UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000")
        .await
        .unwrap();
    let r2 = &chain[1];
    let detail = json!({"i": 99});
    let hash = record_hash(
        &r2.hash,
        3,
        &format_time(r2.at),
        "system",
        "config.loaded",
        "forged",
        &detail,
    );
    insert(
        &mut raw,
        3,
        r2.at.timestamp_micros(),
        "forged",
        &detail,
        &r2.hash,
        &hash,
    )
    .await;
    assert_eq!(db.store.audit_tail(10).await.unwrap().len(), 6);
    assert_eq!(
        broken(&db).await,
        AuditVerification::Broken {
            seq: 4,
            problem: ChainBreak::PrevHashMismatch
        }
    );
}

async fn an_unreadable_row_is_a_broken_link(db: TestDb) {
    chain_of_five(&db).await;
    db.drop_audit_triggers().await;
    let mut raw = db.raw().await;
    raw.execute("UPDATE audit_log SET detail = 'not json' WHERE seq = 2")
        .await
        .unwrap();
    assert_eq!(
        broken(&db).await,
        AuditVerification::Broken {
            seq: 2,
            problem: ChainBreak::HashMismatch
        }
    );
}

async fn insert(
    raw: &mut AnyConnection,
    seq: i64,
    at: i64,
    subject: &str,
    detail: &serde_json::Value,
    prev: &str,
    hash: &str,
) {
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, kind, subject, detail, prev_hash, hash) \
         VALUES ($1, $2, 'system', 'config.loaded', $3, $4, $5, $6)",
    )
    .bind(seq)
    .bind(at)
    .bind(subject)
    .bind(detail.to_string())
    .bind(prev)
    .bind(hash)
    .execute(raw)
    .await
    .unwrap();
}
