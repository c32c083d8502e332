//! `fumidai plan submit|approve|reject|withdraw|list|show`: work plans (作業計画書) and
//! their approval by a second person (R-10.1-APPROVE, R-14-4). Whoever submits, decides or
//! withdraws is authenticated with password + TOTP first (`--as LOGIN`, [`person`]), so
//! the four-eyes rule compares authenticated accounts and the audit names them. The
//! engineer's attestation of the data deletion (R-10-1) is made over SSH with their own
//! credentials (`ssh ENGINEER@gw attest PLAN "note"`), never typed here in their name. The
//! rules are `policy::plan`'s; this file checks the people and targets named against the
//! store and prints the outcome.

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use policy::authority::Action;
use policy::ids::{Login, PlanId, TargetName, VendorName};
use policy::jst;
use policy::plan::{self, Allowances, Plan, PlanRequest, PlannedStep};
use policy::transfer::ContentKind;

use fumidai_core::ops::{OpError, plan_decision, plan_submission, plan_withdrawal};

use super::context::Context;
use super::output::Output;
use super::person::{self, Person};

/// `fumidai plan …`
#[derive(Debug, clap::Subcommand)]
pub enum PlanCommand {
    /// Submit a work plan; prints its ID. Another person approves it.
    Submit(Box<SubmitArgs>),
    /// Approve a submitted plan (as an operator or manager other than the submitter;
    /// password and code are asked).
    Approve {
        /// The plan's ID.
        id: PlanId,
        /// Who approves: an operator or manager account, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        approver: Login,
    },
    /// Reject a submitted plan, with a reason.
    Reject {
        /// The plan's ID.
        id: PlanId,
        /// Who rejects: an operator or manager account, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        approver: Login,
        /// Why, for the submitter and the audit trail.
        #[arg(long)]
        reason: String,
    },
    /// List plans with their status and window (JST).
    List,
    /// Show one plan in full: steps, declarations, approval, attestation, report status.
    Show {
        /// The plan's ID.
        id: PlanId,
    },
    /// Withdraw an approved or active plan: no session starts under it any more, and the
    /// gateway ends the live ones.
    Withdraw {
        /// The plan's ID.
        id: PlanId,
        /// Why, for the engineers and the audit trail.
        #[arg(long)]
        reason: String,
        /// Who withdraws: an operator or manager account, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
    /// No longer here: the engineer attests the data deletion over SSH with their own
    /// credentials (`ssh ENGINEER@GATEWAY attest PLAN "note"`, R-10-1).
    #[command(hide = true)]
    Attest {
        /// Whatever was typed.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
}

/// `fumidai plan submit`: from flags, or from a TOML/JSON file (`--file`).
#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The whole plan as a TOML or JSON file (a vendor's template; see the README). Other
    /// plan flags are then not allowed.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["engineers", "targets", "start", "end", "purpose", "steps", "allow", "personal_data", "data_deletion", "take_out_purpose"]
    )]
    pub file: Option<std::path::PathBuf>,
    /// An engineer who will connect (repeatable); all of one vendor.
    #[arg(long = "engineer", value_name = "LOGIN", num_args = 1.., required_unless_present = "file")]
    pub engineers: Vec<Login>,
    /// A target they will reach (repeatable).
    #[arg(long = "target", value_name = "NAME", num_args = 1.., required_unless_present = "file")]
    pub targets: Vec<TargetName>,
    /// Window start, RFC 3339 (e.g. 2026-11-26T18:00:00+09:00).
    #[arg(long, value_name = "RFC3339", value_parser = parse_time, required_unless_present = "file")]
    pub start: Option<DateTime<Utc>>,
    /// Window end, RFC 3339; sessions are cut here.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time, required_unless_present = "file")]
    pub end: Option<DateTime<Utc>>,
    /// Why the work is done.
    #[arg(long, required_unless_present = "file")]
    pub purpose: Option<String>,
    /// A planned step (repeatable), reconciled against what happened afterwards. Command
    /// patterns per step need a plan file.
    #[arg(long = "step", value_name = "TEXT")]
    pub steps: Vec<String>,
    /// What the work needs beyond a terminal (repeatable).
    #[arg(long = "allow", value_enum, value_name = "WHAT")]
    pub allow: Vec<Allow>,
    /// The work touches personal data: why (R-10-2). Needs --data-deletion.
    #[arg(long, value_name = "JUSTIFICATION")]
    pub personal_data: Option<String>,
    /// How the work's data is deleted afterwards (R-10-1); an engineer attests it with
    /// `fumidai plan attest`.
    #[arg(long, value_name = "STEP")]
    pub data_deletion: Option<String>,
    /// Who submits: an operator or manager account, authenticated now (password and
    /// code are asked).
    #[arg(long = "as", value_name = "LOGIN")]
    pub submitter: Login,
    /// The take-out of personal data (§7.1), when the plan lets it leave.
    #[command(flatten)]
    pub take_out: super::plan_personal::TakeOutArgs,
}

