//! The sessions this gateway holds, and how one is ended.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use policy::ids::{Login, PlanId, SessionId, TargetName};
use policy::limits::EndReason;
use store::CertSerial;
use tokio::sync::watch;
use tracing::info;

use super::clock::{Activity, Clock};
use super::connection::{Hangup, LiveConnection};
use super::desktop::{DesktopFeed, DesktopWatch};
use super::screen::{ScreenFeed, ScreenWatch};

/// The live sessions of this gateway. Cheap to clone; clones share the sessions.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Registered sessions; an entry lives as long as its [`LiveGuard`].
    sessions: Mutex<HashMap<SessionId, Arc<Entry>>>,
    /// Where "now" comes from, for activity marks and the watcher.
    clock: Clock,
    /// Logged-in connections without a session (issue 12).
    logins: super::logins::Logins,
}

/// A registered session, as the registry and the watcher see it.
pub(super) struct Entry {
    pub(super) id: SessionId,
    pub(super) engineer: Login,
    pub(super) target: TargetName,
    pub(super) plan: PlanId,
    /// The client certificate the connection presented, re-checked for revocation every
    /// second (issue 12); `None` when not known.
    pub(super) serial: Option<CertSerial>,
    pub(super) started_at: DateTime<Utc>,
    /// The plan's window end: the session is cut then.
    pub(super) window_ends_at: DateTime<Utc>,
    /// The engineer's connection: where warnings and the end message go, and the hang-up
    /// (SSH: the bridged channels, the target leg, the disconnect; RDP: nothing to write
    /// to, and its relay watches the [`EndSignal`] and closes both legs itself).
    connection: Arc<dyn LiveConnection>,
    pub(super) activity: Activity,
    /// The engineer has been warned of the hard end (once only).
    pub(super) warned: AtomicBool,
    pub(super) end: EndSignal,
    /// The terminal output of its interactive channel, for watchers (SSH).
    screen: ScreenFeed,
    /// Its desktop's decoder state and server frames, for watchers (RDP).
    desktop: DesktopFeed,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("id", &self.id)
            .field("engineer", &self.engineer)
            .field("target", &self.target)
            .field("ending", &self.end.reason())
            .finish_non_exhaustive()
    }
}

/// A snapshot of one live session, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// The session.
    pub id: SessionId,
    /// Who.
    pub engineer: Login,
    /// Where to.
    pub target: TargetName,
    /// Under which plan.
    pub plan: PlanId,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When its window ends.
    pub window_ends_at: DateTime<Utc>,
    /// Its last engineer input or target output.
    pub last_activity: DateTime<Utc>,
    /// Why it is being ended, once that is decided.
    pub ending: Option<EndReason>,
}

/// Keeps a session registered while alive; unregisters it when dropped. Held by the
/// protocol's connection (SSH or RDP) for as long as it lives.
#[derive(Debug)]
pub struct LiveGuard {
    registry: Registry,
    entry: Arc<Entry>,
}

/// Why a session is ending, once decided; outlives the [`LiveGuard`], so the code that
/// records the session's end can read it after the connection has closed.
#[derive(Debug, Clone)]
pub struct EndSignal(Arc<watch::Sender<Option<EndReason>>>);

impl Registry {
    /// An empty registry on `clock`.
    pub fn new(clock: Clock) -> Self {
        Self {
            inner: Arc::new(Inner {
                sessions: Mutex::default(),
                clock,
                logins: super::logins::Logins::default(),
            }),
        }
    }

    /// The registry's clock.
    pub fn clock(&self) -> Clock {
        self.inner.clock
    }

    /// Registers an admitted session whose engineer is connected through `connection`.
    /// Keep the guard as long as the connection.
    pub fn register(&self, parts: SessionParts, connection: Arc<dyn LiveConnection>) -> LiveGuard {
        let entry = Arc::new(Entry::new(parts, connection, self.inner.clock));
        self.lock().insert(entry.id, Arc::clone(&entry));
        LiveGuard {
            registry: self.clone(),
            entry,
        }
    }

    /// The feed of session `id`'s terminal, for the protocol's interactive channel.
    pub fn screen(&self, id: &SessionId) -> Option<ScreenFeed> {
        self.lock().get(id).map(|entry| entry.screen.clone())
    }

    /// Watches session `id`'s terminal read-only (`None` when it is not live here).
    pub fn watch(&self, id: &SessionId) -> Option<ScreenWatch> {
        self.screen(id).map(|feed| feed.watch())
    }

    /// The feed of session `id`'s desktop, for the RDP relay's recording.
    pub fn desktop(&self, id: &SessionId) -> Option<DesktopFeed> {
        self.lock().get(id).map(|entry| entry.desktop.clone())
    }

    /// Watches session `id`'s desktop (`None` when it is not live here).
    pub fn watch_desktop(&self, id: &SessionId) -> Option<DesktopWatch> {
        self.desktop(id).map(|feed| feed.watch())
    }

    /// Marks activity on a session (a no-op for one not registered). The bridge should
    /// rather hold the session's [`Activity`], which skips the look-up.
    pub fn touch(&self, id: &SessionId) {
        if let Some(entry) = self.find(id) {
            entry.activity.touch();
        }
    }

