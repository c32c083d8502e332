//! Listing maintenance sessions (R-17-1): each with its plan's kind and, for an emergency
//! plan, whether it was approved afterwards (R-10.1-APPROVE); with the login-only
//! connections when only the live ones are asked for. Read-only.

use std::collections::HashMap;

use policy::plan::PlanKind;
use policy::plan::emergency::{self, Approval};
use serde::Serialize;
use store::{ConnectionRecord, SessionRecord, Store};

use super::OpError;

/// A session as listed.
#[derive(Debug, Serialize)]
pub struct Listed {
    /// The session as recorded.
    #[serde(flatten)]
    pub session: SessionRecord,
    /// Its plan's kind: `planned`, or `emergency` (opened at login, R-10.1-APPROVE);
    /// `null` if the plan can't be found.
    pub plan_kind: Option<PlanKind>,
    /// For an emergency plan: `pending` until an operator approves it afterwards, then
    /// `approved`; `null` otherwise.
    pub emergency_approval: Option<Approval>,
}

/// The sessions (only the live ones with `live_only`), and with `live_only` the
/// connections logged in without a session.
pub async fn list(
    store: &dyn Store,
    live_only: bool,
) -> Result<(Vec<Listed>, Vec<ConnectionRecord>), OpError> {
    let sessions = store.sessions(live_only).await?;
    let connections = if live_only {
        store.connections().await?
    } else {
        Vec::new()
    };
    let plans: HashMap<_, _> = store
        .plans()
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let listed = sessions
        .into_iter()
        .map(|session| {
            let plan = plans.get(&session.plan);
            Listed {
                plan_kind: plan.map(|p| p.kind),
                emergency_approval: plan.and_then(emergency::approval),
                session,
            }
        })
        .collect();
    Ok((listed, connections))
}
