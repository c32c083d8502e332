//! The account review (棚卸し, R-14-8): which IDs, certificates and vendors need a person's
//! attention — engineers who haven't logged in for a long time, device certificates about
//! to expire, vendors with no plan for a year, operators without a second factor — and,
//! apart from those, the accounts locked out now ([`locked_accounts`], R-14-6(6)).
//!
//! The caller brings plain facts (from the store) and the time; [`review`] lists what to
//! look at. It deletes nothing: deciding that an ID is unneeded is the operator's job.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::ids::{AccountKind, Login, VendorName};
use crate::jst;

/// How old is too old. Defaults: 90, 30 and 365 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// An enabled engineer with no login for this long (counted from creation when there
    /// was none) is dormant.
    pub dormant: Duration,
    /// An unrevoked certificate expiring within this is listed, unless a later one of the
    /// same login outlives the window (it has been renewed).
    pub cert_expiry: Duration,
    /// A vendor with no plan submitted for this long (counted from registration when
    /// there was none) is idle: is the maintenance contract still running?
    pub vendor_idle: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            dormant: Duration::days(90),
            cert_expiry: Duration::days(30),
            vendor_idle: Duration::days(365),
        }
    }
}

/// What the review needs to know about an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFacts {
    /// Login.
    pub login: Login,
    /// Engineer or operator.
    pub kind: AccountKind,
    /// Disabled accounts can't log in, so they are not dormant IDs to act on.
    pub enabled: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Its latest successful login, if any.
    pub last_login: Option<DateTime<Utc>>,
    /// Whether it has a TOTP secret (its second factor).
    pub has_totp: bool,
    /// When its lock-out ends (may be past: a lock that ended is kept until the next
    /// login attempt).
    pub locked_until: Option<DateTime<Utc>>,
}

/// What the review needs to know about a client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    /// Serial, as hex.
    pub serial: String,
    /// Whose device it is.
    pub login: Login,
    /// Validity end.
    pub not_after: DateTime<Utc>,
    /// Revoked certificates are out of use already.
    pub revoked: bool,
}

/// What the review needs to know about a vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorFacts {
    /// Name.
    pub name: VendorName,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When its latest plan was submitted, if it has any.
    pub latest_plan: Option<DateTime<Utc>>,
}

/// Everything reviewed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// All accounts.
    pub accounts: Vec<AccountFacts>,
    /// All certificates.
    pub certificates: Vec<CertificateFacts>,
    /// All vendors.
    pub vendors: Vec<VendorFacts>,
}

/// What an item is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewKind {
    /// An enabled engineer with no login for the dormant threshold: disable or delete?
    DormantEngineer,
    /// A certificate expiring soon, not renewed: renew or let it lapse?
    ExpiringCertificate,
    /// A vendor with no plan for the idle threshold: is its contract still running?
    IdleVendor,
    /// An enabled operator without a second factor.
    OperatorWithoutTotp,
}

impl ReviewKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [Self; 4] = [
        Self::DormantEngineer,
        Self::ExpiringCertificate,
        Self::IdleVendor,
        Self::OperatorWithoutTotp,
    ];

    /// The kind's heading, Japanese first.
    pub fn heading(self) -> &'static str {
        match self {
            Self::DormantEngineer => "長期未使用の保守要員アカウント / dormant engineers",
            Self::ExpiringCertificate => "期限切れ間近の証明書 / certificates expiring soon",
            Self::IdleVendor => "作業計画のない保守事業者 / vendors without a plan",
            Self::OperatorWithoutTotp => "二要素認証のない運用担当者 / operators without TOTP",
        }
    }
}

/// One thing for a person to look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewItem {
    /// What it is about.
    pub kind: ReviewKind,
    /// The login, certificate serial or vendor name.
    pub subject: String,
    /// Why it is listed, in English and Japanese.
    pub detail: String,
    /// The time the item dates from: the last login (or creation), the certificate's
    /// expiry, the latest plan (or registration).
    pub since: DateTime<Utc>,
}

/// Lists what needs attention at `now`, by kind and then subject.
pub fn review(facts: &Facts, thresholds: &Thresholds, now: DateTime<Utc>) -> Vec<ReviewItem> {
    let mut items: Vec<ReviewItem> = facts
        .accounts
        .iter()
        .filter_map(|a| dormant(a, thresholds, now))
        .chain(expiring(&facts.certificates, thresholds, now))
        .chain(
            facts
                .vendors
                .iter()
                .filter_map(|v| idle_vendor(v, thresholds, now)),
        )
        .chain(facts.accounts.iter().filter_map(without_totp))
        .collect();
    items.sort_by(|a, b| (a.kind, &a.subject).cmp(&(b.kind, &b.subject)));
    items
}

