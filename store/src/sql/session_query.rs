//! The session list with its filters, paged by `(started_at, id)` (issue 15), and one
//! session's transfer records (its `transfer` audit records, found by kind and target
//! through the `(kind, subject, seq)` index, then by the session named in the detail).

use policy::ids::SessionId;
use policy::target::TargetProtocol;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::SqlStore;
use super::convert::{corrupt, count_from_db, parsed, to_micros};
use super::sessions::session;
use crate::audit::{AuditKind, AuditRecord};
use crate::error::Result;
use crate::model::SessionRecord;
use crate::session_query::{
    FindingsFilter, ListedSession, SessionCursor, SessionFilter, SessionPage, SessionState,
};

/// The columns of a listed session; unqualified names, as `sessions::session` reads them.
const COLUMNS: &str = "s.id AS id, s.engineer AS engineer, s.target AS target, \
     s.plan_id AS plan_id, s.client_addr AS client_addr, s.started_at AS started_at, \
     s.ended_at AS ended_at, s.end_reason AS end_reason, s.recording AS recording, \
     s.recording_sha256 AS recording_sha256, s.recording_signature AS recording_signature, \
     s.findings AS findings, t.protocol AS protocol, p.vendor AS vendor";

/// A value bound to a placeholder.
enum Bind {
    Text(String),
    Int(i64),
}

impl SqlStore {
    pub(super) async fn select_session_page(
        &self,
        filter: &SessionFilter,
        after: Option<&SessionCursor>,
        limit: u32,
    ) -> Result<SessionPage> {
        let mut clauses: Vec<String> = Vec::new();
        let mut binds: Vec<Bind> = Vec::new();
        let push = |clause: &str, value: Bind, binds: &mut Vec<Bind>| {
            binds.push(value);
            clause.replace('?', &format!("${}", binds.len()))
        };
        if let Some(e) = &filter.engineer {
            clauses.push(push(
                "s.engineer = ?",
                Bind::Text(e.to_string()),
                &mut binds,
            ));
        }
        if let Some(v) = &filter.vendor {
            clauses.push(push("p.vendor = ?", Bind::Text(v.to_string()), &mut binds));
        }
        if let Some(t) = &filter.target {
            clauses.push(push("s.target = ?", Bind::Text(t.to_string()), &mut binds));
        }
        if let Some(p) = &filter.plan {
            clauses.push(push("s.plan_id = ?", Bind::Text(p.to_string()), &mut binds));
        }
        if let Some(p) = filter.protocol {
            clauses.push(push(
                "t.protocol = ?",
                Bind::Text(p.as_str().to_owned()),
                &mut binds,
            ));
        }
        if let Some(from) = filter.started_from {
            clauses.push(push(
                "s.started_at >= ?",
                Bind::Int(to_micros(from)),
                &mut binds,
            ));
        }
        if let Some(before) = filter.started_before {
            clauses.push(push(
                "s.started_at < ?",
                Bind::Int(to_micros(before)),
                &mut binds,
            ));
        }
        match filter.state {
            None => {}
            Some(SessionState::Live) => clauses.push("s.ended_at IS NULL".to_owned()),
            Some(SessionState::Ended(reason)) => clauses.push(push(
                "s.end_reason = ?",
                Bind::Text(reason.as_str().to_owned()),
                &mut binds,
            )),
        }
        match filter.findings {
            None => {}
            Some(FindingsFilter::Some) => clauses.push("s.findings > 0".to_owned()),
            Some(FindingsFilter::None) => clauses.push("s.findings = 0".to_owned()),
            Some(FindingsFilter::NotReported) => clauses.push("s.findings IS NULL".to_owned()),
        }
        if let Some(cursor) = after {
            binds.push(Bind::Int(to_micros(cursor.started_at)));
            let at = binds.len();
            binds.push(Bind::Text(cursor.id.to_string()));
            let id = binds.len();
            clauses.push(format!(
                "(s.started_at < ${at} OR (s.started_at = ${at} AND s.id < ${id}))"
            ));
        }
        // One more than asked: whether a next page exists, without counting.
        binds.push(Bind::Int(i64::from(limit) + 1));
        let limit_at = binds.len();
        let filter_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {} ", clauses.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM sessions s \
             JOIN targets t ON t.name = s.target JOIN plans p ON p.id = s.plan_id \
             {filter_sql}ORDER BY s.started_at DESC, s.id DESC LIMIT ${limit_at}"
        );
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(n) => query.bind(n),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut sessions = rows.iter().map(listed).collect::<Result<Vec<_>>>()?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let next = if sessions.len() > limit {
            sessions.truncate(limit);
            sessions.last().map(|l| SessionCursor::after(&l.session))
        } else {
            None
        };
        Ok(SessionPage { sessions, next })
    }

    pub(super) async fn select_session_transfers(
        &self,
        session: &SessionRecord,
    ) -> Result<Vec<AuditRecord>> {
        let id = session.id.to_string();
        // The detail is stored as compact JSON: the LIKE narrows, the parsed detail decides.
        let rows = sqlx::query(
            "SELECT seq, at, actor, kind, subject, detail, prev_hash, hash FROM audit_log \
             WHERE kind = $1 AND subject = $2 AND detail LIKE $3 ORDER BY seq",
        )
        .bind(AuditKind::Transfer.as_str())
        .bind(session.target.as_str())
        .bind(format!("%\"session_id\":\"{id}\"%"))
        .fetch_all(&self.pool)
        .await?;
        let records = rows
            .iter()
            .map(super::audit_log::record)
            .collect::<Result<Vec<_>>>()?;
        Ok(records
            .into_iter()
            .filter(|r| names_session(r, &session.id))
            .collect())
    }
}

/// Whether `record`'s detail names `session` as its `session_id`.
fn names_session(record: &AuditRecord, session: &SessionId) -> bool {
    record
        .detail
        .get("session_id")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|s| s == session.to_string())
}

fn listed(row: &AnyRow) -> Result<ListedSession> {
    let protocol = match row.try_get::<String, _>("protocol")?.as_str() {
        "ssh" => TargetProtocol::Ssh,
        "rdp" => TargetProtocol::Rdp,
        other => {
            return Err(corrupt(
                "targets.protocol",
                format!("unknown protocol {other:?}"),
            ));
        }
    };
    let findings: Option<i64> = row.try_get("findings")?;
    Ok(ListedSession {
        session: session(row)?,
        protocol,
        vendor: parsed(row, "vendor")?,
        findings: findings
            .map(|n| count_from_db("sessions.findings", n))
            .transpose()?,
    })
}
