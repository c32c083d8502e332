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

use chrono::TimeDelta;

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

/// Which commands match each planned step.
fn step_evidence(plan: &PlanFacts, sessions: &[&SessionFacts]) -> Vec<StepEvidence> {
    plan.steps
        .iter()
        .map(|step| StepEvidence {
            number: step.number,
            text: step.text.clone(),
            expected: step
                .expected
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            commands: sessions
                .iter()
                .flat_map(|s| {
                    by_offset(&s.commands, |c| c.offset)
                        .into_iter()
                        .map(|c| (s.id, c))
                })
                .filter(|(_, c)| step.expected.iter().any(|p| p.matches_line(&c.text)))
                .map(|(session, c)| CommandRef {
                    session,
                    offset: c.offset,
                    text: c.text.clone(),
                })
                .collect(),
        })
        .collect()
}

/// Findings about the plan as a whole.
fn plan_findings(
    plan: &PlanFacts,
    sessions: &[&SessionFacts],
    steps: &[StepEvidence],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let about_plan = || Evidence {
        session: None,
        offset: None,
        subject: Subject::Plan,
    };
    if sessions.is_empty() {
        out.push(Finding {
            kind: FindingKind::PlanNotUsed,
            severity: Severity::Info,
            requirement: R_10_5,
            evidence: about_plan(),
            message_ja: "作業計画の時間帯に接続はありませんでした。".to_owned(),
            message_en: "No session was made under this plan.".to_owned(),
        });
        if plan.kind == PlanKind::Emergency {
            out.push(Finding {
                kind: FindingKind::EmergencyAccess,
                severity: Severity::High,
                requirement: R_10_1_APPROVE,
                evidence: about_plan(),
                message_ja: "緊急時の作業計画です。事後承認が必要です。".to_owned(),
                message_en: "This is an emergency plan; it needs approval after the fact."
                    .to_owned(),
            });
        }
    }
    let deletion_expected = plan.data_deletion.required || plan.personal_data.is_some();
    if deletion_expected && plan.data_deletion.attestation.is_none() {
        out.push(Finding {
            kind: FindingKind::DataDeletionNotAttested,
            severity: Severity::High,
            requirement: R_10_1,
            evidence: about_plan(),
            message_ja:
                "作業で使用した個人情報等のデータについて、削除の報告（作業者の証明）がありません。"
                    .to_owned(),
            message_en: "The engineer has not attested that the data used in the work was deleted."
                .to_owned(),
        });
    }
    if plan.personal_data.is_none() {
        out.extend(undeclared_personal_data(sessions));
    }
    if !sessions.is_empty() {
        for step in steps {
            if step.expected.is_empty() || !step.commands.is_empty() {
                continue;
            }
            out.push(Finding {
                kind: FindingKind::PlannedStepWithoutEvidence,
                severity: Severity::Low,
                requirement: R_10_5,
                evidence: Evidence {
                    session: None,
                    offset: None,
                    subject: Subject::Step {
                        number: step.number,
                        text: step.text.clone(),
                    },
                },
                message_ja: format!(
                    "作業手順 {}「{}」に対応するコマンドが見つかりません。",
                    step.number, step.text
                ),
                message_en: format!(
                    "No command was found for planned step {} ({}).",
                    step.number, step.text
                ),
            });
        }
    }
    out.sort_by_key(|f| f.kind);
    out
}

/// One finding per personal-data target the plan's sessions reached without the plan
/// declaring personal data (R-10-2), naming its sessions: the first is where to look.
fn undeclared_personal_data(sessions: &[&SessionFacts]) -> Vec<Finding> {
    let mut targets: Vec<&TargetName> = sessions
        .iter()
        .filter(|s| s.personal_data_target)
        .map(|s| &s.target)
        .collect();
    targets.sort();
    targets.dedup();
    targets
        .into_iter()
        .filter_map(|target| {
            let on: Vec<&&SessionFacts> = sessions
                .iter()
                .filter(|s| s.personal_data_target && &s.target == target)
                .collect();
            let first = on.first()?;
            let ids: Vec<String> = on.iter().map(|s| s.id.to_string()).collect();
            Some(Finding {
                kind: FindingKind::PersonalDataTargetNotDeclared,
                severity: Severity::High,
                requirement: R_10_2,
                evidence: Evidence {
                    session: Some(first.id),
                    offset: Some(TimeDelta::zero()),
                    subject: Subject::Session {
                        engineer: first.engineer.clone(),
                        target: first.target.clone(),
                        started_at: first.started_at,
                        ended_at: first.end.as_ref().map(|e| e.at),
                    },
                },
                message_ja: format!(
                    "個人情報を保有する接続先 {target} に接続しましたが、作業計画に個人情報へのアクセスの記載がありません（セッション {} 件: {}）。",
                    ids.len(),
                    ids.join(", ")
                ),
                message_en: format!(
                    "{target} holds personal data, but the plan does not declare access to personal data ({} session{}: {}).",
                    ids.len(),
                    if ids.len() == 1 { "" } else { "s" },
                    ids.join(", ")
                ),
            })
        })
        .collect()
}

