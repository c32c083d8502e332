//! What a logged-in connection may do, until targets can be reached: shell and exec
//! say who you are and that no target is available; subsystems and forwarding are refused.

use std::time::Duration;

use russh::server::Session;
use russh::{ChannelId, ChannelOpenFailure, Disconnect};
use tracing::{Instrument, debug, info};

use super::Error;
use super::handler::ConnectionHandler;
use super::messages;

/// How long a client may stay after its channel was closed before it is disconnected.
const DISCONNECT_AFTER: Duration = Duration::from_secs(2);

impl ConnectionHandler {
    /// Shows who is logged in and that no target is available, then ends the channel
    /// with exit status 1.
    pub(super) fn say_no_target(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Error> {
        let text = match (self.phase.refusal(), self.phase.who()) {
            // Admission or the target refused: say why.
            (Some(refusal), _) => refusal.message.clone(),
            (None, Some(who)) => messages::no_target_yet(&who.account, who.target.as_ref()),
            // Channels exist only after login; say nothing rather than guess.
            (None, None) => String::new(),
        };
        session.data(channel, text)?;
        self.end_channel(channel, session)
    }

    /// Exit status 1, EOF and close, then the connection ends: the client normally hangs
    /// up itself once its channel is closed; one that stays is disconnected a little later.
    /// Not at once: a client that read the disconnect before handling the close would
    /// report the disconnect (OpenSSH: exit 255) instead of the exit status.
    fn end_channel(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Error> {
        self.end_channel_with(channel, session, 1)
    }

    /// As [`end_channel`](Self::end_channel), with exit status `status`.
    pub(super) fn end_channel_with(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
        status: u32,
    ) -> Result<(), Error> {
        session.exit_status_request(channel, status)?;
        session.eof(channel)?;
        session.close(channel)?;
        // russh forgets a channel once we close it and won't report the client's close.
        self.open_channels = self.open_channels.saturating_sub(1);
        if !self.finished {
            self.finished = true;
            let handle = session.handle();
            let disconnect = async move {
                tokio::time::sleep(DISCONNECT_AFTER).await;
                // Fails harmlessly when the client has already gone.
                if handle
                    .disconnect(
                        Disconnect::ByApplication,
                        messages::DISCONNECT_NO_TARGET.to_owned(),
                        "en".to_owned(),
                    )
                    .await
                    .is_ok()
                {
                    debug!("disconnected a client that stayed after its channel closed");
                }
            };
            tokio::spawn(disconnect.instrument(self.span.clone()));
        }
        Ok(())
    }

    /// Refuses a subsystem (`sftp`) with a message on stderr, and ends the channel.
    pub(super) fn refuse_subsystem(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Error> {
        self.span
            .in_scope(|| info!(subsystem = ?name, "subsystem refused"));
        session.extended_data(channel, 1, messages::subsystem_refused(name))?;
        session.channel_failure(channel)?;
        self.end_channel(channel, session)
    }
}

/// "Administratively prohibited" with our reason, which OpenSSH prints after the code.
pub(super) fn prohibited(reason: &str) -> ChannelOpenFailure {
    ChannelOpenFailure::Other {
        code: 1,
        reason: reason.to_owned(),
    }
}
