//! After login: admission, the target leg and one bridge per session channel, or the
//! reason there is none, told on the channel.

use std::sync::Arc;

use russh::Channel;
use russh::server::{ChannelOpenHandle, Msg, Session};
use tracing::{Instrument, info, warn};

use super::handler::ConnectionHandler;
use super::messages;
use crate::live::Activity;
use crate::proxy::bridge::{self, BridgeEnd};
use crate::proxy::recording::ChannelRecording;
use crate::proxy::session::{ProxyContext, Refusal, TargetSession};
use crate::proxy::sftp::cleanup::remove_temp_files;

impl ConnectionHandler {
    /// Bridges a new session channel to the target when the engineer named one and is
    /// admitted. Returns the channel untouched when it is to be answered with a message
    /// (no proxy, no target named, or a refusal, which is remembered for the channel).
    pub(super) async fn try_bridge(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        session: &mut Session,
    ) -> Option<(Channel<Msg>, ChannelOpenHandle)> {
        let Some(proxy) = self.proxy.clone() else {
            return Some((channel, reply));
        };
        let Some(target_session) = self.ensure_session(&proxy, session).await else {
            return Some((channel, reply));
        };
        // The cap covers proxied channels too (issue 12).
        let Some(slot) = self.take_channel_slot() else {
            self.span
                .in_scope(|| info!("session channel refused: too many channels open"));
            let reason = messages::TOO_MANY_CHANNELS.to_owned();
            reply
                .reject(russh::ChannelOpenFailure::Other { code: 4, reason })
                .await;
            return None;
        };
        match target_session.connection.channel_open_session().await {
            Ok(target_channel) => {
                self.bridged.insert(channel.id());
                let activity = self.live_slot.lock().ok().and_then(|g| {
                    g.as_ref().map(|g| {
                        g.add_channel(channel.id());
                        g.activity()
                    })
                });
                reply.accept().await;
                spawn_bridge(
                    slot,
                    channel,
                    target_channel,
                    session.handle(),
                    &proxy,
                    &target_session,
                    activity,
                    &self.span,
                );
                None
            }
            Err(error) => {
                self.span
                    .in_scope(|| warn!(%error, "target refused a channel"));
                self.refusal = Some(Refusal {
                    reason: "target_channel_refused",
                    message:
                        "接続先がチャネルを拒否しました。\r\nThe target refused the channel.\r\n"
                            .to_owned(),
                });
                Some((channel, reply))
            }
        }
    }

    /// The connection's maintenance session, opened on first use: admission, the target
    /// leg, the live registry. Shared by session channels and TCP forwards, so both go
    /// through the same admission. `None` when the user name named no target or a refusal
    /// is (now) remembered in `self.refusal`.
    pub(super) async fn ensure_session(
        &mut self,
        proxy: &Arc<ProxyContext>,
        session: &mut Session,
    ) -> Option<Arc<TargetSession>> {
        if self.refusal.is_some() {
            return None;
        }
        let who = self.logged_in.as_ref()?;
        let target = who.target.clone()?;
        let engineer = who.account.login.clone();
        let emergency = who.emergency.clone();
        if let Some(open) = self.target_slot.lock().ok().and_then(|s| s.clone()) {
            return Some(open);
        }
        match proxy
            .open(&engineer, &target, self.client_addr, emergency.as_deref())
            .instrument(self.span.clone())
            .await
        {
            Ok(opened) => {
                let opened = Arc::new(opened);
                let guard = proxy
                    .live
                    .register(&opened, session.handle(), chrono::Utc::now());
                if let Ok(mut slot) = self.live_slot.lock() {
                    *slot = Some(guard);
                }
                self.span.in_scope(|| info!(session_id = %opened.id, plan_id = %opened.plan, %target, "session started"));
                if let Ok(mut slot) = self.target_slot.lock() {
                    *slot = Some(Arc::clone(&opened));
                }
                Some(opened)
            }
            Err(refusal) => {
                self.refusal = Some(refusal);
                None
            }
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the channel cap's slot joined six parts of the bridge that are all used once"
)]
fn spawn_bridge(
    slot: super::channel_cap::ChannelSlot,
    engineer: Channel<Msg>,
    target: Channel<russh::client::Msg>,
    handle: russh::server::Handle,
    proxy: &Arc<ProxyContext>,
    session: &Arc<TargetSession>,
    activity: Option<Activity>,
    span: &tracing::Span,
) {
    let session_id = session.id;
    let channel_number = u32::from(engineer.id());
    let recording = Arc::new(ChannelRecording::new(
        Arc::clone(&proxy.recording),
        Arc::clone(session),
        channel_number,
        activity,
        Arc::clone(&proxy.store),
    ));
    let banner = messages::session_banner(&session.plan, session.ends_at);
    let (proxy, session) = (Arc::clone(proxy), Arc::clone(session));
    let run = async move {
        // Held until the bridge and its clean-up end: the channel counts under the cap.
        let _slot = slot;
        let bridged = bridge::run(
            engineer,
            target,
            handle,
            Arc::clone(&recording),
            session.allow,
            banner,
            proxy.scanner.clone(),
        )
        .await;
        if let Err(error) = remove_temp_files(&session.connection, &bridged.temp_files).await {
            warn!(%session_id, %error, files = ?bridged.temp_files, "staged upload could not be removed from the target");
        }
        match bridged.end {
            BridgeEnd::Closed { exit_status } => info!(%session_id, ?exit_status, "channel closed"),
            BridgeEnd::TapFailed(error) => {
                warn!(%session_id, %error, "channel ended: recording failed");
            }
            BridgeEnd::Dropped => info!(%session_id, "channel dropped"),
            BridgeEnd::Refused(refusal) => proxy.record_refused_work(&session, refusal).await,
            BridgeEnd::StreamCut => info!(%session_id, "channel ended: stdin refused"),
            BridgeEnd::ProtocolViolation(reason) => {
                warn!(%session_id, reason, "channel ended: transfer protocol violation");
            }
        }
        match recording.finish().await {
            Some(Ok(sealed)) => proxy.record_seal(&session, &sealed).await,
            Some(Err(error)) => warn!(%session_id, %error, "recording could not be sealed"),
            None => {}
        }
    };
    tokio::spawn(run.instrument(span.clone()));
}
