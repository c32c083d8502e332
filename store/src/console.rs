//! Signed-in sessions of the operator web console (issue 15): kept in the store so that
//! every node sharing it sees them, and so that a sign-in and a sign-out are on record
//! (`console.signed_in`, `console.signed_out`) with the person as actor.
//!
//! The browser holds a random token; the store keeps only its SHA-256 ([`TokenDigest`]),
//! so a copy of the table lets nobody in. Whether a session has idled too long is the
//! console's to decide; the store records `last_seen_at` and the end.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use policy::ids::Login;
use uuid::Uuid;

/// A console session's ID, as the audit trail names it. Not the cookie's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConsoleSessionId(pub Uuid);

impl ConsoleSessionId {
    /// A new random ID.
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }
}

impl fmt::Display for ConsoleSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ConsoleSessionId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// The SHA-256 of a session token: what the store looks a session up by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigest(pub [u8; 32]);

impl TokenDigest {
    /// Lowercase hex, as stored.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not a secret (the token can't be had from it), but nothing to print either.
        f.write_str("TokenDigest(…)")
    }
}

/// Why a console session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsoleEnd {
    /// The person pressed "sign out".
    SignedOut,
    /// No request for longer than the idle time-out.
    Idle,
}

impl ConsoleEnd {
    /// The name as stored and recorded.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedOut => "signed_out",
            Self::Idle => "idle",
        }
    }
}

impl FromStr for ConsoleEnd {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "signed_out" => Ok(Self::SignedOut),
            "idle" => Ok(Self::Idle),
            other => Err(format!("unknown console session end {other:?}")),
        }
    }
}

/// A session to record at sign-in.
#[derive(Clone, PartialEq, Eq)]
pub struct NewConsoleSession {
    /// Its ID.
    pub id: ConsoleSessionId,
    /// The SHA-256 of the token the browser holds.
    pub token: TokenDigest,
    /// Who signed in (authenticated with password + TOTP just before).
    pub login: Login,
    /// From where, as the console saw it.
    pub client_addr: Option<IpAddr>,
    /// The secret every form of this session carries back (CSRF).
    pub csrf_token: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl fmt::Debug for NewConsoleSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewConsoleSession")
            .field("id", &self.id)
            .field("login", &self.login)
            .field("client_addr", &self.client_addr)
            .finish_non_exhaustive()
    }
}

/// A live console session as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// Its ID.
    pub id: ConsoleSessionId,
    /// Who.
    pub login: Login,
    /// From where it signed in.
    pub client_addr: Option<String>,
    /// The session's CSRF secret.
    pub csrf_token: String,
    /// When it signed in.
    pub created_at: DateTime<Utc>,
    /// Its last request.
    pub last_seen_at: DateTime<Utc>,
}

impl fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleSession")
            .field("id", &self.id)
            .field("login", &self.login)
            .field("client_addr", &self.client_addr)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish_non_exhaustive()
    }
}
