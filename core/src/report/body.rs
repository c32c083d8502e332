//! The report as sealed: a versioned JSON document built from the plan, the facts and the
//! reconciliation, its SHA-256 and the gateway's Ed25519 signature over the digest. The
//! stored bytes are the sealed bytes; HTML and text are rendered from them.

use chrono::{DateTime, TimeDelta, Utc};
use ed25519_dalek::{Signer, SigningKey};
use policy::ids::SessionId;
use policy::plan::Plan;
use policy::reconcile::{ForwardOutcome, Reconciliation, Subject, TransferOutcome, reconcile};
use policy::risk::RuleSet;
use policy::transfer::Direction;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::StoredReport;

use super::ReportError;
use super::commands::Unechoed;
use super::facts::Facts;

/// The format's name and version, first in every report.
pub const FORMAT: &str = "fumidai reconciliation report v1";

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportBody {
    /// [`FORMAT`].
    pub format: String,
    /// When it was produced.
    pub produced_at: DateTime<Utc>,
    /// `SEQ:HASH` of the audit chain's last record when it was produced: everything before
    /// it is covered, and `audit verify` proves the chain up to it unchanged.
    pub audit_head: String,
    /// The plan, with its approval, attestation and life cycle.
    pub plan: Plan,
    /// What happened, session by session.
    pub sessions: Vec<SessionEntry>,
    /// Each planned step and the commands that match it.
    pub steps: Vec<StepEntry>,
    /// Differences between plan and facts, most important first within each session.
    pub findings: Vec<FindingEntry>,
    /// The highest finding severity (`info` … `critical`), none when clean.
    pub highest_severity: Option<String>,
    /// Sessions of this plan's engineers on its targets within its window that another
    /// plan admitted (overlapping plans): on record in that plan's report, named here so
    /// this one doesn't read as if no work was done. Absent from reports made before it
    /// existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub under_other_plans: Vec<OtherPlanSession>,
}

/// A session in the plan's window, on its targets, by its engineers, admitted by another
/// plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtherPlanSession {
    /// The session.
    pub id: String,
    /// The plan that admitted it (its report reconciles it).
    pub plan: String,
    /// Who.
    pub engineer: String,
    /// Where to.
    pub target: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
}

impl OtherPlanSession {
    /// The sessions among `all` that `plan` covers but another plan admitted.
    pub fn of(plan: &Plan, all: &[store::SessionRecord], now: DateTime<Utc>) -> Vec<Self> {
        all.iter()
            .filter(|s| s.plan != plan.id)
            .filter(|s| plan.engineers.contains(&s.engineer) && plan.targets.contains(&s.target))
            .filter(|s| s.started_at < plan.ends_at && s.ended_at.unwrap_or(now) > plan.starts_at)
            .map(|s| Self {
                id: s.id.to_string(),
                plan: s.plan.to_string(),
                engineer: s.engineer.to_string(),
                target: s.target.to_string(),
                started_at: s.started_at,
            })
            .collect()
    }
}

/// One session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionEntry {
    /// Session ID.
    pub id: String,
    /// Who.
    pub engineer: String,
    /// Where to.
    pub target: String,
    /// Whether the target is tagged as holding personal data.
    pub personal_data_target: bool,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended, if it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why (normal, idle, window-end, max-length, killed, error).
    pub end_reason: Option<String>,
    /// The operator's kill reason and who gave it. Absent from reports made before it
    /// existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_note: Option<String>,
    /// Commands, in order.
    pub commands: Vec<CommandEntry>,
    /// File transfers, in order.
    pub transfers: Vec<TransferEntry>,
    /// Port forwards, in order.
    pub forwards: Vec<ForwardEntry>,
    /// The recordings' sealed files (`file NAME SIZE SHA256` lines of their seals).
    pub recordings: Vec<String>,
    /// Lines typed without echo that no risk rule or planned step matched: not shown (they
    /// may be passwords), counted per recording. Absent from reports made before it existed.
    #[serde(default)]
    pub unechoed_withheld: Vec<WithheldEntry>,
    /// Who watched it live at the console, from when to when (R-10.2-REVIEW). Absent from
    /// reports made before it existed, and when nobody watched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watched_by: Vec<WatchEntry>,
}

