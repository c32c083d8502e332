//! Work plans: stored as `policy` built and decided them. Decisions are compare-and-set on
//! the stored status, so two operators deciding at once can't both win.
//!
//! # Finding an engineer's plans
//!
//! Engineers are a JSON array in one column (the plan is one record, read whole). Finding
//! the plans naming a login is a coarse `LIKE '%"login"%'` in SQL, then exact membership in
//! Rust after parsing. The coarse filter can only over-match — `_` in a login is a LIKE
//! wildcard, and SQLite's LIKE ignores ASCII case — never under-match, since a login's
//! characters need no escaping in JSON. This is the same SQL on both databases, where
//! dialect JSON functions (`json_each`, `jsonb ?`) are not; plans number in the thousands
//! per hospital, so the scan is cheap. A join table is the way out if that ever changes.

use policy::admission::AdmissionFacts;
use policy::ids::{Login, PlanId, TargetName};
use policy::plan::{Allowances, Attestation, Confirmation, Plan, PlanKind, PlanStatus, Withdrawal};
use policy::transfer::ContentKinds;
use serde::de::DeserializeOwned;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::convert::{corrupt, flag, parsed, time, time_opt, to_micros};
use super::{SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind, format_time};
use crate::error::{Error, Result};
use crate::model::Actor;

const COLUMNS: &str = "id, vendor, engineers, targets, starts_at, ends_at, purpose, steps, \
     allow_upload, allow_download, allow_forward, allow_content, status, submitted_by, \
     decided_by, decision_reason, submitted_at, decided_at, kind, personal_data, data_deletion, \
     attested_by, attested_at, attestation, closed_at, reported_at, confirmed_by, confirmed_at, \
     confirmation, take_out, withdrawn_by, withdrawn_at, withdrawal_reason";

