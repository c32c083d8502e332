//! `fumidai audit verify|tail`: the audit trail for auditors (R-17-1, R-17-2).

use anyhow::{Context as _, bail};
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
            verify_recordings(ctx, out).await?;
            verify_reports(ctx, out).await
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

/// R-10-5: every stored reconciliation report must still be the one the chain recorded
/// (`report.produced`: its SHA-256) and carry the gateway's signature over it.
async fn verify_reports(ctx: &Context, out: Output) -> anyhow::Result<()> {
    let key = verifying_key(&ctx.dir)?;
    let produced: Vec<_> = ctx
        .store
        .audit_tail(u32::MAX)
        .await?
        .into_iter()
        .filter(|r| r.kind == store::AuditKind::ReportProduced.as_str())
        .collect();
    let mut broken = Vec::new();
    for record in &produced {
        let recorded = record
            .detail
            .get("sha256")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let problem = match record.subject.parse::<policy::ids::PlanId>() {
            Err(_) => Some("the record names no plan".to_owned()),
            Ok(plan) => match ctx.store.report(&plan).await? {
                None => Some("the report is missing".to_owned()),
                Some(report) if report.sha256 != recorded => {
                    Some("the stored report is not the one recorded".to_owned())
                }
                Some(report) => crate::report::body::open(&report, &key).err(),
            },
        };
        if let Some(problem) = problem {
            broken.push(format!(
                "record {} (plan {}): {problem}",
                record.seq, record.subject
            ));
        }
    }
    if !out.json {
        println!(
            "reports: {} sealed, {} intact",
            produced.len(),
            produced.len() - broken.len()
        );
    }
    if let Some(first) = broken.first() {
        for line in &broken {
            eprintln!("report BROKEN: {line}");
        }
        bail!("a reconciliation report no longer matches its seal: {first}");
    }
    Ok(())
}

/// R-17-2: every sealed recording must still match its seal — the statement signed by the
/// gateway's key, and each file's size and SHA-256 — as recorded in the chain.
async fn verify_recordings(ctx: &Context, out: Output) -> anyhow::Result<()> {
    let key = verifying_key(&ctx.dir)?;
    let sealed = ctx.store.recording_seals().await?;
    let root = ctx.dir.recordings();
    let mut broken = Vec::new();
    for seal in &sealed {
        let checked = check_recording(&root, &key, &seal.statement, &seal.signature).await;
        if let Err(problem) = checked {
            broken.push(format!(
                "record {} (session {}): {problem}",
                seal.seq, seal.session
            ));
        }
    }
    if !out.json {
        println!(
            "recordings: {} sealed, {} intact",
            sealed.len(),
            sealed.len() - broken.len()
        );
    }
    if let Some(first) = broken.first() {
        for line in &broken {
            eprintln!("recording BROKEN: {line}");
        }
        bail!("a recording no longer matches its seal: {first}");
    }
    Ok(())
}

/// The gateway's public key that recordings' seals are checked against (`signing.pub`).
pub(super) fn verifying_key(
    dir: &crate::datadir::DataDir,
) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
    use ed25519_dalek::pkcs8::DecodePublicKey;
    let public =
        std::fs::read_to_string(dir.signing_public_key()).context("cannot read signing.pub")?;
    ed25519_dalek::VerifyingKey::from_public_key_pem(&public)
        .context("signing.pub is not an Ed25519 public key")
}

async fn check_recording(
    root: &std::path::Path,
    key: &ed25519_dalek::VerifyingKey,
    statement: &str,
    signature: &str,
) -> Result<(), String> {
    let statement = recorder::Statement::parse(statement).map_err(|e| e.to_string())?;
    let bytes: [u8; 64] = hex::decode(signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| "malformed signature".to_owned())?;
    let signature = ed25519_dalek::Signature::from_bytes(&bytes);
    recorder::seal::verify(&statement, &signature, key).map_err(|e| e.to_string())?;
    let root = root.to_owned();
    tokio::task::spawn_blocking(move || recorder::seal::verify_files(&root, &statement))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}
