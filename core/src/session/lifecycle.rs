//! Steps 2–5 of the life cycle: fail closed on recording, the session's row, seals, refused
//! work, the end — and the audit records a protocol writes on the way (R-10-3, R-17-2).

use std::net::SocketAddr;
use std::sync::Arc;

use policy::ids::{Login, PlanId, SessionId, TargetName};
use serde_json::json;
use store::{Actor, AuditEvent, AuditKind, NewSession};
use tracing::{info, warn};

use super::{EndReason, Protocol, Refusal, Sessions, unavailable};
use crate::alerts::Alert;

impl Sessions {
    /// Fail closed: no session that can't be recorded (R-10-3).
    pub async fn ensure_recordable(
        &self,
        engineer: &Login,
        target: &TargetName,
        plan: PlanId,
    ) -> Result<(), Refusal> {
        let storage = Arc::clone(&self.recording.storage);
        let writable = tokio::task::spawn_blocking(move || storage.check_writable())
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        if let Err(error) = writable {
            warn!(%error, "ALERT: recordings cannot be written; session refused");
            let detail = json!({ "reason": "recording_unavailable", "plan_id": plan.to_string() });
            self.audit(AuditKind::SessionDenied, engineer, target, detail)
                .await;
            return Err(recording_unavailable());
        }
        Ok(())
    }

    /// Records the session's start (its row in the store). A store failure refuses.
    pub async fn start(&self, new: NewSession) -> Result<(), Refusal> {
        self.store
            .start_session(new)
            .await
            .map(|_| ())
            .map_err(|e| unavailable("store", &e))
    }

    /// The target presented another host key or certificate than the one pinned
    /// (R-13-9/10: somebody may be in the middle): alerted, audited, refused.
    pub async fn host_key_mismatch(
        &self,
        protocol: Protocol,
        engineer: &Login,
        target: &TargetName,
        plan: PlanId,
        (presented, pinned): (&str, &str),
    ) -> Refusal {
        self.alerts.raise(Alert::host_key_mismatch(
            engineer, target, plan, presented, pinned,
        ));
        let detail = json!({ "presented": presented, "pinned": pinned, "plan_id": plan.to_string(), "protocol": protocol.as_str() });
        self.audit(AuditKind::HostKeyMismatch, engineer, target, detail)
            .await;
        Refusal {
            reason: "host_key_mismatch",
            message: "接続先のホスト鍵が登録されたものと一致しません。接続を中止しました。\r\n\
                      The target's host key does not match the registered one; the connection was refused.\r\n"
                .to_owned(),
        }
    }

    /// The target did not answer (or its login failed): audited as `session.denied`.
    pub async fn target_unreachable(
        &self,
        protocol: Protocol,
        engineer: &Login,
        target: &TargetName,
        plan: PlanId,
        client_addr: SocketAddr,
    ) -> Refusal {
        let detail = json!({ "reason": "target_unreachable", "plan_id": plan.to_string(), "protocol": protocol.as_str(), "client_addr": client_addr.to_string() });
        self.audit(AuditKind::SessionDenied, engineer, target, detail)
            .await;
        Refusal {
            reason: "target_unreachable",
            message: format!(
                "接続先 {target} に接続できません。\r\nCannot reach target {target}.\r\n"
            ),
        }
    }

    /// Records a sealed recording in the audit chain, so `audit verify` can later detect a
    /// changed or missing file (R-17-2).
    pub async fn record_seal(
        &self,
        protocol: Protocol,
        (session, engineer, target): (SessionId, &Login, &TargetName),
        sealed: &recorder::Sealed,
    ) {
        let event = AuditEvent::new(
            AuditKind::RecordingSealed,
            Actor::System,
            session.to_string(),
        )
        .with_detail(json!({
            "statement": sealed.statement.canonical(),
            "signature": sealed.signature_hex(),
            "engineer": engineer.as_str(),
            "target": target.as_str(),
            "protocol": protocol.as_str(),
        }));
        if let Err(error) = self.store.append_audit(event).await {
            warn!(session_id = %session, %error, "could not record a recording's seal");
        }
    }

    /// Records a transfer (or other channel work) the plan did not allow.
    pub async fn record_refused_work(
        &self,
        (session, engineer, target): (SessionId, &Login, &TargetName),
        refusal: policy::channel::WorkRefusal,
    ) {
        info!(session_id = %session, reason = refusal.as_str(), "channel work refused");
        let detail = json!({ "session_id": session.to_string(), "outcome": "refused", "reason": refusal.as_str() });
        self.audit(AuditKind::Transfer, engineer, target, detail)
            .await;
    }

    /// Records a session's end with its reason.
    pub async fn end(&self, session: &SessionId, reason: EndReason) {
        if let Err(error) = self.store.end_session(session, reason, None).await {
            warn!(session_id = %session, %error, "could not record the session's end");
        }
    }

    /// Appends an engineer's record about `target` to the audit chain (the target named in
    /// the detail too). A failure is logged: the caller has already decided.
    pub async fn audit(
        &self,
        kind: AuditKind,
        engineer: &Login,
        target: &TargetName,
        mut detail: serde_json::Value,
    ) {
        if let Some(map) = detail.as_object_mut() {
            map.insert("target".into(), json!(target.as_str()));
        }
        let event = AuditEvent::new(kind, Actor::Person(engineer.clone()), target.as_str())
            .with_detail(detail);
        if let Err(error) = self.store.append_audit(event).await {
            warn!(%error, "could not append to the audit trail");
        }
    }
}

/// The refusal when recordings can't be written.
fn recording_unavailable() -> Refusal {
    Refusal {
        reason: "recording_unavailable",
        message: "記録を保存できないため、セッションを開始できません。運用担当者に連絡してください。\r\n\
                  The session cannot be recorded, so it cannot start; please contact the operator.\r\n"
            .to_owned(),
    }
}
