//! The relay's edge of the clipboard ([`crate::clipboard`]): the [`Step`]s the state
//! machine asks for, done. PDUs are cut into channel chunks and wrapped in MCS Send Data
//! for their side; uploads are scanned by clamd; transfers and violations go to the audit
//! trail before anything after them happens (fail closed: a file nobody can account for
//! does not reach the receiver).

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use ironrdp_core::encode_vec;
use ironrdp_pdu::mcs::{SendDataIndication, SendDataRequest};
use ironrdp_pdu::x224::X224;
use policy::ids::{Login, PlanId, SessionId, TargetName};
use recorder::format::transfers::TransferRecord;
use serde_json::json;
use store::{Actor, AuditEvent, AuditKind, Store};

use crate::clipboard::{self, Clipboard, Hostile, Side, Step};
use fumidai_core::clamd::{Scanner, Verdict};

use super::RelayFault;

/// Who and what the clipboard's records name, and where they go.
pub struct ClipboardEdge {
    /// The rules the state machine judges by.
    pub rules: clipboard::ClipboardRules,
    /// clamd, when configured: every upload is scanned (R-10-6, fail closed).
    pub scanner: Option<Arc<Scanner>>,
    /// The audit trail, where every clipboard transfer goes.
    pub audit: Arc<dyn Store>,
    /// The session.
    pub session: SessionId,
    /// Who.
    pub engineer: Login,
    /// Where to.
    pub target: TargetName,
    /// Under which plan.
    pub plan: PlanId,
}

/// Where a side's frames go, and the MCS fields they carry.
#[derive(Debug, Clone, Copy)]
pub struct Wire {
    /// The cliprdr channel's ID.
    pub channel: u16,
    /// The initiator of the client's Send Data Requests (its user channel).
    pub client_initiator: u16,
    /// The initiator of the target's Send Data Indications.
    pub target_initiator: u16,
}

/// One thing for the relay to write, in order.
#[derive(Debug)]
pub enum Write {
    /// The chunk's original frame, forwarded to the other side.
    Forward,
    /// A frame the gateway made, to `to`.
    Frame {
        /// Where.
        to: Side,
        /// The whole frame (TPKT, X.224, MCS).
        bytes: Bytes,
    },
}

impl ClipboardEdge {
    /// Runs `steps` to their end (a scan's verdict brings more): what to write, in order.
    /// `Err` when the audit trail can't take a record: the session must end.
    pub async fn run(
        &self,
        clip: &std::sync::Mutex<Clipboard>,
        wire: Wire,
        steps: Vec<Step>,
    ) -> Result<Vec<Write>, RelayFault> {
        let mut queue = VecDeque::from(steps);
        let mut writes = Vec::new();
        while let Some(step) = queue.pop_front() {
            match step {
                Step::Forward => writes.push(Write::Forward),
                Step::Send { to, pdu } => {
                    for chunk in clipboard::chunks(&pdu) {
                        writes.push(Write::Frame {
                            to,
                            bytes: frame(wire, to, chunk)?,
                        });
                    }
                }
                Step::Scan {
                    source,
                    serial,
                    content,
                } => {
                    let verdict = self.scan(&content).await;
                    let more = clip
                        .lock()
                        .map_err(|_| RelayFault::Poisoned)?
                        .scanned(source, serial, verdict);
                    for step in more.into_iter().rev() {
                        queue.push_front(step);
                    }
                }
                Step::Record(record) => self.record(&record).await?,
                Step::Violation { from, reason } => self.violation(from, reason).await?,
            }
        }
        Ok(writes)
    }

    /// clamd's verdict on a whole upload; `Ok` only for clean.
    async fn scan(&self, content: &[u8]) -> Result<(), String> {
        let Some(scanner) = &self.scanner else {
            return Ok(());
        };
        let mut scan = scanner
            .start()
            .await
            .map_err(|e| format!("no verdict: {e}"))?;
        for piece in content.chunks(fumidai_core::clamd::CHUNK_SIZE) {
            scan.feed(piece)
                .await
                .map_err(|e| format!("no verdict: {e}"))?;
        }
        match scan.finish().await {
            Ok(Verdict::Clean) => Ok(()),
            Ok(Verdict::Infected { signature }) => Err(format!("virus found: {signature}")),
            Err(e) => Err(format!("no verdict: {e}")),
        }
    }

    /// A `transfer` record, like SFTP's, with `via: clipboard`.
    async fn record(&self, record: &TransferRecord) -> Result<(), RelayFault> {
        tracing::info!(
            direction = record.direction.as_str(),
            size = record.size,
            outcome = record.outcome.as_str(),
            reason = record.reason.as_deref().unwrap_or(""),
            "clipboard file"
        );
        let mut detail = json!({
            "protocol": "rdp",
            "via": "clipboard",
            "direction": record.direction.as_str(),
            "path": crate::rewrite::escape_controls(&record.path),
            "size": record.size,
            "outcome": record.outcome.as_str(),
        });
        if let Some(map) = detail.as_object_mut() {
            if let Some(digest) = &record.sha256 {
                map.insert("sha256".into(), json!(digest.to_string()));
            }
            if let Some(reason) = &record.reason {
                map.insert("reason".into(), json!(reason));
            }
        }
        self.append(AuditKind::Transfer, detail).await
    }

    /// A `transfer.protocol_violation` record: what a peer sent on the clipboard that a
    /// stock one never does.
    async fn violation(&self, from: Side, reason: Hostile) -> Result<(), RelayFault> {
        tracing::warn!(?from, reason = reason.as_str(), "clipboard PDU withheld");
        let detail = json!({
            "protocol": "rdp",
            "via": "clipboard",
            "from": match from {
                Side::Client => "client",
                Side::Target => "target",
            },
            "reason": reason.as_str(),
        });
        self.append(AuditKind::TransferProtocolViolation, detail)
            .await
    }

    async fn append(
        &self,
        kind: AuditKind,
        mut detail: serde_json::Value,
    ) -> Result<(), RelayFault> {
        if let Some(map) = detail.as_object_mut() {
            map.insert("session_id".into(), json!(self.session.to_string()));
            map.insert("plan_id".into(), json!(self.plan.to_string()));
            map.insert("target".into(), json!(self.target.as_str()));
        }
        let event = AuditEvent::new(
            kind,
            Actor::Person(self.engineer.clone()),
            self.target.as_str(),
        )
        .with_detail(detail);
        self.audit
            .append_audit(event)
            .await
            .map(|_| ())
            .map_err(RelayFault::Audit)
    }
}

/// One chunk in the MCS PDU its side expects: a Send Data Request to the target, a Send
/// Data Indication to the client.
fn frame(wire: Wire, to: Side, chunk: Vec<u8>) -> Result<Bytes, RelayFault> {
    let encoded = match to {
        Side::Target => encode_vec(&X224(SendDataRequest {
            initiator_id: wire.client_initiator,
            channel_id: wire.channel,
            user_data: chunk.into(),
        })),
        Side::Client => encode_vec(&X224(SendDataIndication {
            initiator_id: wire.target_initiator,
            channel_id: wire.channel,
            user_data: chunk.into(),
        })),
    };
    Ok(Bytes::from(encoded?))
}
