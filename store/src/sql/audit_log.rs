//! The audit chain in the `audit_log` table (R-17-2): appending a link inside the caller's
//! write transaction, reading the tail, and walking the whole chain page by page.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::convert::{from_micros, now, to_micros};
use crate::audit::{
    AuditEvent, AuditRecord, AuditVerification, ChainVerifier, GENESIS_HASH, format_time,
    record_hash,
};
use crate::error::{Error, Result};

/// Rows read per query while verifying, so the chain never has to fit in memory.
const VERIFY_PAGE: i64 = 1000;

const COLUMNS: &str = "seq, at, actor, kind, subject, detail, prev_hash, hash";

/// Appends `event` as the next link. Must run inside a write transaction from
/// [`SqlStore::write`](super::SqlStore), which serializes appenders; the primary key on
/// `seq` would refuse a second link with the same number anyway.
pub(super) async fn append(conn: &mut AnyConnection, event: &AuditEvent) -> Result<AuditRecord> {
    let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    let (prev_seq, prev_hash) = match head {
        Some(row) => (
            row.try_get::<i64, _>("seq")?,
            row.try_get::<String, _>("hash")?,
        ),
        None => (0, GENESIS_HASH.to_owned()),
    };
    let seq = prev_seq.checked_add(1).ok_or_else(|| Error::Corrupt {
        what: "audit_log.seq",
        detail: format!("{prev_seq} cannot be followed"),
    })?;
    let at = now();
    let actor = event.actor.to_string();
    let kind = event.kind.as_str();
    let hash = record_hash(
        &prev_hash,
        seq,
        &format_time(at),
        &actor,
        kind,
        &event.subject,
        &event.detail,
    );
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, kind, subject, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(seq)
    .bind(to_micros(at))
    .bind(&actor)
    .bind(kind)
    .bind(&event.subject)
    .bind(event.detail.to_string())
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(AuditRecord {
        seq,
        at,
        actor,
        kind: kind.to_owned(),
        subject: event.subject.clone(),
        detail: event.detail.clone(),
        prev_hash,
        hash,
    })
}

/// The last `n` records, oldest first.
pub(super) async fn tail(pool: &AnyPool, n: u32) -> Result<Vec<AuditRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT $1");
    let rows = sqlx::query(&sql).bind(i64::from(n)).fetch_all(pool).await?;
    let mut records = rows.iter().map(record).collect::<Result<Vec<_>>>()?;
    records.reverse();
    Ok(records)
}

/// The records `filter` selects, newest first, below `before`, at most `limit`.
pub(super) async fn select(
    pool: &AnyPool,
    filter: &crate::audit::AuditFilter,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditRecord>> {
    enum Bind<'a> {
        Text(&'a str),
        Int(i64),
    }
    let mut conditions: Vec<(&str, Bind<'_>)> = Vec::new();
    if let Some(kind) = &filter.kind {
        conditions.push(("kind =", Bind::Text(kind)));
    }
    if let Some(actor) = &filter.actor {
        conditions.push(("actor =", Bind::Text(actor)));
    }
    if let Some(subject) = &filter.subject {
        conditions.push(("subject =", Bind::Text(subject)));
    }
    if let Some(from) = filter.from {
        conditions.push(("at >=", Bind::Int(super::convert::to_micros(from))));
    }
    if let Some(to) = filter.to {
        conditions.push(("at <", Bind::Int(super::convert::to_micros(to))));
    }
    if let Some(before) = before {
        conditions.push(("seq <", Bind::Int(before)));
    }
    let clauses: Vec<String> = conditions
        .iter()
        .enumerate()
        .map(|(i, (clause, _))| format!("{clause} ${}", i + 1))
        .collect();
    let binds: Vec<Bind<'_>> = conditions.into_iter().map(|(_, bind)| bind).collect();
    let limit_at = binds.len() + 1;
    let condition = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql =
        format!("SELECT {COLUMNS} FROM audit_log {condition} ORDER BY seq DESC LIMIT ${limit_at}");
    let mut query = sqlx::query(&sql);
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(n) => query.bind(n),
        };
    }
    let rows = query.bind(i64::from(limit)).fetch_all(pool).await?;
    rows.iter().map(record).collect()
}

/// Walks the chain in pages of [`VERIFY_PAGE`] and names the first broken link.
pub(super) async fn verify(pool: &AnyPool) -> Result<AuditVerification> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
    let mut verifier = ChainVerifier::new();
    // Keyset paging: resume after the last seq seen, whatever the verifier thinks of it.
    let mut after = i64::MIN;
    loop {
        let rows = sqlx::query(&sql)
            .bind(after)
            .bind(VERIFY_PAGE)
            .fetch_all(pool)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("seq")?;
        for row in &rows {
            let intact = match record(row) {
                Ok(r) => verifier.push(&r),
                // A row that can't be read back was not written by us: a broken link, not an
                // error that would hide where the chain breaks.
                Err(_) => verifier.push_unreadable(row.try_get("seq")?),
            };
            if !intact {
                return Ok(verifier.finish());
            }
        }
        if i64::try_from(rows.len()).is_ok_and(|n| n < VERIFY_PAGE) {
            break;
        }
    }
    Ok(verifier.finish())
}

/// A row as a record; fails on values we would never have written.
pub(super) fn record(row: &AnyRow) -> Result<AuditRecord> {
    let detail: String = row.try_get("detail")?;
    Ok(AuditRecord {
        seq: row.try_get("seq")?,
        at: from_micros("audit_log.at", row.try_get("at")?)?,
        actor: row.try_get("actor")?,
        kind: row.try_get("kind")?,
        subject: row.try_get("subject")?,
        detail: serde_json::from_str(&detail).map_err(|e| Error::Corrupt {
            what: "audit_log.detail",
            detail: e.to_string(),
        })?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}
