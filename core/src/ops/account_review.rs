//! The account review (アカウント棚卸し, R-14-8): engineers with no login for a long time,
//! certificates about to expire, vendors with no plan for a year, operators without TOTP,
//! the accounts locked out now (R-14-6(6)) and the period's life-cycle changes.
//! `policy::review` decides; this gathers the facts from the store. Read-only.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use policy::review::{
    self, AccountFacts, CertificateFacts, Facts, LockedAccount, ReviewItem, Thresholds, VendorFacts,
};
use serde::Serialize;
use store::Store;

use super::OpError;

/// The review's thresholds and period, in days (`fumidai review`'s flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// No login for this many days: dormant.
    pub dormant_days: u32,
    /// Certificates expiring within this many days.
    pub cert_days: u32,
    /// Vendors with no plan for this many days.
    pub vendor_days: u32,
    /// Life-cycle changes of this many days back.
    pub changes_days: u32,
}

impl Default for Period {
    fn default() -> Self {
        Self {
            dormant_days: 90,
            cert_days: 30,
            vendor_days: 365,
            changes_days: 90,
        }
    }
}

impl Period {
    /// The thresholds `policy::review` applies.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            dormant: Duration::days(i64::from(self.dormant_days)),
            cert_expiry: Duration::days(i64::from(self.cert_days)),
            vendor_idle: Duration::days(i64::from(self.vendor_days)),
        }
    }
}

/// The account review, as `fumidai review` prints it (and `--json` gives) and the console
/// shows it.
#[derive(Debug, Serialize)]
pub struct Review {
    /// When the review was taken.
    pub at: DateTime<Utc>,
    /// Accounts with no login for this many days.
    pub dormant_days: u32,
    /// Certificates expiring within this many days.
    pub cert_days: u32,
    /// Vendors with no plan for this many days.
    pub vendor_days: u32,
    /// What needs attention, by kind then subject.
    pub items: Vec<ReviewItem>,
    /// The accounts locked out now, by login: nobody logs in as them until the lock
    /// ends or `engineer|operator unlock` lifts it.
    pub locked: Vec<LockedAccount>,
    /// What changed in accounts, vendors and plans in the period (from the audit trail),
    /// oldest first.
    pub changes: Vec<Change>,
}

/// One life-cycle change, as the audit trail holds it.
#[derive(Debug, Serialize)]
pub struct Change {
    /// When.
    pub at: DateTime<Utc>,
    /// The audit kind (`account.disabled`, `plan.withdrawn`, …).
    pub kind: String,
    /// Whom or what it concerned.
    pub subject: String,
    /// Who did it.
    pub actor: String,
    /// The record's detail.
    pub detail: serde_json::Value,
}

/// The audit kinds a review lists as changes (R-14-8: the ID ledger's movements).
const CHANGE_KINDS: [store::AuditKind; 10] = [
    store::AuditKind::AccountAdded,
    store::AuditKind::AccountDisabled,
    store::AuditKind::AccountEnabled,
    store::AuditKind::VendorChanged,
    store::AuditKind::PasswordReset,
    store::AuditKind::PasswordChanged,
    store::AuditKind::TotpReset,
    store::AuditKind::RoleChanged,
    store::AuditKind::PlanWithdrawn,
    store::AuditKind::AccountUnlocked,
];

/// How far back the trail is read for changes (records, newest first).
const CHANGES_SCAN: u32 = 100_000;

/// Takes the review now.
pub async fn take(store: &dyn Store, period: Period, at: DateTime<Utc>) -> Result<Review, OpError> {
    let facts = facts(store).await?;
    Ok(Review {
        at,
        dormant_days: period.dormant_days,
        cert_days: period.cert_days,
        vendor_days: period.vendor_days,
        items: review::review(&facts, &period.thresholds(), at),
        locked: review::locked_accounts(&facts.accounts, at),
        changes: changes(store, at - Duration::days(i64::from(period.changes_days))).await?,
    })
}

/// What needs attention under `thresholds` (the compliance evidence counts them).
pub async fn items(
    store: &dyn Store,
    thresholds: &Thresholds,
    now: DateTime<Utc>,
) -> Result<Vec<ReviewItem>, OpError> {
    Ok(review::review(&facts(store).await?, thresholds, now))
}

async fn changes(store: &dyn Store, since: DateTime<Utc>) -> Result<Vec<Change>, OpError> {
    let kinds: Vec<&str> = CHANGE_KINDS.iter().map(|k| k.as_str()).collect();
    Ok(store
        .audit_tail(CHANGES_SCAN)
        .await?
        .into_iter()
        .filter(|r| r.at >= since && kinds.contains(&r.kind.as_str()))
        .map(|r| Change {
            at: r.at,
            kind: r.kind,
            subject: r.subject,
            actor: r.actor,
            detail: r.detail,
        })
        .collect())
}

/// Why an operator never lacks TOTP here: `NewAccount` requires a secret, so every account
/// is created with one (`operator add` prints its enrolment URI).
/// The review's facts, from the store's accounts, last logins, certificates, vendors and
/// plans.
async fn facts(store: &dyn Store) -> Result<Facts, OpError> {
    let last: BTreeMap<_, _> = store.last_logins().await?.into_iter().collect();
    let accounts = store
        .accounts(None)
        .await?
        .into_iter()
        .map(|a| AccountFacts {
            last_login: last.get(&a.login).copied(),
            login: a.login,
            kind: a.kind,
            enabled: a.enabled,
            created_at: a.created_at,
            // Every account has one: `NewAccount::totp_secret` is not optional.
            has_totp: true,
            locked_until: a.locked_until,
        })
        .collect();
    let certificates = store
        .certificates()
        .await?
        .into_iter()
        .map(|c| CertificateFacts {
            serial: c.serial.to_string(),
            login: c.login,
            not_after: c.not_after,
            revoked: c.revoked_at.is_some(),
        })
        .collect();
    let mut latest_plan: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for plan in store.plans().await? {
        let entry = latest_plan
            .entry(plan.vendor.to_string())
            .or_insert(plan.submitted_at);
        *entry = (*entry).max(plan.submitted_at);
    }
    let vendors = store
        .vendors()
        .await?
        .into_iter()
        .map(|v| VendorFacts {
            latest_plan: latest_plan.get(v.name.as_str()).copied(),
            name: v.name,
            created_at: v.created_at,
        })
        .collect();
    Ok(Facts {
        accounts,
        certificates,
        vendors,
    })
}
