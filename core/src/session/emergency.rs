//! Emergency access at admission (事後承認, R-10.1-APPROVE, R-11-1): no plan admits the
//! engineer, who declared an emergency with a reason. If their vendor may, an emergency plan
//! is opened now (`policy::plan::emergency`) — active at once, for `[limits] emergency_max`,
//! nothing beyond a terminal — the alert goes out (`[alerts]`, and `plan.emergency` in the
//! audit chain), and the session starts under it. An operator approves it afterwards
//! (`fumidai plan approve`); the report flags it.

use chrono::Utc;
use policy::admission::DenyReason;
use policy::ids::{Login, PlanId, TargetName};
use policy::plan::{PlanError, emergency};
use serde_json::json;
use store::{Actor, AuditKind};
use tracing::info;

use super::admission::Admitted;
use super::{Refusal, Sessions, unavailable};
use crate::alerts::Alert;

impl Sessions {
    /// Opens the emergency plan, or refuses with why (audited either way). The limits
    /// (R-11-1) are `policy::plan::emergency::check_limits`'s, on facts from one store call:
    /// the vendor's contract for the target, no emergency awaiting approval, no refusal of a
    /// plan for this target in the last 24 h, no personal data. An unknown target and one
    /// the vendor is not contracted for get the same answer and the same audit record.
    pub(super) async fn open_emergency(
        &self,
        engineer: &Login,
        target: &TargetName,
        reason: &str,
        client_addr: std::net::SocketAddr,
        denied: DenyReason,
    ) -> Result<Admitted, Refusal> {
        let facts = self
            .store
            .emergency_facts(engineer, target)
            .await
            .map_err(|e| unavailable("store", &e))?;
        let now = Utc::now();
        let Some((vendor_name, vendor_allows)) = facts.vendor.clone() else {
            return Err(self
                .refuse_emergency(
                    engineer,
                    target,
                    client_addr,
                    &PlanError::EmergencyNotAllowed,
                )
                .await);
        };
        let declaration = emergency::Declaration {
            engineer,
            vendor: &vendor_name,
            vendor_allows,
            target,
            reason,
        };
        let opened = emergency::open(&declaration, PlanId::generate(), now, self.emergency_max)
            .and_then(|plan| {
                emergency::check_limits(engineer, target, &facts, now)?;
                Ok(plan)
            });
        let plan = match opened {
            Ok(plan) => plan,
            Err(error) => {
                return Err(self
                    .refuse_emergency(engineer, target, client_addr, &error)
                    .await);
            }
        };
        let stored = self
            .store
            .submit_plan(plan, &Actor::Person(engineer.clone()))
            .await
            .map_err(|e| unavailable("store", &e))?;
        info!(plan_id = %stored.id, denied = denied.as_str(), "emergency plan opened; it must be approved afterwards");
        self.alerts
            .raise(Alert::emergency_access(engineer, target, reason).with_plan(stored.id));
        Ok((stored.id, stored.ends_at, stored.allow))
    }

    async fn refuse_emergency(
        &self,
        engineer: &Login,
        target: &TargetName,
        client_addr: std::net::SocketAddr,
        error: &PlanError,
    ) -> Refusal {
        let reason = match error {
            PlanError::EmergencyNotAllowed => "emergency_not_allowed",
            PlanError::EmergencyNotContracted => "emergency_not_contracted",
            PlanError::EmergencyPending { .. } => "emergency_pending",
            PlanError::EmergencyAfterRefusal { .. } => "emergency_after_refusal",
            PlanError::EmergencyPersonalData => "emergency_personal_data",
            _ => "emergency_reason_missing",
        };
        // One shape for every refusal: the reason and where from, nothing about the target
        // (R-11-1: an unknown target reads as one not contracted).
        self.audit(
            AuditKind::SessionDenied,
            engineer,
            target,
            json!({ "reason": reason, "client_addr": client_addr.to_string() }),
        )
        .await;
        Refusal {
            reason,
            message: format!("{error}\r\n"),
        }
    }
}
