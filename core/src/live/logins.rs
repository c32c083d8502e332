//! Logged-in connections that hold no maintenance session yet (issue 12). They are no
//! session — no target, no plan, no recording — but they are a way in: the watcher
//! re-checks their certificate and account every second, closes them on a kill request
//! stored by `fumidai session kill`, and closes those that opened no channel within the
//! login grace (keepalives keep no login alive).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use policy::ids::{Login, SessionId};
use store::{CertSerial, Store};
use tracing::{info, warn};

use super::connection::{Hangup, LiveConnection};
use super::registry::Registry;

/// The logged-in connections without a session on this gateway.
#[derive(Debug, Default)]
pub(super) struct Logins(Mutex<HashMap<SessionId, Arc<LoginEntry>>>);

/// One such connection.
pub(super) struct LoginEntry {
    /// Its ID (also its row in the store's `connections`).
    pub(super) id: SessionId,
    /// Who logged in.
    pub(super) engineer: Login,
    /// The client certificate it presented, re-checked for revocation.
    pub(super) serial: Option<CertSerial>,
    /// When the login succeeded: the login grace for a first channel counts from here.
    pub(super) logged_in_at: DateTime<Utc>,
    /// The connection, to disconnect.
    connection: Arc<dyn LiveConnection>,
    /// It opened a channel (then the no-channel grace no longer applies).
    channel_opened: AtomicBool,
    /// fumidai decided to close it (once only).
    closing: AtomicBool,
}

impl std::fmt::Debug for LoginEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginEntry")
            .field("id", &self.id)
            .field("engineer", &self.engineer)
            .finish_non_exhaustive()
    }
}

/// Keeps a login registered (here and in the store) while it has no session; dropping it
/// — the session opened, or the connection closed — forgets it in both.
pub struct LoginGuard {
    registry: Registry,
    entry: Arc<LoginEntry>,
    store: Option<Arc<dyn Store>>,
}

/// What is registered for a login.
#[derive(Debug, Clone)]
pub struct LoginParts {
    /// The connection's ID, as stored.
    pub id: SessionId,
    /// Who logged in.
    pub engineer: Login,
    /// Their client certificate's serial.
    pub serial: Option<CertSerial>,
    /// When.
    pub logged_in_at: DateTime<Utc>,
}

impl Registry {
    /// Registers a logged-in connection that holds no session yet. `store`, when given, is
    /// where its row (already inserted by the caller) is deleted when the guard drops.
    pub fn register_login(
        &self,
        parts: LoginParts,
        connection: Arc<dyn LiveConnection>,
        store: Option<Arc<dyn Store>>,
    ) -> LoginGuard {
        let entry = Arc::new(LoginEntry {
            id: parts.id,
            engineer: parts.engineer,
            serial: parts.serial,
            logged_in_at: parts.logged_in_at,
            connection,
            channel_opened: AtomicBool::new(false),
            closing: AtomicBool::new(false),
        });
        self.logins().insert(entry.id, Arc::clone(&entry));
        LoginGuard {
            registry: self.clone(),
            entry,
            store,
        }
    }

    /// The logins without a session registered now.
    pub(super) fn login_entries(&self) -> Vec<Arc<LoginEntry>> {
        self.logins().values().cloned().collect()
    }

    /// Closes a login: disconnects it with `description` (shown by OpenSSH as "Received
    /// disconnect"). False when it is not held here or already closing.
    pub(super) async fn close_login(&self, id: &SessionId, description: &str) -> bool {
        let Some(entry) = self.logins().get(id).cloned() else {
            return false;
        };
        if entry.closing.swap(true, Ordering::AcqRel) {
            return false;
        }
        info!(connection_id = %entry.id, engineer = %entry.engineer, "closing a login without a session");
        entry
            .connection
            .disconnect(&Hangup::LoginClosed {
                description: description.to_owned(),
            })
            .await;
        true
    }

    fn logins(&self) -> MutexGuard<'_, HashMap<SessionId, Arc<LoginEntry>>> {
        self.login_map()
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl LoginEntry {
    /// Whether it opened any channel.
    pub(super) fn channel_opened(&self) -> bool {
        self.channel_opened.load(Ordering::Acquire)
    }

    /// Whether fumidai is closing it.
    pub(super) fn closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }
}

impl std::fmt::Debug for LoginGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginGuard")
            .field("entry", &self.entry)
            .finish_non_exhaustive()
    }
}

impl LoginGuard {
    /// The connection's ID.
    pub fn id(&self) -> SessionId {
        self.entry.id
    }

    /// Marks that the connection opened a channel: the no-channel grace is over.
    pub fn channel_opened(&self) {
        self.entry.channel_opened.store(true, Ordering::Release);
    }
}

impl Drop for LoginGuard {
    fn drop(&mut self) {
        {
            let mut logins = self.registry.logins();
            if logins
                .get(&self.entry.id)
                .is_some_and(|e| Arc::ptr_eq(e, &self.entry))
            {
                logins.remove(&self.entry.id);
            }
        }
        if let (Some(store), Ok(runtime)) =
            (self.store.take(), tokio::runtime::Handle::try_current())
        {
            let id = self.entry.id;
            runtime.spawn(async move {
                if let Err(error) = store.remove_connection(&id).await {
                    warn!(connection_id = %id, %error, "could not forget a closed login in the store");
                }
            });
        }
    }
}
