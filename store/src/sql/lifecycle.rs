//! Account and vendor life cycle (R-14-8, §14.2): disable and enable, the vendor's contract
//! end and settings, password resets and changes (§14 ⑥(4)(5)), TOTP re-enrolment
//! (R-14-3), role changes and lifting a lock-out (R-14-6(6)). Each change is stored with
//! its audit record in one transaction; no secret goes into the trail.

use chrono::{DateTime, Utc};
use policy::ids::{Login, OperatorRole, VendorName};
use policy::lockout::{self, FailureState};
use policy::password::PasswordHash;
use policy::totp::TotpSecret;
use serde_json::{Map, Value, json};
use sqlx::Row;

use super::accounts::totp_context;
use super::convert::{count_from_db, from_micros_opt, to_micros};
use super::vendors::allow_list_to_db;
use super::{Backend, SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind, format_time};
use crate::error::{Error, Result};
use crate::model::{Account, Actor, PasswordSet, Vendor, VendorChange};

impl SqlStore {
    pub(super) async fn write_account_enabled(
        &self,
        login: &Login,
        enabled: bool,
        actor: &Actor,
    ) -> Result<Account> {
        let mut tx = self.write().await?;
        let changed = sqlx::query("UPDATE accounts SET enabled = $2 WHERE login = $1")
            .bind(login.as_str())
            .bind(enabled)
            .execute(tx.conn())
            .await?;
        not_found_if_none(changed.rows_affected(), "account", login.as_str())?;
        let kind = if enabled {
            AuditKind::AccountEnabled
        } else {
            AuditKind::AccountDisabled
        };
        audit_log::append(
            tx.conn(),
            &AuditEvent::new(kind, actor.clone(), login.as_str()),
        )
        .await?;
        tx.commit().await?;
        self.select_account(login).await?.ok_or(Error::NotFound {
            kind: "account",
            name: login.to_string(),
        })
    }

