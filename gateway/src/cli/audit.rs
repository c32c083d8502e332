//! `fumidai audit verify|tail`: the audit trail for auditors (R-17-1, R-17-2).

use anyhow::bail;
use store::AuditVerification;

use super::context::Context;
use super::output::Output;

/// `fumidai audit …`
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and name the first broken link; exits non-zero if broken.
    Verify,
    /// Show the most recent records.
    Tail {
        /// How many.
        #[arg(short = 'n', default_value_t = 20)]
        n: u32,
    },
}

/// Runs `fumidai audit …`.
pub(crate) async fn run(ctx: &Context, cmd: AuditCommand, out: Output) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify => {
            let verdict = ctx.store.verify_audit().await?;
            out.print(&verdict, |v| match v {
                AuditVerification::Intact { records, head } => {
                    format!("audit chain intact: {records} records, head {head}\n(note the head: a later chain that no longer contains it was truncated)")
                }
                AuditVerification::Broken { seq, problem } => format!("audit chain BROKEN at record {seq}: {problem}"),
            })?;
            if let AuditVerification::Broken { seq, .. } = verdict {
                bail!("audit chain broken at record {seq}");
            }
            Ok(())
        }
        AuditCommand::Tail { n } => {
            let records = ctx.store.audit_tail(n).await?;
            out.print(&records, |rs| {
                rs.iter()
                    .map(|r| {
                        format!(
                            "{:>6} {} {:<20} {:<22} {} {}\n",
                            r.seq,
                            store::audit::format_time(r.at),
                            r.kind,
                            r.actor,
                            r.subject,
                            r.detail
                        )
                    })
                    .collect()
            })
        }
    }
}
