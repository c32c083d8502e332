//! `fumidai compliance`: the compliance evidence (適合状況) for an inspector — every
//! requirement ID, whether this installation meets it, and the evidence: configuration
//! values, counts from the store, and the audit chain verified now with its head.
//! `fumidai_core::ops::compliance_evidence` gathers the facts and assesses; this prints.

use chrono::Utc;
use fumidai_core::compliance;
use fumidai_core::ops::compliance_evidence;

use super::context::Context;
use super::output::Output;

/// Runs `fumidai compliance`. Succeeds even when a requirement is not met: the document
/// says so; a broken audit chain is shown, not hidden behind an error.
pub(crate) async fn run(ctx: &Context, out: Output) -> anyhow::Result<()> {
    let doc = compliance_evidence::gather(ctx.store.as_ref(), &ctx.config, Utc::now()).await?;
    out.print(&doc, compliance::text)
}
