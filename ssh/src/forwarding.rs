//! Local TCP forwarding (`ssh -L`, `direct-tcpip` channels): to the target host itself,
//! only when the plan allows it (R-13-7), through the connection's maintenance session
//! (the same admission as a shell), relayed over the target's own SSH connection so its
//! sshd enforces its `AllowTcpForwarding` too. Remote forwarding stays refused
//! (`handler::tcpip_forward`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use policy::forward::forward_allowed;
use russh::server::{ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelOpenFailure};
use serde_json::json;
use store::AuditKind;
use tracing::{Instrument, info, warn};

use super::channels::prohibited;
use super::handler::ConnectionHandler;
use super::messages;
use crate::proxy::forward::relay;
use crate::proxy::session::{ProxyContext, TargetSession};

/// Forwards one connection may have open at once.
pub(super) const MAX_FORWARDS: usize = 16;

/// Longest destination host kept in logs and the audit trail; the client chose it.
const MAX_HOST_SHOWN: usize = 255;

/// Decrements the connection's open-forward count when the relay ends, however it ends.
struct ForwardSlot(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for ForwardSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ConnectionHandler {
    /// russh's `channel_open_direct_tcpip`: decide, open the same channel on the target's
    /// connection, and relay; every refusal is answered "administratively prohibited"
    /// (or "connect failed" when the target refuses) and audited.
    pub(super) async fn direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host: &str,
        port: u32,
        reply: ChannelOpenHandle,
        session: &mut Session,
    ) {
        let shown: String = host
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_HOST_SHOWN)
            .collect();
        let Some(proxy) = self.proxy.clone() else {
            self.span
                .in_scope(|| info!(host = %shown, port, "local port forwarding refused"));
            reply
                .reject(prohibited(messages::PORT_FORWARDING_REFUSED))
                .await;
            return;
        };
        let Some(target_session) = self.ensure_session(&proxy, session).await else {
            // No target in the user name, or admission refused (already audited as
            // `session.denied`): no forward without a session.
            let reason = self.phase.refusal().map_or("no_target", |r| r.reason);
            self.span.in_scope(
                || info!(host = %shown, port, reason, "port forwarding refused: no session"),
            );
            reply
                .reject(prohibited(messages::FORWARD_NEEDS_SESSION))
                .await;
            return;
        };
        let span = self.span.clone();
        let refuse = |reason: &'static str| {
            let (proxy, target_session, shown) = (
                Arc::clone(&proxy),
                Arc::clone(&target_session),
                shown.clone(),
            );
            async move {
                info!(session_id = %target_session.id, host = %shown, port, reason, "port forwarding refused");
                let detail = json!({ "reason": reason, "host": shown, "port": port });
                if let Err(error) = proxy
                    .record_forward(&target_session, AuditKind::ForwardRefused, detail)
                    .await
                {
                    warn!(%error, "could not append to the audit trail");
                }
            }
            .instrument(span.clone())
        };
        let ssh_port = match proxy.sessions.store.target(&target_session.target).await {
            Ok(Some(target)) => target.address.port,
            // Removed since admission, or the store is gone: fail closed.
            Ok(None) | Err(_) => {
                refuse("unavailable").await;
                reply
                    .reject(prohibited(messages::FORWARD_UNAVAILABLE))
                    .await;
                return;
            }
        };
        if let Err(refusal) = forward_allowed(&target_session.allow, host, port, ssh_port) {
            refuse(refusal.as_str()).await;
            reply.reject(prohibited(refusal.message_en())).await;
            return;
        }
        if self.open_forwards.fetch_add(1, Ordering::Relaxed) >= MAX_FORWARDS {
            self.open_forwards.fetch_sub(1, Ordering::Relaxed);
            refuse("too_many_forwards").await;
            reply
                .reject(ChannelOpenFailure::Other {
                    code: 4,
                    reason: messages::TOO_MANY_FORWARDS.to_owned(),
                })
                .await;
            return;
        }
        let slot = ForwardSlot(Arc::clone(&self.open_forwards));
        // Forwards count under the connection's channel cap too (issue 12).
        let Some(channel_slot) = self.take_channel_slot() else {
            refuse("too_many_channels").await;
            reply
                .reject(ChannelOpenFailure::Other {
                    code: 4,
                    reason: messages::TOO_MANY_CHANNELS.to_owned(),
                })
                .await;
            return;
        };
        let origin = self.client_addr;
        let opened = target_session
            .connection
            .channel_open_direct_tcpip(
                host,
                port,
                origin.ip().to_string(),
                u32::from(origin.port()),
            )
            .await;
        let target_channel = match opened {
            Ok(target_channel) => target_channel,
            Err(error) => {
                span.in_scope(|| warn!(%error, host = %shown, port, "target refused the forward"));
                refuse("target_refused").await;
                reply
                    .reject(ChannelOpenFailure::Other {
                        code: 2,
                        reason: messages::FORWARD_TARGET_REFUSED.to_owned(),
                    })
                    .await;
                return;
            }
        };
        let detail = json!({ "host": shown, "port": port });
        if let Err(error) = proxy
            .record_forward(&target_session, AuditKind::ForwardOpened, detail)
            .await
        {
            // Fail closed: no forward the audit trail doesn't know about.
            span.in_scope(|| warn!(%error, "forward refused: audit trail unavailable"));
            let _ = target_channel.close().await;
            reply
                .reject(prohibited(messages::FORWARD_UNAVAILABLE))
                .await;
            return;
        }
        reply.accept().await;
        let activity = self.phase.proxying().map(|p| p.activity.clone());
        span.in_scope(
            || info!(session_id = %target_session.id, host = %shown, port, "port forward opened"),
        );
        let run = relay_and_record(
            proxy,
            target_session,
            channel,
            target_channel,
            activity,
            (shown, port),
            (slot, channel_slot),
        );
        tokio::spawn(run.instrument(span));
    }
}

/// Relays until the forward ends, then records `forward.closed` with the byte counts.
async fn relay_and_record(
    proxy: Arc<ProxyContext>,
    session: Arc<TargetSession>,
    engineer: Channel<Msg>,
    target: Channel<russh::client::Msg>,
    activity: Option<fumidai_core::live::Activity>,
    (host, port): (String, u32),
    _slots: (ForwardSlot, super::channel_cap::ChannelSlot),
) {
    let relayed = relay(engineer.into_stream(), target.into_stream(), activity).await;
    let error = relayed.error.as_ref().map(ToString::to_string);
    info!(session_id = %session.id, host, port, bytes_up = relayed.up, bytes_down = relayed.down, ?error, "port forward closed");
    let detail = json!({
        "host": host,
        "port": port,
        "bytes_up": relayed.up,
        "bytes_down": relayed.down,
        "error": error,
    });
    if let Err(error) = proxy
        .record_forward(&session, AuditKind::ForwardClosed, detail)
        .await
    {
        warn!(%error, "could not record a forward's end");
    }
}
