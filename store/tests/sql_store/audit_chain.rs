//! The audit chain through the store: appends, the tail, verification across pages.

use fumidai_store::audit::{GENESIS_HASH, format_time, record_hash};
use fumidai_store::{Actor, AuditEvent, AuditFilter, AuditKind, AuditVerification, ChainBreak};
use serde_json::json;
use sqlx::{Acquire, Executor};

use crate::harness::*;

on_both_backends!(
    appended_records_read_back_exactly,
    tail_is_oldest_first,
    long_chains_verify_page_by_page,
    records_are_filtered_and_paged_by_seq
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

/// The console's audit page: filters narrow, pages go back by `seq` without gaps or
/// repeats, newest first.
async fn records_are_filtered_and_paged_by_seq(db: TestDb) {
    let olga = Actor::Person("olga".parse().unwrap());
    for i in 0..7 {
        let (kind, actor) = if i % 2 == 0 {
            (AuditKind::PlanApproved, olga.clone())
        } else {
            (AuditKind::ConfigLoaded, cli())
        };
        db.store
            .append_audit(AuditEvent::new(kind, actor, format!("s{}", i % 3)))
            .await
            .unwrap();
    }
    let all = db
        .store
        .audit_records(&AuditFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![7, 6, 5, 4, 3, 2, 1]
    );
    // Pages of 3, back to the start.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = db
            .store
            .audit_records(&AuditFilter::default(), before, 3)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.seq);
        seen.extend(page.iter().map(|r| r.seq));
    }
    assert_eq!(seen, vec![7, 6, 5, 4, 3, 2, 1]);
    // Kind and actor and subject together.
    let filter = AuditFilter {
        kind: Some("plan.approved".into()),
        actor: Some("person:olga".into()),
        subject: Some("s0".into()),
        ..AuditFilter::default()
    };
    let picked = db.store.audit_records(&filter, None, 100).await.unwrap();
    assert_eq!(
        picked.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![7, 1],
        "{picked:?}"
    );
    // A time range: after the fourth record's time, nothing before it.
    let fourth = all.iter().find(|r| r.seq == 4).unwrap().at;
    let since = AuditFilter {
        from: Some(fourth),
        ..AuditFilter::default()
    };
    let recent = db.store.audit_records(&since, None, 100).await.unwrap();
    assert!(recent.iter().all(|r| r.seq >= 4), "{recent:?}");
    assert!(recent.iter().any(|r| r.seq == 4));
    let until = AuditFilter {
        to: Some(fourth),
        ..AuditFilter::default()
    };
    let earlier = db.store.audit_records(&until, None, 100).await.unwrap();
    assert!(earlier.iter().all(|r| r.seq < 4), "{earlier:?}");
}
