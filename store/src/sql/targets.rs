//! Target servers: address, pinned host key or RDP certificate, tags, and the credential sealed under the
//! master key. Removal is soft, and a name is never reused.

use policy::ids::TargetName;
use policy::target::{SshAddress, Tag, TargetAuth, TargetPin};
use secrecy::{ExposeSecret, SecretBox};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::convert::{corrupt, now, parsed, time, to_micros};
use super::{SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind};
use crate::error::{Error, Result};
use crate::model::{Actor, NewTarget, Target};

pub(super) const COLUMNS: &str =
    "name, protocol, host, port, login, auth, host_key, tags, created_at, shared_admin_reason";

/// The context a target's credential is sealed under, so a sealed value copied into another
/// target's row fails to open.
pub(super) fn credential_context(name: &TargetName) -> String {
    format!("target:{name}")
}

impl SqlStore {
    pub(super) async fn insert_target(&self, new: NewTarget, actor: &Actor) -> Result<Target> {
        if new.credential.is_some() != new.auth.needs_credential() {
            return Err(Error::CredentialMismatch { auth: new.auth });
        }
        let sealed = new
            .credential
            .as_ref()
            .map(|c| {
                self.master_key
                    .seal(&credential_context(&new.name), c.expose_secret())
            })
            .transpose()?;
        let target = Target {
            name: new.name,
            protocol: new.pin.protocol(),
            address: new.address,
            login: new.login,
            auth: new.auth,
            pin: new.pin,
            tags: new.tags,
            created_at: now(),
            shared_admin_reason: new.shared_admin_reason,
        };
        let name = target.name.as_str();
        let mut tx = self.write().await?;
        let existing = sqlx::query("SELECT removed_at FROM targets WHERE name = $1")
            .bind(name)
            .fetch_optional(tx.conn())
            .await?;
        if let Some(row) = existing {
            let removed: Option<i64> = row.try_get("removed_at")?;
            let name = name.to_owned();
            return Err(match removed {
                Some(_) => Error::NameRetired {
                    kind: "target",
                    name,
                },
                None => Error::AlreadyExists {
                    kind: "target",
                    name,
                },
            });
        }
        sqlx::query(
            "INSERT INTO targets (name, protocol, host, port, login, auth, credential_sealed, \
             host_key, tags, created_at, shared_admin_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(name)
        .bind(target.protocol.as_str())
        .bind(&target.address.host)
        .bind(i64::from(target.address.port))
        .bind(&target.login)
        .bind(target.auth.as_str())
        .bind(sealed)
        .bind(target.pin.to_string())
        .bind(json!(target.tags).to_string())
        .bind(to_micros(target.created_at))
        .bind(target.shared_admin_reason.as_deref())
        .execute(tx.conn())
        .await?;
        // The public host key and its fingerprint are recorded; the credential never is.
        let mut detail = json!({
                "protocol": target.protocol.as_str(),
                "address": target.address.to_string(),
                "login": target.login,
                "auth": target.auth.as_str(),
                "host_key": target.pin.to_string(),
                "host_key_fingerprint": target.pin.fingerprint(),
                "tags": target.tags,
        });
        // R-10.1-NODEFAULT: a factory account as the login is on record with its reason.
        if let (Some(reason), Some(map)) = (&target.shared_admin_reason, detail.as_object_mut()) {
            map.insert("shared_admin_reason".to_owned(), json!(reason));
        }
        let event =
            AuditEvent::new(AuditKind::TargetAdded, actor.clone(), name).with_detail(detail);
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(target)
    }

    pub(super) async fn select_target(&self, name: &TargetName) -> Result<Option<Target>> {
        let sql = format!("SELECT {COLUMNS} FROM targets WHERE name = $1 AND removed_at IS NULL");
        let row = sqlx::query(&sql)
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(target).transpose()
    }

    pub(super) async fn select_targets(&self) -> Result<Vec<Target>> {
        let sql = format!("SELECT {COLUMNS} FROM targets WHERE removed_at IS NULL ORDER BY name");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(target).collect()
    }

    pub(super) async fn soft_remove_target(
        &self,
        name: &TargetName,
        actor: &Actor,
    ) -> Result<Target> {
        let mut tx = self.write().await?;
        let sql = format!("SELECT {COLUMNS} FROM targets WHERE name = $1 AND removed_at IS NULL");
        let Some(row) = sqlx::query(&sql)
            .bind(name.as_str())
            .fetch_optional(tx.conn())
            .await?
        else {
            return Err(Error::NotFound {
                kind: "target",
                name: name.to_string(),
            });
        };
        let removed = target(&row)?;
        // The sealed credential goes with the removal: nothing can log in with it any more,
        // and a stolen backup taken afterwards doesn't hold it.
        sqlx::query(
            "UPDATE targets SET removed_at = $2, credential_sealed = NULL \
             WHERE name = $1 AND removed_at IS NULL",
        )
        .bind(name.as_str())
        .bind(to_micros(now()))
        .execute(tx.conn())
        .await?;
        let event = AuditEvent::new(AuditKind::TargetRemoved, actor.clone(), name.as_str())
            .with_detail(json!({
                "address": removed.address.to_string(),
                "login": removed.login,
                "auth": removed.auth.as_str(),
            }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(removed)
    }

    pub(super) async fn select_target_credential(
        &self,
        name: &TargetName,
    ) -> Result<Option<SecretBox<Vec<u8>>>> {
        let row = sqlx::query(
            "SELECT credential_sealed FROM targets WHERE name = $1 AND removed_at IS NULL",
        )
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(sealed) = row
            .map(|r| r.try_get::<Option<Vec<u8>>, _>("credential_sealed"))
            .transpose()?
            .flatten()
        else {
            return Ok(None);
        };
        // Fail closed: a credential that doesn't open (wrong key, tampered row, row copied
        // from another target) is an error, never an empty credential.
        let mut opened = self.master_key.open(&credential_context(name), &sealed)?;
        Ok(Some(SecretBox::new(Box::new(std::mem::take(&mut *opened)))))
    }

    pub(super) async fn target_is_active(&self, name: &TargetName) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM targets WHERE name = $1 AND removed_at IS NULL")
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}

pub(super) fn target(row: &AnyRow) -> Result<Target> {
    use policy::target::TargetProtocol;
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
    let port: i64 = row.try_get("port")?;
    let port = u16::try_from(port).map_err(|_| corrupt("targets.port", port.to_string()))?;
    let tags: Vec<Tag> = serde_json::from_str(&row.try_get::<String, _>("tags")?)
        .map_err(|e| corrupt("targets.tags", e.to_string()))?;
    Ok(Target {
        name: parsed(row, "name")?,
        protocol,
        address: SshAddress {
            host: row.try_get("host")?,
            port,
        },
        login: row.try_get("login")?,
        auth: parsed::<TargetAuth>(row, "auth")?,
        pin: TargetPin::parse(protocol, &row.try_get::<String, _>("host_key")?)
            .map_err(|e| corrupt("targets.host_key", e))?,
        tags,
        created_at: time(row, "created_at")?,
        shared_admin_reason: row.try_get("shared_admin_reason")?,
    })
}
