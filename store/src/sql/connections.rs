//! Logged-in connections without a session (issue 12): inserted at login, deleted when the
//! session opens or the connection closes, killed through a request on the row. And the
//! engineers withdrawn from a plan by `session kill --block`.

use policy::ids::{Login, PlanId, SessionId};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::convert::{now, parsed, time, time_opt, to_micros};
use super::{SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind};
use crate::connection::{ConnectionRecord, NewConnection};
use crate::error::{Error, Result};
use crate::model::Actor;

const COLUMNS: &str = "id, engineer, client_addr, node, logged_in_at, kill_requested_at, \
     kill_requested_by, kill_reason";

impl SqlStore {
    pub(super) async fn insert_connection(&self, new: NewConnection) -> Result<()> {
        sqlx::query(
            "INSERT INTO connections (id, engineer, client_addr, node, logged_in_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(new.id.to_string())
        .bind(new.engineer.as_str())
        .bind(new.client_addr.to_string())
        .bind(self.node.get().map(String::as_str))
        .bind(to_micros(now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn delete_connection(&self, id: &SessionId) -> Result<()> {
        sqlx::query("DELETE FROM connections WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn select_connections(&self) -> Result<Vec<ConnectionRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM connections ORDER BY logged_in_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(connection).collect()
    }

    pub(super) async fn insert_connection_kill(
        &self,
        id: &SessionId,
        reason: &str,
        actor: &Actor,
    ) -> Result<ConnectionRecord> {
        let id_text = id.to_string();
        let at = now();
        let by = actor.to_string();
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE connections SET kill_requested_at = $2, kill_requested_by = $3, \
             kill_reason = $4 WHERE id = $1 AND kill_requested_at IS NULL",
        )
        .bind(&id_text)
        .bind(to_micros(at))
        .bind(&by)
        .bind(reason)
        .execute(tx.conn())
        .await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM connections WHERE id = $1"))
            .bind(&id_text)
            .fetch_optional(tx.conn())
            .await?;
        let Some(row) = row else {
            return Err(Error::NotFound {
                kind: "connection",
                name: id_text,
            });
        };
        let record = connection(&row)?;
        if changed.rows_affected() == 0 {
            return Err(Error::KillPending {
                kind: "connection",
                name: id_text,
            });
        }
        let event =
            AuditEvent::new(AuditKind::SessionKilled, actor.clone(), &id_text).with_detail(json!({
                "engineer": record.engineer.as_str(),
                "state": "logged_in_no_channel",
                "client_addr": record.client_addr,
                "reason": reason,
            }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(record)
    }

    pub(super) async fn delete_orphaned_connections(&self) -> Result<u64> {
        let Some(node) = self.node.get() else {
            return Err(Error::NotFound {
                kind: "gateway node",
                name: "(not named)".to_owned(),
            });
        };
        let done = sqlx::query("DELETE FROM connections WHERE node = $1")
            .bind(node.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

impl SqlStore {
    pub(super) async fn insert_plan_block(
        &self,
        plan: &PlanId,
        engineer: &Login,
        reason: &str,
        actor: &Actor,
    ) -> Result<()> {
        let plan_text = plan.to_string();
        let mut tx = self.write().await?;
        let known = sqlx::query("SELECT id FROM plans WHERE id = $1")
            .bind(&plan_text)
            .fetch_optional(tx.conn())
            .await?;
        if known.is_none() {
            return Err(Error::NotFound {
                kind: "plan",
                name: plan_text,
            });
        }
        let done = sqlx::query(
            "INSERT INTO plan_blocks (plan_id, engineer, blocked_at, blocked_by, reason) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (plan_id, engineer) DO NOTHING",
        )
        .bind(&plan_text)
        .bind(engineer.as_str())
        .bind(to_micros(now()))
        .bind(actor.to_string())
        .bind(reason)
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::AlreadyExists {
                kind: "plan block",
                name: format!("{plan_text}/{engineer}"),
            });
        }
        let event = AuditEvent::new(AuditKind::PlanEngineerBlocked, actor.clone(), &plan_text)
            .with_detail(json!({
                "plan_id": plan_text,
                "engineer": engineer.as_str(),
                "reason": reason,
            }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The plans `engineer` was withdrawn from.
    pub(super) async fn blocked_plans(&self, engineer: &Login) -> Result<Vec<PlanId>> {
        let rows = sqlx::query("SELECT plan_id FROM plan_blocks WHERE engineer = $1")
            .bind(engineer.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| parsed(r, "plan_id")).collect()
    }
}

fn connection(row: &AnyRow) -> Result<ConnectionRecord> {
    Ok(ConnectionRecord {
        id: parsed(row, "id")?,
        engineer: parsed(row, "engineer")?,
        client_addr: row.try_get("client_addr")?,
        node: row.try_get("node")?,
        logged_in_at: time(row, "logged_in_at")?,
        kill_requested_at: time_opt(row, "kill_requested_at")?,
        kill_requested_by: row.try_get("kill_requested_by")?,
        kill_reason: row.try_get("kill_reason")?,
    })
}
