//! `fumidai review`: the account review (アカウント棚卸し, R-14-8) — engineers with no login
//! for a long time, certificates about to expire, vendors with no plan for a year,
//! operators without TOTP — the accounts locked out now (R-14-6(6)) and the period's
//! life-cycle changes. `fumidai_core::ops::account_review` takes it; this prints.

use chrono::Utc;
use fumidai_core::ops::account_review::{self, Period, Review};
use policy::jst;
use policy::review::ReviewKind;

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
    /// The review's thresholds and period.
    fn period(&self) -> Period {
        Period {
            dormant_days: self.dormant_days,
            cert_days: self.cert_days,
            vendor_days: self.vendor_days,
            changes_days: self.changes_days,
        }
    }
}

const TOTP_BY_CONSTRUCTION: &str = "every account is created with a TOTP secret / \
                                    全アカウントは作成時にTOTPが設定されます";

/// Runs `fumidai review`.
pub(crate) async fn run(ctx: &Context, args: ReviewArgs, out: Output) -> anyhow::Result<()> {
    let review = account_review::take(ctx.store.as_ref(), args.period(), Utc::now()).await?;
    out.print(&review, text)
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
