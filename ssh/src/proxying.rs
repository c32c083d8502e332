//! After login: admission, the target leg and one bridge per session channel, or the
//! reason there is none, told on the channel.

use std::sync::Arc;

use fumidai_core::live::Activity;
use fumidai_core::live::authority::{self, Holder};
use russh::server::{ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelId, Disconnect};
use tracing::{Instrument, info, warn};

use super::channels::prohibited;
use super::handler::{ConnectionHandler, OpenSession};
use super::messages;
use super::phase::{Phase, Proxying};
use crate::proxy::bridge::{self, BridgeEnd};
use crate::proxy::recording::ChannelRecording;
use crate::proxy::session::{ProxyContext, Refusal, TargetSession};
use crate::proxy::sftp::cleanup::remove_temp_files;
use fumidai_core::session::Protocol;
use policy::recheck::{Held, Recheck};
use serde_json::json;
use store::{Actor, AuditEvent, AuditKind};

impl ConnectionHandler {
    /// Answers a bridged channel's request with the bridge's answer (the target's, or the
    /// bridge's own), here where russh still knows whether the engineer asked for one
    /// (`proxy::bridge::replies`). No answer (the bridge ended, or the target kept silent
    /// for `REPLY_WAIT`): refused, and so are the channel's later requests.
    pub(super) async fn answer_bridged(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), super::Error> {
        let answer = match self.bridged.get_mut(&channel) {
            Some(Some(waiter)) => waiter.wait().await,
            Some(None) | None => None,
        };
        if answer.is_none() {
            self.bridged.insert(channel, None);
            self.span
                .in_scope(|| info!("channel request refused: the target did not answer"));
        }
        if answer == Some(true) {
            session.channel_success(channel)?;
        } else {
            session.channel_failure(channel)?;
        }
        Ok(())
    }

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
            if let Some(lost) = self.phase.lost() {
                // Refused outright: the connection is closing (issue 12).
                reply.reject(prohibited(&lost.message())).await;
                return None;
            }
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
                let (replies, waiter) = bridge::replies::reply_path();
                self.bridged.insert(channel.id(), Some(waiter));
                let activity = self.phase.proxying().map(|p| {
                    p.live.add_channel(channel.id());
                    p.activity.clone()
                });
                reply.accept().await;
                spawn_bridge(
                    slot,
                    channel,
                    target_channel,
                    (session.handle(), replies),
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
                let refusal = Refusal {
                    reason: "target_channel_refused",
                    message:
                        "接続先がチャネルを拒否しました。\r\nThe target refused the channel.\r\n"
                            .to_owned(),
                };
                self.phase.refuse(refusal, None);
                Some((channel, reply))
            }
        }
    }

    /// The connection's maintenance session, opened on first use: admission, the target
    /// leg, the live registry. Shared by session channels and TCP forwards, so both go
    /// through the same admission. `None` when the user name named no target or the
    /// connection is (now) [`Phase::Refused`].
    pub(super) async fn ensure_session(
        &mut self,
        proxy: &Arc<ProxyContext>,
        session: &mut Session,
    ) -> Option<Arc<TargetSession>> {
        if self.phase.refusal().is_some() {
            return None;
        }
        let who = self.phase.who()?;
        let target = who.target.clone()?;
        let engineer = who.account.login.clone();
        let emergency = who.emergency.clone();
        let open = self.phase.proxying().map(|p| Arc::clone(&p.session));
        // Issue 12: every channel re-checks the authority login and admission granted.
        if !self
            .authority_holds(proxy, open.as_deref(), session.handle())
            .await
        {
            return None;
        }
        if let Some(open) = open {
            return Some(open);
        }
        match proxy
            .open(&engineer, &target, self.client_addr, emergency.as_deref())
            .instrument(self.span.clone())
            .await
        {
            Ok(opened) => {
                let opened = Arc::new(opened);
                let (guard, live) = super::live::register(
                    &proxy.sessions.live,
                    &opened,
                    session.handle(),
                    chrono::Utc::now(),
                    Some(self.certificate.serial.clone()),
                );
                let activity = guard.activity();
                self.span.in_scope(|| info!(session_id = %opened.id, plan_id = %opened.plan, %target, "session started"));
                if let Ok(mut slot) = self.session_slot.lock() {
                    *slot = Some(OpenSession {
                        session: Arc::clone(&opened),
                        live: guard,
                    });
                }
                // Listed as the session from now on, no longer as a bare login: leaving
                // `LoggedIn` drops the login's registration.
                self.phase = match self.phase.take() {
                    Phase::LoggedIn { who, .. } => Phase::Proxying(Box::new(Proxying {
                        who,
                        session: Arc::clone(&opened),
                        live,
                        activity,
                    })),
                    // Channels come only once logged in: no other phase gets here.
                    other => other,
                };
                Some(opened)
            }
            Err(refusal) => {
                self.phase.refuse(refusal, None);
                None
            }
        }
    }
}

