//! What only SQLite has: the file, its journal mode, other processes on the same file.

use fumidai_store::{Actor, AuditEvent, AuditKind, Store};
use sqlx::Row;

use crate::harness::*;

#[tokio::test]
async fn the_file_is_created_in_wal_mode() {
    run_sqlite(|db: TestDb| async move {
        let path = db.url.trim_start_matches("sqlite://").to_owned();
        assert!(std::path::Path::new(&path).exists());
        let mut raw = db.raw().await;
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&mut raw)
            .await
            .unwrap()
            .get(0);
        assert_eq!(mode, "wal");
    })
    .await;
}

/// Two stores on one file stand for the CLI and the server: their writes interleave into
/// one chain, each waiting for the other's write lock instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_share_the_chain() {
    run_sqlite(|db: TestDb| async move {
        let other = std::sync::Arc::new(db.reopen(db.key.clone()).await);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..20 {
            let store: std::sync::Arc<dyn Store> = if i % 2 == 0 {
                db.store.clone()
            } else {
                other.clone()
            };
            tasks.spawn(async move {
                store
                    .append_audit(AuditEvent::new(
                        AuditKind::ConfigLoaded,
                        Actor::System,
                        format!("{i}"),
                    ))
                    .await
            });
        }
        for r in tasks.join_all().await {
            r.unwrap();
        }
        assert!(matches!(
            other.verify_audit().await.unwrap(),
            fumidai_store::AuditVerification::Intact { records: 20, .. }
        ));
    })
    .await;
}
