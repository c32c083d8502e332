//! What reconciliation reads: the plan as approved and what each session did, as plain
//! data the caller assembles from the store, the audit trail and the recordings.

use chrono::{DateTime, TimeDelta, Utc};

use crate::ids::{Login, PlanId, SessionId, TargetName, VendorName};
use crate::limits::EndReason;
use crate::plan::Allowances;
use crate::risk::CommandPattern;
use crate::transfer::{ContentKind, Direction};

/// The plan, as far as reconciliation compares against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFacts {
    /// The plan reconciled; quoted in the report.
    pub id: PlanId,
    /// Approved beforehand, or opened for an emergency and approved afterwards.
    pub kind: PlanKind,
    /// The vendor doing the work.
    pub vendor: VendorName,
    /// Who may connect (R-10.2-PRIV: named persons).
    pub engineers: Vec<Login>,
    /// Which targets they may reach.
    pub targets: Vec<TargetName>,
    /// The window opens at this instant (inclusive)…
    pub starts_at: DateTime<Utc>,
    /// …and closes at this one (exclusive).
    pub ends_at: DateTime<Utc>,
    /// Why the work is done.
    pub purpose: String,
    /// The planned steps, with the commands each expects.
    pub steps: Vec<PlannedStep>,
    /// Why personal data will be accessed, when the plan declares that it will (R-10-2);
    /// `None` when it declares no personal-data access.
    pub personal_data: Option<String>,
    /// Uploads, downloads, forwards and uploadable content kinds the plan allows.
    pub allow: Allowances,
    /// The data-deletion step and its attestation (R-10-1).
    pub data_deletion: DataDeletion,
}

/// How a plan came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanKind {
    /// Applied for and approved before the work (R-10.1-APPROVE).
    Normal,
    /// Opened by an engineer declaring an emergency; approved after the fact (事後承認).
    Emergency,
}

/// One planned step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStep {
    /// The step's number as the plan shows it (from 1).
    pub number: u32,
    /// The step as the vendor wrote it.
    pub text: String,
    /// Commands the step is expected to run. A command matching one is the step's
    /// evidence, and a risky command matching one was planned. Empty: the step can't be
    /// checked automatically, and is left to the planning manager.
    pub expected: Vec<CommandPattern>,
}

/// Whether the plan has a data-deletion step, and the engineer's attestation of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataDeletion {
    /// The plan has a step deleting data used in the work (R-10-1). Reconciliation also
    /// expects an attestation when the plan declares personal-data access.
    pub required: bool,
    /// The engineer's attestation that the data was deleted, once given.
    pub attestation: Option<Attestation>,
}

/// An engineer's statement that data used in the work was deleted (R-10-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// Who attests.
    pub by: Login,
    /// When.
    pub at: DateTime<Utc>,
    /// What they state was deleted, and how.
    pub statement: String,
}

/// What one session did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFacts {
    /// The session; names its recording.
    pub id: SessionId,
    /// Who connected.
    pub engineer: Login,
    /// Where to.
    pub target: TargetName,
    /// Whether the target is tagged as holding personal data (R-10-2), as registered when
    /// the session ran.
    pub personal_data_target: bool,
    /// Admitted as emergency access (break-glass, R-11-1).
    pub emergency: bool,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How it ended; `None` when no end was recorded (the gateway stopped, or it is still
    /// running).
    pub end: Option<SessionEnd>,
    /// Commands read from the recording (and exec requests), in any order.
    pub commands: Vec<CommandFact>,
    /// File transfers, refused ones included.
    pub transfers: Vec<TransferFact>,
    /// TCP forwards, refused ones included.
    pub forwards: Vec<ForwardFact>,
    /// Transfer and RDP protocol violations: a client breaking the protocol to get
    /// something past the gateway (the channel or session was ended).
    pub violations: Vec<ViolationFact>,
    /// An RDP session only: the earlier session on the same target whose desktop this one
    /// may have resumed (fumidai cannot log an RDP desktop off; issue 12).
    pub resumed_desktop: Option<LeftDesktop>,
}

/// The session that left an RDP desktop behind, as audited (`rdp.desktop_may_resume`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftDesktop {
    /// Its ID.
    pub session: String,
    /// Its engineer.
    pub engineer: String,
    /// How it ended (`killed`, `idle`, …), or `live` when it had not ended.
    pub end: String,
}

/// A protocol violation, as audited (`transfer.protocol_violation`,
/// `rdp.protocol_violation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationFact {
    /// Time from the session's start.
    pub offset: TimeDelta,
    /// `sftp` or `rdp`.
    pub protocol: String,
    /// The audited reason (`duplicate_request_id`, `undecodable_slow_path_input`, …).
    pub reason: String,
}

/// A session's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEnd {
    /// When it ended.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: EndReason,
    /// The operator's kill reason, or the error, as recorded.
    pub note: Option<String>,
}

/// A command as read from the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFact {
    /// Time from the session's start: where to look in the recording.
    pub offset: TimeDelta,
    /// The command line.
    pub text: String,
    /// History or completion made the typed line ambiguous; the text may not be exact.
    pub uncertain: bool,
}

/// A file transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferFact {
    /// Time from the session's start.
    pub offset: TimeDelta,
    /// Which way.
    pub direction: Direction,
    /// The file's path on the target.
    pub path: String,
    /// Bytes moved, when known.
    pub size: Option<u64>,
    /// SHA-256 of the content, hex, when the whole file passed.
    pub sha256: Option<String>,
    /// The kind of code the upload could run, as classified (R-10-6).
    pub content: Option<ContentKind>,
    /// How it ended.
    pub outcome: TransferOutcome,
}

/// How a transfer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferOutcome {
    /// The whole file moved.
    Completed,
    /// It started but did not finish: part of the file may have moved.
    Aborted,
    /// fumidai refused it; nothing moved.
    Refused {
        /// The refusal's audit name (`download_not_allowed`, `executable_not_declared`, …).
        reason: String,
    },
}

/// A TCP forward (`ssh -L`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardFact {
    /// Time from the session's start.
    pub offset: TimeDelta,
    /// The destination host as asked for.
    pub host: String,
    /// The destination port.
    pub port: u32,
    /// Opened or refused.
    pub outcome: ForwardOutcome,
}

/// How a forward request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardOutcome {
    /// The forward was opened.
    Opened,
    /// fumidai refused it.
    Refused {
        /// The refusal's audit name (`not_in_plan`, `ssh_port`, …).
        reason: String,
    },
}
