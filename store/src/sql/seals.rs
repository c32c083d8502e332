//! Recording and report seals: the `recording.sealed` and `report.produced` records of the
//! audit chain, found by kind (and session) through the `audit_log_kind_subject` index
//! instead of reading the whole chain.

use policy::ids::SessionId;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::SqlStore;
use super::convert::{parse, time};
use crate::audit::AuditKind;
use crate::error::Result;
use crate::model::{ReportSeal, Seal};

impl SqlStore {
    pub(super) async fn select_session_seals(&self, session: &SessionId) -> Result<Vec<Seal>> {
        let rows = sqlx::query(
            "SELECT seq, at, subject, detail FROM audit_log \
             WHERE kind = $1 AND subject = $2 ORDER BY seq",
        )
        .bind(AuditKind::RecordingSealed.as_str())
        .bind(session.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(seal).collect()
    }

    pub(super) async fn select_recording_seals(&self) -> Result<Vec<Seal>> {
        let rows = sqlx::query(
            "SELECT seq, at, subject, detail FROM audit_log WHERE kind = $1 ORDER BY seq",
        )
        .bind(AuditKind::RecordingSealed.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(seal).collect()
    }

    pub(super) async fn select_report_seals(&self) -> Result<Vec<ReportSeal>> {
        let rows = sqlx::query(
            "SELECT seq, at, subject, detail FROM audit_log WHERE kind = $1 ORDER BY seq",
        )
        .bind(AuditKind::ReportProduced.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(report_seal).collect()
    }
}

/// A `report.produced` row as a report seal; a missing digest is left empty, so the
/// caller's check reports it as not matching.
fn report_seal(row: &AnyRow) -> Result<ReportSeal> {
    let detail: String = row.try_get("detail")?;
    let detail: Value = serde_json::from_str(&detail)
        .map_err(|e| super::convert::corrupt("audit_log.detail", e.to_string()))?;
    Ok(ReportSeal {
        seq: row.try_get("seq")?,
        subject: row.try_get("subject")?,
        at: time(row, "at")?,
        sha256: detail
            .get("sha256")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    })
}

/// A `recording.sealed` row as a seal. A statement or signature missing from the detail is
/// left empty: the caller's check then reports that seal as broken.
fn seal(row: &AnyRow) -> Result<Seal> {
    let detail: String = row.try_get("detail")?;
    let detail: Value = serde_json::from_str(&detail)
        .map_err(|e| super::convert::corrupt("audit_log.detail", e.to_string()))?;
    let text = |key: &str| {
        detail
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(Seal {
        seq: row.try_get("seq")?,
        session: parse("audit_log.subject", &row.try_get::<String, _>("subject")?)?,
        at: time(row, "at")?,
        statement: text("statement"),
        signature: text("signature"),
    })
}
