//! `rdp-ticket`: what an SSH login to an RDP target (`engineer:target`) is for. After the
//! same password + TOTP login as any SSH session (and the same emergency declaration),
//! admission is decided for the target, and if admitted a single-use RDP credential is
//! issued and printed as one JSON line — for `fumidai connect rdp`, which hands it to the
//! stock RDP client. Nothing else runs on such a login.

use chrono::Utc;
use russh::ChannelId;
use russh::server::Session;
use serde_json::json;
use store::{Actor, AuditEvent, AuditKind};
use tracing::{info, warn};

use super::handler::ConnectionHandler;
use fumidai_core::session::tickets::TICKET_LIFETIME;

/// The one command such a login runs.
pub(crate) const RDP_TICKET_COMMAND: &[u8] = b"rdp-ticket";

impl ConnectionHandler {
    /// Whether the logged-in user name named an RDP target (looked up once).
    pub(super) async fn logged_in_to_rdp(&mut self) -> bool {
        let Some(who) = self.phase.who() else {
            return false;
        };
        if let Some(known) = who.target_is_rdp {
            return known;
        }
        let (Some(proxy), Some(target)) = (self.proxy.clone(), who.target.clone()) else {
            return false;
        };
        let is_rdp = matches!(
            proxy.sessions.store.target(&target).await,
            Ok(Some(t)) if t.protocol == store::TargetProtocol::Rdp
        );
        if let Some(who) = self.phase.who_mut() {
            who.target_is_rdp = Some(is_rdp);
        }
        is_rdp
    }

    /// Whether the logged-in target is known to be an RDP server (after
    /// [`logged_in_to_rdp`](Self::logged_in_to_rdp) looked it up).
    pub(super) fn target_is_rdp(&self) -> bool {
        self.phase.who().and_then(|w| w.target_is_rdp) == Some(true)
    }

    /// Answers a command on an RDP target's login: `rdp-ticket` gets a credential (exit
    /// 0) or the refusal (stderr, exit 1); anything else is told what this login is for.
    pub(super) async fn answer_rdp_ticket(
        &mut self,
        channel: ChannelId,
        command: &[u8],
        session: &mut Session,
    ) -> Result<(), super::Error> {
        let (Some(proxy), Some(who)) = (self.proxy.clone(), self.phase.who()) else {
            return self.end_channel_with(channel, session, 1);
        };
        let (engineer, emergency) = (who.account.login.clone(), who.emergency.clone());
        let Some(target) = who.target.clone() else {
            return self.end_channel_with(channel, session, 1);
        };
        if command.trim_ascii() != RDP_TICKET_COMMAND {
            let text = format!(
                "{target} は RDP の接続先です。`fumidai connect rdp {target} …` で接続してください。\r\n\
                 {target} is an RDP target: connect with `fumidai connect rdp {target} …`.\r\n"
            );
            session.extended_data(channel, 1, text.into_bytes())?;
            return self.end_channel_with(channel, session, 2);
        }
        // Issue 12: the login's certificate and account are checked again first.
        if !self.authority_holds(&proxy, None, session.handle()).await {
            let text = self
                .phase
                .refusal()
                .map(|r| r.message.clone())
                .unwrap_or_default();
            session.extended_data(channel, 1, text.into_bytes())?;
            return self.end_channel_with(channel, session, 1);
        }
        let admitted = proxy
            .sessions
            .admit(&engineer, &target, self.client_addr, emergency.as_deref())
            .await;
        let (plan, ends_at) = match admitted {
            Ok((plan, ends_at, _)) => (plan, ends_at),
            Err(refusal) => {
                session.extended_data(channel, 1, refusal.message.into_bytes())?;
                return self.end_channel_with(channel, session, 1);
            }
        };
        let now = Utc::now();
        let ticket = proxy
            .sessions
            .rdp_tickets
            .issue(&engineer, &target, plan, emergency, now);
        let event = AuditEvent::new(
            AuditKind::RdpCredentialIssued,
            Actor::Person(engineer.clone()),
            target.as_str(),
        )
        .with_detail(json!({
            "target": target.as_str(),
            "plan_id": plan.to_string(),
            "user": ticket.user,
            "expires_at": ticket.expires_at,
            "client_addr": self.client_addr.to_string(),
        }));
        if let Err(error) = proxy.sessions.store.append_audit(event).await {
            // Fail closed: an unaudited credential is not handed out.
            warn!(%error, "could not audit an RDP credential; withdrawn");
            let _ = proxy.sessions.rdp_tickets.take(&ticket.user, now);
            session.extended_data(
                channel,
                1,
                crate::messages::STORE_UNAVAILABLE.as_bytes().to_vec(),
            )?;
            return self.end_channel_with(channel, session, 1);
        }
        info!(%target, plan_id = %plan, "RDP credential issued");
        let line = json!({
            "user": ticket.user,
            "password": ticket.password(),
            "target": target.as_str(),
            "plan_id": plan.to_string(),
            "expires_at": ticket.expires_at,
            "valid_for_secs": TICKET_LIFETIME.num_seconds(),
            "session_ends_at": ends_at,
        });
        session.data(channel, format!("{line}\n").into_bytes())?;
        self.end_channel_with(channel, session, 0)
    }
}
