//! The russh handler for one connection: russh's callbacks, each handed to the module that
//! does the work ([`super::kbd_login`] before login, [`super::channels`] after). Where
//! the connection is in its life is one [`Phase`].
//!
//! russh runs this handler in a task of its own, where the connection's span is not
//! current; every method that logs runs its body under `self.span`.

use std::net::SocketAddr;
use std::sync::Arc;

use fumidai_core::live::LiveGuard;
use russh::keys::Certificate;
use russh::server::{Auth, ChannelOpenHandle, Handler, Msg, PublicKeyOffer, Response, Session};
use russh::{Channel, ChannelId, ChannelOpenFailure};
use tracing::{Span, debug, info};

use super::channels::prohibited;
use super::login_grace::LoginState;
use super::messages;
use super::phase::Phase;
use super::{Error, PeerContext};
use crate::proxy::bridge::replies::ReplyWaiter;
use crate::proxy::session::{ProxyContext, TargetSession};
use fumidai_core::auth::Authenticator;
use fumidai_pki::PeerIdentity;

/// Session channels one connection may have open at once; proxied session channels and
/// TCP forwards count together ([`super::channel_cap`]).
pub(super) const MAX_SESSION_CHANNELS: usize = 4;

/// One connection's state, from the first packet to the disconnect.
pub(crate) struct ConnectionHandler {
    /// The login procedure.
    pub(super) auth: Arc<Authenticator>,
    /// Where the connection came from.
    pub(super) client_addr: SocketAddr,
    /// The device's certificate, compared with the typed login.
    pub(super) certificate: PeerIdentity,
    /// Whether the store answered when the connection came in; without it every login
    /// is refused and the banner says why (fail closed).
    pub(super) store_available: bool,
    /// Tells the login-grace stream when the login succeeded.
    pub(super) login_state: Arc<LoginState>,
    /// Password + code attempts allowed on this connection.
    pub(super) max_attempts: u32,
    /// Password + code attempts made so far on this connection, whatever the phase (a
    /// client that abandons a later round and starts over keeps counting).
    pub(super) attempts: u32,
    /// russh's delay before a refusal: the round that tells of the last attempt's
    /// refusal is held to it too, so its timing shows nothing of the work done.
    pub(super) rejection_time: std::time::Duration,
    /// Where the connection is: logging in, its later rounds, logged in, proxying.
    pub(super) phase: Phase,
    /// Session channels open now.
    pub(super) open_channels: usize,
    /// The message has been shown and the disconnect scheduled.
    pub(super) finished: bool,
    /// The connection's span (client address, engineer).
    pub(super) span: Span,
    /// Admission and the target leg, when targets are served.
    pub(super) proxy: Option<Arc<ProxyContext>>,
    /// The connection's maintenance session once admitted, with its live registration;
    /// shared with `serve`, which records its end (and the reason the registry decided)
    /// when the connection ends, after the handler is gone.
    pub(crate) session_slot: Arc<std::sync::Mutex<Option<OpenSession>>>,
    /// Channels bridged to the target: each request is answered with the bridge's answer,
    /// waited for here (`proxy::bridge::replies`); `None` once the bridge can't answer.
    pub(super) bridged: std::collections::HashMap<ChannelId, Option<ReplyWaiter>>,
    /// TCP forwards relaying now; each relay task holds one and gives it back.
    pub(super) open_forwards: Arc<std::sync::atomic::AtomicUsize>,
    /// Proxied session channels and TCP forwards open now; each bridge or relay holds one
    /// [`super::channel_cap::ChannelSlot`] (issue 12).
    pub(super) proxied_channels: Arc<std::sync::atomic::AtomicUsize>,
}

/// How many password + code attempts a connection gets, and how long a refusal takes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttemptLimits {
    /// Attempts allowed on one connection.
    pub(crate) max_attempts: u32,
    /// russh's `auth_rejection_time`.
    pub(crate) rejection_time: std::time::Duration,
}

/// An admitted session, as `serve` needs it once the connection has ended.
pub(crate) struct OpenSession {
    /// The session, whose end `serve` records.
    pub(crate) session: Arc<TargetSession>,
    /// Its live registration: why the registry ended it, if it did; unregistered when
    /// dropped.
    pub(crate) live: LiveGuard,
}

impl ConnectionHandler {
    /// A handler for one connection from `peer`.
    pub(crate) fn new(
        auth: Arc<Authenticator>,
        peer: PeerContext,
        login_state: Arc<LoginState>,
        limits: AttemptLimits,
        span: Span,
    ) -> Self {
        Self {
            auth,
            client_addr: peer.client_addr,
            certificate: peer.certificate,
            phase: Phase::start(peer.on_authenticated),
            store_available: peer.store_available,
            login_state,
            max_attempts: limits.max_attempts,
            attempts: 0,
            rejection_time: limits.rejection_time,
            open_channels: 0,
            finished: false,
            span,
            proxy: None,
            session_slot: Arc::default(),
            bridged: std::collections::HashMap::new(),
            open_forwards: Arc::default(),
            proxied_channels: Arc::default(),
        }
    }

    pub(crate) fn with_proxy(mut self, proxy: Option<Arc<ProxyContext>>) -> Self {
        self.proxy = proxy;
        self
    }
}

