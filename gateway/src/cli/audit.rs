//! `fumidai audit verify|tail`: the audit trail for auditors (R-17-1, R-17-2).

use anyhow::bail;
use fumidai_core::ops;
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

/// Runs `fumidai audit …`: the op, then the words.
pub(crate) async fn run(ctx: &Context, cmd: AuditCommand, out: Output) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify => {
            let check = ops::audit::verify(ctx.store.as_ref(), &ctx.dir).await?;
            out.print(&check.chain, |v| match v {
                AuditVerification::Intact { records, head } => {
                    format!("audit chain intact: {records} records, head {head}\n(note the head: a later chain that no longer contains it was truncated)")
                }
                AuditVerification::Broken { seq, problem } => format!("audit chain BROKEN at record {seq}: {problem}"),
            })?;
            if let AuditVerification::Broken { seq, .. } = check.chain {
                bail!("audit chain broken at record {seq}");
            }
            let kinds = [("recording", &check.recordings), ("report", &check.reports)];
            for (kind, checked) in kinds {
                let Some(checked) = checked else { continue };
                if !out.json {
                    println!(
                        "{kind}s: {} sealed, {} intact",
                        checked.sealed,
                        checked.sealed - checked.broken.len()
                    );
                }
                if let Some(first) = checked.broken.first() {
                    let subject = if kind == "report" { "plan" } else { "session" };
                    for b in &checked.broken {
                        eprintln!(
                            "{kind} BROKEN: record {} ({subject} {}): {}",
                            b.seq, b.subject, b.problem
                        );
                    }
                    bail!(
                        "a {} no longer matches its seal: record {} ({subject} {}): {}",
                        if kind == "report" {
                            "reconciliation report"
                        } else {
                            "recording"
                        },
                        first.seq,
                        first.subject,
                        first.problem
                    );
                }
            }
            Ok(())
        }
        AuditCommand::Tail { n } => {
            let records = ops::audit::tail(ctx.store.as_ref(), n).await?;
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