/// A watch of the session's terminal at the console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchEntry {
    /// Who (a login).
    pub by: String,
    /// From when.
    pub from: DateTime<Utc>,
    /// To when; absent when its end was never recorded.
    pub to: Option<DateTime<Utc>>,
}

/// Lines typed without echo left out of the report, in one recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WithheldEntry {
    /// The recording's cast, as named in its seal (`YYYY/MM/DD/<session>-ch<n>.cast`).
    pub recording: String,
    /// How many lines.
    pub lines: u64,
}

/// A command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandEntry {
    /// Seconds from the session's start (to find it in the recording).
    pub offset: f64,
    /// The command line.
    pub text: String,
    /// Whether it was reconstructed with doubt (history, completion).
    pub uncertain: bool,
    /// Typed while the terminal echoed nothing (`stty -echo`, a password prompt): the text
    /// is the keys' reading, shown because a risk rule or planned step matches it.
    #[serde(default)]
    pub unechoed: bool,
}

/// A file transfer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferEntry {
    /// Seconds from the session's start.
    pub offset: f64,
    /// `upload` or `download`.
    pub direction: String,
    /// Path on the target.
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

/// A port forward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardEntry {
    /// Seconds from the session's start.
    pub offset: f64,
    /// `host:port`.
    pub destination: String,
    /// `opened` or `refused: REASON`.
    pub outcome: String,
}

/// A planned step and its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEntry {
    /// Its number.
    pub number: u32,
    /// Its text.
    pub text: String,
    /// The command patterns it expected.
    pub expected: Vec<String>,
    /// Matching commands: session ID, seconds, command line.
    pub evidence: Vec<(String, f64, String)>,
}

/// A finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingEntry {
    /// Its kind (`risky_command_not_covered`, …).
    pub kind: String,
    /// `info`, `low`, `medium`, `high`, `critical`.
    pub severity: String,
    /// The requirement it concerns.
    pub requirement: String,
    /// The session it is about.
    pub session: Option<String>,
    /// Seconds into that session.
    pub offset: Option<f64>,
    /// What it is about: a command, a transfer, a step.
    pub subject: String,
    /// In Japanese.
    pub message_ja: String,
    /// In English.
    pub message_en: String,
    /// The command it is about was typed without echo (see [`CommandEntry::unechoed`]).
    #[serde(default)]
    pub unechoed: bool,
}