/// What `--allow` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Allow {
    /// Files may be sent to the target.
    Upload,
    /// Files may be fetched from the target (data leaves the hospital).
    Download,
    /// TCP forwarding to the target host itself.
    Forward,
    /// Uploads may include executables and packages (with `upload`; R-10-6).
    Executable,
    /// Uploads may include scripts (with `upload`).
    Script,
    /// Uploads may include Office documents with macros (with `upload`).
    Macro,
    /// Uploads may include archives and compressed files (with `upload`).
    Archive,
}

impl Allow {
    /// The content kind this names, if it names one.
    fn content(self) -> Option<ContentKind> {
        match self {
            Allow::Upload | Allow::Download | Allow::Forward => None,
            Allow::Executable => Some(ContentKind::Executable),
            Allow::Script => Some(ContentKind::Script),
            Allow::Macro => Some(ContentKind::OfficeMacro),
            Allow::Archive => Some(ContentKind::Archive),
        }
    }
}

/// Runs `fumidai plan …`.
pub(crate) async fn run(ctx: &Context, cmd: PlanCommand, out: Output) -> anyhow::Result<()> {
    match cmd {
        PlanCommand::Submit(args) => submit(ctx, *args, out).await,
        PlanCommand::Approve { id, approver } => {
            let person = person::authenticate(ctx, &approver, Action::DecidePlan).await?;
            let decided = plan_decision::approve(&*ctx.store, &person, &id, Utc::now()).await?;
            out.print(&decided, |p| {
                format!(
                    "plan {} approved by {}: {} may reach {} during {}\n\
                     作業計画 {} を承認しました",
                    p.id,
                    approver,
                    names(&p.engineers),
                    names(&p.targets),
                    jst::format_window(p.starts_at, p.ends_at),
                    p.id,
                )
            })
        }
        PlanCommand::Reject {
            id,
            approver,
            reason,
        } => {
            let person = person::authenticate(ctx, &approver, Action::DecidePlan).await?;
            let decided =
                plan_decision::reject(&*ctx.store, &person, &id, &reason, Utc::now()).await?;
            out.print(&decided, |p| {
                format!(
                    "plan {} rejected by {}\n作業計画 {} を却下しました",
                    p.id, approver, p.id
                )
            })
        }
        PlanCommand::List => {
            let plans = ctx.store.plans().await?;
            out.print(&plans, |ps| {
                ps.iter().map(|p| format!("{}\n", line(p))).collect()
            })
        }
        PlanCommand::Show { id } => {
            let plan = stored(ctx, &id).await?;
            out.print(&plan, details)
        }
        PlanCommand::Withdraw { id, reason, by } => {
            let person = person::authenticate(ctx, &by, Action::WithdrawPlan).await?;
            let stored =
                plan_withdrawal::withdraw(&*ctx.store, &person, &id, &reason, Utc::now()).await?;
            out.print(&stored, |p| {
                format!(
                    "plan {} withdrawn by {}: no session starts under it any more\n\
                     作業計画 {} を取り消しました。以後この計画での接続はできません",
                    p.id,
                    person.login(),
                    p.id
                )
            })
        }
        PlanCommand::Attest { rest: _ } => bail!(
            "the engineer attests the data deletion with their own credentials, through the \
             gateway: `ssh ENGINEER@GATEWAY attest PLAN \"what was deleted, where, how\"` (R-10-1) / \
             データ消去の報告は作業者本人が自分の認証情報で行います: \
             ssh 作業者@踏み台 attest 計画ID \"消去内容\""
        ),
    }
}

async fn stored(ctx: &Context, id: &PlanId) -> anyhow::Result<Plan> {
    ctx.store
        .plan(id)
        .await?
        .with_context(|| format!("no plan {id} / 作業計画 {id} はありません"))
}