impl ConnectionHandler {
    /// Re-checks, for a new channel, the authority this connection was given (issue 12):
    /// its certificate not revoked, its account enabled, and, with a session open, the
    /// session's plan still admitting it. A loss is audited as `session.denied`, remembered
    /// (every later channel is refused too) and ends the live session, which tells the
    /// engineer why on its channels and closes the connection. A store failure refuses the
    /// channel (fail closed) without ending anything.
    pub(super) async fn authority_holds(
        &mut self,
        proxy: &Arc<ProxyContext>,
        open: Option<&TargetSession>,
        handle: russh::server::Handle,
    ) -> bool {
        let Some(who) = self.phase.who() else {
            return false;
        };
        let engineer = who.account.login.clone();
        let holder = Holder {
            held: Held {
                engineer: engineer.clone(),
                session: open.map(|s| (s.target.clone(), s.plan)),
            },
            serial: Some(self.certificate.serial.clone()),
        };
        let now = chrono::Utc::now();
        let facts = match authority::facts(
            proxy.sessions.store.as_ref(),
            std::slice::from_ref(&holder),
            now,
        )
        .instrument(self.span.clone())
        .await
        {
            Ok(mut facts) => facts.pop(),
            Err(error) => {
                self.span
                    .in_scope(|| warn!(%error, "cannot re-check authority; channel refused"));
                None
            }
        };
        let Some(facts) = facts else {
            self.phase.refuse(unavailable_refusal(), None);
            return false;
        };
        let Recheck::Lose(lost) = policy::recheck::recheck(&holder.held, &facts, now) else {
            return true;
        };
        let message = lost.message();
        self.span
            .in_scope(|| info!(reason = lost.as_str(), "channel refused: authority lost"));
        let target = who
            .target
            .clone()
            .or_else(|| open.map(|s| s.target.clone()));
        let mut detail = json!({
            "reason": lost.as_str(),
            "client_addr": self.client_addr.to_string(),
            "certificate_serial": self.certificate.serial.to_string(),
            "on": "channel_open",
        });
        if let (Some(map), Some(open)) = (detail.as_object_mut(), open) {
            map.insert("session_id".into(), json!(open.id.to_string()));
            map.insert("plan_id".into(), json!(open.plan.to_string()));
        }
        match &target {
            Some(target) => {
                proxy
                    .sessions
                    .audit(AuditKind::SessionDenied, &engineer, target, detail)
                    .await;
            }
            None => {
                let event = AuditEvent::new(
                    AuditKind::SessionDenied,
                    Actor::Person(engineer.clone()),
                    engineer.as_str(),
                )
                .with_detail(detail);
                if let Err(error) = proxy.sessions.store.append_audit(event).await {
                    warn!(%error, "could not append to the audit trail");
                }
            }
        }
        let refusal = Refusal {
            reason: lost.as_str(),
            message: message.clone(),
        };
        self.phase.refuse(refusal, Some(lost));
        if lost.ends_connection() {
            match open {
                // Told on its channels, then disconnected.
                Some(open) => {
                    let (live, id) = (proxy.sessions.live.clone(), open.id);
                    tokio::spawn(async move { live.end(&id, lost.end_reason(), &message).await });
                }
                // No session: the refused channel says why; the login is disconnected.
                None => {
                    let description = format!("fumidai: {}", lost.end_reason());
                    let disconnect = async move {
                        tokio::time::sleep(DISCONNECT_AFTER_REFUSAL).await;
                        let _ = handle
                            .disconnect(Disconnect::ByApplication, description, "en".to_owned())
                            .await;
                    };
                    tokio::spawn(disconnect.instrument(self.span.clone()));
                }
            }
        }
        false
    }
}

/// How long a login that lost its authority stays after its channel was refused, so the
/// client reads the refusal before the disconnect.
const DISCONNECT_AFTER_REFUSAL: std::time::Duration = std::time::Duration::from_millis(200);

fn unavailable_refusal() -> Refusal {
    Refusal {
        reason: "unavailable",
        message: "fumidai の内部エラーのため接続できません。運用担当者に連絡してください。\r\n\
                  fumidai cannot open the session (internal error); please contact the operator.\r\n"
            .to_owned(),
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
    (handle, replies): (russh::server::Handle, bridge::replies::ReplySender),
    proxy: &Arc<ProxyContext>,
    session: &Arc<TargetSession>,
    activity: Option<Activity>,
    span: &tracing::Span,
) {
    let session_id = session.id;
    let channel_number = u32::from(engineer.id());
    let recording = Arc::new(
        ChannelRecording::new(
            Arc::clone(&proxy.sessions.recording),
            Arc::clone(session),
            channel_number,
            activity,
            Arc::clone(&proxy.sessions.store),
        )
        .watched_in(proxy.sessions.live.clone()),
    );
    let banner = messages::session_banner(&session.plan, session.ends_at);
    let (proxy, session) = (Arc::clone(proxy), Arc::clone(session));
    let run = async move {
        // Held until the bridge and its clean-up end: the channel counts under the cap.
        let _slot = slot;
        let bridged = bridge::run(
            engineer,
            target,
            handle,
            replies,
            Arc::clone(&recording),
            session.allow,
            banner,
            proxy.sessions.scanner.clone(),
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
            BridgeEnd::Refused(refusal) => {
                proxy
                    .sessions
                    .record_refused_work(session.who(), refusal)
                    .await
            }
            BridgeEnd::StreamCut => info!(%session_id, "channel ended: stdin refused"),
            BridgeEnd::ProtocolViolation(reason) => {
                warn!(%session_id, reason, "channel ended: transfer protocol violation");
            }
        }
        match recording.finish().await {
            Some(Ok(sealed)) => {
                proxy
                    .sessions
                    .record_seal(Protocol::Ssh, session.who(), &sealed)
                    .await
            }
            Some(Err(error)) => warn!(%session_id, %error, "recording could not be sealed"),
            None => {}
        }
    };
    tokio::spawn(run.instrument(span.clone()));
}
