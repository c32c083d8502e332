//! The admission decision (R-7-12, R-10.1-APPROVE): a session starts only when an approved
//! plan covers this engineer, this target and this moment.
//!
//! The caller gathers the facts — does the target exist (and is it not removed), which plans
//! name the engineer — and [`admit`] decides. A denial names the most helpful reason, which
//! the engineer reads in Japanese and English and the audit trail keeps as
//! [`DenyReason::as_str`].

use chrono::{DateTime, Utc};

use crate::ids::{Login, PlanId, TargetName};
use crate::jst;
use crate::plan::{Allowances, Plan, PlanKind, PlanStatus};

/// What the engineer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionRequest {
    /// Who, as authenticated (the login equals the certificate's CN).
    pub engineer: Login,
    /// Which target, from the SSH user name `engineer:target`.
    pub target: TargetName,
}

/// What is known when deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionFacts {
    /// The target is registered and not removed.
    pub target_exists: bool,
    /// The plans naming this engineer, in any state. Plans not naming the engineer are
    /// ignored, so passing more is harmless.
    pub plans: Vec<Plan>,
    /// The target is tagged `personal-data` (R-10-2): only a plan declaring personal-data
    /// access admits to it.
    pub personal_data: bool,
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let the session start under this plan.
    Admit {
        /// The plan it runs under (quoted in the banner, the recording and the audit trail).
        plan: PlanId,
        /// The session is cut here: the window's end.
        ends_at: DateTime<Utc>,
        /// What the plan allows beyond a terminal.
        allow: Allowances,
    },
    /// Refuse, telling the engineer why.
    Deny(DenyReason),
}

/// Why a session was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// No target of that name is registered (or it was removed). Told to the engineer in
    /// the words of [`TargetNotInPlan`](Self::TargetNotInPlan).
    UnknownTarget,
    /// No plan names this engineer.
    NoPlan,
    /// A plan for this target exists but is not approved yet.
    NotApprovedYet,
    /// The plan for this target was rejected.
    Rejected,
    /// The approved plan's window opens later.
    WindowNotStarted {
        /// When it opens.
        starts_at: DateTime<Utc>,
    },
    /// The plan's window has closed.
    WindowEnded {
        /// When it closed.
        ended_at: DateTime<Utc>,
    },
    /// The engineer has plans, but none names this target.
    TargetNotInPlan,
    /// The target holds personal data and the plan that would admit declares no
    /// personal-data access (R-10-2: prevented, not only reported).
    PersonalDataUndeclared,
    /// The emergency plan named covers only the session that opened it, which has ended
    /// (R-11-1), or it is not this engineer's and this target's emergency plan.
    EmergencyOver,
    /// The plan for this target was withdrawn by the hospital after approval.
    Withdrawn,
}

impl DenyReason {
    /// Stable name for the audit trail and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownTarget => "unknown_target",
            Self::NoPlan => "no_plan",
            Self::NotApprovedYet => "not_approved_yet",
            Self::Rejected => "rejected",
            Self::WindowNotStarted { .. } => "window_not_started",
            Self::WindowEnded { .. } => "window_ended",
            Self::TargetNotInPlan => "target_not_in_plan",
            Self::PersonalDataUndeclared => "personal_data_undeclared",
            Self::EmergencyOver => "emergency_over",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// What the engineer reads, in Japanese. Times in JST.
    pub fn message_ja(self) -> String {
        match self {
            // Worded as TargetNotInPlan, so target names can't be probed.
            Self::UnknownTarget | Self::TargetNotInPlan => {
                "この接続先はあなたの作業計画に含まれていません".to_owned()
            }
            Self::NoPlan => "あなたを作業者とする作業計画がありません".to_owned(),
            Self::NotApprovedYet => "作業計画はまだ承認されていません".to_owned(),
            Self::Rejected => "作業計画は却下されました".to_owned(),
            Self::Withdrawn => "作業計画は病院により取り消されました".to_owned(),
            Self::WindowNotStarted { starts_at } => {
                format!("作業時間帯は {} に始まります", jst::format(starts_at))
            }
            Self::WindowEnded { ended_at } => {
                format!("作業時間帯は {} に終了しました", jst::format(ended_at))
            }
            Self::PersonalDataUndeclared => {
                "この接続先は個人情報を扱います。個人情報へのアクセスを申告した作業計画が必要です"
                    .to_owned()
            }
            Self::EmergencyOver => {
                "緊急時の作業計画は、それを開いた 1 つのセッションにのみ有効です".to_owned()
            }
        }
    }

