//! Vendor companies and the networks their engineers may connect from.

use ipnet::IpNet;
use policy::ids::VendorName;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::convert::{corrupt, flag, now, on_duplicate, parsed, time, to_micros};
use super::{SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind};
use crate::error::Result;
use crate::model::{Actor, NewVendor, Vendor};

const COLUMNS: &str = "name, allow_from, emergency_allowed, created_at, enabled, contract_end";

impl SqlStore {
    pub(super) async fn insert_vendor(&self, vendor: NewVendor, actor: &Actor) -> Result<Vendor> {
        let created = Vendor {
            name: vendor.name,
            allow_from: vendor.allow_from,
            emergency_allowed: vendor.emergency_allowed,
            created_at: now(),
            enabled: true,
            contract_end: None,
        };
        let name = created.name.as_str();
        let mut tx = self.write().await?;
        sqlx::query("INSERT INTO vendors (name, allow_from, emergency_allowed, created_at) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(allow_list_to_db(&created.allow_from))
            .bind(created.emergency_allowed)
            .bind(to_micros(created.created_at))
            .execute(tx.conn())
            .await
            .map_err(on_duplicate("vendor", name))?;
        let event =
            AuditEvent::new(AuditKind::VendorAdded, actor.clone(), name).with_detail(json!({
                "allow_from": created.allow_from,
                "emergency_allowed": created.emergency_allowed,
            }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(created)
    }

    pub(super) async fn select_vendor(&self, name: &VendorName) -> Result<Option<Vendor>> {
        let sql = format!("SELECT {COLUMNS} FROM vendors WHERE name = $1");
        let row = sqlx::query(&sql)
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(vendor).transpose()
    }

    pub(super) async fn select_vendors(&self) -> Result<Vec<Vendor>> {
        let sql = format!("SELECT {COLUMNS} FROM vendors ORDER BY name");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(vendor).collect()
    }
}

/// An allow list as stored: a JSON array of CIDR strings.
pub(super) fn allow_list_to_db(nets: &[IpNet]) -> String {
    json!(nets).to_string()
}

/// A stored allow list.
pub(super) fn allow_list_from_db(text: &str) -> Result<Vec<IpNet>> {
    serde_json::from_str(text).map_err(|e| corrupt("vendors.allow_from", e.to_string()))
}

fn vendor(row: &AnyRow) -> Result<Vendor> {
    Ok(Vendor {
        name: parsed(row, "name")?,
        allow_from: allow_list_from_db(&row.try_get::<String, _>("allow_from")?)?,
        emergency_allowed: flag(row, "emergency_allowed")?,
        created_at: time(row, "created_at")?,
        enabled: flag(row, "enabled")?,
        contract_end: super::convert::time_opt(row, "contract_end")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_round_trip() {
        let nets: Vec<IpNet> = vec![
            "192.0.2.0/24".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ];
        let text = allow_list_to_db(&nets);
        assert_eq!(text, r#"["192.0.2.0/24","2001:db8::/32"]"#);
        assert_eq!(allow_list_from_db(&text).unwrap(), nets);
        assert_eq!(allow_list_from_db("[]").unwrap(), vec![]);
        assert!(allow_list_from_db("nonsense").is_err());
    }
}
