//! fumidai's SSH side: the SSH service that runs inside the front door's TLS stream
//! (russh), the proxy to SSH targets ([`proxy`]: the target leg, the channel bridge, SFTP
//! and SCP inspection, recordings) and fumidai's SSH user CA ([`ssh_ca`]).
//!
//! It depends on `fumidai-core` (the session life cycle, the live registry, the login
//! procedure), `fumidai-pki`, `policy`, `store` and `recorder` — never on the RDP crate or
//! the binary (docs/ARCHITECTURE.md, "Dependency rules").
//!
//! The front door has already checked the device (client certificate, revocation, source
//! address); here the person logs in with keyboard-interactive (password, then TOTP code)
//! through [`fumidai_core::auth::Authenticator`], and the user name `engineer[:target]` says who
//! and where to.
//!
//! # Layout
//!
//! - [`config`]: the russh configuration: algorithms, methods, time-outs.
//! - [`host_key`]: generating, storing and loading the Ed25519 host key.
//! - `handler`: the russh handler for one connection, handing each callback on.
//! - `phase`: where the connection is in its life (awaiting login, the rounds after the
//!   credentials, logged in, proxying, refused), one enum.
//! - `kbd_login`: keyboard-interactive prompts and the login.
//! - `target_menu`: the menu round for the user name `engineer` alone.
//! - `proxying`: the maintenance session (admission, target leg) and one bridge per
//!   session channel.
//! - `forwarding`: local TCP forwards to the target host, as the plan allows.
//! - `channels`: what a logged-in connection without a session is told.
//! - `logged_in`: a login without a session, recorded for listing, kill and the
//!   live re-check (issue 12).
//! - `login_grace`: closes connections not logged in within the grace period.
//! - `live`: the connection as the live registry's `LiveConnection` (warnings on the
//!   bridged channels, the hang-up), and the session's registration.
//! - `messages`: every text the user sees, in Japanese and English.
//! - [`proxy`]: the SSH client leg to targets and the channel bridge.
//! - [`ssh_ca`]: fumidai's SSH user CA, signing per-session certificates for targets.
//!
//! # What this crate does not do
//!
//! It decides nothing itself: the login rules, admission, the menu and what may be
//! forwarded are `policy`'s, applied here and by [`fumidai_core::auth`]. Agent, X11 and remote
//! forwarding are refused.

mod channel_cap;
mod channels;
pub mod config;
mod emergency;
mod engineer_commands;
mod forwarding;
mod handler;
pub mod host_key;
mod kbd_login;
mod live;
mod logged_in;
mod login_grace;
mod messages;
mod password_change;
mod phase;
pub mod proxy;
mod proxying;
mod rdp_ticket;
pub mod ssh_ca;
mod target_menu;

use policy::limits::EndReason;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{Instrument, debug, info_span};

pub use config::{SshConfig, SshSettings, russh_config};

use crate::proxy::session::ProxyContext;
use fumidai_core::auth::Authenticator;
use fumidai_pki::PeerIdentity;
use handler::ConnectionHandler;
use login_grace::{LoginGrace, LoginState};

