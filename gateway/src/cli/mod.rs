//! The `fumidai` command line (DESIGN.md, "Command-line contract").
//!
//! Only this module reads files, the environment and arguments; the libraries take typed
//! values. Each subcommand lives in its own file.

mod accounts;
mod audit;
mod cert;
mod compliance;
mod connect;
mod context;
mod handover;
mod init;
mod lang;
mod lifecycle;
mod output;
mod person;
mod plan;
mod plan_personal;
mod play;
mod report;
mod review;
mod serve;
mod session;
mod ssh_ca;
mod target;
mod target_update;
mod vendor_targets;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use context::Context;

/// fumidai: the remote-maintenance gateway (踏み台) for hospitals.
#[derive(Debug, Parser)]
#[command(name = "fumidai", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The data directory (configuration, database, keys).
    #[arg(
        long,
        global = true,
        env = "FUMIDAI_DATA_DIR",
        default_value = "./fumidai-data"
    )]
    pub data_dir: PathBuf,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new data directory: configuration, database, CA, keys.
    Init(init::InitArgs),
    /// Run the gateway: the mutual-TLS front door and the internal health/metrics endpoint.
    Serve,
    /// Manage vendor companies (保守事業者).
    #[command(subcommand)]
    Vendor(accounts::VendorCommand),
    /// Manage vendors' maintenance engineers (保守要員).
    #[command(subcommand)]
    Engineer(accounts::EngineerCommand),
    /// Manage hospital-side operators, planning managers and auditors.
    #[command(subcommand)]
    Operator(accounts::OperatorCommand),
    /// Issue, revoke and list client certificates.
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// Register, list and remove target servers.
    #[command(subcommand)]
    Target(target::TargetCommand),
    /// Submit, approve, reject and list work plans (作業計画書).
    #[command(subcommand)]
    Plan(plan::PlanCommand),
    /// List maintenance sessions; kill a live one (from any shell, against a running serve).
    #[command(subcommand)]
    Session(session::SessionCommand),
    /// Inspect and verify the audit trail.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Replay a session's recordings on the terminal, after checking their seals.
    Play(play::PlayArgs),
    /// A plan's reconciliation report (照合報告書): show (produced once the window is
    /// over), confirm as planning manager, list overdue ones.
    Report(report::ReportArgs),
    /// Account review (アカウント棚卸し, R-14-8): dormant engineers, certificates expiring
    /// soon, vendors without plans, operators without TOTP.
    Review(review::ReviewArgs),
    /// Compliance evidence (適合状況) for every requirement ID: met or not here, and why.
    Compliance,
    /// fumidai's SSH user CA, which targets registered with `--auth cert` trust.
    #[command(subcommand)]
    SshCa(ssh_ca::SshCaCommand),
    /// (Vendor side) Relay an SSH connection through the gateway's mutual-TLS front door.
    Connect(Box<connect::ConnectArgs>),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("fumidai: error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // `connect` reads stdin on a blocking thread when it is not a pipe; that thread can't be
    // cancelled: don't wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fumidai: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let out = output::Output { json: cli.json };
    match cli.command {
        Command::Init(args) => init::run(&cli.data_dir, args, out).await,
        Command::Serve => serve::run(&cli.data_dir).await,
        Command::Vendor(cmd) => {
            accounts::vendor(&Context::open(&cli.data_dir).await?, cmd, out).await
        }
        Command::Engineer(cmd) => {
            accounts::engineer(&Context::open(&cli.data_dir).await?, cmd, out).await
        }
        Command::Operator(cmd) => {
            accounts::operator(&Context::open(&cli.data_dir).await?, cmd, out).await
        }
        Command::Cert(cmd) => cert::run(&Context::open(&cli.data_dir).await?, cmd, out).await,
        Command::Target(cmd) => target::run(&Context::open(&cli.data_dir).await?, cmd, out).await,
        Command::Plan(cmd) => plan::run(&Context::open(&cli.data_dir).await?, cmd, out).await,
        Command::Session(cmd) => session::run(&Context::open(&cli.data_dir).await?, cmd, out).await,
        Command::Audit(cmd) => audit::run(&Context::open(&cli.data_dir).await?, cmd, out).await,
        Command::Play(args) => play::run(&Context::open(&cli.data_dir).await?, args, out).await,
        Command::Report(args) => report::run(&Context::open(&cli.data_dir).await?, args, out).await,
        Command::Review(args) => review::run(&Context::open(&cli.data_dir).await?, args, out).await,
        Command::Compliance => compliance::run(&Context::open(&cli.data_dir).await?, out).await,
        Command::SshCa(cmd) => ssh_ca::run(&cli.data_dir, cmd, out),
        Command::Connect(args) => connect::run(*args).await,
    }
}
