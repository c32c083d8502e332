//! Authority re-checked while a connection lives (issue 12, R-10.1-APPROVE, R-14-1,
//! R-14-8): the checks that let an engineer in at login and admission, asked again on
//! every new channel and once a second for every live connection.
//!
//! The caller gathers [`Facts`] for one connection — whether its client certificate is
//! revoked, whether the account may still log in, and the same admission facts admission
//! reads — and [`recheck`] answers [`Recheck::Keep`] or [`Recheck::Lose`] with the
//! [`LostAuthority`] the engineer is told and the session's end records.
//!
//! The plan check is [`admit`](crate::admission::admit) itself, restricted to the plan the
//! session runs under: any status that does not admit (rejected, withdrawn, or one added
//! later) ends the session, and so does an engineer or target no longer named in it.

use chrono::{DateTime, Utc};

use crate::admission::{self, AdmissionFacts, AdmissionRequest, Decision, DenyReason};
use crate::ids::{Login, PlanId, TargetName};
use crate::limits::EndReason;
use crate::plan::{PlanKind, PlanStatus};

/// What a live connection holds, whose authority is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Who logged in.
    pub engineer: Login,
    /// The session's target and plan; `None` for a login without a session yet (only the
    /// certificate and the account are checked then).
    pub session: Option<(TargetName, PlanId)>,
}

/// What is known about the connection's authority now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The client certificate the connection presented has been revoked.
    pub certificate_revoked: bool,
    /// The account exists and may log in (enabled; the vendor's state where the store
    /// knows it). Fed from the same store call the login reads.
    pub account_enabled: bool,
    /// What admission reads for this engineer and the session's target (ignored without a
    /// session).
    pub admission: AdmissionFacts,
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recheck {
    /// The connection keeps its authority.
    Keep,
    /// It lost it: refuse the channel, and end the connection when
    /// [`LostAuthority::ends_connection`] says so.
    Lose(LostAuthority),
}

/// Why a connection lost its authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostAuthority {
    /// The client certificate was revoked.
    Revoked,
    /// The account (or its vendor) was disabled or removed.
    Disabled,
    /// The session's plan was rejected.
    Rejected,
    /// The session's plan no longer admits it: withdrawn, the engineer withdrawn from it
    /// (`session kill --block`), the target removed, or another status that doesn't admit.
    Withdrawn,
    /// The plan's window is not open now.
    WindowOver,
}

impl LostAuthority {
    /// Whether the whole connection closes, not just the new channel. Every reason does
    /// today: none of them can come back on this login (the window doesn't reopen for a
    /// running session; a re-approved plan needs a new login).
    pub fn ends_connection(self) -> bool {
        true
    }

    /// The session end reason recorded in `session.ended`.
    pub fn end_reason(self) -> EndReason {
        match self {
            Self::Revoked => EndReason::Revoked,
            Self::Disabled => EndReason::Disabled,
            Self::Rejected => EndReason::Rejected,
            Self::Withdrawn => EndReason::Withdrawn,
            Self::WindowOver => EndReason::WindowEnd,
        }
    }

    /// What the engineer reads, in Japanese and English (`\r\n` line ends): the text of
    /// the session's end reason.
    pub fn message(self) -> String {
        let no_limits = crate::limits::Limits {
            idle_timeout: None,
            window_warning: None,
            max_length: None,
        };
        self.end_reason().message(&no_limits)
    }

    /// Stable name for the audit trail (`session.denied` detail `reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoked => "certificate_revoked",
            Self::Disabled => "account_disabled",
            Self::Rejected => "plan_rejected",
            Self::Withdrawn => "plan_withdrawn",
            Self::WindowOver => "window_ended",
        }
    }
}

/// Decides whether the connection described by `held` keeps its authority at `now`.
///
/// Checked in the order login and admission check: certificate, account, then the
/// session's plan through [`admission::admit`] over that plan alone.
pub fn recheck(held: &Held, facts: &Facts, now: DateTime<Utc>) -> Recheck {
    if facts.certificate_revoked {
        return Recheck::Lose(LostAuthority::Revoked);
    }
    if !facts.account_enabled {
        return Recheck::Lose(LostAuthority::Disabled);
    }
    let Some((target, plan)) = &held.session else {
        return Recheck::Keep;
    };
    let ours: Vec<_> = facts
        .admission
        .plans
        .iter()
        .filter(|p| p.id == *plan)
        .cloned()
        .collect();
    let status = ours.first().map(|p| p.status);
    let emergency = ours.first().is_some_and(|p| p.kind == PlanKind::Emergency);
    let request = AdmissionRequest {
        engineer: held.engineer.clone(),
        target: target.clone(),
    };
    let only_ours = AdmissionFacts {
        target_exists: facts.admission.target_exists,
        plans: ours,
        personal_data: facts.admission.personal_data,
    };
    // Plain admission never admits under an emergency plan (it covers only the session
    // that declared it, R-11-1): that session is re-checked against its own plan.
    let decision = if emergency {
        admission::readmit_emergency(&request, *plan, &only_ours, now)
    } else {
        admission::admit(&request, &only_ours, now)
    };
    match decision {
        Decision::Admit { plan: admitted, .. } if admitted == *plan => Recheck::Keep,
        Decision::Admit { .. } => Recheck::Lose(LostAuthority::Withdrawn),
        Decision::Deny(reason) => Recheck::Lose(lost(reason, status)),
    }
}

/// The reason for a denial of the session's own plan, whose stored status is `status`
/// (`None`: the plan no longer names the engineer, or is gone).
fn lost(reason: DenyReason, status: Option<PlanStatus>) -> LostAuthority {
    match (status, reason) {
        (Some(PlanStatus::Rejected), _) => LostAuthority::Rejected,
        (Some(s), DenyReason::WindowEnded { .. } | DenyReason::WindowNotStarted { .. })
            if s.admits() =>
        {
            LostAuthority::WindowOver
        }
        _ => LostAuthority::Withdrawn,
    }
}

#[cfg(test)]
mod tests;