/// SSH service results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the SSH service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SSH protocol failed: a bad packet, a failed key exchange, a lost connection.
    #[error("ssh: {0}")]
    Protocol(#[from] russh::Error),
    /// The client did not log in within the grace period; the connection was closed.
    #[error("not logged in within {0:?}")]
    LoginTimedOut(Duration),
    /// The host key file could not be read or written.
    #[error("host key {path}: {source}")]
    HostKeyIo {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The host key file is not an OpenSSH private key.
    #[error("host key {path}: {source}")]
    HostKeyFormat {
        /// The file.
        path: PathBuf,
        /// Why.
        source: russh::keys::ssh_key::Error,
    },
    /// The operating system's random source failed.
    #[error("no randomness for a host key: {0}")]
    Random(#[source] rand::Error),
    /// A host key could not be encoded.
    #[error("host key encoding: {0}")]
    HostKeyEncoding(russh::keys::ssh_key::Error),
    /// The host key is encrypted or not Ed25519, the only algorithm offered.
    #[error("host key {path}: expected an unencrypted Ed25519 key")]
    HostKeyNotEd25519 {
        /// The file.
        path: PathBuf,
    },
}

/// What the front door knows about a connection before the person logs in.
#[derive(Debug)]
pub struct PeerContext {
    /// The client's address as the front door saw it, for the allow list and the audit.
    pub client_addr: SocketAddr,
    /// The device's client certificate; its CN must equal the login (R-10.2-PRIV).
    pub certificate: PeerIdentity,
    /// The front door's slot for a connection not yet logged in. Dropped at login, so the
    /// cap counts only connections still trying.
    pub on_authenticated: Option<fumidai_core::auth::UnauthenticatedSlot>,
    /// Whether the store answered when the connection came in. Without it no login is
    /// accepted (fail closed), and the engineer is told why before the prompts.
    pub store_available: bool,
}

/// The SSH service: one instance for the gateway, [`serve`](Self::serve) per connection.
pub struct SshService {
    /// Algorithms, host key, time-outs and attempts, shared by all connections.
    config: Arc<SshConfig>,
    /// The login procedure shared with the other protocols.
    auth: Arc<Authenticator>,
    /// Admission and the target leg; without it, logged-in engineers are told that no
    /// target is available.
    proxy: Option<Arc<ProxyContext>>,
}

impl SshService {
    /// A service with `config` (from [`russh_config`]) logging people in through `auth`.
    pub fn new(config: Arc<SshConfig>, auth: Arc<Authenticator>) -> Self {
        Self {
            config,
            auth,
            proxy: None,
        }
    }

    /// The same service, proxying admitted engineers to their targets.
    pub fn with_proxy(mut self, proxy: Arc<ProxyContext>) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Runs one SSH connection over `stream` until it ends. A connection not logged in
    /// within the grace period is closed and reported as [`Error::LoginTimedOut`].
    pub async fn serve<S>(&self, stream: S, peer: PeerContext) -> Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let span = info_span!(
            "ssh",
            client_addr = %peer.client_addr,
            engineer = tracing::field::Empty,
        );
        let settings = &self.config.settings;
        let grace = settings.auth_timeout;
        let state = Arc::new(LoginState::default());
        let stream = LoginGrace::new(stream, grace, Arc::clone(&state));
        let handler = ConnectionHandler::new(
            Arc::clone(&self.auth),
            peer,
            Arc::clone(&state),
            handler::AttemptLimits {
                max_attempts: settings.max_auth_attempts,
                rejection_time: self.config.russh.auth_rejection_time,
            },
            span.clone(),
        );
        let open_session = Arc::clone(&handler.session_slot);
        let handler = handler.with_proxy(self.proxy.clone());
        let config = Arc::clone(&self.config.russh);
        let _open = OpenConnectionGauge::new();
        let outcome = async move {
            // russh runs the session in a task of its own; the handler instruments its
            // work with `span` itself.
            let session = russh::server::run_stream(config, stream, handler).await?;
            session.await
        }
        .instrument(span.clone())
        .await;
        // However the connection ended, its maintenance session (if any) ends with it.
        // The guard leaves the live registry when dropped here, after its reason is read.
        let (session, decided) = match open_session.lock().ok().and_then(|mut s| s.take()) {
            Some(open) => (Some(open.session), open.live.end_reason()),
            None => (None, None),
        };
        if let (Some(session), Some(proxy)) = (session, &self.proxy) {
            let reason = match (decided, &outcome) {
                (Some(reason), _) => reason,
                (None, Ok(())) => EndReason::Normal,
                (None, Err(error)) if ended_by_peer(error) => EndReason::Normal,
                (None, Err(_)) => EndReason::Error,
            };
            proxy.sessions.end(&session.id, reason).await;
        }
        match outcome {
            Err(_) if state.expired() => Err(Error::LoginTimedOut(grace)),
            Err(Error::Protocol(russh::Error::IO(error))) if peer_went_away(&error) => {
                span.in_scope(|| debug!(%error, "client closed the connection"));
                Ok(())
            }
            other => other,
        }
    }
}

/// Whether the connection ended because the engineer's side hung up or disconnected,
/// which is how sessions normally end, rather than through a fault on the gateway's side.
fn ended_by_peer(error: &Error) -> bool {
    match error {
        Error::Protocol(russh::Error::IO(e)) => peer_went_away(e),
        Error::Protocol(russh::Error::Disconnect | russh::Error::HUP) => true,
        _ => false,
    }
}

/// The client hanging up, at any point, is how SSH connections normally end.
fn peer_went_away(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    matches!(
        error.kind(),
        BrokenPipe | ConnectionAborted | ConnectionReset | UnexpectedEof
    )
}

#[cfg(test)]
mod tests;

/// Counts open SSH connections in the metrics while alive.
struct OpenConnectionGauge;

impl OpenConnectionGauge {
    fn new() -> Self {
        metrics::gauge!(fumidai_core::metrics::SSH_CONNECTIONS).increment(1.0);
        Self
    }
}

impl Drop for OpenConnectionGauge {
    fn drop(&mut self) {
        metrics::gauge!(fumidai_core::metrics::SSH_CONNECTIONS).decrement(1.0);
    }
}
