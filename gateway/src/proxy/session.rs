//! A maintenance session: the admission decision for one engineer and one target, the
//! logged-in connection to the target, and its record in the store (R-7-12,
//! R-10.1-APPROVE, R-10-3).
//!
//! One session is one authenticated SSH connection to one target; every session channel
//! on it (a shell, `scp`, `sftp`, commands multiplexed by OpenSSH's `ControlMaster`)
//! runs under the same plan and session ID.

use policy::limits::EndReason;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use policy::admission::{AdmissionRequest, Decision};
use policy::ids::{Login, PlanId, SessionId, TargetName};
use policy::plan::Allowances;
use policy::target::TargetAuth;
use russh::keys::PrivateKey;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use store::{Actor, AuditEvent, AuditKind, NewSession, Store};
use tracing::{info, warn};

use super::recording::RecordingSettings;
use super::target::{self, TargetConnection, TargetCredential, TargetEndpoint, TargetError};
use crate::ssh_ca::{CertRequest, SshCa};

/// What opening a session needs, shared by every connection.
pub struct ProxyContext {
    /// Plans, targets, credentials, sessions, the audit trail.
    pub store: Arc<dyn Store>,
    /// fumidai's SSH client settings towards targets.
    pub client_config: Arc<russh::client::Config>,
    /// How long a target may take to answer.
    pub connect_timeout: Duration,
    /// fumidai's SSH user CA, which signs a certificate per session for `--auth cert`
    /// targets.
    pub ssh_ca: Arc<SshCa>,
    /// Where recordings go and what seals them.
    pub recording: Arc<RecordingSettings>,
    /// The live sessions, watched for idle time-out, window end, maximum length and kills.
    pub live: fumidai_core::live::Registry,
    /// clamd, when `[transfers] clamd_socket` is set: every upload is scanned and refused
    /// unless the verdict is clean; any scanner error refuses it too (R-10-6, fail closed).
    pub scanner: Option<Arc<crate::clamd::Scanner>>,
    /// The largest file the RDP clipboard carries (`[transfers] clipboard_max_file`): the
    /// gateway holds one whole while it judges it.
    pub clipboard_max_file: u64,
    /// How long an emergency session may last (`[limits] emergency_max`, R-10.1-APPROVE).
    pub emergency_max: chrono::Duration,
    /// Where a host key mismatch is raised (R-17.1-ALERT).
    pub alerts: crate::alerts::Alerts,
    /// Single-use RDP credentials, issued over SSH (`rdp-ticket`) and taken by the RDP
    /// service.
    pub rdp_tickets: crate::rdp::Tickets,
}

/// An admitted, connected session.
pub struct TargetSession {
    /// Its identifier (the recording is named after it).
    pub id: SessionId,
    /// Who.
    pub engineer: Login,
    /// Where to.
    pub target: TargetName,
    /// Under which plan.
    pub plan: PlanId,
    /// When the plan's window ends: the session is cut then (R-10.2-TIMEOUT).
    pub ends_at: DateTime<Utc>,
    /// What the plan allows beyond a terminal.
    pub allow: Allowances,
    /// The logged-in connection to the target.
    pub connection: Arc<TargetConnection>,
}

/// Why no session was opened; `message` is for the engineer, in Japanese and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Stable reason for logs and metrics.
    pub reason: &'static str,
    /// What the engineer reads.
    pub message: String,
}

