//! Step 5 of a connection: the session — admitted again, recorded, started, relayed, sealed
//! and ended through the core's life cycle (`fumidai_core::session::Sessions`), as SSH's is
//! (R-10-3, R-10.2-TIMEOUT, R-17-2).

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::Utc;
use fumidai_core::live::SessionParts;
use fumidai_core::session::{EndReason, Protocol, Ticket};
use policy::ids::{Login, PlanId, SessionId, TargetName};
use serde_json::json;
use store::{AuditKind, NewSession};
use tracing::{info, warn};

use crate::error::{RdpError, Result};
use crate::frames::FrameReader;
use crate::recording::{RecordingSubject, SessionRecording};
use crate::relay::{self, RelayEnd, RelayEvent, RelaySetup};
use crate::rewrite::{self, ChannelAllowance};
use crate::target::{Connected, TargetFailure};
use crate::{RdpService, clipboard, live};

impl RdpService {
    /// Admits, connects to the target, records and relays the session to its end.
    pub(crate) async fn run_session<S>(
        &self,
        ticket: Ticket,
        client_protocols: ironrdp_pdu::nego::SecurityProtocol,
        client: S,
        client_reader: FrameReader,
        (client_addr, serial): (SocketAddr, store::CertSerial),
    ) -> Result<()>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
    {
        let sessions = &self.sessions;
        let engineer = ticket.engineer.clone();
        let target = ticket.target.clone();
        // Issue 12: the certificate and the account are re-checked for every connection
        // (the ticket may have been issued before a revocation or a disable).
        self.recheck_login(&engineer, &target, &serial, client_addr)
            .await?;
        let (plan, ends_at, allow) = self
            .admit_ticket(&ticket, client_addr)
            .await
            .map_err(RdpError::Refused)?;
        sessions
            .ensure_recordable(&engineer, &target, plan)
            .await
            .map_err(RdpError::Refused)?;
        let endpoint = self.endpoint(&target).await?;
        let Connected {
            stream: mut target_stream,
            reader: target_reader,
            protocol: target_protocol,
        } = match self.connect_target(&endpoint).await {
            Ok(connected) => connected,
            Err(TargetFailure::Mismatch { presented }) => {
                let pinned = endpoint.pin.to_string();
                sessions
                    .host_key_mismatch(
                        Protocol::Rdp,
                        &engineer,
                        &target,
                        plan,
                        (&presented, &pinned),
                    )
                    .await;
                return Err(RdpError::PinMismatch);
            }
            Err(TargetFailure::Other(detail)) => {
                warn!(%target, detail, "RDP target unreachable");
                sessions
                    .target_unreachable(Protocol::Rdp, &engineer, &target, plan, client_addr)
                    .await;
                return Err(RdpError::TargetUnreachable { target, detail });
            }
        };
        let id = SessionId::generate();
        let started_at = Utc::now();
        // fumidai can't log an RDP desktop off (xrdp and Windows keep a disconnected
        // desktop, and the target login is the same for every session): the desktop the
        // latest session on this target left may be resumed by this one. Said in the
        // recording's header, the audit trail and the report (issue 12).
        let left = sessions.store.latest_session_on_target(&target).await;
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
        let recording = match SessionRecording::start(&sessions.recording, &subject).await {
            Ok(recording) => Arc::new(recording),
            Err(error) => {
                warn!(%error, "ALERT: the RDP recording cannot be written; session refused");
                self.audit_refusal(&engineer, &target, "recording_unavailable", client_addr)
                    .await;
                return Err(error.into());
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
        if let Err(refusal) = sessions.start(new).await {
            use tokio::io::AsyncWriteExt as _;
            let _ = target_stream.shutdown().await;
            return Err(RdpError::Refused(refusal));
        }
        let guard = sessions.live.register(
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
        if let Some(feed) = sessions.live.desktop(&id) {
            recording.tap(feed);
        }
        info!(session_id = %id, plan_id = %plan, %target, "RDP session started");
        self.note_left_desktop(left, id, plan, &engineer, &target)
            .await;
        // What the relay puts on record goes to the audit trail from here, in order.
        let (events, mut received) = tokio::sync::mpsc::channel::<RelayEvent>(64);
        let on_record = {
            let sessions = Arc::clone(&self.sessions);
            let (engineer, target) = (engineer.clone(), target.clone());
            tokio::spawn(async move {
                while let Some(event) = received.recv().await {
                    let (kind, detail) = event_record(&event, id, plan);
                    sessions.audit(kind, &engineer, &target, detail).await;
                }
            })
        };
        let setup = RelaySetup {
            target_protocol,
            client_protocols,
            allowance: ChannelAllowance::from_plan(&allow),
            logon: endpoint.logon,
            recording: Arc::clone(&recording),
            activity: guard.activity(),
            end: guard.end_signal(),
            events,
            clipboard: relay::ClipboardEdge {
                rules: clipboard::ClipboardRules {
                    allow,
                    max_file: self.clipboard_max_file,
                    scan: sessions.scanner.is_some(),
                },
                scanner: sessions.scanner.clone(),
                audit: Arc::clone(&sessions.store),
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
            sessions
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
            Ok(sealed) => {
                sessions
                    .record_seal(Protocol::Rdp, (id, &engineer, &target), &sealed)
                    .await;
            }
            Err(error) => {
                warn!(session_id = %id, %error, "ALERT: the RDP recording could not be sealed")
            }
        }
        sessions.end(&id, reason).await;
        Ok(())
    }

    /// Puts on record that session `id` may have resumed the desktop an earlier session on
    /// the same target left (`rdp.desktop_may_resume`, read by the report).
    async fn note_left_desktop(
        &self,
        left: store::Result<Option<store::SessionRecord>>,
        id: SessionId,
        plan: PlanId,
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
        self.sessions
            .audit(AuditKind::RdpDesktopMayResume, engineer, target, detail)
            .await;
    }
}

/// The audit record for something the relay saw.
fn event_record(
    event: &RelayEvent,
    session: SessionId,
    plan: PlanId,
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