/// `plan show`: every field, labelled in Japanese and English.
fn details(p: &Plan) -> String {
    let mut s = format!(
        "作業計画 plan {}\n状態 status: {} ({})\n事業者 vendor: {}\n作業者 engineers: {}\n\
         接続先 targets: {}\n作業時間帯 window: {}\n目的 purpose: {}\n許可 allow: {}\n",
        p.id,
        p.status,
        p.kind.as_str(),
        p.vendor,
        names(&p.engineers),
        names(&p.targets),
        jst::format_window(p.starts_at, p.ends_at),
        p.purpose,
        p.allow.describe(),
    );
    for (i, step) in p.steps.iter().enumerate() {
        s.push_str(&format!("手順 step {}: {}\n", i + 1, step.text));
        for pattern in &step.expect {
            s.push_str(&format!("    expect: {pattern}\n"));
        }
    }
    if let Some(why) = &p.personal_data {
        s.push_str(&format!("個人情報 personal data: {why}\n"));
    }
    if let Some(step) = &p.data_deletion {
        s.push_str(&format!("データ消去 data deletion: {step}\n"));
    }
    s.push_str(&super::plan_personal::details(p));
    s.push_str(&format!(
        "提出 submitted: {} {}\n",
        p.submitted_by,
        jst::format(p.submitted_at)
    ));
    if let (Some(by), Some(at)) = (&p.decided_by, p.decided_at) {
        s.push_str(&format!("判断 decided: {by} {}\n", jst::format(at)));
    }
    if let Some(reason) = &p.decision_reason {
        s.push_str(&format!("理由 reason: {reason}\n"));
    }
    if let Some(a) = &p.attestation {
        s.push_str(&format!(
            "消去報告 attested: {} {}: {}\n",
            a.by,
            jst::format(a.at),
            a.note
        ));
    }
    if let Some(w) = &p.withdrawal {
        s.push_str(&format!(
            "取消し withdrawn: {} {}: {}\n",
            w.by,
            jst::format(w.at),
            w.reason
        ));
    }
    if let Some(at) = p.closed_at {
        s.push_str(&format!("作業終了 closed: {}\n", jst::format(at)));
    }
    if let Some(at) = p.reported_at {
        s.push_str(&format!("報告 reported: {}\n", jst::format(at)));
    }
    if let Some(c) = &p.confirmation {
        s.push_str(&format!("確認 confirmed: {} {}\n", c.by, jst::format(c.at)));
        if let Some(note) = &c.note {
            s.push_str(&format!("指摘 findings: {note}\n"));
        }
    }
    s
}

async fn submit(ctx: &Context, args: SubmitArgs, out: Output) -> anyhow::Result<()> {
    // The plan is checked before its submitter is asked for a password and code: a plan
    // that can't be submitted costs no code and records nothing.
    let submitter = args.submitter.clone();
    let request = match &args.file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {} / 読めません", path.display()))?;
            let format = plan::file::Format::of_name(&path.to_string_lossy());
            let parsed = plan::file::parse(&text, format)?;
            let vendor = vendor_of(ctx, &parsed.engineers).await?;
            parsed.into_request(vendor)
        }
        None => request_from_flags(ctx, args).await?,
    };
    let checked = plan_submission::check(&*ctx.store, request, &submitter, Utc::now())
        .await
        .map_err(|e| match e {
            OpError::NotFound { name, .. } => anyhow::anyhow!(
                "target {name} is not registered / 接続先 {name} は登録されていません \
                 (`fumidai target list`)"
            ),
            other => other.into(),
        })?;
    let person: Person = person::authenticate(ctx, &submitter, Action::SubmitPlan).await?;
    let stored = plan_submission::submit(&*ctx.store, &person, checked).await?;
    if !out.json {
        // The ID alone goes to stdout, for `ID=$(fumidai plan submit …)`.
        eprintln!(
            "plan submitted; another operator approves it with `fumidai plan approve {id} --as LOGIN`\n\
             作業計画を提出しました。別の担当者が承認してください",
            id = stored.id
        );
    }
    out.print(&stored, |p| p.id.to_string())
}

/// The request the flags describe (clap saw to it that the required ones are there).
async fn request_from_flags(ctx: &Context, args: SubmitArgs) -> anyhow::Result<PlanRequest> {
    let (Some(starts_at), Some(ends_at), Some(purpose)) = (args.start, args.end, args.purpose)
    else {
        bail!("--start, --end and --purpose are required without --file");
    };
    Ok(PlanRequest {
        vendor: vendor_of(ctx, &args.engineers).await?,
        engineers: args.engineers,
        targets: args.targets,
        starts_at,
        ends_at,
        purpose,
        steps: args.steps.into_iter().map(PlannedStep::text).collect(),
        allow: Allowances {
            upload: args.allow.contains(&Allow::Upload),
            download: args.allow.contains(&Allow::Download),
            forward: args.allow.contains(&Allow::Forward),
            content: args.allow.iter().filter_map(|a| a.content()).collect(),
        },
        personal_data: args.personal_data,
        data_deletion: args.data_deletion,
        take_out: args.take_out.take_out(),
    })
}

/// The one vendor all engineers belong to.
async fn vendor_of(ctx: &Context, engineers: &[Login]) -> anyhow::Result<VendorName> {
    Ok(plan_submission::vendor_of(&*ctx.store, engineers).await?)
}

/// One line of `plan list`.
fn line(p: &Plan) -> String {
    let purpose: String = p
        .purpose
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(60)
        .collect();
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\tallow: {}\t{}",
        p.id,
        p.status,
        jst::format_window(p.starts_at, p.ends_at),
        p.vendor,
        names(&p.engineers),
        names(&p.targets),
        p.allow.describe(),
        purpose,
    )
}

fn names<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// An RFC 3339 time, as UTC.
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}: expected RFC 3339, e.g. 2026-11-26T18:00:00+09:00"))
}
