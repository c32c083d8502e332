//! What the registry needs of a protocol's connection: somewhere to tell the engineer
//! something, and a way to hang up. SSH implements it over its russh handle
//! (`fumidai-gateway`'s `ssh::live`), RDP over its relay (`rdp::live`); the registry, the
//! watcher and the web console see only this trait.

use std::fmt;

use async_trait::async_trait;
use policy::limits::EndReason;

/// One engineer's connection, as the live registry sees it. Implementations bound every
/// wait (a client that reads nothing must not stall the watcher) and swallow failures: a
/// connection that is already gone is what these calls aim for anyway.
#[async_trait]
pub trait LiveConnection: Send + Sync + fmt::Debug {
    /// Tells the engineer `text` (Japanese and English, `\r\n` line ends): a warning of the
    /// session's end, or why it ends. A protocol with nowhere to write it ignores it.
    async fn warn(&self, text: &str);

    /// Hangs up: closes what is open on the connection (channels, the target leg) and
    /// disconnects the engineer, saying why.
    async fn disconnect(&self, why: &Hangup);
}

/// Why a connection is hung up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hangup {
    /// fumidai ended the connection's session for this reason (a limit, a kill, lost
    /// authority, a store outage); the engineer has been told why with
    /// [`LiveConnection::warn`].
    SessionEnded(EndReason),
    /// A logged-in connection without a session is closed (login grace, kill, lost
    /// authority); `description` is what the engineer's client shows (OpenSSH: "Received
    /// disconnect from …").
    LoginClosed {
        /// One line, English first (OpenSSH may escape what is not ASCII).
        description: String,
    },
}