impl Handler for ConnectionHandler {
    type Error = Error;

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        _offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        // Refused before any signature is checked: keyboard-interactive is the only method.
        Ok(Auth::reject())
    }

    async fn auth_openssh_certificate(
        &mut self,
        _user: &str,
        _certificate: &Certificate,
    ) -> Result<Auth, Self::Error> {
        Ok(Auth::reject())
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        response: Option<Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        if !self.store_available {
            // Fail closed: no account can be checked; the banner told the engineer why.
            return Ok(Auth::reject());
        }
        Ok(self.keyboard_interactive(user, response).await)
    }

    async fn auth_succeeded(&mut self, session: &mut Session) -> Result<(), Self::Error> {
        self.record_login(session).await;
        Ok(())
    }

    async fn authentication_banner(&mut self) -> Result<Option<String>, Self::Error> {
        Ok((!self.store_available).then(|| messages::STORE_UNAVAILABLE.to_owned()))
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.mark_channel();
        // Admitted engineers get a channel on the target; the rest get a message. An RDP
        // target's login gets a channel for `rdp-ticket`.
        let (channel, reply) = if self.logged_in_to_rdp().await {
            (channel, reply)
        } else {
            let Some(unbridged) = self.try_bridge(channel, reply, session).await else {
                return Ok(());
            };
            unbridged
        };
        let _channel = channel;
        // The `Channel` is dropped: this handler works through callbacks, and an unread
        // channel would fill up and stall the session.
        if self.open_channels >= MAX_SESSION_CHANNELS {
            let reason = messages::TOO_MANY_CHANNELS.to_owned();
            reply
                .reject(ChannelOpenFailure::Other { code: 4, reason })
                .await;
        } else {
            self.open_channels = self.open_channels.saturating_add(1);
            reply.accept().await;
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Called only for channels the client closes first.
        self.open_channels = self.open_channels.saturating_sub(1);
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.bridged.contains_key(&channel) {
            // The bridge forwards it; its answer is given here, in order (issue 13).
            return self.answer_bridged(channel, session).await;
        }
        Ok(session.channel_success(channel)?)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _variable_name: &str,
        _variable_value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.bridged.contains_key(&channel) {
            // The bridge forwards it; its answer is given here, in order (issue 13).
            return self.answer_bridged(channel, session).await;
        }
        // Accepted and ignored: nothing runs here that would read it.
        Ok(session.channel_success(channel)?)
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Forwarded without an answer from the target; answered here, if asked.
        Ok(session.channel_success(channel)?)
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.bridged.contains_key(&channel) {
            // The bridge forwards it; its answer is given here, in order (issue 13).
            return self.answer_bridged(channel, session).await;
        }
        session.channel_success(channel)?;
        if self.target_is_rdp() {
            return self.answer_rdp_ticket(channel, b"", session).await;
        }
        self.span
            .in_scope(|| debug!("shell requested; no target available yet"));
        self.say_no_target(channel, session)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.bridged.contains_key(&channel) {
            // The bridge forwards it; its answer is given here, in order (issue 13).
            return self.answer_bridged(channel, session).await;
        }
        if self.target_is_rdp() {
            session.channel_success(channel)?;
            return self.answer_rdp_ticket(channel, data, session).await;
        }
        // A login without a target may run the engineer's own commands (`attest`).
        if self.phase.who().is_some_and(|w| w.target.is_none())
            && super::engineer_commands::is_engineer_command(data)
        {
            session.channel_success(channel)?;
            return self.answer_engineer_command(channel, data, session).await;
        }
        // The command is not logged: it is the client's, and may hold anything.
        session.channel_success(channel)?;
        self.span
            .in_scope(|| debug!("exec requested; no target available yet"));
        self.say_no_target(channel, session)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.bridged.contains_key(&channel) {
            // The bridge forwards it; its answer is given here, in order (issue 13).
            return self.answer_bridged(channel, session).await;
        }
        self.refuse_subsystem(channel, name, session)
    }

    async fn agent_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<bool, Self::Error> {
        // russh answers the request with a failure when this returns false.
        self.span.in_scope(|| info!("agent forwarding refused"));
        session.extended_data(channel, 1, messages::AGENT_REFUSED)?;
        Ok(false)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.span.in_scope(|| info!("X11 forwarding refused"));
        session.extended_data(channel, 1, messages::X11_REFUSED)?;
        Ok(session.channel_failure(channel)?)
    }

    async fn tcpip_forward(
        &mut self,
        _address: &str,
        _port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        self.span
            .in_scope(|| info!("remote port forwarding refused"));
        Ok(false)
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.mark_channel();
        self.direct_tcpip(channel, host_to_connect, port_to_connect, reply, session)
            .await;
        Ok(())
    }

    async fn channel_open_direct_streamlocal(
        &mut self,
        _channel: Channel<Msg>,
        _socket_path: &str,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.mark_channel();
        self.span
            .in_scope(|| info!("unix socket forwarding refused"));
        reply
            .reject(prohibited(messages::PORT_FORWARDING_REFUSED))
            .await;
        Ok(())
    }

    async fn channel_open_x11(
        &mut self,
        _channel: Channel<Msg>,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.mark_channel();
        reply
            .reject(prohibited(messages::CHANNEL_TYPE_REFUSED))
            .await;
        Ok(())
    }
}