    pub(super) async fn write_vendor_change(
        &self,
        name: &VendorName,
        change: &VendorChange,
        actor: &Actor,
    ) -> Result<Vendor> {
        let Some(before) = self.select_vendor(name).await? else {
            return Err(Error::NotFound {
                kind: "vendor",
                name: name.to_string(),
            });
        };
        let after = Vendor {
            enabled: change.enabled.unwrap_or(before.enabled),
            contract_end: change.contract_end.unwrap_or(before.contract_end),
            allow_from: change
                .allow_from
                .clone()
                .unwrap_or_else(|| before.allow_from.clone()),
            emergency_allowed: change.emergency_allowed.unwrap_or(before.emergency_allowed),
            ..before.clone()
        };
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE vendors SET enabled = $2, contract_end = $3, allow_from = $4, \
             emergency_allowed = $5 WHERE name = $1",
        )
        .bind(name.as_str())
        .bind(after.enabled)
        .bind(after.contract_end.map(to_micros))
        .bind(allow_list_to_db(&after.allow_from))
        .bind(after.emergency_allowed)
        .execute(tx.conn())
        .await?;
        // The detail names what changed, from what to what.
        let mut detail = Map::new();
        if before.enabled != after.enabled {
            detail.insert("enabled".into(), json!(after.enabled));
        }
        if before.contract_end != after.contract_end {
            detail.insert(
                "contract_end".into(),
                json!(after.contract_end.map(format_time)),
            );
        }
        if before.allow_from != after.allow_from {
            detail.insert("allow_from".into(), json!(after.allow_from));
        }
        if before.emergency_allowed != after.emergency_allowed {
            detail.insert("emergency_allowed".into(), json!(after.emergency_allowed));
        }
        let event = AuditEvent::new(AuditKind::VendorChanged, actor.clone(), name.as_str())
            .with_detail(Value::Object(detail));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub(super) async fn write_password(
        &self,
        login: &Login,
        hash: &PasswordHash,
        how: &PasswordSet,
        actor: &Actor,
    ) -> Result<()> {
        let (must_change, kind, detail) = match how {
            PasswordSet::ResetByOperator { note } => (
                true,
                AuditKind::PasswordReset,
                json!({ "identity_check": note }),
            ),
            PasswordSet::ChangedByOwner => (false, AuditKind::PasswordChanged, json!({})),
        };
        let mut tx = self.write().await?;
        // A reset also clears the lock-out: the person proved who they are to the operator.
        let changed = sqlx::query(
            "UPDATE accounts SET password_hash = $2, must_change_password = $3, \
             failed_count = 0, locked_until = NULL WHERE login = $1",
        )
        .bind(login.as_str())
        .bind(hash.as_phc())
        .bind(must_change)
        .execute(tx.conn())
        .await?;
        not_found_if_none(changed.rows_affected(), "account", login.as_str())?;
        let event = AuditEvent::new(kind, actor.clone(), login.as_str()).with_detail(detail);
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn write_totp_secret(
        &self,
        login: &Login,
        secret: &TotpSecret,
        note: &str,
        actor: &Actor,
    ) -> Result<()> {
        let sealed = self
            .master_key
            .seal(&totp_context(login), secret.expose_bytes())?;
        let mut tx = self.write().await?;
        // The old device's codes die with its secret; the replay guard keeps the last
        // step, so a code of the new secret in the same step is still taken once only.
        let changed = sqlx::query(
            "UPDATE accounts SET totp_secret_sealed = $2, failed_count = 0, locked_until = NULL \
             WHERE login = $1",
        )
        .bind(login.as_str())
        .bind(sealed)
        .execute(tx.conn())
        .await?;
        not_found_if_none(changed.rows_affected(), "account", login.as_str())?;
        let event = AuditEvent::new(AuditKind::TotpReset, actor.clone(), login.as_str())
            .with_detail(json!({ "identity_check": note }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn write_role(
        &self,
        login: &Login,
        role: OperatorRole,
        actor: &Actor,
    ) -> Result<Account> {
        let Some(before) = self.select_account(login).await? else {
            return Err(Error::NotFound {
                kind: "account",
                name: login.to_string(),
            });
        };
        let Some(from) = before.role else {
            return Err(Error::NotFound {
                kind: "operator account",
                name: login.to_string(),
            });
        };
        let mut tx = self.write().await?;
        // Compare-and-set on the role read, so a concurrent change is not silently undone.
        let changed = sqlx::query("UPDATE accounts SET role = $2 WHERE login = $1 AND role = $3")
            .bind(login.as_str())
            .bind(role.as_str())
            .bind(from.as_str())
            .execute(tx.conn())
            .await?;
        if changed.rows_affected() != 1 {
            return Err(Error::InvalidTransition {
                kind: "account role",
                name: login.to_string(),
                from: from.to_string(),
                to: role.to_string(),
            });
        }
        let event = AuditEvent::new(AuditKind::RoleChanged, actor.clone(), login.as_str())
            .with_detail(json!({ "from": from.as_str(), "to": role.as_str() }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(Account {
            role: Some(role),
            ..before
        })
    }
}

impl SqlStore {
    pub(super) async fn write_unlock(
        &self,
        login: &Login,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Account> {
        let select = match self.backend {
            Backend::Postgres => {
                "SELECT failed_count, locked_until FROM accounts WHERE login = $1 FOR UPDATE"
            }
            Backend::Sqlite => "SELECT failed_count, locked_until FROM accounts WHERE login = $1",
        };
        let mut tx = self.write().await?;
        let Some(row) = sqlx::query(select)
            .bind(login.as_str())
            .fetch_optional(tx.conn())
            .await?
        else {
            return Err(Error::NotFound {
                kind: "account",
                name: login.to_string(),
            });
        };
        let state = FailureState {
            consecutive_failures: count_from_db(
                "accounts.failed_count",
                row.try_get("failed_count")?,
            )?,
            locked_until: from_micros_opt("accounts.locked_until", row.try_get("locked_until")?)?,
        };
        // Read and changed under the row's lock: of two racing unlocks, or an unlock racing
        // the lock's end, exactly one record says the lock was lifted.
        let Some(until) = state
            .locked_until
            .filter(|_| lockout::is_locked(&state, now))
        else {
            return Err(Error::InvalidTransition {
                kind: "account",
                name: login.to_string(),
                from: "not locked".to_owned(),
                to: "unlocked".to_owned(),
            });
        };
        sqlx::query("UPDATE accounts SET failed_count = 0, locked_until = NULL WHERE login = $1")
            .bind(login.as_str())
            .execute(tx.conn())
            .await?;
        let event = AuditEvent::new(AuditKind::AccountUnlocked, actor.clone(), login.as_str())
            .with_detail(json!({ "locked_until": format_time(until) }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        self.select_account(login).await?.ok_or(Error::NotFound {
            kind: "account",
            name: login.to_string(),
        })
    }

    pub(super) async fn write_password_change_request(
        &self,
        login: &Login,
        actor: &Actor,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let changed = sqlx::query("UPDATE accounts SET must_change_password = $2 WHERE login = $1")
            .bind(login.as_str())
            .bind(true)
            .execute(tx.conn())
            .await?;
        not_found_if_none(changed.rows_affected(), "account", login.as_str())?;
        let event = AuditEvent::new(
            AuditKind::PasswordChangeRequested,
            actor.clone(),
            login.as_str(),
        );
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn not_found_if_none(rows: u64, kind: &'static str, name: &str) -> Result<()> {
    if rows == 0 {
        return Err(Error::NotFound {
            kind,
            name: name.to_owned(),
        });
    }
    Ok(())
}