impl ReportBody {
    /// Reconciles the facts with `rules` and builds the report.
    pub fn build(
        plan: &Plan,
        facts: &Facts,
        rules: &RuleSet,
        audit_head: &str,
        now: DateTime<Utc>,
    ) -> Self {
        let r: Reconciliation = reconcile(&facts.plan, &facts.sessions, rules);
        let none = Unechoed::default();
        let unechoed = |session: &SessionId| facts.unechoed.get(session).unwrap_or(&none);
        let sessions = facts
            .sessions
            .iter()
            .map(|s| SessionEntry {
                id: s.id.to_string(),
                engineer: s.engineer.to_string(),
                target: s.target.to_string(),
                personal_data_target: s.personal_data_target,
                started_at: s.started_at,
                ended_at: s.end.as_ref().map(|e| e.at),
                end_reason: s.end.as_ref().map(|e| e.reason.as_str().to_owned()),
                end_note: s.end.as_ref().and_then(|e| e.note.clone()),
                commands: s
                    .commands
                    .iter()
                    .map(|c| CommandEntry {
                        offset: seconds(c.offset),
                        text: c.text.clone(),
                        uncertain: c.uncertain,
                        unechoed: unechoed(&s.id).marks(c.offset, &c.text),
                    })
                    .collect(),
                transfers: s
                    .transfers
                    .iter()
                    .map(|t| {
                        let (outcome, reason) = transfer_outcome(&t.outcome);
                        TransferEntry {
                            offset: seconds(t.offset),
                            direction: direction(t.direction).to_owned(),
                            path: t.path.clone(),
                            size: t.size,
                            sha256: t.sha256.clone(),
                            outcome: outcome.to_owned(),
                            reason,
                        }
                    })
                    .collect(),
                forwards: s
                    .forwards
                    .iter()
                    .map(|f| ForwardEntry {
                        offset: seconds(f.offset),
                        destination: format!("{}:{}", f.host, f.port),
                        outcome: match &f.outcome {
                            ForwardOutcome::Opened => "opened".to_owned(),
                            ForwardOutcome::Refused { reason } => format!("refused: {reason}"),
                        },
                    })
                    .collect(),
                recordings: facts.seals.get(&s.id).cloned().unwrap_or_default(),
                unechoed_withheld: unechoed(&s.id)
                    .withheld
                    .iter()
                    .map(|w| WithheldEntry {
                        recording: w.recording.clone(),
                        lines: u64::try_from(w.lines).unwrap_or(u64::MAX),
                    })
                    .collect(),
                watched_by: facts
                    .watches
                    .get(&s.id)
                    .map(|list| {
                        list.iter()
                            .map(|w| WatchEntry {
                                by: w.by.clone(),
                                from: w.from,
                                to: w.to,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        let steps = r
            .steps
            .iter()
            .map(|st| StepEntry {
                number: st.number,
                text: st.text.clone(),
                expected: st.expected.clone(),
                evidence: st
                    .commands
                    .iter()
                    .map(|c| (c.session.to_string(), seconds(c.offset), c.text.clone()))
                    .collect(),
            })
            .collect();
        let findings = r
            .findings
            .iter()
            .map(|f| FindingEntry {
                kind: f.kind.as_str().to_owned(),
                severity: f.severity.as_str().to_owned(),
                requirement: f.requirement.to_owned(),
                session: f.evidence.session.map(|s| s.to_string()),
                offset: f.evidence.offset.map(seconds),
                subject: subject(&f.evidence.subject),
                message_ja: f.message_ja.clone(),
                message_en: f.message_en.clone(),
                unechoed: match (&f.evidence.subject, f.evidence.session, f.evidence.offset) {
                    (Subject::Command { text, .. }, Some(session), Some(offset)) => {
                        unechoed(&session).marks(offset, text)
                    }
                    _ => false,
                },
            })
            .collect();
        Self {
            format: FORMAT.to_owned(),
            produced_at: now,
            audit_head: audit_head.to_owned(),
            plan: plan.clone(),
            sessions,
            steps,
            findings,
            highest_severity: r.highest_severity().map(|s| s.as_str().to_owned()),
            under_other_plans: Vec::new(),
        }
    }

    /// The canonical bytes (compact JSON), their SHA-256 and the signature over it.
    pub fn seal(&self, key: &SigningKey) -> Result<StoredReport, ReportError> {
        let body = serde_json::to_string(self)
            .map_err(|e| ReportError::Recordings(format!("report encoding: {e}")))?;
        let digest: [u8; 32] = Sha256::digest(body.as_bytes()).into();
        let signature = key.sign(&digest);
        Ok(StoredReport {
            plan: self.plan.id,
            produced_at: self.produced_at,
            body,
            sha256: hex::encode(digest),
            signature: hex::encode(signature.to_bytes()),
            audit_head: self.audit_head.clone(),
        })
    }
}

/// Checks a stored report against its digest and the gateway's public key, and reads it.
pub fn open(
    report: &StoredReport,
    key: &ed25519_dalek::VerifyingKey,
) -> Result<ReportBody, String> {
    let digest: [u8; 32] = Sha256::digest(report.body.as_bytes()).into();
    if hex::encode(digest) != report.sha256 {
        return Err("the report's body does not match its SHA-256".to_owned());
    }
    let bytes: [u8; 64] = hex::decode(&report.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| "malformed signature".to_owned())?;
    key.verify_strict(&digest, &ed25519_dalek::Signature::from_bytes(&bytes))
        .map_err(|_| "the report's signature does not verify".to_owned())?;
    serde_json::from_str(&report.body).map_err(|e| format!("unreadable report: {e}"))
}

fn seconds(d: TimeDelta) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Upload => "upload",
        Direction::Download => "download",
    }
}

fn transfer_outcome(o: &TransferOutcome) -> (&'static str, Option<String>) {
    match o {
        TransferOutcome::Completed => ("completed", None),
        TransferOutcome::Aborted => ("aborted", None),
        TransferOutcome::Refused { reason } => ("refused", Some(reason.clone())),
    }
}

fn subject(s: &Subject) -> String {
    match s {
        Subject::Plan => String::new(),
        Subject::Session {
            engineer, target, ..
        } => format!("{engineer} → {target}"),
        Subject::Command { text, .. } => text.clone(),
        Subject::Transfer(t) => format!("{} {}", direction(t.direction), t.path),
        Subject::Forward(f) => format!("{}:{}", f.host, f.port),
        Subject::Step { number, text } => format!("{number}. {text}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "unit tests")]

    use std::collections::HashMap;

    use chrono::Duration;
    use policy::ids::PlanId;
    use policy::plan::{Allowances, PlanRequest, submit};

    use super::*;
    use crate::report::facts::{Facts, plan_facts};

    fn body() -> ReportBody {
        let now = Utc::now();
        let plan = submit(
            PlanRequest {
                vendor: "acme".parse().unwrap(),
                engineers: vec!["alice".parse().unwrap()],
                targets: vec!["db01".parse().unwrap()],
                starts_at: now - Duration::hours(2),
                ends_at: now + Duration::hours(1),
                purpose: "patch".into(),
                steps: vec!["apt upgrade".into()],
                allow: Allowances::default(),
                personal_data: None,
                data_deletion: None,
                take_out: None,
            },
            PlanId::generate(),
            "olga",
            now,
        )
        .unwrap();
        let facts = Facts {
            plan: plan_facts(&plan),
            sessions: Vec::new(),
            seals: HashMap::new(),
            unechoed: HashMap::new(),
            watches: HashMap::new(),
        };
        ReportBody::build(&plan, &facts, &RuleSet::shipped(), "1:00", now)
    }

    // The stored bytes are the sealed bytes: a changed body or another key is detected.
    #[test]
    fn a_sealed_report_opens_only_unchanged_and_with_our_key() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let body = body();
        assert_eq!(body.findings[0].kind, "plan_not_used");
        let sealed = body.seal(&key).unwrap();
        assert_eq!(open(&sealed, &key.verifying_key()).unwrap(), body);
        let mut changed = sealed.clone();
        changed.body = changed.body.replace("plan_not_used", "plan_not_usex");
        assert!(open(&changed, &key.verifying_key()).is_err());
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(open(&sealed, &other).is_err());
        let text = super::super::render::text(&sealed, &body, super::super::render::Lang::Ja);
        assert!(
            text.contains(&sealed.sha256) && text.contains("指摘事項"),
            "{text}"
        );
    }

    // Issue 11, reproduction 8: a dump and the planned step typed after `stty -echo` are
    // findings and evidence like any command, marked unechoed in every rendering; the lines
    // nothing matched are a count pointing at the recording, not text.
    #[test]
    fn unechoed_commands_are_marked_and_the_rest_counted() {
        use policy::plan::PlannedStep;
        use policy::reconcile::{CommandFact, SessionFacts};

        use crate::report::commands::{Unechoed, Withheld};
        use crate::report::render::{Lang, html, text};

        const CAST: &str = "2026/12/07/s-ch0.cast";
        const DUMP: &str = "pg_dump -Fc his -f /tmp/his.dump";
        let now = Utc::now();
        let started = now - Duration::hours(1);
        let plan = submit(
            PlanRequest {
                vendor: "acme".parse().unwrap(),
                engineers: vec!["alice".parse().unwrap()],
                targets: vec!["db01".parse().unwrap()],
                starts_at: now - Duration::hours(2),
                ends_at: now - Duration::minutes(1),
                purpose: "ディスク使用量の確認".into(),
                steps: vec![PlannedStep {
                    text: "ディスク使用量を確認する".into(),
                    expect: vec!["df *".into()],
                }],
                allow: Allowances::default(),
                personal_data: None,
                data_deletion: None,
                take_out: None,
            },
            PlanId::generate(),
            "olga",
            now - Duration::hours(3),
        )
        .unwrap();
        let id = SessionId::generate();
        let command = |secs, text: &str| CommandFact {
            offset: Duration::seconds(secs),
            text: text.to_owned(),
            uncertain: false,
        };
        let facts = Facts {
            plan: plan_facts(&plan),
            sessions: vec![SessionFacts {
                id,
                engineer: "alice".parse().unwrap(),
                target: "db01".parse().unwrap(),
                personal_data_target: false,
                emergency: false,
                started_at: started,
                end: None,
                commands: vec![
                    command(5, "stty -echo"),
                    command(10, DUMP),
                    command(20, "df -h /"),
                ],
                transfers: Vec::new(),
                forwards: Vec::new(),
                violations: Vec::new(),
                resumed_desktop: None,
            }],
            seals: HashMap::new(),
            unechoed: HashMap::from([(
                id,
                Unechoed {
                    shown: vec![
                        (Duration::seconds(10), DUMP.to_owned()),
                        (Duration::seconds(20), "df -h /".to_owned()),
                    ],
                    withheld: vec![Withheld {
                        recording: CAST.into(),
                        lines: 2,
                    }],
                },
            )]),
            watches: HashMap::new(),
        };
        let body = ReportBody::build(&plan, &facts, &RuleSet::shipped(), "1:00", now);

        let marked: Vec<(&str, bool)> = body.sessions[0]
            .commands
            .iter()
            .map(|c| (c.text.as_str(), c.unechoed))
            .collect();
        assert_eq!(
            marked,
            [("stty -echo", false), (DUMP, true), ("df -h /", true)]
        );
        assert!(
            body.findings
                .iter()
                .any(|f| f.subject == DUMP && f.unechoed),
            "{:#?}",
            body.findings
        );
        assert!(
            body.findings
                .iter()
                .all(|f| f.subject == DUMP || !f.unechoed)
        );
        assert_eq!(
            body.sessions[0].unechoed_withheld,
            [WithheldEntry {
                recording: CAST.into(),
                lines: 2
            }]
        );

        let key = SigningKey::from_bytes(&[7; 32]);
        let sealed = body.seal(&key).unwrap();
        let ja = text(&sealed, &body, Lang::Ja);
        assert!(
            ja.contains(&format!("{DUMP} [エコーなし]"))
                && ja.contains("df -h / [エコーなし]")
                && !ja.contains("stty -echo [")
                && ja.contains(&format!(
                    "エコーなしで入力された行: 2 行（記録 {CAST} を参照）"
                )),
            "{ja}"
        );
        let en = text(&sealed, &body, Lang::En);
        assert!(
            en.contains(&format!("{DUMP} [unechoed]"))
                && en.contains(&format!(
                    "2 lines typed without echo; see the recording at {CAST}"
                )),
            "{en}"
        );
        let page = html(&sealed, &body, Lang::Ja);
        assert!(
            page.contains("<em>[エコーなし]</em>") && page.contains("エコーなしで入力された行"),
            "{page}"
        );
        // Every report says what a clean one does not prove (issue 11, deliverable 7).
        assert!(ja.contains("ファイル転送として検査できません"), "{ja}");
        assert!(en.contains("can't be inspected as file transfers"), "{en}");
        assert!(page.contains("class=\"limits\""), "{page}");
    }
}
