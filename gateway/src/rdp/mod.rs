//! The RDP service (ALPN `rdp` on the front door): stock RDP clients, through
//! `fumidai connect rdp`'s tunnel, reach RDP targets with the target's credential injected,
//! every frame of the session recorded, and the same admission, limits and kill as SSH
//! (§10.2, §14.1.1, R-10.2-CRYPTO, R-10.2-TERM).
//!
//! Per connection, in order:
//! 1. X.224 towards the client: CredSSP (NLA) required; Restricted Admin and Remote
//!    Credential Guard refused ([`negotiation`]).
//! 2. TLS towards the client inside the mutual-TLS tunnel, with the gateway's own server
//!    certificate ([`crate::tls::rdp_server_tls`]).
//! 3. CredSSP/NTLM, server side, against single-use [`tickets`] only ([`nla`]); the
//!    ticket must belong to the engineer named by the tunnel's client certificate, and
//!    its admission is decided again before NTLM ends, so a ticket whose plan no longer
//!    admits is answered LOGON_FAILURE.
//! 4. The target: TCP, X.224 offering TLS and CredSSP, TLS that accepts only the pinned
//!    certificate (a mismatch is refused, audited and alerted), then — for a target that
//!    requires NLA — CredSSP as a client with the target's credential ([`nla_client`]).
//! 5. The session: recorded (fail closed), registered live, then [`relay`]ed with the
//!    [`rewrite`]s applied, until it ends; its end reason is stored like SSH's.
//!
//! # What this module does not do
//!
//! The single-use credential is issued by the SSH service (`rdp-ticket`), not here.

pub mod client_frames;
pub mod clipboard;
pub mod frames;
mod live;
pub mod negotiation;
pub mod nla;
pub mod nla_client;
pub mod recording;
pub mod relay;
pub mod rewrite;
pub mod tickets;

use policy::limits::EndReason;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use policy::ids::{Login, PlanId, SessionId, TargetName};
use policy::plan::Allowances;
use policy::target::TargetPin;
use secrecy::ExposeSecret as _;
use serde_json::json;
use store::{AuditKind, NewSession};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tracing::{info, warn};

pub use tickets::{Ticket, Tickets};

use self::frames::FrameReader;
use self::recording::{RecordingSubject, SessionRecording};
use self::relay::{RelayEnd, RelayEvent, RelaySetup};
use self::rewrite::{ChannelAllowance, TargetLogon};
use crate::pki::PeerIdentity;
use crate::proxy::session::{ProxyContext, Refusal};
use crate::tls::RdpServerTls;
use fumidai_core::live::SessionParts;

/// How long the client may take from TCP to the end of NLA.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The RDP service: one for the gateway, [`serve`](Self::serve) per connection.
pub struct RdpService {
    /// The tickets the SSH service issues and this service takes (the proxy context's).
    tickets: Tickets,
    tls: RdpServerTls,
    proxy: Arc<ProxyContext>,
}

/// Who is on the other end of a tunnel, as the front door established.
pub struct RdpPeer {
    /// The client's address.
    pub client_addr: SocketAddr,
    /// The device's certificate (names the engineer).
    pub certificate: PeerIdentity,
    /// The front door's slot for a connection not yet logged in; dropped after NLA.
    pub on_authenticated: Option<crate::front_door::UnauthenticatedSlot>,
}

/// Why a connection ended before or during its session.
#[derive(Debug, thiserror::Error)]
pub enum RdpError {
    /// Before a session existed.
    #[error("{0}")]
    Refused(String),
}

impl RdpService {
    /// The service, with the gateway's RDP server TLS and the shared proxy context.
    pub fn new(tls: RdpServerTls, proxy: Arc<ProxyContext>) -> Self {
        Self {
            tickets: proxy.rdp_tickets.clone(),
            tls,
            proxy,
        }
    }

    /// The certificate fingerprint RDP clients must pin (`/cert:fingerprint:sha256:…`).
    pub fn certificate_fingerprint(&self) -> policy::target::CertFingerprint {
        self.tls.fingerprint
    }

