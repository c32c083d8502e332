//! Client certificates issued by fumidai's CA, and their revocation (checked at every
//! handshake).

use serde_json::json;
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::convert::{now, on_duplicate, parsed, time, time_opt, to_micros};
use super::{SqlStore, audit_log};
use crate::audit::{AuditEvent, AuditKind, format_time};
use crate::error::{Error, Result};
use crate::model::{Actor, CertSerial, CertificateRecord, NewCertificate, RevokeSelector};

const COLUMNS: &str =
    "serial, login, not_before, not_after, sha256, issued_at, revoked_at, revocation_reason";

impl SqlStore {
    pub(super) async fn insert_certificate(
        &self,
        cert: NewCertificate,
        actor: &Actor,
    ) -> Result<CertificateRecord> {
        let record = CertificateRecord {
            serial: cert.serial,
            login: cert.login,
            not_before: cert.not_before,
            not_after: cert.not_after,
            sha256: cert.sha256,
            issued_at: now(),
            revoked_at: None,
            revocation_reason: None,
        };
        let serial = record.serial.as_str();
        let mut tx = self.write().await?;
        let owner = sqlx::query("SELECT 1 FROM accounts WHERE login = $1")
            .bind(record.login.as_str())
            .fetch_optional(tx.conn())
            .await?;
        if owner.is_none() {
            return Err(Error::NotFound {
                kind: "account",
                name: record.login.to_string(),
            });
        }
        sqlx::query(
            "INSERT INTO certificates (serial, login, not_before, not_after, sha256, issued_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(serial)
        .bind(record.login.as_str())
        .bind(to_micros(record.not_before))
        .bind(to_micros(record.not_after))
        .bind(&record.sha256)
        .bind(to_micros(record.issued_at))
        .execute(tx.conn())
        .await
        .map_err(on_duplicate("certificate", serial))?;
        let event = AuditEvent::new(AuditKind::CertificateIssued, actor.clone(), serial)
            .with_detail(json!({
                "login": record.login.as_str(),
                "not_before": format_time(record.not_before),
                "not_after": format_time(record.not_after),
                "sha256": record.sha256,
            }));
        audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(record)
    }

    pub(super) async fn revoke(
        &self,
        which: &RevokeSelector,
        reason: &str,
        actor: &Actor,
    ) -> Result<Vec<CertificateRecord>> {
        let mut tx = self.write().await?;
        let unrevoked = match which {
            RevokeSelector::Login(login) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM certificates WHERE login = $1 AND revoked_at IS NULL ORDER BY serial"
                );
                sqlx::query(&sql)
                    .bind(login.as_str())
                    .fetch_all(tx.conn())
                    .await?
            }
            RevokeSelector::Serial(serial) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM certificates WHERE serial = $1 AND revoked_at IS NULL"
                );
                sqlx::query(&sql)
                    .bind(serial.as_str())
                    .fetch_all(tx.conn())
                    .await?
            }
        };
        let at = now();
        let mut revoked = Vec::with_capacity(unrevoked.len());
        for row in &unrevoked {
            let mut cert = certificate(row)?;
            mark_revoked(tx.conn(), &cert.serial, at, reason).await?;
            cert.revoked_at = Some(at);
            cert.revocation_reason = Some(reason.to_owned());
            let event = AuditEvent::new(
                AuditKind::CertificateRevoked,
                actor.clone(),
                cert.serial.as_str(),
            )
            .with_detail(json!({ "login": cert.login.as_str(), "reason": reason }));
            audit_log::append(tx.conn(), &event).await?;
            revoked.push(cert);
        }
        tx.commit().await?;
        Ok(revoked)
    }

    pub(super) async fn select_certificates(&self) -> Result<Vec<CertificateRecord>> {
        let sql =
            format!("SELECT {COLUMNS} FROM certificates ORDER BY issued_at DESC, serial DESC");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(certificate).collect()
    }

    pub(super) async fn select_revoked_serials(&self) -> Result<Vec<CertSerial>> {
        let rows = sqlx::query(
            "SELECT serial FROM certificates WHERE revoked_at IS NOT NULL ORDER BY serial",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| serial(&row.try_get::<String, _>("serial")?))
            .collect()
    }
}

async fn mark_revoked(
    conn: &mut AnyConnection,
    serial: &CertSerial,
    at: chrono::DateTime<chrono::Utc>,
    reason: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE certificates SET revoked_at = $2, revocation_reason = $3 WHERE serial = $1",
    )
    .bind(serial.as_str())
    .bind(to_micros(at))
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

fn serial(text: &str) -> Result<CertSerial> {
    CertSerial::parse(text)
        .filter(|s| s.as_str() == text)
        .ok_or_else(|| Error::Corrupt {
            what: "certificates.serial",
            detail: format!("{text:?} is not a serial"),
        })
}

fn certificate(row: &AnyRow) -> Result<CertificateRecord> {
    Ok(CertificateRecord {
        serial: serial(&row.try_get::<String, _>("serial")?)?,
        login: parsed(row, "login")?,
        not_before: time(row, "not_before")?,
        not_after: time(row, "not_after")?,
        sha256: row.try_get("sha256")?,
        issued_at: time(row, "issued_at")?,
        revoked_at: time_opt(row, "revoked_at")?,
        revocation_reason: row.try_get("revocation_reason")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_serials_must_be_normal() {
        assert_eq!(serial("1a2b").unwrap().as_str(), "1a2b");
        assert!(serial("1A:2B").is_err());
        assert!(serial("").is_err());
    }
}