/// An account locked out now: nobody can log in as it until the lock ends or an operator
/// lifts it (`engineer|operator unlock`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockedAccount {
    /// Login.
    pub login: Login,
    /// Engineer or operator.
    pub kind: AccountKind,
    /// When the lock ends by itself.
    pub locked_until: DateTime<Utc>,
    /// The same in JST to the second, in English and Japanese.
    pub detail: String,
}

/// The accounts locked out at `now`, by login; disabled ones too (enabling one would
/// still find it locked). Not review items: a lock ends by itself within minutes, and
/// says nothing about whether the ID is still needed.
pub fn locked_accounts(accounts: &[AccountFacts], now: DateTime<Utc>) -> Vec<LockedAccount> {
    let mut locked: Vec<LockedAccount> = accounts
        .iter()
        .filter_map(|a| {
            let until = a.locked_until.filter(|until| now < *until)?;
            let at = jst::format_seconds(until);
            Some(LockedAccount {
                login: a.login.clone(),
                kind: a.kind,
                locked_until: until,
                detail: format!("locked until {at} / {at} までロック中"),
            })
        })
        .collect();
    locked.sort_by(|a, b| a.login.cmp(&b.login));
    locked
}

fn dormant(account: &AccountFacts, t: &Thresholds, now: DateTime<Utc>) -> Option<ReviewItem> {
    if account.kind != AccountKind::Engineer || !account.enabled {
        return None;
    }
    let since = account.last_login.unwrap_or(account.created_at);
    if now - since < t.dormant {
        return None;
    }
    let days = (now - since).num_days();
    let detail = match account.last_login {
        Some(at) => format!(
            "last login {} ({days} days ago) / 最終ログイン {}（{days}日前）",
            jst::format(at),
            jst::format(at)
        ),
        None => format!(
            "never logged in, created {} ({days} days ago) / 一度もログインしていません（{} 作成、{days}日前）",
            jst::format(account.created_at),
            jst::format(account.created_at)
        ),
    };
    Some(ReviewItem {
        kind: ReviewKind::DormantEngineer,
        subject: account.login.to_string(),
        detail,
        since,
    })
}

fn expiring(certs: &[CertificateFacts], t: &Thresholds, now: DateTime<Utc>) -> Vec<ReviewItem> {
    let horizon = now + t.cert_expiry;
    let live = || {
        certs
            .iter()
            .filter(move |c| !c.revoked && c.not_after > now)
    };
    live()
        .filter(move |c| c.not_after <= horizon)
        .filter(move |c| {
            // Renewed: another live certificate of the same login outlives the window.
            !live().any(|other| other.login == c.login && other.not_after > horizon)
        })
        .map(move |c| {
            let days = (c.not_after - now).num_days();
            ReviewItem {
                kind: ReviewKind::ExpiringCertificate,
                subject: c.serial.clone(),
                detail: format!(
                    "{}'s certificate expires {} (in {days} days) / {} の証明書は {} に期限切れ（あと{days}日）",
                    c.login,
                    jst::format(c.not_after),
                    c.login,
                    jst::format(c.not_after)
                ),
                since: c.not_after,
            }
        })
        .collect()
}

fn idle_vendor(vendor: &VendorFacts, t: &Thresholds, now: DateTime<Utc>) -> Option<ReviewItem> {
    let since = vendor.latest_plan.unwrap_or(vendor.created_at);
    if now - since < t.vendor_idle {
        return None;
    }
    let days = (now - since).num_days();
    let detail = match vendor.latest_plan {
        Some(at) => format!(
            "latest plan submitted {} ({days} days ago) / 最新の作業計画 {}（{days}日前）",
            jst::format(at),
            jst::format(at)
        ),
        None => format!(
            "no plan since registration {} ({days} days ago) / 登録（{}）以来、作業計画がありません",
            jst::format(vendor.created_at),
            jst::format(vendor.created_at)
        ),
    };
    Some(ReviewItem {
        kind: ReviewKind::IdleVendor,
        subject: vendor.name.to_string(),
        detail,
        since,
    })
}

fn without_totp(account: &AccountFacts) -> Option<ReviewItem> {
    (account.kind == AccountKind::Operator && account.enabled && !account.has_totp).then(|| {
        ReviewItem {
            kind: ReviewKind::OperatorWithoutTotp,
            subject: account.login.to_string(),
            detail: "no TOTP secret / TOTPが設定されていません".to_owned(),
            since: account.created_at,
        }
    })
}

#[cfg(test)]
mod tests;
