//! A maintenance session: the admission decision for one engineer and one target, the
//! logged-in connection to the target, and its record in the store (R-7-12,
//! R-10.1-APPROVE, R-10-3).
//!
//! One session is one authenticated SSH connection to one target; every session channel
//! on it (a shell, `scp`, `sftp`, commands multiplexed by OpenSSH's `ControlMaster`)
//! runs under the same plan and session ID.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use fumidai_core::session::{Protocol, Sessions, unavailable};
use policy::ids::{Login, PlanId, SessionId, TargetName};
use policy::plan::Allowances;
use policy::target::TargetAuth;
use russh::keys::PrivateKey;
use secrecy::{ExposeSecret, SecretString};
use store::NewSession;
use tracing::{info, warn};

pub use fumidai_core::session::Refusal;

use super::target::{self, TargetConnection, TargetCredential, TargetEndpoint, TargetError};
use crate::ssh_ca::{CertRequest, SshCa};

/// What opening an SSH session needs, shared by every connection: the protocol-neutral
/// life cycle ([`Sessions`]) and the SSH client side towards targets.
pub struct ProxyContext {
    /// Admission, recording, the live registry, the audit trail: shared with RDP.
    pub sessions: Arc<Sessions>,
    /// fumidai's SSH client settings towards targets.
    pub client_config: Arc<russh::client::Config>,
    /// fumidai's SSH user CA, which signs a certificate per session for `--auth cert`
    /// targets.
    pub ssh_ca: Arc<SshCa>,
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

impl TargetSession {
    /// Which session, whose and where: how the life cycle's records name it.
    pub fn who(&self) -> (SessionId, &Login, &TargetName) {
        (self.id, &self.engineer, &self.target)
    }
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
        let sessions = &self.sessions;
        let (plan, ends_at, allow) = sessions
            .admit(engineer, target, client_addr, emergency)
            .await?;
        // Generated before connecting: a `--auth cert` login carries it in its key ID.
        let id = SessionId::generate();
        let cert_request = CertRequest {
            engineer: engineer.clone(),
            session_id: id,
            valid_until: ends_at,
            allow_port_forwarding: allow.forward,
        };
        sessions.ensure_recordable(engineer, target, plan).await?;
        let endpoint = self.endpoint(target, &cert_request).await?;
        let connection = match target::connect(
            &endpoint,
            Arc::clone(&self.client_config),
            sessions.connect_timeout,
        )
        .await
        {
            Ok(connection) => connection,
            Err(TargetError::HostKeyMismatch { presented, pinned }) => {
                return Err(sessions
                    .host_key_mismatch(Protocol::Ssh, engineer, target, plan, (&presented, &pinned))
                    .await);
            }
            Err(error) => {
                warn!(%target, %error, "target unreachable");
                return Err(sessions
                    .target_unreachable(Protocol::Ssh, engineer, target, plan, client_addr)
                    .await);
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
        sessions.start(new).await?;
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

    async fn endpoint(
        &self,
        name: &TargetName,
        cert_request: &CertRequest,
    ) -> Result<TargetEndpoint, Refusal> {
        let target = self
            .sessions
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
            .sessions
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
}

fn vault_broken() -> Refusal {
    unavailable("vault", &"stored target credential unusable")
}
