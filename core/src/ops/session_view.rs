//! Reading sessions at the console (issue 15, R-17-1, R-10.2-REVIEW): the list, a page at
//! a time by the index `(started_at, id)`, and one session with everything that hangs off
//! it — its recordings with their seal states (R-17-2), the commands they show, its
//! transfers from the audit trail and the findings its plan's report raised about it.
//! Read only; who may read is the console's sign-in (every hospital-side role reads).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use policy::ids::SessionId;
use policy::plan::Plan;
use policy::reconcile::CommandFact;
use recorder::inventory::Inventory;
use serde_json::Value;
use store::{AuditRecord, SessionCursor, SessionFilter, SessionPage, SessionRecord, Store};

use super::OpError;
use super::recordings::{self, SessionRecordings};
use crate::datadir::DataDir;
use crate::report::body::FindingEntry;
use crate::report::commands::{self, KeystrokeFilter, SessionCommands};

/// Sessions on a page of the list.
pub const PAGE_SIZE: u32 = 50;

/// One page of the sessions `filter` lets through, after `after`, newest first.
pub async fn page(
    store: &dyn Store,
    filter: &SessionFilter,
    after: Option<&SessionCursor>,
) -> Result<SessionPage, OpError> {
    Ok(store.session_page(filter, after, PAGE_SIZE).await?)
}

/// One session and what hangs off it.
#[derive(Debug)]
pub struct SessionDetail {
    /// The session as stored.
    pub session: SessionRecord,
    /// Its plan (absent only if the store lost it).
    pub plan: Option<Plan>,
    /// Its recordings, each checked against its seal.
    pub recordings: Inventory,
    /// Each SSH channel's commands, in the order of `recordings.channels`: offsets since
    /// the channel's start.
    pub channel_commands: Vec<SessionCommands>,
    /// The lines typed in its RDP recording that a risk rule or planned step matches
    /// (offsets since the session's start).
    pub rdp_commands: Vec<CommandFact>,
    /// Its file transfers and file changes, oldest first.
    pub transfers: Vec<Transfer>,
    /// What the plan's report says about it.
    pub findings: Findings,
}

/// A file transfer (or a refused one, or a file change over SFTP) as the audit trail
/// holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// `upload` or `download`; `None` for a file change (rename, remove, …).
    pub direction: Option<String>,
    /// The SFTP operation of a file change (`rename`, `remove`, …).
    pub op: Option<String>,
    /// The path on the target (as the engineer's client named it: untrusted text).
    pub path: String,
    /// Bytes, when known.
    pub size: Option<u64>,
    /// SHA-256, hex, when the whole file passed.
    pub sha256: Option<String>,
    /// `completed`, `aborted` or `refused`.
    pub outcome: String,
    /// Why it was refused.
    pub reason: Option<String>,
}

/// The findings of the session's plan's report about it.
#[derive(Debug, Clone, PartialEq)]
pub enum Findings {
    /// The plan is not reported yet.
    NotReported,
    /// The report is there but doesn't open against the gateway's key (R-17-2): its
    /// findings are not shown.
    ReportBroken(String),
    /// The report's findings about this session.
    Reported(Vec<FindingEntry>),
}

/// Session `id` with its recordings, commands, transfers and findings, or
/// [`OpError::NotFound`].
pub async fn detail(
    store: &dyn Store,
    dir: &DataDir,
    id: SessionId,
) -> Result<SessionDetail, OpError> {
    let SessionRecordings { session, found } = recordings::of_session(store, dir, id).await?;
    let plan = store.plan(&session.plan).await?;
    let keystrokes = Arc::new(keystroke_filter(plan.as_ref()));
    let casts: Vec<_> = found.channels.iter().map(|c| c.cast.clone()).collect();
    let rdp = found.rdp.as_ref().map(|r| r.path.clone());
    let (channel_commands, rdp_commands) = tokio::task::spawn_blocking(move || {
        let channels = casts
            .iter()
            .map(|cast| commands::of_cast(cast, &keystrokes))
            .collect();
        let rdp = rdp
            .map(|path| commands::of_rdp(&path, &keystrokes))
            .unwrap_or_default();
        (channels, rdp)
    })
    .await
    .map_err(|_| OpError::Interrupted("reading commands"))?;
    let transfers = store
        .session_transfers(&session)
        .await?
        .iter()
        .map(transfer)
        .collect();
    let findings = match store.report(&session.plan).await? {
        None => Findings::NotReported,
        Some(report) => {
            let key = super::audit::verifying_key(dir)?;
            match crate::report::body::open(&report, &key) {
                Ok(body) => Findings::Reported(
                    body.findings
                        .into_iter()
                        .filter(|f| f.session.as_deref() == Some(id.to_string().as_str()))
                        .collect(),
                ),
                Err(problem) => Findings::ReportBroken(problem),
            }
        }
    };
    Ok(SessionDetail {
        session,
        plan,
        recordings: found,
        channel_commands,
        rdp_commands,
        transfers,
        findings,
    })
}

/// Which lines typed without echo may be shown: those the shipped risk rules or the
/// plan's expected commands match, as in the report (the rest may be passwords).
pub fn keystroke_filter(plan: Option<&Plan>) -> KeystrokeFilter {
    KeystrokeFilter {
        rules: policy::risk::RuleSet::shipped(),
        expected: plan
            .map(|p| {
                crate::report::facts::plan_facts(p)
                    .steps
                    .into_iter()
                    .flat_map(|s| s.expected)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A `transfer` record as a [`Transfer`].
fn transfer(record: &AuditRecord) -> Transfer {
    let text = |key: &str| {
        record
            .detail
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Transfer {
        at: record.at,
        direction: text("direction"),
        op: text("op"),
        path: text("path").unwrap_or_default(),
        size: record.detail.get("size").and_then(Value::as_u64),
        sha256: text("sha256"),
        outcome: text("outcome").unwrap_or_default(),
        reason: text("reason"),
    }
}
