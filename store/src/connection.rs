//! Logged-in SSH connections that hold no maintenance session yet (issue 12): listed by
//! `fumidai session list --live` as "logged in, no channel" and killable by `session kill`.

use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use policy::ids::{Login, SessionId};
use serde::Serialize;

/// A connection to record at login. Its ID is a [`SessionId`] so that `session kill ID`
/// takes either; the session opened later on it gets an ID of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnection {
    /// The connection's ID.
    pub id: SessionId,
    /// Who logged in.
    pub engineer: Login,
    /// From where, as the front door saw it.
    pub client_addr: SocketAddr,
}

/// A logged-in connection without a session, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionRecord {
    /// The connection's ID.
    pub id: SessionId,
    /// Who logged in.
    pub engineer: Login,
    /// From where.
    pub client_addr: String,
    /// The gateway node holding it.
    pub node: Option<String>,
    /// When the login succeeded.
    pub logged_in_at: DateTime<Utc>,
    /// When a kill was requested, if one was.
    pub kill_requested_at: Option<DateTime<Utc>>,
    /// Who requested it.
    pub kill_requested_by: Option<String>,
    /// Why.
    pub kill_reason: Option<String>,
}