/// Findings about one session, by offset then kind.
fn session_findings(plan: &PlanFacts, s: &SessionFacts, rules: &RuleSet) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let zero = TimeDelta::zero();
    let mut push = |kind, severity, requirement, offset, subject, ja: String, en: String| {
        out.push(Finding {
            kind,
            severity,
            requirement,
            evidence: Evidence {
                session: Some(s.id),
                offset,
                subject,
            },
            message_ja: ja,
            message_en: en,
        });
    };
    let whole = || Subject::Session {
        engineer: s.engineer.clone(),
        target: s.target.clone(),
        started_at: s.started_at,
        ended_at: s.end.as_ref().map(|e| e.at),
    };
    let started = jst::format(s.started_at);

    if s.emergency || plan.kind == PlanKind::Emergency {
        push(
            FindingKind::EmergencyAccess,
            Severity::High,
            R_10_1_APPROVE,
            Some(zero),
            whole(),
            format!(
                "緊急時アクセスです（事後承認が必要）: {} が {started} に {} へ接続しました。",
                s.engineer, s.target
            ),
            format!(
                "Emergency access (needs approval after the fact): {} connected to {} at {started}.",
                s.engineer, s.target
            ),
        );
    }
    if !plan.engineers.contains(&s.engineer) {
        push(
            FindingKind::EngineerNotInPlan,
            Severity::High,
            R_10_1_APPROVE,
            Some(zero),
            whole(),
            format!("作業計画にない作業者 {} のセッションです。", s.engineer),
            format!(
                "The session was made by {}, whom the plan does not name.",
                s.engineer
            ),
        );
    }
    if !plan.targets.contains(&s.target) {
        push(
            FindingKind::TargetNotInPlan,
            Severity::High,
            R_10_1_APPROVE,
            Some(zero),
            whole(),
            format!("作業計画にない接続先 {} へのセッションです。", s.target),
            format!(
                "The session reached {}, which the plan does not name.",
                s.target
            ),
        );
    }
    let window = jst::format_window(plan.starts_at, plan.ends_at);
    if s.started_at < plan.starts_at || s.started_at >= plan.ends_at {
        push(
            FindingKind::SessionOutsideWindow,
            Severity::High,
            R_7_12,
            Some(zero),
            whole(),
            format!("作業時間帯（{window}）外の {started} に開始したセッションです。"),
            format!("The session started at {started}, outside the plan's window ({window})."),
        );
    } else if let Some(end) = s.end.as_ref().filter(|e| e.at > plan.ends_at + END_GRACE) {
        push(
            FindingKind::SessionOutsideWindow,
            Severity::High,
            R_7_12,
            Some(plan.ends_at - s.started_at),
            whole(),
            format!(
                "セッションが作業時間帯の終了（{}）を過ぎて {} まで続きました。",
                jst::format(plan.ends_at),
                jst::format(end.at)
            ),
            format!(
                "The session went on past the window's end ({}) until {}.",
                jst::format(plan.ends_at),
                jst::format(end.at)
            ),
        );
    }

    for c in by_offset(&s.commands, |c| c.offset) {
        let command = |risk: Option<RiskMatch>| Subject::Command {
            text: c.text.clone(),
            uncertain: c.uncertain,
            risk,
        };
        for risk in rules.classify(&c.text) {
            if covered(plan, &risk) {
                continue;
            }
            let ja = format!(
                "作業手順にない、リスクのあるコマンドです（{}）: {}",
                risk.title_ja, c.text
            );
            let en = format!(
                "Risky command not covered by a planned step ({}): {}",
                risk.title_en, c.text
            );
            push(
                FindingKind::RiskyCommandNotCovered,
                risk.severity,
                risk.requirement,
                Some(c.offset),
                command(Some(risk)),
                ja,
                en,
            );
        }
        if c.uncertain {
            push(
                FindingKind::UncertainCommand,
                Severity::Info,
                R_10_3,
                Some(c.offset),
                command(None),
                format!(
                    "入力内容を確定できないコマンドです（履歴・補完）。録画で確認してください: {}",
                    c.text
                ),
                format!(
                    "The command could not be read with certainty (history or completion); check the recording: {}",
                    c.text
                ),
            );
        }
    }

    for t in by_offset(&s.transfers, |t| t.offset) {
        let (requirement, way_ja, way_en) = match t.direction {
            Direction::Upload => (R_10_6, "アップロード", "upload"),
            Direction::Download => (R_10_2, "ダウンロード", "download"),
        };
        match &t.outcome {
            TransferOutcome::Refused { reason } => push(
                FindingKind::TransferRefused,
                Severity::Info,
                requirement,
                Some(t.offset),
                Subject::Transfer(t.clone()),
                format!("{way_ja}が試みられ、拒否されました: {}（{reason}）", t.path),
                format!("A refused {way_en} was attempted: {} ({reason})", t.path),
            ),
            TransferOutcome::Completed | TransferOutcome::Aborted => {
                let Some((ja, en)) = undeclared_transfer(plan, t, way_ja, way_en) else {
                    continue;
                };
                push(
                    FindingKind::TransferNotDeclared,
                    Severity::High,
                    requirement,
                    Some(t.offset),
                    Subject::Transfer(t.clone()),
                    ja,
                    en,
                );
            }
        }
    }

    if let Some(left) = &s.resumed_desktop {
        push(
            FindingKind::DesktopMayBeResumed,
            Severity::Medium,
            R_10_2_REVIEW,
            Some(TimeDelta::zero()),
            whole(),
            format!(
                "接続先のデスクトップは、前のセッション {}（{}、終了理由 {}）から引き継がれた可能性があります。fumidai は RDP のデスクトップをログオフできません。それ以前に起動されたプログラムはそのセッションのものです。",
                left.session, left.engineer, left.end
            ),
            format!(
                "This session may have resumed the desktop left by session {} ({}, ended: {}); fumidai cannot log an RDP desktop off. Programs started before this session belong to that one.",
                left.session, left.engineer, left.end
            ),
        );
    }

    for v in by_offset(&s.violations, |v| v.offset) {
        push(
            FindingKind::ProtocolViolation,
            Severity::High,
            R_10_6,
            Some(v.offset),
            whole(),
            format!(
                "クライアントが {} のプロトコルに違反したため、接続を終了しました（{}）。手作りのクライアントによる検査回避の試みの可能性があります。",
                v.protocol, v.reason
            ),
            format!(
                "The client broke the {} protocol and was cut off ({}): possibly a hand-written client trying to get past the gateway.",
                v.protocol, v.reason
            ),
        );
    }

    for f in by_offset(&s.forwards, |f| f.offset) {
        match &f.outcome {
            ForwardOutcome::Opened if plan.allow.forward => {}
            ForwardOutcome::Opened => push(
                FindingKind::ForwardNotDeclared,
                Severity::High,
                R_13_7,
                Some(f.offset),
                Subject::Forward(f.clone()),
                format!(
                    "作業計画で許可されていないポート転送（{}:{}）が開かれました。",
                    f.host, f.port
                ),
                format!(
                    "A port forward to {}:{} was opened that the plan does not allow.",
                    f.host, f.port
                ),
            ),
            ForwardOutcome::Refused { reason } => push(
                FindingKind::ForwardRefused,
                Severity::Info,
                R_13_7,
                Some(f.offset),
                Subject::Forward(f.clone()),
                format!(
                    "ポート転送（{}:{}）が試みられ、拒否されました（{reason}）。",
                    f.host, f.port
                ),
                format!(
                    "A refused port forward to {}:{} was attempted ({reason}).",
                    f.host, f.port
                ),
            ),
        }
    }

    match &s.end {
        None => push(
            FindingKind::SessionError,
            Severity::Medium,
            R_17_1,
            None,
            whole(),
            "セッションの終了が記録されていません。記録が不完全な可能性があります。".to_owned(),
            "No end was recorded for the session; its record may be incomplete.".to_owned(),
        ),
        Some(end) => {
            let at = Some(end.at - s.started_at);
            let note = end.note.as_deref().unwrap_or("-");
            match end.reason {
                EndReason::Normal => {}
                EndReason::Killed => push(
                    FindingKind::SessionKilled,
                    Severity::Medium,
                    R_10_2_REVIEW,
                    at,
                    whole(),
                    format!("運用担当者がセッションを強制切断しました（理由: {note}）。"),
                    format!("An operator killed the session (reason: {note})."),
                ),
                EndReason::Error => push(
                    FindingKind::SessionError,
                    Severity::Medium,
                    R_17_1,
                    at,
                    whole(),
                    format!(
                        "セッションが異常終了しました（{note}）。記録が不完全な可能性があります。"
                    ),
                    format!(
                        "The session ended in an error ({note}); its record may be incomplete."
                    ),
                ),
                reason @ (EndReason::Revoked
                | EndReason::Disabled
                | EndReason::Rejected
                | EndReason::Withdrawn) => {
                    // Issue 12: authority lost while connected; the gateway cut the session.
                    let (ja, en) = match reason {
                        EndReason::Revoked => (
                            "接続中にクライアント証明書が失効したため、セッションが切断されました。",
                            "The session was cut: the engineer's certificate was revoked while connected.",
                        ),
                        EndReason::Disabled => (
                            "接続中にアカウントが無効にされたため、セッションが切断されました。",
                            "The session was cut: the engineer's account was disabled while connected.",
                        ),
                        EndReason::Rejected => (
                            "接続中に作業計画が却下されたため、セッションが切断されました。",
                            "The session was cut: its plan was rejected while it ran.",
                        ),
                        _ => (
                            "接続中に作業計画が取り下げられた（または作業者が外された）ため、セッションが切断されました。",
                            "The session was cut: its plan was withdrawn (or the engineer withdrawn from it) while it ran.",
                        ),
                    };
                    push(
                        FindingKind::SessionKilled,
                        Severity::Medium,
                        R_10_2_REVIEW,
                        at,
                        whole(),
                        ja.to_owned(),
                        en.to_owned(),
                    );
                }
                reason @ (EndReason::Idle | EndReason::WindowEnd | EndReason::MaxLength) => {
                    let (ja, en) = match reason {
                        EndReason::Idle => (
                            "無操作が続いたため、セッションが切断されました。",
                            "The session was cut after idling.",
                        ),
                        EndReason::MaxLength => (
                            "最大接続時間に達したため、セッションが切断されました。",
                            "The session was cut at its maximum length.",
                        ),
                        _ => (
                            "作業時間帯の終了により、セッションが切断されました。",
                            "The session was cut at the end of the window.",
                        ),
                    };
                    push(
                        FindingKind::SessionTimedOut,
                        Severity::Low,
                        R_10_2_TIMEOUT,
                        at,
                        whole(),
                        ja.to_owned(),
                        en.to_owned(),
                    );
                }
            }
        }
    }

    // Stable: equal keys keep the order above (rule order within a command).
    out.sort_by_key(|f| (f.evidence.offset.is_none(), f.evidence.offset, f.kind));
    out
}

