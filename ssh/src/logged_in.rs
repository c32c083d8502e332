//! A logged-in connection before it has a session (issue 12): recorded in the store and
//! the live registry at login, so `fumidai session list --live` shows it ("logged in, no
//! channel"), `session kill` closes it, its authority is re-checked every second, and it
//! is closed if it opens no channel within the login grace. Forgotten when its session
//! opens (then it is listed as that session) or it closes.

use fumidai_core::live::LoginParts;
use russh::Disconnect;
use russh::server::Session;
use store::NewConnection;
use tracing::warn;

use super::handler::ConnectionHandler;
use super::live::SshConnection;

impl ConnectionHandler {
    /// russh's `auth_succeeded`: records the login. A store that can't record it closes the
    /// connection (fail closed: a login nobody can see or kill doesn't stay).
    pub(super) async fn record_login(&mut self, session: &mut Session) {
        let (Some(proxy), Some(who)) = (self.proxy.clone(), self.phase.who()) else {
            return;
        };
        let id = policy::ids::SessionId::generate();
        let engineer = who.account.login.clone();
        let new = NewConnection {
            id,
            engineer: engineer.clone(),
            client_addr: self.client_addr,
        };
        if let Err(error) = proxy.sessions.store.add_connection(new).await {
            self.span
                .in_scope(|| warn!(%error, "cannot record the login; disconnecting"));
            let _ = session.disconnect(
                Disconnect::ByApplication,
                super::messages::STORE_UNAVAILABLE,
                "en",
            );
            return;
        }
        let parts = LoginParts {
            id,
            engineer,
            serial: Some(self.certificate.serial.clone()),
            logged_in_at: chrono::Utc::now(),
        };
        let guard = proxy.sessions.live.register_login(
            parts,
            std::sync::Arc::new(SshConnection::new(id, session.handle(), None)),
            Some(std::sync::Arc::clone(&proxy.sessions.store)),
        );
        self.phase.register_login(guard);
    }

    /// A channel was opened: the no-channel grace no longer applies.
    pub(super) fn mark_channel(&self) {
        if let Some(guard) = self.phase.login() {
            guard.channel_opened();
        }
    }
}
