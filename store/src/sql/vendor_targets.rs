//! The targets each vendor is contracted for (R-11-1): an engineer declares an emergency
//! only on one of their vendor's targets. Also the facts an emergency is decided on.

use policy::ids::{Login, TargetName, VendorName};
use policy::plan::emergency::EmergencyFacts;
use serde_json::json;
use sqlx::{AnyConnection, Row};

use super::convert::{now, parsed, to_micros};
use super::{SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind};
use crate::error::{Error, Result};
use crate::model::Actor;

/// The tag that marks a target holding personal data (R-10-2).
pub(super) const PERSONAL_DATA_TAG: &str = "personal-data";

impl SqlStore {
    pub(super) async fn insert_vendor_targets(
        &self,
        vendor: &VendorName,
        targets: &[TargetName],
        actor: &Actor,
    ) -> Result<Vec<TargetName>> {
        let mut tx = self.write().await?;
        vendor_exists(tx.conn(), vendor).await?;
        let mut added = Vec::new();
        for target in targets {
            let active =
                sqlx::query("SELECT 1 FROM targets WHERE name = $1 AND removed_at IS NULL")
                    .bind(target.as_str())
                    .fetch_optional(tx.conn())
                    .await?;
            if active.is_none() {
                return Err(Error::NotFound {
                    kind: "target",
                    name: target.to_string(),
                });
            }
            if is_listed(tx.conn(), vendor, target).await? || added.contains(target) {
                continue;
            }
            sqlx::query(
                "INSERT INTO vendor_targets (vendor, target, added_at) VALUES ($1, $2, $3)",
            )
            .bind(vendor.as_str())
            .bind(target.as_str())
            .bind(to_micros(now()))
            .execute(tx.conn())
            .await?;
            let event =
                AuditEvent::new(AuditKind::VendorTargetAdded, actor.clone(), vendor.as_str())
                    .with_detail(json!({ "target": target.as_str() }));
            audit_log::append(tx.conn(), &event).await?;
            added.push(target.clone());
        }
        tx.commit().await?;
        Ok(added)
    }

    pub(super) async fn delete_vendor_targets(
        &self,
        vendor: &VendorName,
        targets: &[TargetName],
        actor: &Actor,
    ) -> Result<Vec<TargetName>> {
        let mut tx = self.write().await?;
        vendor_exists(tx.conn(), vendor).await?;
        let mut removed = Vec::new();
        for target in targets {
            let changed =
                sqlx::query("DELETE FROM vendor_targets WHERE vendor = $1 AND target = $2")
                    .bind(vendor.as_str())
                    .bind(target.as_str())
                    .execute(tx.conn())
                    .await?;
            if changed.rows_affected() == 0 {
                if removed.contains(target) {
                    continue;
                }
                return Err(Error::NotFound {
                    kind: "contracted target",
                    name: format!("{vendor}/{target}"),
                });
            }
            let event = AuditEvent::new(
                AuditKind::VendorTargetRemoved,
                actor.clone(),
                vendor.as_str(),
            )
            .with_detail(json!({ "target": target.as_str() }));
            audit_log::append(tx.conn(), &event).await?;
            removed.push(target.clone());
        }
        tx.commit().await?;
        Ok(removed)
    }

    pub(super) async fn select_vendor_targets(
        &self,
        vendor: &VendorName,
    ) -> Result<Vec<TargetName>> {
        let rows =
            sqlx::query("SELECT target FROM vendor_targets WHERE vendor = $1 ORDER BY target")
                .bind(vendor.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|row| parsed(row, "target")).collect()
    }

    pub(super) async fn select_emergency_facts(
        &self,
        engineer: &Login,
        target: &TargetName,
    ) -> Result<EmergencyFacts> {
        // The engineer's vendor, whether it allows emergencies, and whether this target —
        // registered, not removed — is on its list; one row or none.
        let row = sqlx::query(
            "SELECT v.name AS vendor, v.emergency_allowed AS allows, \
             (SELECT t.tags FROM vendor_targets vt JOIN targets t ON t.name = vt.target \
              WHERE vt.vendor = v.name AND vt.target = $2 AND t.removed_at IS NULL) AS tags \
             FROM accounts a JOIN vendors v ON v.name = a.vendor \
             WHERE a.login = $1 AND a.kind = 'engineer'",
        )
        .bind(engineer.as_str())
        .bind(target.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let (vendor, tags) = match row {
            Some(row) => {
                let name: VendorName = parsed(&row, "vendor")?;
                let allows = super::convert::flag(&row, "allows")?;
                let tags: Option<String> = row.try_get("tags")?;
                (Some((name, allows)), tags)
            }
            None => (None, None),
        };
        let personal_data = match &tags {
            Some(text) => serde_json::from_str::<Vec<String>>(text)
                .map_err(|e| super::convert::corrupt("targets.tags", e.to_string()))?
                .iter()
                .any(|t| t == PERSONAL_DATA_TAG),
            None => false,
        };
        Ok(EmergencyFacts {
            vendor,
            contracted: tags.is_some(),
            personal_data,
            plans: self.select_plans_for_engineer(engineer).await?,
        })
    }

    /// Whether the target is registered, not removed, and tagged `personal-data`.
    pub(super) async fn target_holds_personal_data(&self, target: &TargetName) -> Result<bool> {
        Ok(self
            .select_target(target)
            .await?
            .is_some_and(|t| t.tags.iter().any(|tag| tag.as_str() == PERSONAL_DATA_TAG)))
    }
}

async fn vendor_exists(conn: &mut AnyConnection, vendor: &VendorName) -> Result<()> {
    let row = sqlx::query("SELECT 1 FROM vendors WHERE name = $1")
        .bind(vendor.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(_) => Ok(()),
        None => Err(Error::NotFound {
            kind: "vendor",
            name: vendor.to_string(),
        }),
    }
}

async fn is_listed(
    conn: &mut AnyConnection,
    vendor: &VendorName,
    target: &TargetName,
) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM vendor_targets WHERE vendor = $1 AND target = $2")
        .bind(vendor.as_str())
        .bind(target.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}
