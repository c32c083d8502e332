//! Console sessions (issue 15): inserted at sign-in with `console.signed_in`, looked up by
//! the token's digest on every request, touched, and ended once with `console.signed_out`.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::convert::{now, on_duplicate, parsed, time, to_micros};
use super::{SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind};
use crate::console::{
    ConsoleEnd, ConsoleSession, ConsoleSessionId, NewConsoleSession, TokenDigest,
};
use crate::error::{Error, Result};
use crate::model::Actor;

const COLUMNS: &str = "id, login, client_addr, csrf_token, created_at, last_seen_at";

impl SqlStore {
    pub(super) async fn insert_console_session(
        &self,
        new: NewConsoleSession,
    ) -> Result<ConsoleSession> {
        let id = new.id.to_string();
        let client_addr = new.client_addr.map(|a| a.to_string());
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO console_sessions \
             (id, token_sha256, login, client_addr, csrf_token, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(new.token.to_hex())
        .bind(new.login.as_str())
        .bind(client_addr.as_deref())
        .bind(&new.csrf_token)
        .bind(to_micros(new.at))
        .execute(tx.conn())
        .await
        .map_err(on_duplicate("console session", &id))?;
        let event = AuditEvent::new(
            AuditKind::ConsoleSignedIn,
            Actor::Person(new.login.clone()),
            new.login.as_str(),
        )
        .with_detail(json!({
            "console_session": id,
            "client_addr": client_addr,
        }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(ConsoleSession {
            id: new.id,
            login: new.login,
            client_addr,
            csrf_token: new.csrf_token,
            created_at: new.at,
            last_seen_at: new.at,
        })
    }

    pub(super) async fn select_console_session(
        &self,
        token: &TokenDigest,
    ) -> Result<Option<ConsoleSession>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM console_sessions WHERE token_sha256 = $1 AND ended_at IS NULL"
        ))
        .bind(token.to_hex())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(console_session).transpose()
    }

    pub(super) async fn update_console_last_seen(
        &self,
        id: &ConsoleSessionId,
        at: DateTime<Utc>,
    ) -> Result<()> {
        // No audit record: a request is not an event. Outside the serialized writers, as
        // it appends nothing; never moves backwards.
        sqlx::query(
            "UPDATE console_sessions SET last_seen_at = $2 \
             WHERE id = $1 AND ended_at IS NULL AND last_seen_at < $2",
        )
        .bind(id.to_string())
        .bind(to_micros(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn finish_console_session(
        &self,
        id: &ConsoleSessionId,
        end: ConsoleEnd,
        actor: &Actor,
    ) -> Result<ConsoleSession> {
        let id_text = id.to_string();
        let at = now();
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE console_sessions SET ended_at = $2, end_reason = $3 \
             WHERE id = $1 AND ended_at IS NULL",
        )
        .bind(&id_text)
        .bind(to_micros(at))
        .bind(end.as_str())
        .execute(tx.conn())
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS}, end_reason FROM console_sessions WHERE id = $1"
        ))
        .bind(&id_text)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else {
            return Err(Error::NotFound {
                kind: "console session",
                name: id_text,
            });
        };
        if changed.rows_affected() == 0 {
            let stored: Option<String> = row.try_get("end_reason")?;
            return Err(Error::InvalidTransition {
                kind: "console session",
                name: id_text,
                from: stored.unwrap_or_else(|| "ended".to_owned()),
                to: end.as_str().to_owned(),
            });
        }
        let session = console_session(&row)?;
        let event = AuditEvent::new(
            AuditKind::ConsoleSignedOut,
            actor.clone(),
            session.login.as_str(),
        )
        .with_detail(json!({
            "console_session": id_text,
            "reason": end.as_str(),
            "last_seen_at": session.last_seen_at.to_rfc3339(),
        }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(session)
    }
}

fn console_session(row: &AnyRow) -> Result<ConsoleSession> {
    Ok(ConsoleSession {
        id: parsed(row, "id")?,
        login: parsed(row, "login")?,
        client_addr: row.try_get("client_addr")?,
        csrf_token: row.try_get("csrf_token")?,
        created_at: time(row, "created_at")?,
        last_seen_at: time(row, "last_seen_at")?,
    })
}
