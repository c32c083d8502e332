//! Step 1 of the life cycle: admission (R-10.1-APPROVE). The decision is
//! `policy::admission`'s; this reads its facts from the store, audits refusals and opens an
//! emergency plan when one was declared ([`super::emergency`]).

use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use policy::admission::{AdmissionRequest, Decision, DenyReason};
use policy::ids::{Login, PlanId, TargetName};
use policy::plan::Allowances;
use serde_json::json;
use store::AuditKind;
use tracing::info;

use super::{Refusal, Sessions, unavailable};

/// What admission grants: the plan, when its window ends and what it allows.
pub type Admitted = (PlanId, DateTime<Utc>, Allowances);

impl Sessions {
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
    ) -> Result<Admitted, Refusal> {
        let facts = self
            .store
            .admission_facts(engineer, target)
            .await
            .map_err(|e| unavailable("store", &e))?;
        let request = AdmissionRequest {
            engineer: engineer.clone(),
            target: target.clone(),
        };
        match policy::admission::admit(&request, &facts, Utc::now()) {
            Decision::Admit {
                plan,
                ends_at,
                allow,
            } => Ok((plan, ends_at, allow)),
            // Whether or not the target exists: the emergency's limits answer both alike.
            Decision::Deny(reason) => match emergency {
                Some(why) => {
                    self.open_emergency(engineer, target, why, client_addr, reason)
                        .await
                }
                None => {
                    info!(reason = reason.as_str(), %target, "session denied");
                    let detail = json!({ "reason": reason.as_str(), "client_addr": client_addr.to_string() });
                    Err(self.deny(engineer, target, reason, detail).await)
                }
            },
        }
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
    ) -> Result<Admitted, Refusal> {
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
                let detail = json!({ "reason": reason.as_str(), "plan_id": plan.to_string(), "client_addr": client_addr.to_string() });
                Err(self.deny(engineer, target, reason, detail).await)
            }
        }
    }

    /// Audits a denial as `session.denied` and words it for the engineer.
    async fn deny(
        &self,
        engineer: &Login,
        target: &TargetName,
        reason: DenyReason,
        detail: serde_json::Value,
    ) -> Refusal {
        self.audit(AuditKind::SessionDenied, engineer, target, detail)
            .await;
        Refusal {
            reason: reason.as_str(),
            message: format!("{}\r\n{}\r\n", reason.message_ja(), reason.message_en()),
        }
    }
}