impl SqlStore {
    pub(super) async fn insert_plan(&self, plan: Plan, actor: &Actor) -> Result<Plan> {
        let id = plan.id.to_string();
        // New plans are submitted; an emergency plan is active from the start (事後承認).
        let emergency = plan.kind == PlanKind::Emergency && plan.status == PlanStatus::Active;
        if plan.status != PlanStatus::Submitted && !emergency {
            return Err(Error::InvalidTransition {
                kind: "plan",
                name: id,
                from: "new".to_owned(),
                to: plan.status.to_string(),
            });
        }
        let mut tx = self.write().await?;
        check_references(tx.conn(), &plan).await?;
        if emergency {
            one_open_emergency(tx.conn(), &plan).await?;
        }
        sqlx::query(
            "INSERT INTO plans (id, vendor, engineers, targets, starts_at, ends_at, purpose, \
             steps, allow_upload, allow_download, allow_forward, allow_content, status, \
             submitted_by, decided_by, decision_reason, submitted_at, decided_at, kind, \
             personal_data, data_deletion, take_out) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21, $22)",
        )
        .bind(&id)
        .bind(plan.vendor.as_str())
        .bind(json!(plan.engineers).to_string())
        .bind(json!(plan.targets).to_string())
        .bind(to_micros(plan.starts_at))
        .bind(to_micros(plan.ends_at))
        .bind(&plan.purpose)
        .bind(json!(plan.steps).to_string())
        .bind(plan.allow.upload)
        .bind(plan.allow.download)
        .bind(plan.allow.forward)
        .bind(plan.allow.content.to_list())
        .bind(plan.status.as_str())
        .bind(&plan.submitted_by)
        .bind(plan.decided_by.as_deref())
        .bind(plan.decision_reason.as_deref())
        .bind(to_micros(plan.submitted_at))
        .bind(plan.decided_at.map(to_micros))
        .bind(plan.kind.as_str())
        .bind(plan.personal_data.as_deref())
        .bind(plan.data_deletion.as_deref())
        .bind(plan.take_out.as_ref().map(|t| json!(t).to_string()))
        .execute(tx.conn())
        .await
        .map_err(super::convert::on_duplicate("plan", &id))?;
        let kind = if emergency {
            AuditKind::EmergencyAccess
        } else {
            AuditKind::PlanSubmitted
        };
        let event = AuditEvent::new(kind, actor.clone(), &id).with_detail(json!({
            "vendor": plan.vendor.as_str(),
            "engineers": plan.engineers,
            "targets": plan.targets,
            "starts_at": format_time(plan.starts_at),
            "ends_at": format_time(plan.ends_at),
            "purpose": plan.purpose,
            "steps": plan.steps,
            "allow": plan.allow,
            "personal_data": plan.personal_data,
            "data_deletion": plan.data_deletion,
            "take_out": plan.take_out,
            "kind": plan.kind.as_str(),
            "submitted_by": plan.submitted_by,
        }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(plan)
    }

    pub(super) async fn record_decision(&self, decided: Plan, actor: &Actor) -> Result<Plan> {
        let id = decided.id.to_string();
        // An emergency plan is approved afterwards, in the state its work left it.
        let afterwards = decided.kind == PlanKind::Emergency;
        let kind = match decided.status {
            _ if afterwards => AuditKind::PlanApproved,
            PlanStatus::Approved => AuditKind::PlanApproved,
            PlanStatus::Rejected => AuditKind::PlanRejected,
            other @ (PlanStatus::Submitted
            | PlanStatus::Active
            | PlanStatus::Closed
            | PlanStatus::Reported
            | PlanStatus::Confirmed
            | PlanStatus::Withdrawn) => {
                return Err(Error::InvalidTransition {
                    kind: "plan",
                    name: id,
                    from: PlanStatus::Submitted.to_string(),
                    to: other.to_string(),
                });
            }
        };
        let mut tx = self.write().await?;
        // Compare-and-set: only a plan still submitted takes the decision. Only the decision
        // columns are written; what was approved is what was submitted.
        let changed = if afterwards {
            sqlx::query(
                "UPDATE plans SET decided_by = $2, decision_reason = $3, decided_at = $4 \
                 WHERE id = $1 AND kind = 'emergency' AND decided_by IS NULL",
            )
            .bind(&id)
            .bind(decided.decided_by.as_deref())
            .bind(decided.decision_reason.as_deref())
            .bind(decided.decided_at.map(to_micros))
            .execute(tx.conn())
            .await?
        } else {
            sqlx::query(
                "UPDATE plans SET status = $2, decided_by = $3, decision_reason = $4, \
                 decided_at = $5 WHERE id = $1 AND status = $6",
            )
            .bind(&id)
            .bind(decided.status.as_str())
            .bind(decided.decided_by.as_deref())
            .bind(decided.decision_reason.as_deref())
            .bind(decided.decided_at.map(to_micros))
            .bind(PlanStatus::Submitted.as_str())
            .execute(tx.conn())
            .await?
        };
        let stored = stored_after_cas(
            tx.conn(),
            &decided.id,
            changed.rows_affected(),
            decided.status,
        )
        .await?;
        let event = AuditEvent::new(kind, actor.clone(), &id).with_detail(json!({
            "decided_by": stored.decided_by,
            "reason": stored.decision_reason,
            "submitted_by": stored.submitted_by,
            "vendor": stored.vendor.as_str(),
            "engineers": stored.engineers,
            "targets": stored.targets,
            "starts_at": format_time(stored.starts_at),
            "ends_at": format_time(stored.ends_at),
        }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(stored)
    }

    pub(super) async fn select_plan(&self, id: &PlanId) -> Result<Option<Plan>> {
        let mut conn = self.pool.acquire().await?;
        select_plan_in(&mut conn, id).await
    }

    pub(super) async fn select_plans(&self) -> Result<Vec<Plan>> {
        let sql = format!("SELECT {COLUMNS} FROM plans ORDER BY starts_at, id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(plan).collect()
    }

    pub(super) async fn select_plans_for_engineer(&self, engineer: &Login) -> Result<Vec<Plan>> {
        // Coarse in SQL, exact in Rust: see the module docs.
        let sql =
            format!("SELECT {COLUMNS} FROM plans WHERE engineers LIKE $1 ORDER BY starts_at, id");
        let rows = sqlx::query(&sql)
            .bind(format!("%\"{engineer}\"%"))
            .fetch_all(&self.pool)
            .await?;
        let mut plans = Vec::with_capacity(rows.len());
        for row in &rows {
            let p = plan(row)?;
            if p.names_engineer(engineer) {
                plans.push(p);
            }
        }
        Ok(plans)
    }

    pub(super) async fn select_admission_facts(
        &self,
        engineer: &Login,
        target: &TargetName,
    ) -> Result<AdmissionFacts> {
        // Issue 12: a plan the engineer was withdrawn from (`session kill --block`) does
        // not name them any more, for admission and the live re-check.
        let blocked = self.blocked_plans(engineer).await?;
        let mut plans = self.select_plans_for_engineer(engineer).await?;
        plans.retain(|p| !blocked.contains(&p.id));
        Ok(AdmissionFacts {
            target_exists: self.target_is_active(target).await?,
            plans,
            personal_data: self.target_holds_personal_data(target).await?,
        })
    }
}

/// Checks, inside the write transaction, that the plan's vendor exists, that every engineer
/// is an engineer of that vendor, and that every target is registered and not removed.
async fn check_references(conn: &mut AnyConnection, plan: &Plan) -> Result<()> {
    let vendor = sqlx::query("SELECT 1 FROM vendors WHERE name = $1")
        .bind(plan.vendor.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    if vendor.is_none() {
        return Err(Error::NotFound {
            kind: "vendor",
            name: plan.vendor.to_string(),
        });
    }
    for engineer in &plan.engineers {
        let row = sqlx::query("SELECT vendor FROM accounts WHERE login = $1 AND kind = 'engineer'")
            .bind(engineer.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        let Some(row) = row else {
            return Err(Error::NotFound {
                kind: "engineer",
                name: engineer.to_string(),
            });
        };
        let of: Option<String> = row.try_get("vendor")?;
        if of.as_deref() != Some(plan.vendor.as_str()) {
            return Err(Error::EngineerOfOtherVendor {
                engineer: engineer.clone(),
                vendor: plan.vendor.clone(),
            });
        }
    }
    for target in &plan.targets {
        let row = sqlx::query("SELECT 1 FROM targets WHERE name = $1 AND removed_at IS NULL")
            .bind(target.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        if row.is_none() {
            return Err(Error::NotFound {
                kind: "target",
                name: target.to_string(),
            });
        }
    }
    Ok(())
}

/// R-11-1, inside the insert's write transaction: an engineer holds at most one emergency
/// plan awaiting approval, so two declarations racing past the gateway's check
/// (`policy::plan::emergency::check_limits`) can't both open one. The second is
/// [`Error::InvalidTransition`] from `pending`.
async fn one_open_emergency(conn: &mut AnyConnection, new: &Plan) -> Result<()> {
    for engineer in &new.engineers {
        // Coarse in SQL, exact in Rust: see the module docs.
        let sql = format!(
            "SELECT {COLUMNS} FROM plans WHERE kind = 'emergency' AND decided_by IS NULL \
             AND engineers LIKE $1"
        );
        let rows = sqlx::query(&sql)
            .bind(format!("%\"{engineer}\"%"))
            .fetch_all(&mut *conn)
            .await?;
        for row in &rows {
            let open = plan(row)?;
            if open.names_engineer(engineer) {
                return Err(Error::InvalidTransition {
                    kind: "emergency",
                    name: engineer.to_string(),
                    from: "pending".to_owned(),
                    to: "open".to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// The plan as stored after a compare-and-set update that meant to move it `to`: gone is
/// [`Error::NotFound`]; no row changed (someone moved it first) is
/// [`Error::InvalidTransition`] from its stored state.
pub(super) async fn stored_after_cas(
    conn: &mut AnyConnection,
    id: &PlanId,
    rows_changed: u64,
    to: PlanStatus,
) -> Result<Plan> {
    let stored = select_plan_in(conn, id)
        .await?
        .ok_or_else(|| Error::NotFound {
            kind: "plan",
            name: id.to_string(),
        })?;
    if rows_changed == 0 {
        return Err(Error::InvalidTransition {
            kind: "plan",
            name: id.to_string(),
            from: stored.status.to_string(),
            to: to.to_string(),
        });
    }
    Ok(stored)
}

pub(super) async fn select_plan_in(conn: &mut AnyConnection, id: &PlanId) -> Result<Option<Plan>> {
    let sql = format!("SELECT {COLUMNS} FROM plans WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(plan).transpose()
}

fn plan(row: &AnyRow) -> Result<Plan> {
    Ok(Plan {
        id: parsed(row, "id")?,
        vendor: parsed(row, "vendor")?,
        engineers: json_column(row, "engineers")?,
        targets: json_column(row, "targets")?,
        starts_at: time(row, "starts_at")?,
        ends_at: time(row, "ends_at")?,
        purpose: row.try_get("purpose")?,
        steps: json_column(row, "steps")?,
        allow: Allowances {
            upload: flag(row, "allow_upload")?,
            download: flag(row, "allow_download")?,
            forward: flag(row, "allow_forward")?,
            content: ContentKinds::from_list(&row.try_get::<String, _>("allow_content")?)
                .map_err(|e| corrupt("plan", e.to_string()))?,
        },
        status: parsed::<PlanStatus>(row, "status")?,
        submitted_by: row.try_get("submitted_by")?,
        decided_by: row.try_get("decided_by")?,
        decision_reason: row.try_get("decision_reason")?,
        submitted_at: time(row, "submitted_at")?,
        decided_at: time_opt(row, "decided_at")?,
        kind: match row.try_get::<String, _>("kind")?.as_str() {
            "planned" => PlanKind::Planned,
            "emergency" => PlanKind::Emergency,
            other => return Err(corrupt("plan kind", other.to_owned())),
        },
        personal_data: row.try_get("personal_data")?,
        data_deletion: row.try_get("data_deletion")?,
        attestation: match (
            row.try_get::<Option<String>, _>("attested_by")?,
            time_opt(row, "attested_at")?,
            row.try_get::<Option<String>, _>("attestation")?,
        ) {
            (Some(by), Some(at), Some(note)) => Some(Attestation {
                by: by.parse().map_err(|_| corrupt("attested_by", by.clone()))?,
                at,
                note,
            }),
            _ => None,
        },
        closed_at: time_opt(row, "closed_at")?,
        reported_at: time_opt(row, "reported_at")?,
        confirmation: match (
            row.try_get::<Option<String>, _>("confirmed_by")?,
            time_opt(row, "confirmed_at")?,
        ) {
            (Some(by), Some(at)) => Some(Confirmation {
                by,
                at,
                note: row.try_get("confirmation")?,
            }),
            _ => None,
        },
        take_out: match row.try_get::<Option<String>, _>("take_out")? {
            Some(text) => {
                Some(serde_json::from_str(&text).map_err(|e| corrupt("take_out", e.to_string()))?)
            }
            None => None,
        },
        withdrawal: match (
            row.try_get::<Option<String>, _>("withdrawn_by")?,
            time_opt(row, "withdrawn_at")?,
            row.try_get::<Option<String>, _>("withdrawal_reason")?,
        ) {
            (Some(by), Some(at), Some(reason)) => Some(Withdrawal {
                by: by
                    .parse()
                    .map_err(|_| corrupt("withdrawn_by", by.clone()))?,
                at,
                reason,
            }),
            _ => None,
        },
    })
}

/// Inside a session's end: an emergency plan covers only the session that opened it
/// (R-11-1), so it closes with it (`plan.closed`, cause `emergency_session_ended`). Other
/// plans are left alone.
pub(super) async fn close_emergency_in(
    conn: &mut AnyConnection,
    id: &PlanId,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let changed = sqlx::query(
        "UPDATE plans SET status = $2, closed_at = $3 WHERE id = $1 AND kind = 'emergency' \
         AND status = $4",
    )
    .bind(id.to_string())
    .bind(PlanStatus::Closed.as_str())
    .bind(to_micros(at))
    .bind(PlanStatus::Active.as_str())
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() == 1 {
        let event = AuditEvent::new(AuditKind::PlanClosed, Actor::System, id.to_string())
            .with_detail(
                json!({ "cause": "emergency_session_ended", "closed_at": format_time(at) }),
            );
        audit_log::append(conn, &event).await?;
    }
    Ok(())
}

/// Inside a session's start: the plan's first session makes it active (`plan.activated`).
pub(super) async fn activate_in(
    conn: &mut AnyConnection,
    id: &PlanId,
    engineer: &Login,
) -> Result<()> {
    let changed = sqlx::query("UPDATE plans SET status = $2 WHERE id = $1 AND status = $3")
        .bind(id.to_string())
        .bind(PlanStatus::Active.as_str())
        .bind(PlanStatus::Approved.as_str())
        .execute(&mut *conn)
        .await?;
    if changed.rows_affected() == 1 {
        let event = AuditEvent::new(
            AuditKind::PlanActivated,
            Actor::Person(engineer.clone()),
            id.to_string(),
        );
        audit_log::append(conn, &event).await?;
    }
    Ok(())
}

/// A JSON text column, parsed (names are checked again as they deserialise).
fn json_column<T: DeserializeOwned>(row: &AnyRow, col: &'static str) -> Result<T> {
    let text: String = row.try_get(col)?;
    serde_json::from_str(&text).map_err(|e| corrupt(col, e.to_string()))
}