    /// What the engineer reads, in English. Times in JST.
    pub fn message_en(self) -> String {
        match self {
            // Worded as TargetNotInPlan, so target names can't be probed.
            Self::UnknownTarget | Self::TargetNotInPlan => {
                "this target is not in your work plan".to_owned()
            }
            Self::NoPlan => "no work plan names you".to_owned(),
            Self::NotApprovedYet => "your work plan is not approved yet".to_owned(),
            Self::Rejected => "your work plan was rejected".to_owned(),
            Self::Withdrawn => "your work plan was withdrawn by the hospital".to_owned(),
            Self::WindowNotStarted { starts_at } => {
                format!("your work window starts at {}", jst::format(starts_at))
            }
            Self::WindowEnded { ended_at } => {
                format!("your work window ended at {}", jst::format(ended_at))
            }
            Self::PersonalDataUndeclared => {
                "this target holds personal data: you need a work plan declaring personal-data access"
                    .to_owned()
            }
            Self::EmergencyOver => {
                "an emergency plan covers only the one session that opened it".to_owned()
            }
        }
    }
}

/// Decides whether `request` may start a session at `now`.
///
/// Admits under an approved plan naming the engineer and the target whose window covers
/// `now` (start inclusive, end exclusive); with several, the one ending latest, so the
/// session runs as long as any plan allows. Otherwise denies with the most helpful reason,
/// looking at the plans for this target from the present outwards:
///
/// 1. one covering now but still submitted → [`NotApprovedYet`](DenyReason::NotApprovedYet);
/// 2. an approved one starting later → [`WindowNotStarted`](DenyReason::WindowNotStarted)
///    with the earliest start;
/// 3. a submitted one starting later → `NotApprovedYet`;
/// 4. a rejected one covering now or later → [`Rejected`](DenyReason::Rejected);
/// 5. an approved or submitted one that has ended → [`WindowEnded`](DenyReason::WindowEnded)
///    with the latest end (approved plans first);
/// 6. otherwise (only rejected plans, all past) → `Rejected`.
///
/// Before all that: no plan naming the engineer is [`NoPlan`](DenyReason::NoPlan), then an
/// unknown or removed target is [`UnknownTarget`](DenyReason::UnknownTarget), and plans
/// that all leave out this target are [`TargetNotInPlan`](DenyReason::TargetNotInPlan).
///
/// The engineer must not learn which target names exist beyond those in their own plans:
/// `NoPlan` is checked first whatever the target, and `UnknownTarget` reads the same as
/// `TargetNotInPlan`; only the audit trail ([`DenyReason::as_str`]) tells them apart.
///
/// Emergency plans are left out: one covers only the session that opened it (R-11-1), which
/// runs under it without asking again ([`readmit_emergency`] for its RDP connection). On a
/// target tagged `personal-data`, only plans declaring personal-data access admit; when an
/// undeclared one would have, the denial is
/// [`PersonalDataUndeclared`](DenyReason::PersonalDataUndeclared) (R-10-2).
pub fn admit(request: &AdmissionRequest, facts: &AdmissionFacts, now: DateTime<Utc>) -> Decision {
    let mine: Vec<&Plan> = facts
        .plans
        .iter()
        .filter(|p| p.kind == PlanKind::Planned && p.names_engineer(&request.engineer))
        .collect();
    if mine.is_empty() {
        return Decision::Deny(DenyReason::NoPlan);
    }
    if !facts.target_exists {
        return Decision::Deny(DenyReason::UnknownTarget);
    }
    let here: Vec<&Plan> = mine
        .into_iter()
        .filter(|p| p.names_target(&request.target))
        .collect();
    if here.is_empty() {
        return Decision::Deny(DenyReason::TargetNotInPlan);
    }
    let declared = |p: &&Plan| !facts.personal_data || p.personal_data.is_some();
    if let Some(plan) = best_admitting(here.iter().copied().filter(declared), now) {
        return Decision::Admit {
            plan: plan.id,
            ends_at: plan.ends_at,
            allow: plan.allow,
        };
    }
    if best_admitting(here.iter().copied(), now).is_some() {
        // R-10-2: an approved plan covers now, but declares no personal-data access.
        return Decision::Deny(DenyReason::PersonalDataUndeclared);
    }
    Decision::Deny(most_helpful_denial(&here, now))
}

/// Admission under one emergency plan, for the connection its declaration was made for
/// (the RDP connection that presents the ticket issued under it): admits only if `plan` is
/// an emergency plan naming this engineer and target, still active (its session has not
/// ended: the plan closes with it) and within its window. Otherwise
/// [`EmergencyOver`](DenyReason::EmergencyOver).
pub fn readmit_emergency(
    request: &AdmissionRequest,
    plan: PlanId,
    facts: &AdmissionFacts,
    now: DateTime<Utc>,
) -> Decision {
    let open = facts.plans.iter().find(|p| {
        p.id == plan
            && p.kind == PlanKind::Emergency
            && p.status == PlanStatus::Active
            && p.names_engineer(&request.engineer)
            && p.names_target(&request.target)
            && p.covers(now)
    });
    match open {
        Some(p) if facts.target_exists => Decision::Admit {
            plan: p.id,
            ends_at: p.ends_at,
            allow: p.allow,
        },
        _ => Decision::Deny(DenyReason::EmergencyOver),
    }
}