impl ProxyContext {
    /// Decides admission and, when admitted, connects to the target and records the
    /// session's start. Every refusal is audited; a store failure refuses (fail closed).
    /// With an emergency declared (its reason), a session no plan admits is admitted under
    /// an emergency plan opened now, if the engineer's vendor may (R-10.1-APPROVE).
    pub async fn open(
        &self,
        engineer: &Login,
        target: &TargetName,
        client_addr: SocketAddr,
        emergency: Option<&str>,
    ) -> Result<TargetSession, Refusal> {
        let (plan, ends_at, allow) = self.admit(engineer, target, client_addr, emergency).await?;
        // Generated before connecting: a `--auth cert` login carries it in its key ID.
        let id = SessionId::generate();
        let cert_request = CertRequest {
            engineer: engineer.clone(),
            session_id: id,
            valid_until: ends_at,
            allow_port_forwarding: allow.forward,
        };
        self.ensure_recordable(engineer, target, plan).await?;
        let endpoint = self.endpoint(target, &cert_request).await?;
        let connection = match target::connect(
            &endpoint,
            Arc::clone(&self.client_config),
            self.connect_timeout,
        )
        .await
        {
            Ok(connection) => connection,
            Err(TargetError::HostKeyMismatch { presented, pinned }) => {
                // R-13-9/10: somebody may be in the middle. An operator must look at this.
                self.alerts.raise(crate::alerts::Alert::host_key_mismatch(
                    engineer, target, plan, &presented, &pinned,
                ));
                self.audit(AuditKind::HostKeyMismatch, engineer, target, json!({ "presented": presented, "pinned": pinned, "plan_id": plan.to_string() }))
                    .await;
                return Err(Refusal {
                    reason: "host_key_mismatch",
                    message: "接続先のホスト鍵が登録されたものと一致しません。接続を中止しました。\r\n\
                              The target's host key does not match the registered one; the connection was refused.\r\n"
                        .to_owned(),
                });
            }
            Err(error) => {
                warn!(%target, %error, "target unreachable");
                self.audit(
                    AuditKind::SessionDenied,
                    engineer,
                    target,
                    json!({ "reason": "target_unreachable", "plan_id": plan.to_string() }),
                )
                .await;
                return Err(Refusal {
                    reason: "target_unreachable",
                    message: format!(
                        "接続先 {target} に接続できません。\r\nCannot reach target {target}.\r\n"
                    ),
                });
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
        self.store
            .start_session(new)
            .await
            .map_err(|e| unavailable("store", &e))?;
        Ok(TargetSession {
            id,
            engineer: engineer.clone(),
            target: target.clone(),
            plan,
            ends_at,
            allow,
            connection: Arc::new(connection),
        })
    }

    /// The admission decision for `engineer` on `target` now (R-10.1-APPROVE): the plan,
    /// its window's end and what it allows, or the refusal, audited. With an emergency
    /// declared (its reason), a session no plan admits is admitted under an emergency plan
    /// opened now, if the engineer's vendor may. A store failure refuses (fail closed).
    pub async fn admit(
        &self,
        engineer: &Login,
        target: &TargetName,
        client_addr: SocketAddr,
        emergency: Option<&str>,
    ) -> Result<(PlanId, DateTime<Utc>, Allowances), Refusal> {
        let facts = self
            .store
            .admission_facts(engineer, target)
            .await
            .map_err(|e| unavailable("store", &e))?;
        let request = AdmissionRequest {
            engineer: engineer.clone(),
            target: target.clone(),
        };
        let admitted = match policy::admission::admit(&request, &facts, Utc::now()) {
            Decision::Admit {
                plan,
                ends_at,
                allow,
            } => (plan, ends_at, allow),
            // Whether or not the target exists: the emergency's limits answer both alike.
            Decision::Deny(reason) if emergency.is_some() => {
                let why = emergency.unwrap_or_default();
                self.open_emergency(engineer, target, why, client_addr, reason)
                    .await?
            }
            Decision::Deny(reason) => {
                info!(reason = reason.as_str(), %target, "session denied");
                self.audit(
                    AuditKind::SessionDenied,
                    engineer,
                    target,
                    json!({ "reason": reason.as_str(), "client_addr": client_addr.to_string() }),
                )
                .await;
                return Err(Refusal {
                    reason: reason.as_str(),
                    message: format!("{}\r\n{}\r\n", reason.message_ja(), reason.message_en()),
                });
            }
        };
        Ok(admitted)
    }

    /// Admission again under the emergency plan a declaration opened, for the one
    /// connection it was opened for (the RDP connection presenting the ticket issued under
    /// it, R-11-1): `policy::admission::readmit_emergency`. Refusals are audited.
    pub async fn readmit_emergency(
        &self,
        engineer: &Login,
        target: &TargetName,
        plan: PlanId,
        client_addr: SocketAddr,
    ) -> Result<(PlanId, DateTime<Utc>, Allowances), Refusal> {
        let facts = self
            .store
            .admission_facts(engineer, target)
            .await
            .map_err(|e| unavailable("store", &e))?;
        let request = AdmissionRequest {
            engineer: engineer.clone(),
            target: target.clone(),
        };
        match policy::admission::readmit_emergency(&request, plan, &facts, Utc::now()) {
            Decision::Admit {
                plan,
                ends_at,
                allow,
            } => Ok((plan, ends_at, allow)),
            Decision::Deny(reason) => {
                self.audit(
                    AuditKind::SessionDenied,
                    engineer,
                    target,
                    json!({ "reason": reason.as_str(), "plan_id": plan.to_string(), "client_addr": client_addr.to_string() }),
                )
                .await;
                Err(Refusal {
                    reason: reason.as_str(),
                    message: format!("{}\r\n{}\r\n", reason.message_ja(), reason.message_en()),
                })
            }
        }
    }

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
            return Err(Refusal {
                reason: "recording_unavailable",
                message: "記録を保存できないため、セッションを開始できません。運用担当者に連絡してください。\r\n\
                          The session cannot be recorded, so it cannot start; please contact the operator.\r\n"
                    .to_owned(),
            });
        }
        Ok(())
    }

