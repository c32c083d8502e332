//! `target update`: a registered target's address, login, credential or pin changed in
//! place (issue 13) — a reinstalled server's new host key, a rotated password — so its
//! name, plans and history stay. What changed is audited (`target.updated`); the
//! credential never is.

use policy::ids::TargetName;
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};

use super::targets::{COLUMNS, credential_context, target};
use super::{SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind};
use crate::error::{Error, Result};
use crate::model::{Actor, Target, TargetUpdate};

impl SqlStore {
    pub(super) async fn write_target_update(
        &self,
        name: &TargetName,
        update: TargetUpdate,
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
        let before = target(&row)?;
        let mut after = before.clone();
        let mut changed = Map::new();
        if let Some(address) = update.address {
            changed.insert(
                "address".to_owned(),
                json!({ "from": before.address.to_string(), "to": address.to_string() }),
            );
            after.address = address;
        }
        if let Some((login, reason)) = update.login {
            changed.insert(
                "login".to_owned(),
                json!({ "from": before.login, "to": login }),
            );
            if let Some(reason) = &reason {
                changed.insert("shared_admin_reason".to_owned(), json!(reason));
            }
            after.login = login;
            after.shared_admin_reason = reason;
        }
        if let Some(pin) = update.pin {
            if pin.protocol() != before.protocol {
                return Err(Error::InvalidTransition {
                    kind: "target",
                    name: name.to_string(),
                    from: before.protocol.as_str().to_owned(),
                    to: pin.protocol().as_str().to_owned(),
                });
            }
            changed.insert(
                "host_key".to_owned(),
                json!({
                    "from": before.pin.to_string(),
                    "to": pin.to_string(),
                    "from_fingerprint": before.pin.fingerprint(),
                    "to_fingerprint": pin.fingerprint(),
                }),
            );
            after.pin = pin;
        }
        let sealed = match &update.credential {
            None => None,
            Some((auth, credential)) => {
                if credential.is_some() != auth.needs_credential() {
                    return Err(Error::CredentialMismatch { auth: *auth });
                }
                // What changed is on record; the credential itself never is.
                changed.insert(
                    "credential".to_owned(),
                    json!({ "auth_from": before.auth.as_str(), "auth_to": auth.as_str() }),
                );
                after.auth = *auth;
                Some(
                    credential
                        .as_ref()
                        .map(|c| {
                            self.master_key
                                .seal(&credential_context(name), c.expose_secret())
                        })
                        .transpose()?,
                )
            }
        };
        if changed.is_empty() {
            return Ok(before);
        }
        sqlx::query(
            "UPDATE targets SET host = $2, port = $3, login = $4, auth = $5, host_key = $6, \
             shared_admin_reason = $7 WHERE name = $1",
        )
        .bind(name.as_str())
        .bind(&after.address.host)
        .bind(i64::from(after.address.port))
        .bind(&after.login)
        .bind(after.auth.as_str())
        .bind(after.pin.to_string())
        .bind(after.shared_admin_reason.as_deref())
        .execute(tx.conn())
        .await?;
        if let Some(sealed) = sealed {
            sqlx::query("UPDATE targets SET credential_sealed = $2 WHERE name = $1")
                .bind(name.as_str())
                .bind(sealed)
                .execute(tx.conn())
                .await?;
        }
        let event = AuditEvent::new(AuditKind::TargetUpdated, actor.clone(), name.as_str())
            .with_detail(Value::Object(changed));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(after)
    }
}
