//! The facts for the target menu (user name `engineer` alone) and the audit of a login
//! that ends without a target. The menu itself is `policy::target_menu`'s; admission of
//! the chosen target still happens in [`ProxyContext::open`].

use std::net::SocketAddr;

use chrono::Utc;
use policy::ids::{Login, TargetName};
use policy::target_menu::{self, TargetMenu};
use serde_json::{Value, json};
use store::{Actor, AuditEvent, AuditKind};
use tracing::warn;

use super::session::ProxyContext;

/// Why a logged-in connection got no target, as recorded with `session.denied`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTarget {
    /// Nothing was admissible when the engineer logged in.
    NoneAdmissible,
    /// The engineer answered the menu twice with something not on it.
    NotChosen,
}

impl NoTarget {
    /// Stable name for the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoneAdmissible => "no_admissible_target",
            Self::NotChosen => "no_target_chosen",
        }
    }
}

impl ProxyContext {
    /// The menu for `engineer` now: the plans naming them and the registered targets, in
    /// two store calls.
    pub async fn target_menu(&self, engineer: &Login) -> store::Result<TargetMenu> {
        let plans = self.sessions.store.plans_for_engineer(engineer).await?;
        let registered: Vec<TargetName> = self
            .sessions
            .store
            .targets()
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        Ok(target_menu::menu(engineer, &plans, &registered, Utc::now()))
    }

    /// Appends `session.denied` for a login that ends without a target (subject: the
    /// engineer, since there is no target), with the per-target reasons when known.
    pub async fn record_no_target(
        &self,
        engineer: &Login,
        why: NoTarget,
        reasons: Value,
        client_addr: SocketAddr,
    ) {
        let detail = json!({
            "reason": why.as_str(),
            "targets": reasons,
            "client_addr": client_addr.to_string(),
        });
        let event = AuditEvent::new(
            AuditKind::SessionDenied,
            Actor::Person(engineer.clone()),
            engineer.as_str(),
        )
        .with_detail(detail);
        if let Err(error) = self.sessions.store.append_audit(event).await {
            warn!(%error, "could not append to the audit trail");
        }
    }
}
