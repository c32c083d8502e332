//! The store's errors.

/// Store results.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached or refused the statement.
    #[error("database error: {0}")]
    Database(#[source] DatabaseError),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(#[source] DatabaseError),
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
    /// The name belonged to a record that was removed. Names of targets are never reused,
    /// so plans, sessions and the audit trail keep meaning the server they named.
    #[error("{kind} {name:?} was removed earlier, and names are never reused; choose another name")]
    NameRetired {
        /// What kind of record.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A target's credential doesn't fit its kind of login: key and password logins store
    /// one, certificate logins none.
    #[error("a target with auth {auth} {}", if auth.needs_credential() { "needs a stored credential" } else { "stores no credential" })]
    CredentialMismatch {
        /// The target's kind of login.
        auth: policy::target::TargetAuth,
    },
    /// The record is not (or no longer) in the state the change starts from: someone else
    /// changed it meanwhile, or it was never in that state (compare-and-set).
    #[error("{kind} {name} is {from}; it cannot become {to}")]
    InvalidTransition {
        /// What kind of record.
        kind: &'static str,
        /// Its key.
        name: String,
        /// Its stored state.
        from: String,
        /// The state asked for.
        to: String,
    },
    /// A kill of this session (or login-only connection) is already pending: the node
    /// holding it has not acted yet. Nothing was changed.
    #[error("a kill of {kind} {name} is already pending")]
    KillPending {
        /// `session` or `connection`.
        kind: &'static str,
        /// Its ID.
        name: String,
    },
    /// A plan names an engineer of another vendor than its own.
    #[error("engineer {engineer} does not belong to vendor {vendor}")]
    EngineerOfOtherVendor {
        /// The engineer.
        engineer: policy::ids::Login,
        /// The plan's vendor.
        vendor: policy::ids::VendorName,
    },
    /// A sealed secret failed to open: wrong master key, or a tampered ciphertext.
    #[error("a sealed secret could not be opened: wrong master key or tampered data")]
    Unseal,
}

/// What the database driver said, kept opaque: no driver type crosses the `Store` trait
/// (STYLE.md §3); callers read its message, the log keeps the detail.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct DatabaseError(Box<dyn std::error::Error + Send + Sync>);

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(DatabaseError(Box::new(error)))
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::Migration(DatabaseError(Box::new(error)))
    }
}
