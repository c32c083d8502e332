//! The russh handler for one connection: keyboard-interactive login, then, until targets
//! exist, a message saying who you are and that no target is available.
//!
//! russh runs this handler in a task of its own, where the connection's span is not
//! current; every method that logs runs its body under `self.span`.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use policy::ids::TargetName;
use policy::login_name::SshLoginName;
use russh::keys::Certificate;
use russh::server::{Auth, ChannelOpenHandle, Handler, Msg, PublicKeyOffer, Response, Session};
use russh::{Channel, ChannelId, ChannelOpenFailure, Disconnect, MethodSet};
use secrecy::SecretString;
use store::Account;
use tokio::sync::OwnedSemaphorePermit;
use tracing::{Instrument, Span, debug, info, warn};
use zeroize::Zeroize;

use super::login_grace::LoginState;
use super::messages;
use super::{Error, PeerContext};
use crate::auth::{Authenticator, LoginOutcome, LoginRequest};
use crate::pki::PeerIdentity;

/// Session channels one connection may have open at once.
const MAX_SESSION_CHANNELS: usize = 4;

/// How an unparsable user name appears in logs: the text itself might be a password
/// typed into the wrong field.
const UNPARSABLE_USER: &str = "(invalid user name)";

/// The protocol name recorded with each login.
const PROTOCOL: &str = "ssh";

/// How long a client may stay after its channel was closed before it is disconnected.
const DISCONNECT_AFTER: Duration = Duration::from_secs(2);

/// One connection's state, from the first packet to the disconnect.
pub(crate) struct ConnectionHandler {
    /// The login procedure.
    auth: Arc<Authenticator>,
    /// Where the connection came from.
    client_addr: SocketAddr,
    /// The device's certificate, compared with the typed login.
    certificate: PeerIdentity,
    /// The front door's slot for an unauthenticated connection; released at login.
    unauthenticated_slot: Option<OwnedSemaphorePermit>,
    /// Tells the login-grace stream when the login succeeded.
    login_state: Arc<LoginState>,
    /// Password + code attempts allowed on this connection.
    max_attempts: u32,
    /// Password + code attempts made so far.
    attempts: u32,
    /// Who logged in, once someone has.
    logged_in: Option<LoggedIn>,
    /// Session channels open now.
    open_channels: usize,
    /// The message has been shown and the disconnect scheduled.
    finished: bool,
    /// The connection's span (client address, engineer).
    span: Span,
}

/// The person behind a logged-in connection.
struct LoggedIn {
    account: Account,
    /// The target named after `:` in the user name, if any.
    target: Option<TargetName>,
}

impl ConnectionHandler {
    pub(crate) fn new(
        auth: Arc<Authenticator>,
        peer: PeerContext,
        login_state: Arc<LoginState>,
        max_attempts: u32,
        span: Span,
    ) -> Self {
        Self {
            auth,
            client_addr: peer.client_addr,
            certificate: peer.certificate,
            unauthenticated_slot: peer.on_authenticated,
            login_state,
            max_attempts,
            attempts: 0,
            logged_in: None,
            open_channels: 0,
            finished: false,
            span,
        }
    }

    /// One password + code attempt. Every refusal looks the same to the client; russh
    /// delays it to `auth_rejection_time`.
    async fn login(&mut self, user: &str, answers: Vec<SecretString>) -> Auth {
        let name = SshLoginName::parse(user).ok();
        let engineer = name.as_ref().map_or(UNPARSABLE_USER, |n| n.engineer.as_str()).to_owned();
        if let Some(name) = &name {
            self.span.record("engineer", tracing::field::display(&name.engineer));
        }
        let client_addr = self.client_addr;
        let Ok([password, code]) = <[SecretString; 2]>::try_from(answers) else {
            info!(engineer, %client_addr, reason = "malformed_response", "login refused");
            return self.refusal();
        };
        let request = LoginRequest {
            // An unparsable name is passed on as typed: it is then refused as an unknown
            // account after the same work as any other attempt.
            login: name.as_ref().map_or_else(|| user.to_owned(), |n| n.engineer.to_string()),
            certificate: self.certificate.clone(),
            client_addr,
            password,
            code,
            protocol: PROTOCOL,
        };
        match self.auth.login(request).await {
            Ok(LoginOutcome::Accept { account }) => {
                info!(engineer, %client_addr, "logged in");
                self.login_state.mark_authenticated();
                // The front door's cap counts connections still trying to log in.
                self.unauthenticated_slot = None;
                self.logged_in = Some(LoggedIn { account, target: name.and_then(|n| n.target) });
                Auth::Accept
            }
            Ok(LoginOutcome::Reject(reason)) => {
                info!(engineer, %client_addr, reason = reason.as_str(), "login refused");
                self.refusal()
            }
            Err(error) => {
                // Fail closed: without the store nobody logs in.
                warn!(engineer, %client_addr, reason = "store_unavailable", %error, "login refused");
                self.refusal()
            }
        }
    }

