//! Findings about the plan as a whole, and the evidence for its planned steps.

use super::*;

/// Which commands match each planned step.
pub(super) fn step_evidence(plan: &PlanFacts, sessions: &[&SessionFacts]) -> Vec<StepEvidence> {
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
pub(super) fn plan_findings(
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