/// Whether a planned step expects the simple command a risk rule matched.
fn covered(plan: &PlanFacts, risk: &RiskMatch) -> bool {
    plan.steps
        .iter()
        .flat_map(|step| &step.expected)
        .any(|pattern| pattern.matches_command(&risk.command))
}

/// The messages for a transfer that moved (wholly or partly) without the plan's leave, or
/// `None` when the plan allows it.
fn undeclared_transfer(
    plan: &PlanFacts,
    t: &TransferFact,
    way_ja: &str,
    way_en: &str,
) -> Option<(String, String)> {
    let partly = match t.outcome {
        TransferOutcome::Aborted => ("（中断）", " (aborted)"),
        _ => ("", ""),
    };
    let allowed = match t.direction {
        Direction::Download => plan.allow.download,
        Direction::Upload => plan.allow.upload,
    };
    if !allowed {
        return Some((
            format!(
                "作業計画で許可されていない{way_ja}がありました{}: {}",
                partly.0, t.path
            ),
            format!(
                "A {way_en} the plan does not allow took place{}: {}",
                partly.1, t.path
            ),
        ));
    }
    match (t.direction, t.content) {
        (Direction::Upload, Some(kind)) if !plan.allow.content.contains(kind) => Some((
            format!(
                "作業計画に記載のない{}がアップロードされました{}: {}",
                kind.japanese(),
                partly.0,
                t.path
            ),
            format!(
                "{} the plan does not declare was uploaded{}: {}",
                capitalised(kind.english()),
                partly.1,
                t.path
            ),
        )),
        _ => None,
    }
}

/// `an executable` → `An executable`.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Items sorted by offset (stable: equal offsets keep their order).
fn by_offset<T>(items: &[T], offset: impl Fn(&T) -> TimeDelta) -> Vec<&T> {
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_by_key(|item| offset(item));
    sorted
}

#[cfg(test)]
mod tests;
