//! Maintenance sessions: their start and end, each recorded with its audit event, and the
//! recording's seal once it is closed.

use policy::ids::{SessionId, TargetName};
use policy::limits::EndReason;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::convert::{now, parsed, parsed_opt, time, time_opt, to_micros};
use super::{SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind, format_time};
use crate::error::{Error, Result};
use crate::model::{Actor, NewSession, RecordingSeal, SessionRecord};

const COLUMNS: &str = "id, engineer, target, plan_id, client_addr, started_at, ended_at, \
     end_reason, recording, recording_sha256, recording_signature";

impl SqlStore {
    pub(super) async fn insert_session(&self, new: NewSession) -> Result<SessionRecord> {
        let session = SessionRecord {
            id: new.id,
            engineer: new.engineer,
            target: new.target,
            plan: new.plan,
            client_addr: new.client_addr,
            started_at: now(),
            ended_at: None,
            end_reason: None,
            recording: new.recording,
            seal: None,
        };
        let id = session.id.to_string();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO sessions (id, engineer, target, plan_id, client_addr, started_at, recording, node) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(session.engineer.as_str())
        .bind(session.target.as_str())
        .bind(session.plan.to_string())
        .bind(session.client_addr.to_string())
        .bind(to_micros(session.started_at))
        .bind(session.recording.as_deref())
        .bind(self.node.get().map(String::as_str))
        .execute(tx.conn())
        .await
        .map_err(on_insert_error(&id))?;
        let event = AuditEvent::new(
            AuditKind::SessionStarted,
            Actor::Person(session.engineer.clone()),
            &id,
        )
        .with_detail(json!({
            "engineer": session.engineer.as_str(),
            "target": session.target.as_str(),
            "plan_id": session.plan.to_string(),
            "client_addr": session.client_addr.to_string(),
            "recording": session.recording,
        }));
        audit_log::append(tx.conn(), &event).await?;
        super::plans::activate_in(tx.conn(), &session.plan, &session.engineer).await?;
        tx.commit().await?;
        Ok(session)
    }

