//! The RDP service (ALPN `rdp` on the front door): stock RDP clients, through
//! `fumidai connect rdp`'s tunnel, reach RDP targets with the target's credential injected,
//! every frame of the session recorded, and the same admission, limits and kill as SSH
//! (§10.2, §14.1.1, R-10.2-CRYPTO, R-10.2-TERM).
//!
//! Per connection, in order:
//! 1. X.224 towards the client: CredSSP (NLA) required; Restricted Admin and Remote
//!    Credential Guard refused ([`negotiation`]).
//! 2. TLS towards the client inside the mutual-TLS tunnel, with the gateway's own server
//!    certificate (`fumidai_pki::tls::rdp_server_tls`).
//! 3. CredSSP/NTLM, server side, against single-use tickets (`fumidai_core::session::tickets`) only ([`nla`]); the
//!    ticket must belong to the engineer named by the tunnel's client certificate, and
//!    its admission is decided again before NTLM ends, so a ticket whose plan no longer
//!    admits is answered LOGON_FAILURE.
//! 4. The target: TCP, X.224 offering TLS and CredSSP, TLS that accepts only the pinned
//!    certificate (a mismatch is refused, audited and alerted), then — for a target that
//!    requires NLA — CredSSP as a client with the target's credential ([`nla_client`];
//!    `target`).
//! 5. The session (`session`): admitted, recorded (fail closed), registered live, then
//!    [`relay`]ed with the [`rewrite`]s applied, until it ends; its end reason is stored
//!    like SSH's. Every step but the network's is the core's session life cycle
//!    (`fumidai_core::session::Sessions`), the same as SSH's.
//!
//! It depends on `fumidai-core`, `fumidai-pki`, `policy`, `store` and `recorder` — never on
//! the SSH crate or the binary (docs/ARCHITECTURE.md, "Dependency rules").
//!
//! # What this crate does not do
//!
//! The single-use credential is issued by the SSH service (`rdp-ticket`), not here.

pub mod client_frames;
pub mod clipboard;
mod error;
pub mod frames;
mod live;
pub mod negotiation;
pub mod nla;
pub mod nla_client;
pub mod recording;
pub mod relay;
pub mod rewrite;
mod session;
mod target;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fumidai_core::session::{Admitted, Protocol, Refusal, Sessions, Ticket, Tickets};
use fumidai_pki::PeerIdentity;
use fumidai_pki::tls::RdpServerTls;
use policy::ids::{Login, TargetName};
use serde_json::json;
use store::AuditKind;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

pub use error::{RdpError, Result, TargetSetupError};

use self::frames::FrameReader;

/// How long the client may take from TCP to the end of NLA.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The RDP service: one for the gateway, [`serve`](Self::serve) per connection.
pub struct RdpService {
    /// The tickets the SSH service issues and this service takes (the life cycle's).
    tickets: Tickets,
    tls: RdpServerTls,
    sessions: Arc<Sessions>,
    /// The largest file the clipboard carries (`[transfers] clipboard_max_file`): the
    /// gateway holds one whole while it judges it.
    clipboard_max_file: u64,
}

/// Who is on the other end of a tunnel, as the front door established.
pub struct RdpPeer {
    /// The client's address.
    pub client_addr: SocketAddr,
    /// The device's certificate (names the engineer).
    pub certificate: PeerIdentity,
    /// The front door's slot for a connection not yet logged in; dropped after NLA.
    pub on_authenticated: Option<fumidai_core::auth::UnauthenticatedSlot>,
}

impl RdpService {
    /// The service, with the gateway's RDP server TLS, the shared session life cycle and
    /// the clipboard's file size limit.
    pub fn new(tls: RdpServerTls, sessions: Arc<Sessions>, clipboard_max_file: u64) -> Self {
        Self {
            tickets: sessions.rdp_tickets.clone(),
            tls,
            sessions,
            clipboard_max_file,
        }
    }

    /// The certificate fingerprint RDP clients must pin (`/cert:fingerprint:sha256:…`).
    pub fn certificate_fingerprint(&self) -> policy::target::CertFingerprint {
        self.tls.fingerprint
    }