    /// Records a sealed channel recording in the audit chain, so `audit verify` can later
    /// detect a changed or missing file (R-17-2).
    pub async fn record_seal(&self, session: &TargetSession, sealed: &recorder::Sealed) {
        let event = AuditEvent::new(
            AuditKind::RecordingSealed,
            Actor::System,
            session.id.to_string(),
        )
        .with_detail(json!({
            "statement": sealed.statement.canonical(),
            "signature": sealed.signature_hex(),
            "engineer": session.engineer.as_str(),
            "target": session.target.as_str(),
        }));
        if let Err(error) = self.store.append_audit(event).await {
            warn!(session_id = %session.id, %error, "could not record a recording's seal");
        }
    }

    /// Records a transfer (or other channel work) the plan did not allow.
    pub async fn record_refused_work(
        &self,
        session: &TargetSession,
        refusal: policy::channel::WorkRefusal,
    ) {
        info!(session_id = %session.id, reason = refusal.as_str(), "channel work refused");
        let detail = json!({ "session_id": session.id.to_string(), "outcome": "refused", "reason": refusal.as_str() });
        self.audit(
            AuditKind::Transfer,
            &session.engineer,
            &session.target,
            detail,
        )
        .await;
    }

    /// Records a session's end with its reason.
    pub async fn end(&self, session: &TargetSession, reason: EndReason) {
        if let Err(error) = self.store.end_session(&session.id, reason, None).await {
            warn!(session_id = %session.id, %error, "could not record the session's end");
        }
    }

    async fn endpoint(
        &self,
        name: &TargetName,
        cert_request: &CertRequest,
    ) -> Result<TargetEndpoint, Refusal> {
        let target = self
            .store
            .target(name)
            .await
            .map_err(|e| unavailable("store", &e))?
            .ok_or_else(|| Refusal {
                reason: "unknown_target",
                message: format!(
                    "接続先 {name} は登録されていません。\r\nTarget {name} is not registered.\r\n"
                ),
            })?;
        let policy::target::TargetPin::SshHostKey(host_key) = &target.pin else {
            return Err(Refusal {
                reason: "wrong_protocol",
                message: format!(
                    "接続先 {name} は RDP サーバです。`fumidai connect rdp` で接続してください。\r\n\
                     Target {name} is an RDP server: connect with `fumidai connect rdp`.\r\n"
                ),
            });
        };
        let host_key = host_key.to_string();
        let secret = self
            .store
            .target_credential(name)
            .await
            .map_err(|e| unavailable("vault", &e))?;
        let credential = match (target.auth, secret) {
            (TargetAuth::Key, Some(secret)) => {
                let text =
                    std::str::from_utf8(secret.expose_secret()).map_err(|_| vault_broken())?;
                TargetCredential::Key(Box::new(
                    PrivateKey::from_openssh(text).map_err(|_| vault_broken())?,
                ))
            }
            (TargetAuth::Password, Some(secret)) => {
                let text =
                    std::str::from_utf8(secret.expose_secret()).map_err(|_| vault_broken())?;
                TargetCredential::Password(SecretString::from(text.to_owned()))
            }
            (TargetAuth::Cert, None) => self.certificate(name, &target.login, cert_request)?,
            _ => return Err(vault_broken()),
        };
        Ok(TargetEndpoint {
            address: format!("{}:{}", target.address.host, target.address.port),
            login: target.login.clone(),
            host_key,
            credential,
        })
    }

    /// Signs the session's certificate (R-10.1-NODEFAULT: the target's log names the
    /// engineer) and logs what the target will log, so the two can be matched.
    #[tracing::instrument(skip_all)]
    fn certificate(
        &self,
        name: &TargetName,
        login: &str,
        request: &CertRequest,
    ) -> Result<TargetCredential, Refusal> {
        let issued = self
            .ssh_ca
            .issue(request, login, Utc::now())
            .map_err(|e| unavailable("ssh ca", &e))?;
        info!(
            session_id = %request.session_id,
            engineer = %request.engineer,
            target = %name,
            key_id = issued.cert.key_id(),
            serial = issued.cert.serial(),
            principal = login,
            valid_after = issued.cert.valid_after(),
            valid_before = issued.cert.valid_before(),
            ca = %self.ssh_ca.fingerprint(),
            "signed a session certificate"
        );
        Ok(TargetCredential::Certificate {
            key: Box::new(issued.key),
            cert: Box::new(issued.cert),
        })
    }

    pub(crate) async fn audit(
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

pub(super) fn unavailable(what: &str, error: &dyn std::fmt::Display) -> Refusal {
    warn!(%error, "{what} unavailable; session refused");
    Refusal {
        reason: "unavailable",
        message: "fumidai の内部エラーのため接続できません。運用担当者に連絡してください。\r\n\
                  fumidai cannot open the session (internal error); please contact the operator.\r\n"
            .to_owned(),
    }
}

fn vault_broken() -> Refusal {
    unavailable("vault", &"stored target credential unusable")
}