    pub(super) async fn finish_session(
        &self,
        id: &SessionId,
        reason: EndReason,
        seal: Option<RecordingSeal>,
        cause: Option<&str>,
    ) -> Result<SessionRecord> {
        let id_text = id.to_string();
        let ended_at = now();
        let mut tx = self.write().await?;
        // Ends a live session only: a second end (a kill racing a normal close) changes
        // nothing and says so.
        let changed = sqlx::query(
            "UPDATE sessions SET ended_at = $2, end_reason = $3, recording_sha256 = $4, \
             recording_signature = $5 WHERE id = $1 AND ended_at IS NULL",
        )
        .bind(&id_text)
        .bind(to_micros(ended_at))
        .bind(reason.as_str())
        .bind(seal.as_ref().map(|s| s.sha256.as_str()))
        .bind(seal.as_ref().map(|s| s.signature.as_str()))
        .execute(tx.conn())
        .await?;
        let Some(session) = select_session_in(tx.conn(), id).await? else {
            return Err(Error::NotFound {
                kind: "session",
                name: id_text,
            });
        };
        if changed.rows_affected() == 0 {
            return Err(Error::InvalidTransition {
                kind: "session",
                name: id_text,
                from: "ended".to_owned(),
                to: "ended".to_owned(),
            });
        }
        // The seal goes into the chain, so `audit verify` can tell a changed recording.
        let mut detail = json!({
            "engineer": session.engineer.as_str(),
            "target": session.target.as_str(),
            "plan_id": session.plan.to_string(),
            "reason": reason.as_str(),
            "started_at": format_time(session.started_at),
            "ended_at": format_time(ended_at),
            "recording": session.recording,
            "recording_sha256": seal.as_ref().map(|s| s.sha256.as_str()),
            "recording_signature": seal.as_ref().map(|s| s.signature.as_str()),
        });
        if let (Some(cause), Some(map)) = (cause, detail.as_object_mut()) {
            map.insert("cause".to_owned(), json!(cause));
        }
        let event =
            AuditEvent::new(AuditKind::SessionEnded, Actor::System, &id_text).with_detail(detail);
        audit_log::append(tx.conn(), &event).await?;
        super::plans::close_emergency_in(tx.conn(), &session.plan, ended_at).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Names this store's node, once; the same name again is fine.
    pub(super) fn claim_node(&self, node: &str) -> Result<()> {
        let held = self.node.get_or_init(|| node.to_owned());
        if held == node {
            Ok(())
        } else {
            Err(Error::InvalidTransition {
                kind: "gateway node",
                name: held.clone(),
                from: held.clone(),
                to: node.to_owned(),
            })
        }
    }

    /// Ends this node's sessions still live, each in its own transaction with its
    /// `session.ended` record (so one that another process ends meanwhile is skipped).
    pub(super) async fn finish_orphaned_sessions(
        &self,
        reason: EndReason,
        cause: &str,
    ) -> Result<Vec<SessionRecord>> {
        let Some(node) = self.node.get() else {
            return Err(Error::NotFound {
                kind: "gateway node",
                name: "(not set)".to_owned(),
            });
        };
        let rows = sqlx::query(
            "SELECT id FROM sessions WHERE node = $1 AND ended_at IS NULL ORDER BY started_at",
        )
        .bind(node.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut ended = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: SessionId = parsed(row, "id")?;
            match self.finish_session(&id, reason, None, Some(cause)).await {
                Ok(session) => ended.push(session),
                Err(Error::InvalidTransition { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ended)
    }

    pub(super) async fn select_sessions(&self, live_only: bool) -> Result<Vec<SessionRecord>> {
        let filter = if live_only {
            "WHERE ended_at IS NULL "
        } else {
            ""
        };
        let sql =
            format!("SELECT {COLUMNS} FROM sessions {filter}ORDER BY started_at DESC, id DESC");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(session).collect()
    }

    pub(super) async fn select_latest_session_on_target(
        &self,
        target: &TargetName,
    ) -> Result<Option<SessionRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sessions WHERE target = $1 ORDER BY started_at DESC, id DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(target.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(session).transpose()
    }

    pub(super) async fn select_sessions_of_plan(
        &self,
        plan: &policy::ids::PlanId,
    ) -> Result<Vec<SessionRecord>> {
        let sql =
            format!("SELECT {COLUMNS} FROM sessions WHERE plan_id = $1 ORDER BY started_at, id");
        let rows = sqlx::query(&sql)
            .bind(plan.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(session).collect()
    }

    pub(super) async fn select_session(&self, id: &SessionId) -> Result<Option<SessionRecord>> {
        let mut conn = self.pool.acquire().await?;
        select_session_in(&mut conn, id).await
    }
}

async fn select_session_in(
    conn: &mut AnyConnection,
    id: &SessionId,
) -> Result<Option<SessionRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(session).transpose()
}

/// A duplicate ID is [`Error::AlreadyExists`]; an engineer, target or plan that doesn't
/// exist (a foreign key) is [`Error::NotFound`].
fn on_insert_error(id: &str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::AlreadyExists {
            kind: "session",
            name: id.to_owned(),
        },
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => Error::NotFound {
            kind: "engineer, target or plan of session",
            name: id.to_owned(),
        },
        _ => Error::from(e),
    }
}

pub(super) fn session(row: &AnyRow) -> Result<SessionRecord> {
    let sha256: Option<String> = row.try_get("recording_sha256")?;
    let signature: Option<String> = row.try_get("recording_signature")?;
    let seal = match (sha256, signature) {
        (Some(sha256), Some(signature)) => Some(RecordingSeal { sha256, signature }),
        _ => None,
    };
    Ok(SessionRecord {
        id: parsed(row, "id")?,
        engineer: parsed(row, "engineer")?,
        target: parsed(row, "target")?,
        plan: parsed(row, "plan_id")?,
        client_addr: parsed(row, "client_addr")?,
        started_at: time(row, "started_at")?,
        ended_at: time_opt(row, "ended_at")?,
        end_reason: parsed_opt(row, "end_reason")?,
        recording: row.try_get("recording")?,
        seal,
    })
}
