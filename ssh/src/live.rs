//! The SSH side of the live registry (`fumidai_core::live`): an engineer's connection as a
//! [`LiveConnection`] over its russh handle, and the session's registration held by the
//! connection.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fumidai_core::live::{Hangup, LiveConnection, LiveGuard, Registry, SessionParts};
use policy::ids::SessionId;
use policy::limits::EndReason;
use russh::{ChannelId, Disconnect};
use store::CertSerial;
use tracing::debug;

use crate::proxy::session::TargetSession;
use crate::proxy::target::TargetConnection;

/// How long one message to a client may wait in russh's queue before we give up on it.
/// A client that reads nothing fills its window; it must not stall the watcher.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a client whose channels were closed may stay before it is disconnected.
const DISCONNECT_AFTER: Duration = Duration::from_secs(2);

/// The same, when the engineer lost their authority (issue 12: the connection closes
/// within a second); long enough for the end message, written first, to be read.
const DISCONNECT_AFTER_AUTHORITY_LOST: Duration = Duration::from_millis(200);

/// An engineer's SSH connection, as the live registry sees it.
pub(crate) struct SshConnection {
    /// The session's ID, or the login's connection ID: for the logs.
    id: SessionId,
    /// The engineer's connection: messages on its channels, and the disconnect.
    handle: russh::server::Handle,
    /// fumidai's connection to the target, disconnected with the engineer's so that the
    /// target's processes get their hang-up at once. `None` for a login without a session,
    /// and in tests without a target.
    target: Option<Arc<TargetConnection>>,
    /// Bridged session channels, where the warning and the end message are written.
    channels: Mutex<Vec<ChannelId>>,
}

/// Registers the admitted `session`, whose engineer is connected through `handle`, started
/// at `started_at` (also its first activity): the guard that keeps it registered, and the
/// connection to add bridged channels to.
pub(crate) fn register(
    registry: &Registry,
    session: &TargetSession,
    handle: russh::server::Handle,
    started_at: DateTime<Utc>,
    serial: Option<CertSerial>,
) -> (LiveGuard, Arc<SshConnection>) {
    let connection = Arc::new(SshConnection::new(
        session.id,
        handle,
        Some(Arc::clone(&session.connection)),
    ));
    let parts = SessionParts {
        id: session.id,
        engineer: session.engineer.clone(),
        target: session.target.clone(),
        plan: session.plan,
        serial,
        started_at,
        window_ends_at: session.ends_at,
    };
    let guard = registry.register(parts, Arc::clone(&connection) as Arc<dyn LiveConnection>);
    (guard, connection)
}

impl std::fmt::Debug for SshConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshConnection")
            .field("id", &self.id)
            .field("channels", &self.channel_ids())
            .field("target", &self.target.is_some())
            .finish_non_exhaustive()
    }
}

impl SshConnection {
    /// The connection behind `handle` of session or login `id`, with its target leg if
    /// it has one.
    pub(crate) fn new(
        id: SessionId,
        handle: russh::server::Handle,
        target: Option<Arc<TargetConnection>>,
    ) -> Self {
        Self {
            id,
            handle,
            target,
            channels: Mutex::default(),
        }
    }

    /// Adds a bridged session channel: warnings and the end message are written to it.
    pub(crate) fn add_channel(&self, channel: ChannelId) {
        if let Ok(mut channels) = self.channels.lock()
            && !channels.contains(&channel)
        {
            channels.push(channel);
        }
    }

    /// Sends EOF and close on every bridged channel. No exit status: the command did not
    /// finish, so OpenSSH exits with 255.
    async fn close_channels(&self) {
        for channel in self.channel_ids() {
            let _ = tokio::time::timeout(SEND_TIMEOUT, self.handle.eof(channel)).await;
            let _ = tokio::time::timeout(SEND_TIMEOUT, self.handle.close(channel)).await;
        }
    }

    /// Disconnects the engineer with `description`, giving up after [`SEND_TIMEOUT`];
    /// whether it was sent. The caller logs a failure under the session's or the login's ID.
    async fn disconnect_engineer(&self, description: String) -> bool {
        let disconnect =
            self.handle
                .disconnect(Disconnect::ByApplication, description, "en".to_owned());
        matches!(
            tokio::time::timeout(SEND_TIMEOUT, disconnect).await,
            Ok(Ok(()))
        )
    }

    fn channel_ids(&self) -> Vec<ChannelId> {
        self.channels
            .lock()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

#[async_trait]
impl LiveConnection for SshConnection {
    /// Writes `text` to the engineer's stderr on every bridged channel.
    async fn warn(&self, text: &str) {
        for channel in self.channel_ids() {
            let sent = self
                .handle
                .extended_data(channel, 1, text.to_owned().into_bytes());
            // A channel closed meanwhile fails harmlessly.
            let _ = tokio::time::timeout(SEND_TIMEOUT, sent).await;
        }
    }

    /// A session's end: closes every bridged channel, disconnects the target, and
    /// disconnects the engineer if they haven't hung up a moment later. A login's close:
    /// disconnects at once.
    async fn disconnect(&self, why: &Hangup) {
        let reason = match why {
            Hangup::SessionEnded(reason) => *reason,
            Hangup::LoginClosed { description } => {
                if !self.disconnect_engineer(description.clone()).await {
                    debug!(connection_id = %self.id, "engineer already gone or not reading");
                }
                return;
            }
        };
        // Each channel closed after the message (written by `warn`): OpenSSH shows a
        // channel's stderr when the channel closes.
        self.close_channels().await;
        // The target's processes get their hang-up now, not when the last channel drains.
        if let Some(target) = &self.target {
            let disconnect =
                target.disconnect(Disconnect::ByApplication, "session ended by fumidai", "en");
            let _ = tokio::time::timeout(SEND_TIMEOUT, disconnect).await;
        }
        // A client normally hangs up once its channels are closed; one that stays (an
        // OpenSSH ControlMaster, say) is disconnected after a moment.
        let after = if authority_lost(reason) {
            DISCONNECT_AFTER_AUTHORITY_LOST
        } else {
            DISCONNECT_AFTER
        };
        tokio::time::sleep(after).await;
        if !self
            .disconnect_engineer(format!("fumidai: session ended ({reason})"))
            .await
        {
            debug!(session_id = %self.id, "engineer already gone or not reading");
        }
    }
}

/// Whether `reason` is a loss of authority (issue 12), which closes the connection at once.
fn authority_lost(reason: EndReason) -> bool {
    matches!(
        reason,
        EndReason::Revoked | EndReason::Disabled | EndReason::Rejected | EndReason::Withdrawn
    )
}

#[cfg(test)]
mod tests;