/// The targets the engineer may reach now, each with the plan it would run under (the one
/// admission would choose), sorted by target name — the menu for the user name `engineer`
/// alone. The plans carry no knowledge of removed targets: drop those not registered any
/// more (the store's `targets()`) before showing the menu. [`admit`] refuses them anyway.
pub fn admissible_targets(
    engineer: &Login,
    plans: &[Plan],
    now: DateTime<Utc>,
) -> Vec<(TargetName, PlanId)> {
    let mine: Vec<&Plan> = plans
        .iter()
        .filter(|p| p.kind == PlanKind::Planned && p.names_engineer(engineer))
        .collect();
    let mut targets: Vec<&TargetName> = mine.iter().flat_map(|p| &p.targets).collect();
    targets.sort();
    targets.dedup();
    targets
        .into_iter()
        .filter_map(|target| {
            let for_target = mine.iter().copied().filter(|p| p.names_target(target));
            best_admitting(for_target, now).map(|plan| (target.clone(), plan.id))
        })
        .collect()
}

/// Among plans for one engineer and target, the approved one covering `now` that ends
/// latest (ties: the later ID, so the choice doesn't depend on the order plans came in).
fn best_admitting<'p>(
    plans: impl Iterator<Item = &'p Plan>,
    now: DateTime<Utc>,
) -> Option<&'p Plan> {
    plans
        .filter(|p| admits_now(p, now))
        .max_by_key(|p| (p.ends_at, p.id))
}

/// Whether a plan, by its status and window, lets a session start at `now`.
fn admits_now(plan: &Plan, now: DateTime<Utc>) -> bool {
    match plan.status {
        PlanStatus::Approved | PlanStatus::Active => plan.covers(now),
        PlanStatus::Submitted
        | PlanStatus::Rejected
        | PlanStatus::Closed
        | PlanStatus::Reported
        | PlanStatus::Confirmed
        | PlanStatus::Withdrawn => false,
    }
}

/// Where a plan's window lies relative to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Now,
    Later,
    Past,
}

fn when(plan: &Plan, now: DateTime<Utc>) -> When {
    if now < plan.starts_at {
        When::Later
    } else if now < plan.ends_at {
        When::Now
    } else {
        When::Past
    }
}

/// The denial that tells the engineer most, for plans naming them and the target of which
/// none admits now (see [`admit`] for the order).
fn most_helpful_denial(plans: &[&Plan], now: DateTime<Utc>) -> DenyReason {
    let any = |status, at: &[When]| matching(plans, status, at, now).next().is_some();
    if any(PlanStatus::Submitted, &[When::Now]) {
        return DenyReason::NotApprovedYet;
    }
    if let Some(starts_at) = matching(plans, PlanStatus::Approved, &[When::Later], now)
        .map(|p| p.starts_at)
        .min()
    {
        return DenyReason::WindowNotStarted { starts_at };
    }
    if any(PlanStatus::Submitted, &[When::Later]) {
        return DenyReason::NotApprovedYet;
    }
    if any(PlanStatus::Rejected, &[When::Now, When::Later]) {
        return DenyReason::Rejected;
    }
    if any(PlanStatus::Withdrawn, &[When::Now, When::Later]) {
        return DenyReason::Withdrawn;
    }
    let ended = |statuses: &[PlanStatus]| {
        statuses
            .iter()
            .flat_map(|s| matching(plans, *s, &[When::Past], now))
            .map(|p| p.ends_at)
            .max()
    };
    // A plan closed early (all of its states after approval) ended too.
    let worked = [
        PlanStatus::Approved,
        PlanStatus::Active,
        PlanStatus::Closed,
        PlanStatus::Reported,
        PlanStatus::Confirmed,
    ];
    if let Some(ended_at) = ended(&worked).or_else(|| ended(&[PlanStatus::Submitted])) {
        return DenyReason::WindowEnded { ended_at };
    }
    // Every remaining plan is a rejected one in the past (an approved plan covering now
    // would have been admitted).
    DenyReason::Rejected
}

/// The plans of a status whose window lies at one of `at`.
fn matching<'a>(
    plans: &'a [&'a Plan],
    status: PlanStatus,
    at: &'a [When],
    now: DateTime<Utc>,
) -> impl Iterator<Item = &'a Plan> + 'a {
    plans
        .iter()
        .copied()
        .filter(move |p| p.status == status && at.contains(&when(p, now)))
}

#[cfg(test)]
mod tests;