    /// Serves one tunnelled RDP connection to its end.
    pub async fn serve<S>(&self, mut stream: S, mut peer: RdpPeer) -> Result<()>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
    {
        let engineer = peer.certificate.login.clone();
        let handshake = async {
            let mut reader = FrameReader::default();
            let request = negotiation::accept_client(&mut stream, &mut reader).await?;
            if !reader.is_empty() {
                return Err(RdpError::EarlyData);
            }
            let mut tls = TlsAcceptor::from(Arc::clone(&self.tls.config))
                .accept(stream)
                .await
                .map_err(RdpError::ClientTls)?;
            self.vet_tickets(&engineer, peer.client_addr).await;
            let mut reader = FrameReader::default();
            let ticket = nla::authenticate(
                &mut tls,
                &mut reader,
                self.tls.public_key.clone(),
                &self.tickets,
                &engineer,
            )
            .await;
            Ok::<_, RdpError>((request, tls, reader, ticket))
        };
        let (request, tls, reader, ticket) =
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                Ok(result) => result?,
                Err(_) => return Err(RdpError::HandshakeTimeout),
            };
        let ticket = match ticket {
            Ok(ticket) if ticket.engineer == engineer => ticket,
            Err(nla::NlaError::OtherEngineer { target }) => {
                // Refused before it was used up: it still waits for its owner (issue 12).
                self.audit_refusal(
                    &engineer,
                    &target,
                    "ticket_of_another_engineer",
                    peer.client_addr,
                )
                .await;
                return Err(RdpError::OtherEngineersTicket);
            }
            Ok(ticket) => {
                self.audit_refusal(
                    &engineer,
                    &ticket.target,
                    "ticket_of_another_engineer",
                    peer.client_addr,
                )
                .await;
                return Err(RdpError::OtherEngineersTicket);
            }
            Err(error) => {
                warn!(%error, "RDP credential refused");
                let event = store::AuditEvent::new(
                    AuditKind::LoginFailure,
                    store::Actor::Person(engineer.clone()),
                    engineer.as_str(),
                )
                .with_detail(json!({ "protocol": "rdp", "reason": "rdp_credential_refused", "client_addr": peer.client_addr.to_string() }));
                let _ = self.sessions.store.append_audit(event).await;
                return Err(RdpError::Credential(error));
            }
        };
        drop(peer.on_authenticated.take());
        let serial = peer.certificate.serial.clone();
        self.run_session(
            ticket,
            request.protocols,
            tls,
            reader,
            (peer.client_addr, serial),
        )
        .await
    }

    /// Refuses, audited as `session.denied`, a connection whose certificate was revoked
    /// or whose account was disabled since login (issue 12). A store failure refuses.
    async fn recheck_login(
        &self,
        engineer: &Login,
        target: &TargetName,
        serial: &store::CertSerial,
        client_addr: SocketAddr,
    ) -> Result<()> {
        use policy::recheck::{Held, Recheck};
        let holder = fumidai_core::live::authority::Holder {
            held: Held {
                engineer: engineer.clone(),
                session: None,
            },
            serial: Some(serial.clone()),
        };
        let now = Utc::now();
        let facts = fumidai_core::live::authority::facts(
            self.sessions.store.as_ref(),
            std::slice::from_ref(&holder),
            now,
        )
        .await?;
        let Some(facts) = facts.first() else {
            return Err(RdpError::Refused(fumidai_core::session::unavailable(
                "store",
                &"no facts for the login re-check",
            )));
        };
        match policy::recheck::recheck(&holder.held, facts, now) {
            Recheck::Keep => Ok(()),
            Recheck::Lose(lost) => {
                self.audit_refusal(engineer, target, lost.as_str(), client_addr)
                    .await;
                Err(RdpError::Refused(Refusal {
                    reason: lost.as_str(),
                    message: lost.message(),
                }))
            }
        }
    }

    /// Decides admission again for the engineer's waiting tickets before NLA, dropping
    /// those no plan admits any more: NLA then answers LOGON_FAILURE for them.
    async fn vet_tickets(&self, engineer: &Login, client_addr: SocketAddr) {
        for ticket in self.tickets.of_engineer(engineer) {
            if self.admit_ticket(&ticket, client_addr).await.is_err() {
                info!(target = %ticket.target, "ticket no longer admitted; withdrawn");
                let _ = self.tickets.take(&ticket.user, Utc::now());
            }
        }
    }

    /// Admission for a ticket's connection: under the plans as usual, or, for a ticket
    /// issued under an emergency, under that emergency plan only while it is open (R-11-1:
    /// it covers the one session it was declared for; plain admission never uses it).
    async fn admit_ticket(
        &self,
        ticket: &Ticket,
        client_addr: SocketAddr,
    ) -> std::result::Result<Admitted, Refusal> {
        if ticket.emergency.is_some() {
            self.sessions
                .readmit_emergency(&ticket.engineer, &ticket.target, ticket.plan, client_addr)
                .await
        } else {
            self.sessions
                .admit(&ticket.engineer, &ticket.target, client_addr, None)
                .await
        }
    }

    /// Audits a refused connection as `session.denied` (protocol `rdp`).
    async fn audit_refusal(
        &self,
        engineer: &Login,
        target: &TargetName,
        reason: &str,
        client_addr: SocketAddr,
    ) {
        self.sessions
            .audit(
                AuditKind::SessionDenied,
                engineer,
                target,
                json!({ "reason": reason, "protocol": Protocol::Rdp.as_str(), "client_addr": client_addr.to_string() }),
            )
            .await;
    }
}
