//! `fumidai review`: the account review (アカウント棚卸し, R-14-8) — engineers with no login
//! for a long time, certificates about to expire, vendors with no plan for a year,
//! operators without TOTP — the accounts locked out now (R-14-6(6)) and the period's
//! life-cycle changes. `policy::review` decides; this gathers the facts and prints.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use policy::jst;
use policy::review::{
    self, AccountFacts, CertificateFacts, Facts, LockedAccount, ReviewItem, ReviewKind, Thresholds,
    VendorFacts,
};
use serde::Serialize;

use super::context::Context;
use super::output::Output;

/// `fumidai review [--dormant-days N] [--cert-days N] [--vendor-days N]`
#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    /// An enabled engineer with no login for this many days (counted from creation when
    /// never logged in) is dormant.
    #[arg(long, default_value_t = 90, value_name = "DAYS")]
    pub dormant_days: u32,
    /// Unrevoked certificates expiring within this many days, and not renewed, are listed.
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub cert_days: u32,
    /// A vendor with no plan submitted for this many days (counted from registration) is
    /// listed.
    #[arg(long, default_value_t = 365, value_name = "DAYS")]
    pub vendor_days: u32,
    /// Life-cycle changes (disables, resets, role changes, withdrawals…) of the last this
    /// many days are listed.
    #[arg(long, default_value_t = 90, value_name = "DAYS")]
    pub changes_days: u32,
}

impl ReviewArgs {
    /// As the policy's thresholds.
    pub(crate) fn thresholds(&self) -> Thresholds {
        Thresholds {
            dormant: Duration::days(i64::from(self.dormant_days)),
            cert_expiry: Duration::days(i64::from(self.cert_days)),
            vendor_idle: Duration::days(i64::from(self.vendor_days)),
        }
    }
}

/// What `review` prints (and `--json` gives).
#[derive(Debug, Serialize)]
pub(crate) struct Review {
    /// When the review was taken.
    pub(crate) at: DateTime<Utc>,
    /// The thresholds, in days.
    pub(crate) dormant_days: u32,
    /// See [`ReviewArgs::cert_days`].
    pub(crate) cert_days: u32,
    /// See [`ReviewArgs::vendor_days`].
    pub(crate) vendor_days: u32,
    /// What needs attention, by kind then subject.
    pub(crate) items: Vec<ReviewItem>,
    /// The accounts locked out now, by login: nobody logs in as them until the lock
    /// ends or `engineer|operator unlock` lifts it.
    pub(crate) locked: Vec<LockedAccount>,
    /// What changed in accounts, vendors and plans in the period (from the audit trail),
    /// oldest first.
    pub(crate) changes: Vec<Change>,
}

/// One life-cycle change, as the audit trail holds it.
#[derive(Debug, Serialize)]
pub(crate) struct Change {
    /// When.
    pub(crate) at: DateTime<Utc>,
    /// The audit kind (`account.disabled`, `plan.withdrawn`, …).
    pub(crate) kind: String,
    /// Whom or what it concerned.
    pub(crate) subject: String,
    /// Who did it.
    pub(crate) actor: String,
    /// The record's detail.
    pub(crate) detail: serde_json::Value,
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

async fn changes(ctx: &Context, since: DateTime<Utc>) -> anyhow::Result<Vec<Change>> {
    let kinds: Vec<&str> = CHANGE_KINDS.iter().map(|k| k.as_str()).collect();
    Ok(ctx
        .store
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
const TOTP_BY_CONSTRUCTION: &str = "every account is created with a TOTP secret / \
                                    全アカウントは作成時にTOTPが設定されます";

/// Runs `fumidai review`.
pub(crate) async fn run(ctx: &Context, args: ReviewArgs, out: Output) -> anyhow::Result<()> {
    let at = Utc::now();
    let facts = facts(ctx).await?;
    let review = Review {
        at,
        dormant_days: args.dormant_days,
        cert_days: args.cert_days,
        vendor_days: args.vendor_days,
        items: review::review(&facts, &args.thresholds(), at),
        locked: review::locked_accounts(&facts.accounts, at),
        changes: changes(ctx, at - Duration::days(i64::from(args.changes_days))).await?,
    };
    out.print(&review, text)
}

/// The review's items at `now`.
pub(crate) async fn items(
    ctx: &Context,
    thresholds: &Thresholds,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<ReviewItem>> {
    Ok(review::review(&facts(ctx).await?, thresholds, now))
}

/// The review's facts, from the store's accounts, last logins, certificates, vendors and
/// plans.
async fn facts(ctx: &Context) -> anyhow::Result<Facts> {
    let last: BTreeMap<_, _> = ctx.store.last_logins().await?.into_iter().collect();
    let accounts = ctx
        .store
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
    let certificates = ctx
        .store
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
    for plan in ctx.store.plans().await? {
        let entry = latest_plan
            .entry(plan.vendor.to_string())
            .or_insert(plan.submitted_at);
        *entry = (*entry).max(plan.submitted_at);
    }
    let vendors = ctx
        .store
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

fn text(review: &Review) -> String {
    let mut text = format!(
        "アカウント棚卸し / account review (R-14-8)  {}\n\
         基準 / thresholds: 未ログイン {} 日 / no login {} days, 証明書 {} 日以内 / certificates within {} days, 作業計画なし {} 日 / no plan {} days\n",
        jst::format(review.at),
        review.dormant_days,
        review.dormant_days,
        review.cert_days,
        review.cert_days,
        review.vendor_days,
        review.vendor_days,
    );
    for kind in ReviewKind::ALL {
        let of_kind: Vec<_> = review.items.iter().filter(|i| i.kind == kind).collect();
        text.push_str(&format!("\n{} ({})\n", kind.heading(), of_kind.len()));
        if of_kind.is_empty() {
            text.push_str("  なし / none");
            if kind == ReviewKind::OperatorWithoutTotp {
                text.push_str(&format!(" ({TOTP_BY_CONSTRUCTION})"));
            }
            text.push('\n');
        }
        for item in of_kind {
            text.push_str(&format!("  {}\t{}\n", item.subject, item.detail));
        }
    }
    text.push_str(&format!(
        "\nロック中のアカウント / locked accounts ({})\n",
        review.locked.len()
    ));
    if review.locked.is_empty() {
        text.push_str("  なし / none\n");
    }
    for l in &review.locked {
        let kind = l.kind.as_str();
        text.push_str(&format!(
            "  {}\t{}\t{} (fumidai {kind} unlock {} --as OPERATOR)\n",
            l.login, kind, l.detail, l.login
        ));
    }
    text.push_str(&format!(
        "\n期間中の変更 / changes in the period ({})\n",
        review.changes.len()
    ));
    if review.changes.is_empty() {
        text.push_str("  なし / none\n");
    }
    for c in &review.changes {
        text.push_str(&format!(
            "  {}\t{}\t{}\tby {}\t{}\n",
            jst::format(c.at),
            c.kind,
            c.subject,
            c.actor,
            c.detail
        ));
    }
    text
}
