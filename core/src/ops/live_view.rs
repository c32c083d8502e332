//! The live sessions as the console's Live page shows them (issue 15, R-10.2-REVIEW): every
//! session not ended in the store — so those another node holds (PostgreSQL) are listed
//! too — with what this node's registry knows of the ones it holds (last activity, the
//! window's end, an end being decided), the target's protocol (what can be watched), and
//! whether a kill is pending. Read-only.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use policy::target::TargetProtocol;
use store::{SessionRecord, Store};

use super::OpError;
use super::session_watch::Unwatchable;
use crate::live::{LiveSession, Registry};

/// One live session.
#[derive(Debug, Clone)]
pub struct LiveRow {
    /// The session as recorded.
    pub session: SessionRecord,
    /// The target's protocol; `None` when the target is no longer registered.
    pub protocol: Option<TargetProtocol>,
    /// When the session is cut: its plan's window end (from this node's registry, else
    /// the plan); `None` when neither is known.
    pub window_ends_at: Option<DateTime<Utc>>,
    /// This node's view of it; `None` when another node holds it (or it is just starting
    /// or ending and not registered here).
    pub here: Option<LiveSession>,
    /// A kill was requested and not yet carried out.
    pub kill_pending: bool,
}

impl LiveRow {
    /// How long since the engineer's last input or the target's last output, when this
    /// node holds the session.
    pub fn idle(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        self.here
            .as_ref()
            .map(|h| (now - h.last_activity).max(chrono::Duration::zero()))
    }

    /// Why it can't be watched from this node, if it can't: another node's is watched
    /// there (what [`session_watch::start`] refuses).
    ///
    /// [`session_watch::start`]: super::session_watch::start
    pub fn unwatchable(&self) -> Option<Unwatchable> {
        self.here.is_none().then_some(Unwatchable::OtherNode)
    }

    /// Whether it can be watched from this node.
    pub fn watchable(&self) -> bool {
        self.unwatchable().is_none()
    }
}

/// The live sessions, oldest first.
pub async fn live_sessions(
    store: &dyn Store,
    registry: &Registry,
) -> Result<Vec<LiveRow>, OpError> {
    let mut sessions = store.sessions(true).await?;
    sessions.sort_by_key(|s| (s.started_at, s.id));
    let here: HashMap<_, _> = registry.sessions().into_iter().map(|s| (s.id, s)).collect();
    let protocols: HashMap<_, _> = store
        .targets()
        .await?
        .into_iter()
        .map(|t| (t.name, t.protocol))
        .collect();
    let pending: HashSet<_> = store
        .pending_kills()
        .await?
        .into_iter()
        .map(|k| k.session)
        .collect();
    let plan_ends: HashMap<_, _> = store
        .plans()
        .await?
        .into_iter()
        .map(|p| (p.id, p.ends_at))
        .collect();
    Ok(sessions
        .into_iter()
        .map(|session| {
            let here = here.get(&session.id).cloned();
            LiveRow {
                protocol: protocols.get(&session.target).copied(),
                window_ends_at: here
                    .as_ref()
                    .map(|h| h.window_ends_at)
                    .or_else(|| plan_ends.get(&session.plan).copied()),
                kill_pending: pending.contains(&session.id),
                here,
                session,
            }
        })
        .collect())
}
