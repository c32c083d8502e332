//! Recording login outcomes: the TOTP step claim on success (R-10.2-2FA: a code is accepted
//! once only) and the failure count and lock-out on failure (R-14-6(6)). `policy` decides;
//! this stores the decision atomically with its audit records.

use chrono::{DateTime, Utc};
use policy::ids::Login;
use policy::lockout::{AfterFailure, FailureState, LockoutPolicy, after_failure};
use policy::login::LoginRejection;
use policy::totp::TimeStep;
use serde_json::{Value, json};
use sqlx::Row;

use super::convert::{count_from_db, from_micros, from_micros_opt, parse, to_micros};
use super::{Backend, SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind, format_time};
use crate::error::{Error, Result};
use crate::model::{Actor, FailureRecorded, LoginAttempt, StepClaim};

/// Longest attempted login kept in the audit trail: it is whatever a client typed, and a
/// client could type a megabyte.
const MAX_ATTEMPTED_CHARS: usize = 128;

impl SqlStore {
    pub(super) async fn claim_login(
        &self,
        login: &Login,
        step: TimeStep,
        attempt: &LoginAttempt,
    ) -> Result<StepClaim> {
        // Steps are ~2^26 today; saturating keeps an absurd step from wrapping negative.
        let step_db = i64::try_from(step.0).unwrap_or(i64::MAX);
        let mut tx = self.write().await?;
        // The claim is one conditional UPDATE, so two logins racing with the same code can't
        // both succeed, whichever node they reach.
        let claimed = sqlx::query(
            "UPDATE accounts SET last_totp_step = $2, failed_count = 0, locked_until = NULL \
             WHERE login = $1 AND (last_totp_step IS NULL OR last_totp_step < $2)",
        )
        .bind(login.as_str())
        .bind(step_db)
        .execute(tx.conn())
        .await?;
        if claimed.rows_affected() == 0 {
            let exists = sqlx::query("SELECT 1 FROM accounts WHERE login = $1")
                .bind(login.as_str())
                .fetch_optional(tx.conn())
                .await?;
            // Dropping `tx` rolls back: nothing changed.
            return match exists {
                Some(_) => Ok(StepClaim::AlreadyUsed),
                None => Err(Error::NotFound {
                    kind: "account",
                    name: login.to_string(),
                }),
            };
        }
        let mut detail = attempt_detail(attempt);
        insert(&mut detail, "totp_step", json!(step.0));
        let event = AuditEvent::new(
            AuditKind::LoginSuccess,
            Actor::Person(login.clone()),
            login.as_str(),
        )
        .with_detail(detail);
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(StepClaim::Claimed)
    }

    pub(super) async fn record_failure(
        &self,
        attempted: &str,
        reason: LoginRejection,
        attempt: &LoginAttempt,
        lockout: &LockoutPolicy,
    ) -> Result<FailureRecorded> {
        let subject = bounded(attempted);
        let mut detail = attempt_detail(attempt);
        insert(&mut detail, "reason", json!(reason.as_str()));
        let mut tx = self.write().await?;
        let select = match self.backend {
            Backend::Postgres => {
                "SELECT failed_count, locked_until FROM accounts WHERE login = $1 FOR UPDATE"
            }
            Backend::Sqlite => "SELECT failed_count, locked_until FROM accounts WHERE login = $1",
        };
        let row = sqlx::query(select)
            .bind(attempted)
            .fetch_optional(tx.conn())
            .await?;
        let outcome = match row {
            None => FailureRecorded::UnknownAccount,
            Some(_) if !reason.counts_towards_lockout() => FailureRecorded::NotCounted,
            Some(row) => {
                let state = FailureState {
                    consecutive_failures: count_from_db(
                        "accounts.failed_count",
                        row.try_get("failed_count")?,
                    )?,
                    locked_until: from_micros_opt(
                        "accounts.locked_until",
                        row.try_get("locked_until")?,
                    )?,
                };
                let after = after_failure(lockout, state, attempt.at);
                let new = after.state();
                sqlx::query(
                    "UPDATE accounts SET failed_count = $2, locked_until = $3 WHERE login = $1",
                )
                .bind(attempted)
                .bind(i64::from(new.consecutive_failures))
                .bind(new.locked_until.map(to_micros))
                .execute(tx.conn())
                .await?;
                FailureRecorded::Applied(after)
            }
        };
        insert(
            &mut detail,
            "counted",
            json!(matches!(outcome, FailureRecorded::Applied(_))),
        );
        let failure = AuditEvent::new(
            AuditKind::LoginFailure,
            attempt_actor(attempt),
            subject.clone(),
        )
        .with_detail(detail);
        audit_log::append(tx.conn(), &failure).await?;
        if let FailureRecorded::Applied(AfterFailure::Lock(state)) = outcome {
            // R-14-6(6): the lock-out is its own record, so alerts can follow it.
            let locked = AuditEvent::new(AuditKind::AccountLocked, Actor::System, subject)
                .with_detail(json!({
                    "locked_until": state.locked_until.map(format_time),
                    "threshold": lockout.threshold,
                    "client_addr": attempt.client_addr.map(|a| a.to_string()),
                }));
            audit_log::append(tx.conn(), &locked).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }
}

impl SqlStore {
    pub(super) async fn select_last_logins(&self) -> Result<Vec<(Login, DateTime<Utc>)>> {
        let rows = sqlx::query(
            "SELECT subject, MAX(at) AS last_at FROM audit_log WHERE kind = $1 \
             GROUP BY subject ORDER BY subject",
        )
        .bind(AuditKind::LoginSuccess.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let login = parse("audit_log.subject", &row.try_get::<String, _>("subject")?)?;
                let at = from_micros("audit_log.at", row.try_get("last_at")?)?;
                Ok((login, at))
            })
            .collect()
    }
}

/// Where an attempt came from, for both outcomes. Never the password or the code.
fn attempt_detail(attempt: &LoginAttempt) -> Value {
    json!({
        "protocol": attempt.protocol,
        "client_addr": attempt.client_addr.map(|a| a.to_string()),
        "certificate_serial": attempt.certificate_serial.as_ref().map(|s| s.as_str()),
    })
}

/// Who a failed attempt is recorded as: the connection's address, or the console (the
/// `fumidai` command on the gateway itself, which has no network address).
fn attempt_actor(attempt: &LoginAttempt) -> Actor {
    match attempt.client_addr {
        Some(addr) => Actor::Peer(addr),
        None => Actor::Cli {
            os_user: "console".to_owned(),
        },
    }
}

fn insert(detail: &mut Value, key: &str, value: Value) {
    if let Some(map) = detail.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
}

/// The attempted login, cut to [`MAX_ATTEMPTED_CHARS`].
fn bounded(attempted: &str) -> String {
    attempted.chars().take(MAX_ATTEMPTED_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempted_logins_are_bounded() {
        assert_eq!(bounded("alice"), "alice");
        assert_eq!(
            bounded(&"é".repeat(1000)).chars().count(),
            MAX_ATTEMPTED_CHARS
        );
    }
}
