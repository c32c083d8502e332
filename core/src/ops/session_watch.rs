//! Watching a live session read-only at the console (issue 15, R-10.2-REVIEW) — an SSH
//! session's terminal, an RDP session's desktop as a few pictures a second: operators, planning managers and auditors may
//! (`policy::authority::Action::WatchSession`). Each watch is on record with the person as
//! actor: `session.watch_started` when it begins (so it is known even if the gateway dies
//! before its end) and `session.watch_ended` with its span when it ends; the
//! reconciliation report lists each as "watched by … from … to …" (R-17-1: who looked at
//! what, and when).
//!
//! The op gives the screen ([`Screen`]) only for a session this node holds: the terminal's
//! bytes and the desktop's frames live in the registry of the gateway the engineer is
//! connected to.

use std::fmt;

use chrono::{DateTime, Utc};
use policy::authority::Action;
use policy::ids::{Login, SessionId};
use policy::limits::EndReason;
use policy::target::TargetProtocol;
use serde_json::json;
use store::{AuditEvent, AuditKind, Store};
use uuid::Uuid;

use super::{OpError, Person};
use crate::live::{Pictures, Registry, ScreenWatch};

/// One watch, as the audit trail pairs its start and end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WatchId(pub Uuid);

impl fmt::Display for WatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a live session can't be watched here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unwatchable {
    /// Another gateway node holds it (shared PostgreSQL): watch it on that node's console.
    OtherNode,
}

impl Unwatchable {
    /// In English.
    pub fn en(self) -> &'static str {
        match self {
            Self::OtherNode => "another gateway node holds it; open that node's console",
        }
    }

    /// In Japanese.
    pub fn ja(self) -> &'static str {
        match self {
            Self::OtherNode => {
                "別のゲートウェイノードで接続中です。そのノードのコンソールから監視してください"
            }
        }
    }
}

/// What a watcher is shown.
#[derive(Debug)]
pub enum Screen {
    /// An SSH session's terminal: its recent output, then every chunk and resize.
    Terminal(ScreenWatch),
    /// An RDP session's desktop: pictures of it, a few a second.
    Desktop(Pictures),
}

/// Why a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEnd {
    /// The session ended.
    SessionEnded,
    /// The watcher closed the page or the connection dropped.
    Closed,
    /// The watcher's console session ended (signed out, idled out, account disabled or
    /// its role no longer allows watching).
    SignedOut,
    /// The watcher's browser sent something a read-only view never sends.
    BrowserSent,
}

impl WatchEnd {
    /// The name as recorded.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionEnded => "session_ended",
            Self::Closed => "closed",
            Self::SignedOut => "signed_out",
            Self::BrowserSent => "browser_sent_input",
        }
    }
}

/// A watch under way: end it with [`end`].
#[derive(Debug, Clone)]
pub struct Watching {
    /// Its ID (pairs the two audit records).
    pub id: WatchId,
    /// The session watched.
    pub session: SessionId,
    /// Who watches.
    pub watcher: Login,
    /// Since when.
    pub from: DateTime<Utc>,
}

/// Starts `person` watching session `id`: checks their authority, that the session is live
/// and held here, records `session.watch_started`, and returns its screen.
pub async fn start(
    store: &dyn Store,
    registry: &Registry,
    person: &Person,
    id: &SessionId,
    now: DateTime<Utc>,
) -> Result<(Watching, Screen), OpError> {
    person.may(Action::WatchSession)?;
    let Some(session) = store.session(id).await? else {
        return Err(OpError::NotFound {
            kind: "session",
            kind_ja: "セッション",
            name: id.to_string(),
        });
    };
    if session.ended_at.is_some() {
        return Err(OpError::SessionEnded {
            id: *id,
            reason: session.end_reason.map_or("unknown", EndReason::as_str),
        });
    }
    let protocol = store.target(&session.target).await?.map(|t| t.protocol);
    let screen = if protocol == Some(TargetProtocol::Rdp) {
        registry
            .watch_desktop(id)
            .map(|d| Screen::Desktop(d.pictures()))
    } else {
        registry.watch(id).map(Screen::Terminal)
    };
    let Some(screen) = screen else {
        return Err(OpError::NotWatchable {
            id: *id,
            why: Unwatchable::OtherNode,
        });
    };
    let watching = Watching {
        id: WatchId(Uuid::now_v7()),
        session: *id,
        watcher: person.login().clone(),
        from: now,
    };
    store
        .append_audit(
            AuditEvent::new(
                AuditKind::SessionWatchStarted,
                person.actor(),
                id.to_string(),
            )
            .with_detail(json!({
                "session_id": id.to_string(),
                "watch_id": watching.id.to_string(),
                "engineer": session.engineer.to_string(),
                "target": session.target.to_string(),
                "plan_id": session.plan.to_string(),
            })),
        )
        .await?;
    Ok((watching, screen))
}

/// Records the end of `watching` at `now`, and why (`session.watch_ended`, with its span).
pub async fn end(
    store: &dyn Store,
    watching: &Watching,
    why: WatchEnd,
    now: DateTime<Utc>,
) -> Result<(), OpError> {
    store
        .append_audit(
            AuditEvent::new(
                AuditKind::SessionWatchEnded,
                store::Actor::Person(watching.watcher.clone()),
                watching.session.to_string(),
            )
            .with_detail(json!({
                "session_id": watching.session.to_string(),
                "watch_id": watching.id.to_string(),
                "from": watching.from.to_rfc3339(),
                "to": now.to_rfc3339(),
                "why": why.as_str(),
            })),
        )
        .await?;
    Ok(())
}
