//! What reconciliation reports: findings, each with its severity, the requirement it
//! concerns and the evidence to look at.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use super::facts::{ForwardFact, TransferFact};
use crate::ids::{Login, SessionId, TargetName};
use crate::risk::{RiskMatch, Severity};

/// One difference between the plan and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What kind of difference.
    pub kind: FindingKind,
    /// How much it matters.
    pub severity: Severity,
    /// The requirement it concerns (one of [`crate::requirement::ALL`]).
    pub requirement: &'static str,
    /// Where to look.
    pub evidence: Evidence,
    /// The finding in Japanese, one sentence, for the planning manager.
    pub message_ja: String,
    /// The finding in English.
    pub message_en: String,
}

/// The kinds of finding, in the order a report lists them within a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// No session was made under the plan (R-10-5).
    PlanNotUsed,
    /// Emergency access, to be approved after the fact (R-10.1-APPROVE).
    EmergencyAccess,
    /// A session by an engineer the plan does not name (R-10.1-APPROVE).
    EngineerNotInPlan,
    /// A session on a target the plan does not name (R-10.1-APPROVE).
    TargetNotInPlan,
    /// A session started outside the plan's window, or outlasted it (R-7-12).
    SessionOutsideWindow,
    /// A session on a personal-data target under a plan that declares no personal-data
    /// access (R-10-2).
    PersonalDataTargetNotDeclared,
    /// A command matching a risk rule that no planned step expects.
    RiskyCommandNotCovered,
    /// A command whose text could not be read with certainty (R-10-3).
    UncertainCommand,
    /// A file moved that the plan does not allow (R-10-6 uploads, R-10-2 downloads).
    TransferNotDeclared,
    /// A transfer fumidai refused: an attempt, nothing moved.
    TransferRefused,
    /// A client broke the SFTP or RDP protocol, as a hand-written client trying to get
    /// something past the gateway would; the channel or session was ended (R-10-6).
    ProtocolViolation,
    /// An RDP session may have resumed a desktop an earlier session left on the target
    /// (R-10.2-REVIEW): what ran there before this session is that session's.
    DesktopMayBeResumed,
    /// A port forward was opened that the plan does not allow (R-13-7).
    ForwardNotDeclared,
    /// A port forward fumidai refused (R-13-7).
    ForwardRefused,
    /// An operator killed the session (R-10.2-REVIEW).
    SessionKilled,
    /// The session was cut for idling, at the window's end or at its maximum length
    /// (R-10.2-TIMEOUT).
    SessionTimedOut,
    /// The session ended in an error, or has no recorded end: its record may be
    /// incomplete (R-17-1).
    SessionError,
    /// A planned step with expected commands, none of which was found (R-10-5).
    PlannedStepWithoutEvidence,
    /// Data used in the work has no deletion attestation (R-10-1).
    DataDeletionNotAttested,
}

impl FindingKind {
    /// Every kind, in report order.
    pub const ALL: [FindingKind; 19] = [
        FindingKind::PlanNotUsed,
        FindingKind::EmergencyAccess,
        FindingKind::EngineerNotInPlan,
        FindingKind::TargetNotInPlan,
        FindingKind::SessionOutsideWindow,
        FindingKind::PersonalDataTargetNotDeclared,
        FindingKind::RiskyCommandNotCovered,
        FindingKind::UncertainCommand,
        FindingKind::TransferNotDeclared,
        FindingKind::TransferRefused,
        FindingKind::ProtocolViolation,
        FindingKind::DesktopMayBeResumed,
        FindingKind::ForwardNotDeclared,
        FindingKind::ForwardRefused,
        FindingKind::SessionKilled,
        FindingKind::SessionTimedOut,
        FindingKind::SessionError,
        FindingKind::PlannedStepWithoutEvidence,
        FindingKind::DataDeletionNotAttested,
    ];

    /// Stable name for the JSON report and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::PlanNotUsed => "plan_not_used",
            FindingKind::EmergencyAccess => "emergency_access",
            FindingKind::EngineerNotInPlan => "engineer_not_in_plan",
            FindingKind::TargetNotInPlan => "target_not_in_plan",
            FindingKind::SessionOutsideWindow => "session_outside_window",
            FindingKind::PersonalDataTargetNotDeclared => "personal_data_target_not_declared",
            FindingKind::RiskyCommandNotCovered => "risky_command_not_covered",
            FindingKind::UncertainCommand => "uncertain_command",
            FindingKind::TransferNotDeclared => "transfer_not_declared",
            FindingKind::TransferRefused => "transfer_refused",
            FindingKind::ProtocolViolation => "protocol_violation",
            FindingKind::DesktopMayBeResumed => "desktop_may_be_resumed",
            FindingKind::ForwardNotDeclared => "forward_not_declared",
            FindingKind::ForwardRefused => "forward_refused",
            FindingKind::SessionKilled => "session_killed",
            FindingKind::SessionTimedOut => "session_timed_out",
            FindingKind::SessionError => "session_error",
            FindingKind::PlannedStepWithoutEvidence => "planned_step_without_evidence",
            FindingKind::DataDeletionNotAttested => "data_deletion_not_attested",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a finding's evidence is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The session, for findings about one; `None` for the plan as a whole.
    pub session: Option<SessionId>,
    /// Time from the session's start: where to look in its recording.
    pub offset: Option<TimeDelta>,
    /// What to look at.
    pub subject: Subject,
}

/// The thing a finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// The plan as a whole.
    Plan,
    /// A session as a whole: who, where, when.
    Session {
        /// Who connected.
        engineer: Login,
        /// Where to.
        target: TargetName,
        /// When it started.
        started_at: DateTime<Utc>,
        /// When it ended, if recorded.
        ended_at: Option<DateTime<Utc>>,
    },
    /// A command.
    Command {
        /// The command line as read.
        text: String,
        /// Whether the reading is uncertain.
        uncertain: bool,
        /// The risk rule it matched, for risky-command findings.
        risk: Option<RiskMatch>,
    },
    /// A file transfer.
    Transfer(TransferFact),
    /// A port forward.
    Forward(ForwardFact),
    /// A planned step.
    Step {
        /// Its number.
        number: u32,
        /// Its text.
        text: String,
    },
}