    /// A refusal; after the last allowed attempt it also offers no method, so clients stop.
    fn refusal(&self) -> Auth {
        if self.attempts >= self.max_attempts { no_method_left() } else { Auth::reject() }
    }

    /// Shows who is logged in and that no target is available, then ends the channel
    /// with exit status 1.
    fn say_no_target(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Error> {
        let text = match &self.logged_in {
            Some(who) => messages::no_target_yet(&who.account, who.target.as_ref()),
            // Channels exist only after login; say nothing rather than guess.
            None => String::new(),
        };
        session.data(channel, text)?;
        self.end_channel(channel, session)
    }

    /// Exit status 1, EOF and close, then the connection ends: the client normally hangs
    /// up itself once its channel is closed; one that stays is disconnected a little later.
    /// Not at once: a client that read the disconnect before handling the close would
    /// report the disconnect (OpenSSH: exit 255) instead of the exit status.
    fn end_channel(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Error> {
        session.exit_status_request(channel, 1)?;
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
}

fn no_method_left() -> Auth {
    Auth::Reject { proceed_with_methods: Some(MethodSet::empty()), partial_success: false }
}

/// The responses as secrets, the first three at most; the copies are zeroized.
fn collect_answers(response: Response<'_>) -> Vec<SecretString> {
    response
        .take(3)
        .map(|bytes| match String::from_utf8(bytes.to_vec()) {
            Ok(text) => SecretString::from(text),
            Err(error) => {
                let mut raw = error.into_bytes();
                raw.zeroize();
                // Not what the account's password is; verified (and refused) all the same.
                SecretString::from(String::new())
            }
        })
        .collect()
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
        if self.attempts >= self.max_attempts {
            return Ok(no_method_left());
        }
        // russh calls us first without responses (the client's request), then with the
        // answers to the prompts (USERAUTH_INFO_RESPONSE), under the same user name.
        let Some(response) = response else {
            return Ok(Auth::Partial {
                name: Cow::Borrowed(messages::CHALLENGE_NAME),
                instructions: Cow::Borrowed(messages::CHALLENGE_INSTRUCTIONS),
                prompts: Cow::Borrowed(messages::PROMPTS),
            });
        };
        let answers = collect_answers(response);
        self.attempts = self.attempts.saturating_add(1);
        let span = self.span.clone();
        Ok(self.login(user, answers).instrument(span).await)
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // The `Channel` is dropped: this handler works through callbacks, and an unread
        // channel would fill up and stall the session.
        if self.open_channels >= MAX_SESSION_CHANNELS {
            let reason = messages::TOO_MANY_CHANNELS.to_owned();
            reply.reject(ChannelOpenFailure::Other { code: 4, reason }).await;
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
        Ok(session.channel_success(channel)?)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _variable_name: &str,
        _variable_value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
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
        Ok(session.channel_success(channel)?)
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        self.span.in_scope(|| debug!("shell requested; no target available yet"));
        self.say_no_target(channel, session)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // The command is not logged: it is the client's, and may hold anything.
        session.channel_success(channel)?;
        self.span.in_scope(|| debug!("exec requested; no target available yet"));
        self.say_no_target(channel, session)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.span.in_scope(|| info!(subsystem = ?name, "subsystem refused"));
        session.extended_data(channel, 1, messages::subsystem_refused(name))?;
        session.channel_failure(channel)?;
        self.end_channel(channel, session)
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
        self.span.in_scope(|| info!("remote port forwarding refused"));
        Ok(false)
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host_to_connect: &str,
        _port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.span.in_scope(|| info!("local port forwarding refused"));
        reply.reject(prohibited(messages::PORT_FORWARDING_REFUSED)).await;
        Ok(())
    }

    async fn channel_open_direct_streamlocal(
        &mut self,
        _channel: Channel<Msg>,
        _socket_path: &str,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.span.in_scope(|| info!("unix socket forwarding refused"));
        reply.reject(prohibited(messages::PORT_FORWARDING_REFUSED)).await;
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
        reply.reject(prohibited(messages::CHANNEL_TYPE_REFUSED)).await;
        Ok(())
    }
}

/// "Administratively prohibited" with our reason, which OpenSSH prints after the code.
fn prohibited(reason: &str) -> ChannelOpenFailure {
    ChannelOpenFailure::Other { code: 1, reason: reason.to_owned() }
}
