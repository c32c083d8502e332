//! Reconciliation (R-10-5): what happened under a plan, set against the plan, as findings
//! for the planning manager to confirm.
//!
//! [`reconcile`] takes the plan ([`PlanFacts`]), its sessions ([`SessionFacts`]: who,
//! where, when, how it ended, commands, transfers, forwards) and the risk rules, and
//! returns a [`Reconciliation`]: the [`Finding`]s, in a fixed order, and for each planned
//! step the commands that are its evidence. A finding carries its severity, the
//! requirement it concerns and the evidence — session, time offset into the recording,
//! and the command, transfer or forward.
//!
//! Findings: sessions outside the window, by engineers or on targets the plan does not
//! name; personal-data targets without declared personal-data access (R-10-2); emergency
//! access; kills, time-outs and errors; risky commands that no planned step expects;
//! commands read with uncertainty; transfers and forwards the plan does not allow, and
//! refused attempts; planned steps without evidence; data deletion not attested (R-10-1).
//!
//! A risky command is *covered* when an expected-command pattern of some planned step
//! matches the very simple command the rule matched (`pg_dump *` covers the `pg_dump` of
//! `pg_dump his | gzip`, not an `scp` after it).
//!
//! Pure: the caller reads the store, the audit trail and the recordings, and renders,
//! seals and stores the result.

mod facts;
mod finding;
mod plan_findings;
mod session_findings;

use chrono::TimeDelta;
use plan_findings::{plan_findings, step_evidence};
use session_findings::{by_offset, session_findings};

pub use facts::{
    Attestation, CommandFact, DataDeletion, ForwardFact, ForwardOutcome, LeftDesktop, PlanFacts,
    PlanKind, PlannedStep, SessionEnd, SessionFacts, TransferFact, TransferOutcome, ViolationFact,
};
pub use finding::{Evidence, Finding, FindingKind, Subject};

use crate::ids::{PlanId, SessionId, TargetName};
use crate::jst;
use crate::limits::EndReason;
use crate::requirement::{
    R_7_12, R_10_1, R_10_1_APPROVE, R_10_2, R_10_2_REVIEW, R_10_2_TIMEOUT, R_10_3, R_10_5, R_10_6,
    R_13_7, R_17_1,
};
use crate::risk::{RiskMatch, RuleSet, Severity};
use crate::transfer::Direction;

/// How long a session may outlast the window before that is a finding: the gateway cuts
/// at the window's end, and the cut itself takes a moment.
pub const END_GRACE: TimeDelta = TimeDelta::minutes(1);

/// The outcome of reconciling one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    /// The plan reconciled.
    pub plan: PlanId,
    /// The findings: first those about the plan as a whole, then each session's (sessions
    /// by start time), within a session by offset, then kind.
    pub findings: Vec<Finding>,
    /// For each planned step, in plan order, the commands that match its expected
    /// patterns.
    pub steps: Vec<StepEvidence>,
}

impl Reconciliation {
    /// The most severe finding's severity; `None` when there is no finding.
    pub fn highest_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// The evidence for one planned step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEvidence {
    /// The step's number.
    pub number: u32,
    /// The step's text.
    pub text: String,
    /// Its expected-command patterns, as written; empty when the step can't be checked
    /// automatically.
    pub expected: Vec<String>,
    /// The commands that match one of them, sessions by start time, by offset within one.
    pub commands: Vec<CommandRef>,
}

/// A command, by session and offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRef {
    /// The session.
    pub session: SessionId,
    /// Time from the session's start.
    pub offset: TimeDelta,
    /// The command line as read.
    pub text: String,
}

/// Reconciles a plan with its sessions (R-10-5). Deterministic: the same facts give the
/// same findings in the same order, whatever order the sessions and their events come in.
pub fn reconcile(plan: &PlanFacts, sessions: &[SessionFacts], rules: &RuleSet) -> Reconciliation {
    let mut sessions: Vec<&SessionFacts> = sessions.iter().collect();
    sessions.sort_by_key(|s| (s.started_at, s.id));

    let steps = step_evidence(plan, &sessions);
    let mut findings = plan_findings(plan, &sessions, &steps);
    for session in &sessions {
        findings.extend(session_findings(plan, session, rules));
    }
    Reconciliation {
        plan: plan.id,
        findings,
        steps,
    }
}

#[cfg(test)]
mod tests;