    /// Serves one tunnelled RDP connection to its end.
    pub async fn serve<S>(&self, mut stream: S, mut peer: RdpPeer) -> Result<(), RdpError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
    {
        let engineer = peer.certificate.login.clone();
        let handshake = async {
            let mut reader = FrameReader::default();
            let request = negotiation::accept_client(&mut stream, &mut reader)
                .await
                .map_err(|e| RdpError::Refused(format!("negotiation: {e}")))?;
            if !reader.is_empty() {
                return Err(RdpError::Refused(
                    "data before the TLS handshake".to_owned(),
                ));
            }
            let mut tls = TlsAcceptor::from(Arc::clone(&self.tls.config))
                .accept(stream)
                .await
                .map_err(|e| RdpError::Refused(format!("TLS: {e}")))?;
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
                Err(_) => return Err(RdpError::Refused("handshake timed out".to_owned())),
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
                return Err(RdpError::Refused("ticket of another engineer".to_owned()));
            }
            Ok(ticket) => {
                self.audit_refusal(
                    &engineer,
                    &ticket.target,
                    "ticket_of_another_engineer",
                    peer.client_addr,
                )
                .await;
                return Err(RdpError::Refused("ticket of another engineer".to_owned()));
            }
            Err(error) => {
                warn!(%error, "RDP credential refused");
                let event = store::AuditEvent::new(
                    AuditKind::LoginFailure,
                    store::Actor::Person(engineer.clone()),
                    engineer.as_str(),
                )
                .with_detail(json!({ "protocol": "rdp", "reason": "rdp_credential_refused", "client_addr": peer.client_addr.to_string() }));
                let _ = self.proxy.store.append_audit(event).await;
                return Err(RdpError::Refused(error.to_string()));
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
        target: &policy::ids::TargetName,
        serial: &store::CertSerial,
        client_addr: SocketAddr,
    ) -> Result<(), RdpError> {
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
            self.proxy.store.as_ref(),
            std::slice::from_ref(&holder),
            now,
        )
        .await
        .map_err(|e| RdpError::Refused(format!("store: {e}")))?;
        let Some(facts) = facts.first() else {
            return Err(RdpError::Refused("store: no facts".to_owned()));
        };
        match policy::recheck::recheck(&holder.held, facts, now) {
            Recheck::Keep => Ok(()),
            Recheck::Lose(lost) => {
                self.audit_refusal(engineer, target, lost.as_str(), client_addr)
                    .await;
                Err(RdpError::Refused(lost.message().replace("\r\n", " ")))
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
    ) -> Result<(PlanId, DateTime<Utc>, Allowances), Refusal> {
        if ticket.emergency.is_some() {
            self.proxy
                .readmit_emergency(&ticket.engineer, &ticket.target, ticket.plan, client_addr)
                .await
        } else {
            self.proxy
                .admit(&ticket.engineer, &ticket.target, client_addr, None)
                .await
        }
    }

    async fn run_session<S>(
        &self,
        ticket: Ticket,
        client_protocols: ironrdp_pdu::nego::SecurityProtocol,
        client: S,
        client_reader: FrameReader,
        (client_addr, serial): (SocketAddr, store::CertSerial),
    ) -> Result<(), RdpError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
    {
        let engineer = ticket.engineer.clone();
        let target = ticket.target.clone();
        let refused = |r: Refusal| RdpError::Refused(r.message.replace("\r\n", " "));
        // Issue 12: the certificate and the account are re-checked for every connection
        // (the ticket may have been issued before a revocation or a disable).
        self.recheck_login(&engineer, &target, &serial, client_addr)
            .await?;
        let (plan, ends_at, allow) = self
            .admit_ticket(&ticket, client_addr)
            .await
            .map_err(refused)?;
        self.proxy
            .ensure_recordable(&engineer, &target, plan)
            .await
            .map_err(refused)?;
        let (address, pin, logon) = self.endpoint(&target).await?;
        let (mut target_stream, target_reader, target_protocol) = match self
            .connect_target(&address, pin, &logon)
            .await
        {
            Ok(connected) => connected,
            Err(TargetFailure::Mismatch { presented }) => {
                let pinned = pin.to_string();
                self.proxy
                    .alerts
                    .raise(crate::alerts::Alert::host_key_mismatch(
                        &engineer, &target, plan, &presented, &pinned,
                    ));
                self.proxy
                        .audit(
                            AuditKind::HostKeyMismatch,
                            &engineer,
                            &target,
                            json!({ "presented": presented, "pinned": pinned, "plan_id": plan.to_string(), "protocol": "rdp" }),
                        )
                        .await;
                return Err(RdpError::Refused(
                    "the target's certificate does not match the pinned one".to_owned(),
                ));
            }
            Err(TargetFailure::Other(why)) => {
                warn!(%target, why, "RDP target unreachable");
                self.audit_refusal(&engineer, &target, "target_unreachable", client_addr)
                    .await;
                return Err(RdpError::Refused(format!(
                    "cannot reach target {target}: {why}"
                )));
            }
        };
        let id = SessionId::generate();
        let started_at = Utc::now();
        // fumidai can't log an RDP desktop off (xrdp and Windows keep a disconnected
        // desktop, and the target login is the same for every session): the desktop the
        // latest session on this target left may be resumed by this one. Said in the
        // recording's header, the audit trail and the report (issue 12).
        let left = self.proxy.store.latest_session_on_target(&target).await;
        let subject = RecordingSubject {
            session: id,
            engineer: &engineer,
            target: &target,
            plan,
            started_at,
            may_resume: left.as_ref().ok().and_then(Option::as_ref).map(|previous| {
                recorder::rdp::LeftDesktop {
                    session_id: *previous.id.as_uuid(),
                    engineer: previous.engineer.to_string(),
                    end: previous
                        .end_reason
                        .map_or("live", EndReason::as_str)
                        .to_owned(),
                }
            }),
        };
        // Fail closed: no session that can't be recorded (R-10-3).
        let recording = match SessionRecording::start(&self.proxy.recording, &subject).await {
            Ok(recording) => Arc::new(recording),
            Err(error) => {
                warn!(%error, "ALERT: the RDP recording cannot be written; session refused");
                self.audit_refusal(&engineer, &target, "recording_unavailable", client_addr)
                    .await;
                return Err(RdpError::Refused(error.to_string()));
            }
        };
        let new = NewSession {
            id,
            engineer: engineer.clone(),
            target: target.clone(),
            plan,
            client_addr,
            recording: None,
        };
        if let Err(error) = self.proxy.store.start_session(new).await {
            use tokio::io::AsyncWriteExt as _;
            let _ = target_stream.shutdown().await;
            return Err(RdpError::Refused(format!("store: {error}")));
        }
        let guard = self.proxy.live.register(
            SessionParts {
                id,
                engineer: engineer.clone(),
                target: target.clone(),
                plan,
                serial: Some(serial),
                started_at,
                window_ends_at: ends_at,
            },
            Arc::new(live::RdpConnection),
        );
        info!(session_id = %id, plan_id = %plan, %target, "RDP session started");
        self.note_left_desktop(left, id, plan, &engineer, &target)
            .await;
        // What the relay puts on record goes to the audit trail from here, in order.
        let (events, mut received) = tokio::sync::mpsc::channel::<RelayEvent>(64);
        let on_record = {
            let proxy = Arc::clone(&self.proxy);
            let (engineer, target) = (engineer.clone(), target.clone());
            tokio::spawn(async move {
                while let Some(event) = received.recv().await {
                    let (kind, detail) = event_record(&event, id, plan);
                    proxy.audit(kind, &engineer, &target, detail).await;
                }
            })
        };
        let setup = RelaySetup {
            target_protocol,
            client_protocols,
            allowance: ChannelAllowance::from_plan(&allow),
            logon,
            recording: Arc::clone(&recording),
            activity: guard.activity(),
            end: guard.end_signal(),
            events,
            clipboard: relay::ClipboardEdge {
                rules: clipboard::ClipboardRules {
                    allow,
                    max_file: self.proxy.clipboard_max_file,
                    scan: self.proxy.scanner.is_some(),
                },
                scanner: self.proxy.scanner.clone(),
                audit: Arc::clone(&self.proxy.store),
                session: id,
                engineer: engineer.clone(),
                target: target.clone(),
                plan,
            },
        };
        let end = relay::relay(client, client_reader, target_stream, target_reader, setup).await;
        let _ = on_record.await;
        let reason = match &end {
            RelayEnd::Decided(reason) => *reason,
            RelayEnd::Closed(_) => EndReason::Normal,
            RelayEnd::Refused(_) | RelayEnd::Failed(_) | RelayEnd::Violation(_) => EndReason::Error,
        };
        if let RelayEnd::Violation(violation) = &end {
            warn!(session_id = %id, %violation, "RDP session cut on a client frame");
            self.proxy
                .audit(
                    AuditKind::RdpProtocolViolation,
                    &engineer,
                    &target,
                    json!({
                        "session_id": id.to_string(),
                        "plan_id": plan.to_string(),
                        "protocol": "rdp",
                        "reason": violation.kind.as_str(),
                        "detail": rewrite::escape_controls(&violation.detail),
                    }),
                )
                .await;
        }
        info!(session_id = %id, end = end.describe(), %reason, "RDP session ended");
        drop(guard);
        match recording.finish().await {
            Ok(sealed) => self.record_seal(id, &engineer, &target, &sealed).await,
            Err(error) => {
                warn!(session_id = %id, %error, "ALERT: the RDP recording could not be sealed")
            }
        }
        if let Err(error) = self.proxy.store.end_session(&id, reason, None).await {
            warn!(session_id = %id, %error, "could not record the session's end");
        }
        Ok(())
    }

    /// The target's address, pinned certificate and credential.
    async fn endpoint(
        &self,
        name: &TargetName,
    ) -> Result<(String, policy::target::CertFingerprint, TargetLogon), RdpError> {
        let target = self
            .proxy
            .store
            .target(name)
            .await
            .map_err(|e| RdpError::Refused(format!("store: {e}")))?
            .ok_or_else(|| RdpError::Refused(format!("target {name} is not registered")))?;
        let TargetPin::RdpCertificate(pin) = target.pin else {
            return Err(RdpError::Refused(format!(
                "target {name} is not an RDP server"
            )));
        };
        let secret = self
            .proxy
            .store
            .target_credential(name)
            .await
            .map_err(|e| RdpError::Refused(format!("vault: {e}")))?
            .ok_or_else(|| RdpError::Refused(format!("target {name} has no stored password")))?;
        let password = std::str::from_utf8(secret.expose_secret())
            .map_err(|_| RdpError::Refused("the stored password is not text".to_owned()))?
            .to_owned();
        Ok((
            format!("{}:{}", target.address.host, target.address.port),
            pin,
            TargetLogon::new(&target.login, password),
        ))
    }

    async fn connect_target(
        &self,
        address: &str,
        pin: policy::target::CertFingerprint,
        logon: &TargetLogon,
    ) -> Result<
        (
            tokio_rustls::client::TlsStream<TcpStream>,
            FrameReader,
            ironrdp_pdu::nego::SecurityProtocol,
        ),
        TargetFailure,
    > {
        let timeout = self.proxy.connect_timeout;
        let other = |e: &dyn std::fmt::Display| TargetFailure::Other(e.to_string());
        let mut tcp = tokio::time::timeout(timeout, TcpStream::connect(address))
            .await
            .map_err(|e| other(&e))?
            .map_err(|e| other(&e))?;
        let _ = tcp.set_nodelay(true);
        let mut reader = FrameReader::default();
        let protocol =
            tokio::time::timeout(timeout, negotiation::connect_target(&mut tcp, &mut reader))
                .await
                .map_err(|e| other(&e))?
                .map_err(|e| other(&e))?;
        let (config, presented) =
            crate::tls::rdp_target_client_config(pin).map_err(|e| other(&e))?;
        let name =
            rustls_pki_types::ServerName::try_from("rdp-target.invalid").map_err(|e| other(&e))?;
        match tokio::time::timeout(timeout, TlsConnector::from(config).connect(name, tcp)).await {
            Ok(Ok(mut tls)) => {
                let mut reader = FrameReader::default();
                if protocol.contains(ironrdp_pdu::nego::SecurityProtocol::HYBRID) {
                    // A target requiring NLA: CredSSP with its own credential, bound to
                    // the pinned certificate's key.
                    let public_key = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(|c| nla_client::subject_public_key(c.as_ref()))
                        .ok_or_else(|| other(&"no target certificate"))?;
                    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
                    let nla = nla_client::authenticate(
                        &mut tls,
                        &mut reader,
                        logon,
                        host,
                        public_key,
                        protocol,
                    );
                    tokio::time::timeout(timeout, nla)
                        .await
                        .map_err(|e| other(&e))?
                        .map_err(|e| other(&e))?;
                }
                Ok((tls, reader, protocol))
            }
            Ok(Err(error)) => match presented.get() {
                Some(seen) if seen != pin => Err(TargetFailure::Mismatch {
                    presented: seen.to_string(),
                }),
                _ => Err(other(&error)),
            },
            Err(error) => Err(other(&error)),
        }
    }

    /// Records the sealed recording in the audit chain (R-17-2), as for SSH channels.
    async fn record_seal(
        &self,
        id: SessionId,
        engineer: &Login,
        target: &TargetName,
        sealed: &recorder::Sealed,
    ) {
        let event = store::AuditEvent::new(
            AuditKind::RecordingSealed,
            store::Actor::System,
            id.to_string(),
        )
        .with_detail(json!({
            "statement": sealed.statement.canonical(),
            "signature": sealed.signature_hex(),
            "engineer": engineer.as_str(),
            "target": target.as_str(),
            "protocol": "rdp",
        }));
        if let Err(error) = self.proxy.store.append_audit(event).await {
            warn!(session_id = %id, %error, "could not record the RDP recording's seal");
        }
    }

    /// Puts on record that session `id` may have resumed the desktop an earlier session on
    /// the same target left (`rdp.desktop_may_resume`, read by the report).
    async fn note_left_desktop(
        &self,
        left: store::Result<Option<store::SessionRecord>>,
        id: SessionId,
        plan: policy::ids::PlanId,
        engineer: &Login,
        target: &TargetName,
    ) {
        let previous = match left {
            Ok(Some(previous)) => previous,
            Ok(None) => return,
            Err(error) => {
                warn!(session_id = %id, %error, "cannot tell whether an earlier RDP desktop is left on the target");
                return;
            }
        };
        info!(session_id = %id, previous_session_id = %previous.id, "this RDP session may resume the desktop an earlier session left");
        let detail = json!({
            "session_id": id.to_string(),
            "plan_id": plan.to_string(),
            "protocol": "rdp",
            "previous_session_id": previous.id.to_string(),
            "previous_engineer": previous.engineer.as_str(),
            "previous_end": previous.end_reason.map_or("live", EndReason::as_str),
            "previous_ended_at": previous.ended_at.map(|t| t.to_rfc3339()),
        });
        self.proxy
            .audit(AuditKind::RdpDesktopMayResume, engineer, target, detail)
            .await;
    }

    async fn audit_refusal(
        &self,
        engineer: &Login,
        target: &TargetName,
        reason: &str,
        client_addr: SocketAddr,
    ) {
        self.proxy
            .audit(
                AuditKind::SessionDenied,
                engineer,
                target,
                json!({ "reason": reason, "protocol": "rdp", "client_addr": client_addr.to_string() }),
            )
            .await;
    }
}

/// The audit record for something the relay saw.
fn event_record(
    event: &RelayEvent,
    session: SessionId,
    plan: policy::ids::PlanId,
) -> (AuditKind, serde_json::Value) {
    match event {
        RelayEvent::ClientInfoRewritten(requested) => (
            AuditKind::RdpClientInfoRewritten,
            json!({
                "session_id": session.to_string(),
                "plan_id": plan.to_string(),
                "protocol": "rdp",
                "alternate_shell": rewrite::escape_controls(&requested.alternate_shell),
                "work_dir": rewrite::escape_controls(&requested.work_dir),
                "remote_app": requested.remote_app,
                "outcome": "blanked",
            }),
        ),
    }
}

enum TargetFailure {
    Mismatch { presented: String },
    Other(String),
}
