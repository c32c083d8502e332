//! Kill requests for live sessions: recorded on the session's row with `session.killed` in
//! one transaction, and read back by every gateway until the session has ended.
//!
//! The request is a row, not a message, so it reaches the gateway holding the session
//! whichever process or node wrote it, and survives that gateway's restart.

use policy::ids::SessionId;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::convert::{now, parsed, time, time_opt, to_micros};
use super::{SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind};
use crate::error::{Error, Result};
use crate::model::{Actor, KillRequest};

impl SqlStore {
    pub(super) async fn insert_kill_request(
        &self,
        id: &SessionId,
        reason: &str,
        actor: &Actor,
    ) -> Result<KillRequest> {
        let request = KillRequest {
            session: *id,
            requested_at: now(),
            requested_by: actor.to_string(),
            reason: reason.to_owned(),
        };
        let id_text = id.to_string();
        let mut tx = self.write().await?;
        // Compare-and-set: only a live session without a pending request; anything else
        // changes nothing and is explained below.
        let changed = sqlx::query(
            "UPDATE sessions SET kill_requested_at = $2, kill_requested_by = $3, kill_reason = $4 \
             WHERE id = $1 AND ended_at IS NULL AND kill_requested_at IS NULL",
        )
        .bind(&id_text)
        .bind(to_micros(request.requested_at))
        .bind(&request.requested_by)
        .bind(&request.reason)
        .execute(tx.conn())
        .await?;
        let row = sqlx::query(
            "SELECT engineer, target, plan_id, ended_at, kill_requested_at FROM sessions \
             WHERE id = $1",
        )
        .bind(&id_text)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else {
            return Err(Error::NotFound {
                kind: "session",
                name: id_text,
            });
        };
        if changed.rows_affected() == 0 {
            return Err(if time_opt(&row, "ended_at")?.is_some() {
                Error::InvalidTransition {
                    kind: "session",
                    name: id_text,
                    from: "ended".to_owned(),
                    to: "kill requested".to_owned(),
                }
            } else {
                Error::KillPending {
                    kind: "session",
                    name: id_text,
                }
            });
        }
        let engineer: String = row.try_get("engineer")?;
        let target: String = row.try_get("target")?;
        let plan: String = row.try_get("plan_id")?;
        let event =
            AuditEvent::new(AuditKind::SessionKilled, actor.clone(), &id_text).with_detail(json!({
                "engineer": engineer,
                "target": target,
                "plan_id": plan,
                "reason": request.reason,
            }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(request)
    }

    pub(super) async fn select_pending_kills(&self) -> Result<Vec<KillRequest>> {
        let rows = sqlx::query(
            "SELECT id, kill_requested_at, kill_requested_by, kill_reason FROM sessions \
             WHERE kill_requested_at IS NOT NULL AND ended_at IS NULL \
             ORDER BY kill_requested_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(kill_request).collect()
    }
}

fn kill_request(row: &AnyRow) -> Result<KillRequest> {
    Ok(KillRequest {
        session: parsed(row, "id")?,
        requested_at: time(row, "kill_requested_at")?,
        requested_by: row
            .try_get::<Option<String>, _>("kill_requested_by")?
            .unwrap_or_default(),
        reason: row
            .try_get::<Option<String>, _>("kill_reason")?
            .unwrap_or_default(),
    })
}