    /// Ends a session for `reason`: records the reason for its [`EndSignal`], tells the
    /// engineer `message` (Japanese and English, `\r\n` line ends) and hangs up their
    /// connection ([`LiveConnection`]). Returns false when the session is not registered
    /// here or its end was already decided (the first reason stands).
    pub async fn end(&self, id: &SessionId, reason: EndReason, message: &str) -> bool {
        let Some(entry) = self.find(id) else {
            return false;
        };
        if !entry.end.decide(reason) {
            return false;
        }
        info!(
            session_id = %entry.id,
            engineer = %entry.engineer,
            target = %entry.target,
            reason = reason.as_str(),
            "ending session"
        );
        // The message first: OpenSSH shows a channel's stderr when the channel closes, but
        // drops what it has not written yet when it reads a disconnect.
        entry.connection.warn(message).await;
        entry
            .connection
            .disconnect(&Hangup::SessionEnded(reason))
            .await;
        true
    }

    /// The sessions registered now, by start time.
    pub fn sessions(&self) -> Vec<LiveSession> {
        let mut list: Vec<LiveSession> = self
            .entries()
            .iter()
            .map(|e| LiveSession {
                id: e.id,
                engineer: e.engineer.clone(),
                target: e.target.clone(),
                plan: e.plan,
                started_at: e.started_at,
                window_ends_at: e.window_ends_at,
                last_activity: e.activity.last(),
                ending: e.end.reason(),
            })
            .collect();
        list.sort_by_key(|s| (s.started_at, s.id));
        list
    }

    /// Every registered entry, for the watcher.
    pub(super) fn entries(&self) -> Vec<Arc<Entry>> {
        self.lock().values().cloned().collect()
    }

    pub(super) fn find(&self, id: &SessionId) -> Option<Arc<Entry>> {
        self.lock().get(id).cloned()
    }

    /// The logins without a session.
    pub(super) fn login_map(&self) -> &super::logins::Logins {
        &self.inner.logins
    }

    /// The map; a panic elsewhere while holding the lock leaves it usable (every change is
    /// a single insert or remove).
    fn lock(&self) -> MutexGuard<'_, HashMap<SessionId, Arc<Entry>>> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a session is, apart from its connections.
#[derive(Debug, Clone)]
pub struct SessionParts {
    /// The session.
    pub id: SessionId,
    /// Who.
    pub engineer: Login,
    /// Where to.
    pub target: TargetName,
    /// Under which plan.
    pub plan: PlanId,
    /// The client certificate the connection presented, if known (revocation re-check).
    pub serial: Option<CertSerial>,
    /// When it started (also its first activity).
    pub started_at: DateTime<Utc>,
    /// When its plan's window ends: it is cut then.
    pub window_ends_at: DateTime<Utc>,
}

impl Entry {
    fn new(parts: SessionParts, connection: Arc<dyn LiveConnection>, clock: Clock) -> Self {
        Self {
            id: parts.id,
            engineer: parts.engineer,
            target: parts.target,
            plan: parts.plan,
            serial: parts.serial,
            started_at: parts.started_at,
            window_ends_at: parts.window_ends_at,
            connection,
            activity: Activity::new(clock, parts.started_at),
            warned: AtomicBool::new(false),
            end: EndSignal::new(),
            screen: ScreenFeed::default(),
            desktop: DesktopFeed::default(),
        }
    }

    /// True the first time only: the engineer is warned once.
    pub(super) fn first_warning(&self) -> bool {
        !self.warned.swap(true, Ordering::Relaxed)
    }

    /// Tells the engineer `message` (a warning of the end).
    pub(super) async fn warn(&self, message: &str) {
        self.connection.warn(message).await;
    }
}

impl LiveGuard {
    /// The session's ID.
    pub fn id(&self) -> SessionId {
        self.entry.id
    }

    /// The session's activity mark, for the bridge: call [`Activity::touch`] on every
    /// engineer input and target output.
    pub fn activity(&self) -> Activity {
        self.entry.activity.clone()
    }

    /// Why the session is ending, if fumidai decided it (a limit or a kill); `None` when
    /// the engineer or the target closed it.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.entry.end.reason()
    }

    /// The session's end signal, which outlives this guard.
    pub fn end_signal(&self) -> EndSignal {
        self.entry.end.clone()
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        let mut sessions = self.registry.lock();
        // Only our own entry: never one registered later under the same ID.
        if sessions
            .get(&self.entry.id)
            .is_some_and(|e| Arc::ptr_eq(e, &self.entry))
        {
            sessions.remove(&self.entry.id);
        }
    }
}

impl EndSignal {
    fn new() -> Self {
        Self(Arc::new(watch::channel(None).0))
    }

    /// Records `reason` unless a reason was recorded already; true when this one stands.
    fn decide(&self, reason: EndReason) -> bool {
        self.0.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(reason);
                true
            } else {
                false
            }
        })
    }

    /// Why the session is ending, once decided.
    pub fn reason(&self) -> Option<EndReason> {
        *self.0.borrow()
    }

    /// Waits until the session's end is decided, and returns why. The connection's owner
    /// may race this against the connection to drop a client that ignores the disconnect.
    pub async fn ended(&self) -> EndReason {
        let mut receiver = self.0.subscribe();
        if let Ok(decided) = receiver.wait_for(Option::is_some).await
            && let Some(reason) = *decided
        {
            return reason;
        }
        // The sender lives in `self`, so the channel can't close while we wait.
        std::future::pending().await
    }
}
