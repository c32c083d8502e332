//! Engineer and operator accounts, and the credentials a login check reads.

use policy::ids::{AccountKind, Login};
use policy::lockout::FailureState;
use policy::password::PasswordHash;
use policy::totp::{TimeStep, TotpSecret};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::convert::{
    corrupt, count_from_db, flag, now, on_duplicate, parsed, parsed_opt, time, time_opt, to_micros,
};
use super::vendors::allow_list_from_db;
use super::{SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind};
use crate::error::{Error, Result};
use crate::model::{Account, Actor, Credentials, NewAccount};

/// Account columns, qualified so they can be joined with `vendors`.
const COLUMNS: &str = "a.login, a.kind, a.display_name, a.vendor, a.role, a.enabled, a.created_at, \
     a.locked_until, a.must_change_password";

/// The context a login's TOTP secret is sealed under, so a sealed value copied into another
/// account's row fails to open.
pub(super) fn totp_context(login: &Login) -> String {
    format!("totp:{login}")
}

impl SqlStore {
    pub(super) async fn insert_account(&self, new: NewAccount, actor: &Actor) -> Result<Account> {
        let sealed = self
            .master_key
            .seal(&totp_context(&new.login), new.totp_secret.expose_bytes())?;
        let account = Account {
            login: new.login,
            kind: new.kind,
            display_name: new.display_name,
            vendor: new.vendor,
            role: new.role,
            enabled: true,
            created_at: now(),
            locked_until: None,
            // The operator typed an engineer's first password: the engineer's first login
            // replaces it with their own (§14 ⑥(5), R-14-8). Operators log in only at the
            // console, which has no such round yet.
            must_change_password: new.kind == AccountKind::Engineer,
        };
        let login = account.login.as_str();
        let mut tx = self.write().await?;
        // An engineer belongs to a vendor, whose allow list then applies (R-10.2-PATH);
        // an engineer without one would slip past it, so that fails closed too.
        match (&account.vendor, account.kind) {
            (Some(vendor), _) => {
                let found = sqlx::query("SELECT 1 FROM vendors WHERE name = $1")
                    .bind(vendor.as_str())
                    .fetch_optional(tx.conn())
                    .await?;
                if found.is_none() {
                    return Err(Error::NotFound {
                        kind: "vendor",
                        name: vendor.to_string(),
                    });
                }
            }
            (None, AccountKind::Engineer) => {
                return Err(Error::NotFound {
                    kind: "vendor of engineer",
                    name: login.to_owned(),
                });
            }
            (None, AccountKind::Operator) => {}
        }
        sqlx::query(
            "INSERT INTO accounts (login, kind, display_name, vendor, role, password_hash, \
             totp_secret_sealed, failed_count, enabled, created_at, must_change_password) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10)",
        )
        .bind(login)
        .bind(account.kind.as_str())
        .bind(account.display_name.as_deref())
        .bind(account.vendor.as_ref().map(|v| v.as_str()))
        .bind(account.role.map(|r| r.as_str()))
        .bind(new.password_hash.as_phc())
        .bind(sealed)
        .bind(account.enabled)
        .bind(to_micros(account.created_at))
        .bind(account.must_change_password)
        .execute(tx.conn())
        .await
        .map_err(on_duplicate("account", login))?;
        // No secret in the detail: neither the hash nor the TOTP secret.
        let event =
            AuditEvent::new(AuditKind::AccountAdded, actor.clone(), login).with_detail(json!({
                "kind": account.kind.as_str(),
                "vendor": account.vendor.as_ref().map(|v| v.as_str()),
                "role": account.role.map(|r| r.as_str()),
                "must_change_password": account.must_change_password,
            }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(account)
    }

    pub(super) async fn select_account(&self, login: &Login) -> Result<Option<Account>> {
        let sql = format!("SELECT {COLUMNS} FROM accounts a WHERE a.login = $1");
        let row = sqlx::query(&sql)
            .bind(login.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account).transpose()
    }

    pub(super) async fn select_accounts(&self, kind: Option<AccountKind>) -> Result<Vec<Account>> {
        let rows = match kind {
            Some(kind) => {
                let sql =
                    format!("SELECT {COLUMNS} FROM accounts a WHERE a.kind = $1 ORDER BY a.login");
                sqlx::query(&sql)
                    .bind(kind.as_str())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!("SELECT {COLUMNS} FROM accounts a ORDER BY a.login");
                sqlx::query(&sql).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(account).collect()
    }

    pub(super) async fn select_credentials(&self, login: &Login) -> Result<Option<Credentials>> {
        let sql = format!(
            "SELECT {COLUMNS}, a.password_hash, a.totp_secret_sealed, a.last_totp_step, a.failed_count, \
             v.allow_from, v.enabled AS vendor_enabled, v.contract_end FROM accounts a LEFT JOIN vendors v ON v.name = a.vendor WHERE a.login = $1"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(login.as_str())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let account = account(&row)?;
        // Fail closed: a secret that doesn't open (wrong key, tampered row, row copied from
        // another account) is an error, never an empty or default secret.
        let sealed: Vec<u8> = row.try_get("totp_secret_sealed")?;
        let secret = self
            .master_key
            .open(&totp_context(&account.login), &sealed)?;
        let last_step: Option<i64> = row.try_get("last_totp_step")?;
        let last_totp_step = last_step
            .map(|s| {
                u64::try_from(s)
                    .map(TimeStep)
                    .map_err(|_| corrupt("accounts.last_totp_step", s.to_string()))
            })
            .transpose()?;
        let allow_from = match row.try_get::<Option<String>, _>("allow_from")? {
            Some(text) => allow_list_from_db(&text)?,
            None => Vec::new(),
        };
        let failures = FailureState {
            consecutive_failures: count_from_db(
                "accounts.failed_count",
                row.try_get("failed_count")?,
            )?,
            locked_until: account.locked_until,
        };
        let vendor_enabled = match row.try_get::<Option<String>, _>("allow_from")? {
            Some(_) => flag(&row, "vendor_enabled")?,
            None => true,
        };
        let contract_end = time_opt(&row, "contract_end")?;
        Ok(Some(Credentials {
            vendor_enabled,
            contract_end,
            password_hash: PasswordHash::from_phc(row.try_get("password_hash")?),
            totp_secret: TotpSecret::from_bytes(secret.to_vec()),
            last_totp_step,
            failures,
            allow_from,
            account,
        }))
    }
}

fn account(row: &AnyRow) -> Result<Account> {
    let kind = match row.try_get::<String, _>("kind")?.as_str() {
        "engineer" => AccountKind::Engineer,
        "operator" => AccountKind::Operator,
        other => return Err(corrupt("accounts.kind", format!("unknown kind {other:?}"))),
    };
    Ok(Account {
        login: parsed(row, "login")?,
        kind,
        display_name: row.try_get("display_name")?,
        vendor: parsed_opt(row, "vendor")?,
        role: parsed_opt(row, "role")?,
        enabled: flag(row, "enabled")?,
        created_at: time(row, "created_at")?,
        locked_until: time_opt(row, "locked_until")?,
        must_change_password: flag(row, "must_change_password")?,
    })
}
