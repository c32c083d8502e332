//! Findings about one session: window, commands, transfers, forwards, violations.

use super::*;

/// Findings about one session, by offset then kind.
pub(super) fn session_findings(
    plan: &PlanFacts,
    s: &SessionFacts,
    rules: &RuleSet,
) -> Vec<Finding> {
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
pub(super) fn by_offset<T>(items: &[T], offset: impl Fn(&T) -> TimeDelta) -> Vec<&T> {
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_by_key(|item| offset(item));
    sorted
}
