//! `fumidai report PLAN_ID` and `report confirm|overdue`: the reconciliation report
//! (R-10-5). Showing a plan's report produces it first if its window is over and its
//! sessions have ended (`serve` does so on its own once a minute); a report produced here
//! raises the same alerts as one `serve` produced, through `[alerts]` (R-17.1-ALERT), and
//! the command waits up to `ALERT_WAIT` (30 s) for their delivery before it exits. The
//! planning manager confirms it, with findings of their own if any.

use anyhow::{Context as _, bail};
use chrono::Utc;
use policy::ids::{Login, PlanId};
use policy::jst;

use super::context::Context;
use super::output::Output;
use fumidai_core::alerts::Alerts;
use fumidai_core::alerts::settings::Settings as AlertSettings;
use fumidai_core::ops;
use fumidai_core::report::render::{self, Lang};

/// How long `fumidai report` waits for the alerts of a report it produced: the retries of
/// a failing sink (1 + 2 + 4 + 8 s) and a little more. The report is stored either way.
const ALERT_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// `fumidai report …`
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReportArgs {
    /// Confirm a report, or list overdue ones.
    #[command(subcommand)]
    pub action: Option<ReportAction>,
    /// The plan whose report to show (produced now if due).
    pub plan: Option<PlanId>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Language of the HTML and text forms.
    #[arg(long, value_parser = super::lang::parser(), default_value = "ja")]
    pub lang: Lang,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

/// `fumidai report confirm|overdue`.
#[derive(Debug, clap::Subcommand)]
pub enum ReportAction {
    /// Confirm a plan's report as its planning manager (企画管理者), optionally recording
    /// findings of your own.
    Confirm {
        /// The plan.
        plan: PlanId,
        /// The planning manager confirming (role manager), authenticated now (password and
        /// code are asked).
        #[arg(long = "as", value_name = "LOGIN")]
        manager: Login,
        /// A finding or remark to record with the confirmation.
        #[arg(long, value_name = "TEXT")]
        finding: Option<String>,
    },
    /// Plans whose reports wait for confirmation longer than `--days`.
    Overdue {
        /// Days a report may wait.
        #[arg(long, default_value_t = 7)]
        days: i64,
    },
}

/// The report's forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Plain text.
    Text,
    /// HTML, print-ready A4.
    Html,
    /// The sealed JSON body with its digest and signature.
    Json,
}

/// Runs `fumidai report …`.
pub(crate) async fn run(ctx: &Context, args: ReportArgs, out: Output) -> anyhow::Result<()> {
    match args.action {
        Some(ReportAction::Confirm {
            plan,
            manager,
            finding,
        }) => confirm(ctx, plan, manager, finding, out).await,
        Some(ReportAction::Overdue { days }) => overdue(ctx, days, out).await,
        None => {
            let Some(plan) = args.plan else {
                bail!("name a plan: `fumidai report PLAN_ID` / 作業計画IDを指定してください");
            };
            show(ctx, plan, args.format, args.lang, args.out.as_deref()).await
        }
    }
}

async fn show(
    ctx: &Context,
    plan: PlanId,
    format: Format,
    lang: Lang,
    to: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let key = super::serve::load_signing_key(&ctx.dir)?;
    let rules = ctx.config.report.rules(ctx.dir.root())?;
    // Read before anything is produced: a report must not be produced without its alerts.
    let alert_settings = AlertSettings::load(&ctx.config.alerts, ctx.dir.root())
        .context("cannot set up [alerts]")?;
    let alerts = Alerts::start(alert_settings);
    let view = ops::report_view::show(
        ctx.store.as_ref(),
        &ctx.dir,
        (&key, &rules),
        &plan,
        &alerts,
        Utc::now(),
    )
    .await?;
    if view.produced_now {
        let d = alerts.settle(ALERT_WAIT).await;
        if d.pending > 0 || d.failed > 0 {
            eprintln!(
                "fumidai: warning: report for plan {plan} produced, but of its alerts \
                 {pending} are not delivered yet and {failed} failed (see [alerts]) / \
                 報告書を作成しましたが、通知の送信が完了していません（未送信 {pending}、失敗 {failed}）",
                pending = d.pending,
                failed = d.failed,
            );
        }
    }
    let (report, body) = (view.report, view.body);
    let text = match format {
        Format::Text => render::text(&report, &body, lang),
        Format::Html => render::html(&report, &body, lang),
        Format::Json => serde_json::to_string_pretty(&serde_json::json!({
            "report": body,
            "sha256": report.sha256,
            "signature": report.signature,
        }))?,
    };
    match to {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

async fn confirm(
    ctx: &Context,
    id: PlanId,
    manager: Login,
    finding: Option<String>,
    out: Output,
) -> anyhow::Result<()> {
    // Only a planning manager confirms (policy::authority), authenticated first.
    let person =
        super::person::authenticate(ctx, &manager, policy::authority::Action::ConfirmReport)
            .await?;
    let confirmed = fumidai_core::ops::report_confirmation::confirm(
        &*ctx.store,
        &person,
        &id,
        finding.as_deref(),
        Utc::now(),
    )
    .await?;
    out.print(&confirmed, |p| {
        format!(
            "report for plan {} confirmed by {manager}\n作業計画 {} の報告書を確認しました",
            p.id, p.id
        )
    })
}

async fn overdue(ctx: &Context, days: i64, out: Output) -> anyhow::Result<()> {
    let late = ops::report_view::overdue(ctx.store.as_ref(), days, Utc::now()).await?;
    out.print(&late, |ps| {
        if ps.is_empty() {
            return format!("no report waits longer than {days} days / 確認待ちが{days}日を超える報告書はありません");
        }
        ps.iter()
            .map(|p| {
                format!(
                    "{}\treported {}\t{}\t{}\n",
                    p.id,
                    p.reported_at.map(jst::format).unwrap_or_default(),
                    p.vendor,
                    p.purpose.lines().next().unwrap_or_default()
                )
            })
            .collect()
    })
}
