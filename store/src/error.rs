//! The store's errors.

/// Store results.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached or refused the statement.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The URL names a database kind fumidai doesn't support.
    #[error("unsupported database url {0:?}: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// A record with this key already exists.
    #[error("{kind} {name:?} already exists")]
    AlreadyExists {
        /// What kind of record.
        kind: &'static str,
        /// Its key.
        name: String,
    },
    /// A record the operation needs does not exist.
    #[error("{kind} {name:?} not found")]
    NotFound {
        /// What kind of record.
        kind: &'static str,
        /// Its key.
        name: String,
    },
    /// A stored value could not be read back (a corrupt or tampered row).
    #[error("corrupt {what} in the database: {detail}")]
    Corrupt {
        /// Which value.
        what: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// A sealed secret failed to open: wrong master key, or a tampered ciphertext.
    #[error("a sealed secret could not be opened: wrong master key or tampered data")]
    Unseal,
}
