//! The [`Store`](crate::Store) on `sqlx::Any`: one schema, migrated per database, read and
//! written through the few types `Any` knows (integers, text, bytes).
//!
//! # Layout
//!
//! - this file: opening a database, which backend it is, and write transactions.
//! - `convert`: timestamps, flags, typed names and database errors to and from rows.
//! - `audit_log`: appending to the chain inside a write transaction; tail and verification.
//! - `vendors`, `accounts`, `logins`, `certificates`, `targets`, `plans`, `sessions`,
//!   `kills`, `seals`, `console_sessions`: one concern each.
//! - `store_impl`: the trait, forwarding to the above.
//!
//! # Writes and the audit chain
//!
//! Every change is made in one transaction together with the audit record(s) describing it
//! (R-17-2), and those transactions are serialized, because each append reads the chain's
//! head and writes the next link:
//!
//! - PostgreSQL: the transaction first takes `pg_advisory_xact_lock`, which holds across
//!   every node sharing the database and is released by commit or rollback.
//! - SQLite: writers in this process queue on a `tokio` mutex, and the transaction starts
//!   with `BEGIN IMMEDIATE`, which takes SQLite's write lock up front; other processes on
//!   the same file (the CLI next to the server) wait for it under `busy_timeout` instead of
//!   failing half-way through a read-then-write.

mod accounts;
mod audit_log;
mod certificates;
mod connections;
mod console_sessions;
mod convert;
mod kills;
mod lifecycle;
mod logins;
mod plans;
mod reports;
mod seals;
mod session_query;
mod sessions;
mod store_impl;
mod target_update;
mod targets;
mod vendor_targets;
mod vendors;

use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::sealing::MasterKey;

/// Which database a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A local SQLite file: the single-box default.
    Sqlite,
    /// PostgreSQL: shared by several gateway nodes.
    Postgres,
}

/// The store on SQLite or PostgreSQL.
pub struct SqlStore {
    /// Connections; `Any` so that one implementation serves both databases.
    pool: AnyPool,
    /// Which database, for the few statements whose dialects differ.
    backend: Backend,
    /// Seals and opens TOTP secrets; never written to the database.
    master_key: MasterKey,
    /// Queues this process's SQLite writers, so they wait their turn here rather than spin
    /// in SQLite's busy handler. Unused on PostgreSQL, where the advisory lock serializes.
    sqlite_writer: Mutex<()>,
    /// The gateway node whose sessions this store records (`serve` names it once): stored
    /// with each session so that, after a crash, a node ends its own sessions only.
    node: std::sync::OnceLock<String>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// How long an SQLite connection waits for another connection's (or process's) write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Key of the PostgreSQL advisory lock that serializes write transactions (and so audit
/// appends) across every node: "fumidai" in ASCII.
const APPEND_LOCK_KEY: i64 = 0x0066_756d_6964_6169;

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

impl SqlStore {
    /// Opens `sqlite://PATH` (creating the file if missing) or `postgres://…` /
    /// `postgresql://…`, and applies pending migrations. Any other URL is
    /// [`Error::UnsupportedUrl`].
    pub async fn open(url: &str, master_key: MasterKey) -> Result<Self> {
        let backend = Backend::of_url(url).ok_or_else(|| Error::UnsupportedUrl(redact(url)))?;
        sqlx::any::install_default_drivers();
        let (url, options) = match backend {
            Backend::Sqlite => (sqlite_url(url), sqlite_pool_options()),
            Backend::Postgres => (url.to_owned(), AnyPoolOptions::new().max_connections(10)),
        };
        let pool = options.connect(&url).await?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATOR.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATOR.run(&pool).await?,
        }
        Ok(Self {
            pool,
            backend,
            master_key,
            sqlite_writer: Mutex::new(()),
            node: std::sync::OnceLock::new(),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection; later calls fail. Dropping the store does the same, lazily.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a write transaction, serialized with every other (see the module docs).
    async fn write(&self) -> Result<WriteTx<'_>> {
        match self.backend {
            Backend::Sqlite => {
                let queued = self.sqlite_writer.lock().await;
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx {
                    tx,
                    _queued: Some(queued),
                })
            }
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(APPEND_LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
                Ok(WriteTx { tx, _queued: None })
            }
        }
    }
}

impl Backend {
    /// The backend a URL names, if fumidai supports it.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// A write transaction: rolled back when dropped uncommitted, then lets the next writer in.
struct WriteTx<'s> {
    /// Declared first so it is dropped (rolled back) before the queue place is released.
    tx: Transaction<'static, Any>,
    /// This process's SQLite writer queue, held until the transaction ends.
    _queued: Option<MutexGuard<'s, ()>>,
}

impl WriteTx<'_> {
    /// The transaction's connection, for statements.
    fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Commits the change and its audit records together.
    async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Adds `mode=rwc` (create if missing) unless the URL sets a mode itself.
fn sqlite_url(url: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q);
    if query.is_some_and(|q| q.split('&').any(|pair| pair.starts_with("mode="))) {
        url.to_owned()
    } else if query.is_some() {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Pool options for SQLite: every connection waits for locks, enforces foreign keys, and
/// uses the write-ahead log (readers don't block the writer; WAL persists in the file, so
/// after the first connection the pragma is a no-op).
fn sqlite_pool_options() -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(8)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // busy_timeout first, so that switching to WAL waits for other processes too.
                let busy = format!("PRAGMA busy_timeout = {}", SQLITE_BUSY_TIMEOUT.as_millis());
                conn.execute(busy.as_str()).await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute("PRAGMA journal_mode = WAL").await?;
                Ok(())
            })
        })
}

/// The URL without credentials, for error messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => {
            format!("{scheme}://…{}", url.get(at..).unwrap_or_default())
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            Backend::of_url("sqlite:///var/lib/fumidai/db.sqlite"),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::of_url("postgres://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::of_url("postgresql://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::of_url("mysql://u@h/db"), None);
        assert_eq!(Backend::of_url("/var/lib/fumidai/db.sqlite"), None);

        assert_eq!(sqlite_url("sqlite:///x/db"), "sqlite:///x/db?mode=rwc");
        assert_eq!(
            sqlite_url("sqlite:///x/db?cache=shared"),
            "sqlite:///x/db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_url("sqlite:///x/db?mode=ro"),
            "sqlite:///x/db?mode=ro"
        );

        assert_eq!(
            redact("mysql://root:hunter2@db:3306/x"),
            "mysql://…@db:3306/x"
        );
        assert_eq!(redact("redis://cache"), "redis://cache");
    }

    #[tokio::test]
    async fn unsupported_urls_are_refused_without_their_password() {
        let err = SqlStore::open("mysql://root:hunter2@db/x", MasterKey::generate())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::UnsupportedUrl(_)));
        assert!(!err.to_string().contains("hunter2"));
    }
}
