//! A plan's life cycle after approval (closed, confirmed, attested: compare-and-set on the
//! stored state, each with its audit event) and its sealed reconciliation report.

use policy::ids::PlanId;
use policy::plan::{Plan, PlanStatus};
use serde_json::json;
use sqlx::Row;

use super::convert::{time, to_micros};
use super::{SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind, format_time};
use crate::error::{Error, Result};
use crate::model::{Actor, StoredReport};

impl SqlStore {
    pub(super) async fn write_plan_step(
        &self,
        updated: Plan,
        from: PlanStatus,
        actor: &Actor,
    ) -> Result<Plan> {
        let id = updated.id.to_string();
        let (kind, detail) = match (from, updated.status) {
            (PlanStatus::Approved | PlanStatus::Active, PlanStatus::Closed) => (
                AuditKind::PlanClosed,
                json!({ "closed_at": updated.closed_at.map(format_time) }),
            ),
            (PlanStatus::Reported, PlanStatus::Confirmed) => (
                AuditKind::ReportConfirmed,
                json!({
                    "confirmed_by": updated.confirmation.as_ref().map(|c| c.by.clone()),
                    "findings": updated.confirmation.as_ref().and_then(|c| c.note.clone()),
                }),
            ),
            (PlanStatus::Approved | PlanStatus::Active, PlanStatus::Withdrawn) => (
                AuditKind::PlanWithdrawn,
                json!({
                    "withdrawn_by": updated.withdrawal.as_ref().map(|w| w.by.to_string()),
                    "reason": updated.withdrawal.as_ref().map(|w| w.reason.clone()),
                }),
            ),
            (a, b) if a == b && updated.attestation.is_some() => (
                AuditKind::PlanAttested,
                json!({
                    "attested_by": updated.attestation.as_ref().map(|a| a.by.to_string()),
                    "attestation": updated.attestation.as_ref().map(|a| a.note.clone()),
                }),
            ),
            (a, b) => {
                return Err(Error::InvalidTransition {
                    kind: "plan",
                    name: id,
                    from: a.to_string(),
                    to: b.to_string(),
                });
            }
        };
        let mut tx = self.write().await?;
        // Compare-and-set on the state the caller saw; an attestation only once.
        let changed = sqlx::query(
            "UPDATE plans SET status = $2, closed_at = $3, confirmed_by = $4, confirmed_at = $5, \
             confirmation = $6, attested_by = $7, attested_at = $8, attestation = $9, \
             withdrawn_by = $12, withdrawn_at = $13, withdrawal_reason = $14 \
             WHERE id = $1 AND status = $10 AND (attested_by IS NULL OR $11 = 0)",
        )
        .bind(&id)
        .bind(updated.status.as_str())
        .bind(updated.closed_at.map(to_micros))
        .bind(updated.confirmation.as_ref().map(|c| c.by.clone()))
        .bind(updated.confirmation.as_ref().map(|c| to_micros(c.at)))
        .bind(updated.confirmation.as_ref().and_then(|c| c.note.clone()))
        .bind(updated.attestation.as_ref().map(|a| a.by.to_string()))
        .bind(updated.attestation.as_ref().map(|a| to_micros(a.at)))
        .bind(updated.attestation.as_ref().map(|a| a.note.clone()))
        .bind(from.as_str())
        .bind(i64::from(kind == AuditKind::PlanAttested))
        .bind(updated.withdrawal.as_ref().map(|w| w.by.to_string()))
        .bind(updated.withdrawal.as_ref().map(|w| to_micros(w.at)))
        .bind(updated.withdrawal.as_ref().map(|w| w.reason.clone()))
        .execute(tx.conn())
        .await?;
        let stored = super::plans::stored_after_cas(
            tx.conn(),
            &updated.id,
            changed.rows_affected(),
            updated.status,
        )
        .await?;
        let event = AuditEvent::new(kind, actor.clone(), &id).with_detail(detail);
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(stored)
    }

    pub(super) async fn insert_report(
        &self,
        reported: Plan,
        report: StoredReport,
        summary: serde_json::Value,
        actor: &Actor,
    ) -> Result<Plan> {
        let id = reported.id.to_string();
        if reported.status != PlanStatus::Reported || report.plan != reported.id {
            return Err(Error::InvalidTransition {
                kind: "plan",
                name: id,
                from: PlanStatus::Closed.to_string(),
                to: reported.status.to_string(),
            });
        }
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE plans SET status = $2, reported_at = $3 WHERE id = $1 AND status = $4",
        )
        .bind(&id)
        .bind(PlanStatus::Reported.as_str())
        .bind(reported.reported_at.map(to_micros))
        .bind(PlanStatus::Closed.as_str())
        .execute(tx.conn())
        .await?;
        let stored = super::plans::stored_after_cas(
            tx.conn(),
            &reported.id,
            changed.rows_affected(),
            PlanStatus::Reported,
        )
        .await?;
        sqlx::query(
            "INSERT INTO reports (plan_id, produced_at, body, sha256, signature, audit_head) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(to_micros(report.produced_at))
        .bind(&report.body)
        .bind(&report.sha256)
        .bind(&report.signature)
        .bind(&report.audit_head)
        .execute(tx.conn())
        .await
        .map_err(super::convert::on_duplicate("report", &id))?;
        // The session list's findings filter: each of the plan's sessions gets the number
        // of findings the report raised about it (0 when none).
        sqlx::query("UPDATE sessions SET findings = 0 WHERE plan_id = $1")
            .bind(&id)
            .execute(tx.conn())
            .await?;
        if let Some(counts) = summary.get("session_findings").and_then(|v| v.as_object()) {
            for (session, count) in counts {
                let count = count.as_i64().unwrap_or_default();
                sqlx::query("UPDATE sessions SET findings = $3 WHERE plan_id = $1 AND id = $2")
                    .bind(&id)
                    .bind(session)
                    .bind(count)
                    .execute(tx.conn())
                    .await?;
            }
        }
        let mut detail = json!({
            "sha256": report.sha256,
            "signature": report.signature,
            "audit_head": report.audit_head,
        });
        if let (Some(d), Some(extra)) = (detail.as_object_mut(), summary.as_object()) {
            for (k, v) in extra {
                d.insert(k.clone(), v.clone());
            }
        }
        let event =
            AuditEvent::new(AuditKind::ReportProduced, actor.clone(), &id).with_detail(detail);
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(stored)
    }

    pub(super) async fn select_report(&self, plan: &PlanId) -> Result<Option<StoredReport>> {
        let row = sqlx::query(
            "SELECT plan_id, produced_at, body, sha256, signature, audit_head FROM reports \
             WHERE plan_id = $1",
        )
        .bind(plan.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(StoredReport {
            plan: *plan,
            produced_at: time(&row, "produced_at")?,
            body: row.try_get("body")?,
            sha256: row.try_get("sha256")?,
            signature: row.try_get("signature")?,
            audit_head: row.try_get("audit_head")?,
        }))
    }
}
