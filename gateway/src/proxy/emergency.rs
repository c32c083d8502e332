//! Emergency access at admission (事後承認, R-10.1-APPROVE, R-11-1): no plan admits the
//! engineer, who declared an emergency with a reason. If their vendor may, an emergency plan
//! is opened now (`policy::plan::emergency`) — active at once, for `[limits] emergency_max`,
//! nothing beyond a terminal — the alert goes out (`[alerts]`, and `plan.emergency` in the
//! audit chain), and the session starts under it. An operator approves it afterwards
//! (`fumidai plan approve`); the report flags it.

use chrono::{DateTime, Utc};
use policy::admission::DenyReason;
use policy::ids::{Login, PlanId, TargetName};
use policy::plan::{Allowances, PlanError, emergency};
use serde_json::json;
use store::{Actor, AuditKind};
use tracing::info;

use crate::alerts::Alert;

use super::session::{ProxyContext, Refusal, unavailable};

impl ProxyContext {
    /// Opens the emergency plan, or refuses with why (audited either way).
    pub(super) async fn open_emergency(
        &self,
        engineer: &Login,
        target: &TargetName,
        reason: &str,
        client_addr: std::net::SocketAddr,
        denied: DenyReason,
    ) -> Result<(PlanId, DateTime<Utc>, Allowances), Refusal> {
        let account = self
            .store
            .account(engineer)
            .await
            .map_err(|e| unavailable("store", &e))?;
        let vendor_name = account.and_then(|a| a.vendor);
        let vendor = match &vendor_name {
            Some(name) => self
                .store
                .vendor(name)
                .await
                .map_err(|e| unavailable("store", &e))?,
            None => None,
        };
        let (Some(vendor_name), Some(vendor)) = (vendor_name, vendor) else {
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
            vendor_allows: vendor.emergency_allowed,
            target,
            reason,
        };
        let plan = match emergency::open(
            &declaration,
            PlanId::generate(),
            Utc::now(),
            self.emergency_max,
        ) {
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
            _ => "emergency_reason_missing",
        };
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
