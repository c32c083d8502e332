//! The plan and its sessions as `policy::reconcile` reads them: sessions and their ends
//! from the store, transfers and forwards from the audit chain (where they were recorded as
//! they happened, tamper-evident), commands from the recordings.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use policy::ids::SessionId;
use policy::plan::{Plan, PlanKind};
use policy::reconcile::{
    Attestation, CommandFact, DataDeletion, ForwardFact, ForwardOutcome, LeftDesktop, PlanFacts,
    PlannedStep, SessionEnd, SessionFacts, TransferFact, TransferOutcome, ViolationFact,
};
use policy::risk::CommandPattern;
use policy::transfer::Direction;
use serde_json::Value;
use store::{AuditRecord, SessionRecord, Store};

use super::ReportError;
use super::commands::{SessionCommands, Unechoed};
use crate::datadir::DataDir;

/// The tag that marks a target holding personal data (R-10-2).
pub const PERSONAL_DATA_TAG: &str = "personal-data";

/// Everything the report is built from.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The plan, as reconciliation reads it.
    pub plan: PlanFacts,
    /// Its sessions, oldest first.
    pub sessions: Vec<SessionFacts>,
    /// Each session's recording seals (`recording.sealed` statements' digests), by session.
    pub seals: HashMap<SessionId, Vec<String>>,
    /// What each session's engineer typed without echo: which of its commands, and how
    /// many lines were left out. Beside `sessions`, not in them: reconciliation reads a
    /// command the same whether it was echoed or not; only the report marks it.
    pub unechoed: HashMap<SessionId, Unechoed>,
    /// Who watched each session live at the console, and when (R-10.2-REVIEW), from the
    /// `session.watch_started` / `session.watch_ended` records, oldest first.
    pub watches: HashMap<SessionId, Vec<WatchFact>>,
}

/// A watch of a session's terminal at the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchFact {
    /// Who watched (the login; the audit actor without its `person:`).
    pub by: String,
    /// From when.
    pub from: DateTime<Utc>,
    /// To when; `None` when the end was never recorded (the gateway stopped meanwhile).
    pub to: Option<DateTime<Utc>>,
}

/// Reads the facts for `plan` and its `sessions`.
pub async fn gather(
    store: &dyn Store,
    dir: &DataDir,
    plan: &Plan,
    sessions: &[SessionRecord],
    rules: &policy::risk::RuleSet,
) -> Result<Facts, ReportError> {
    let planned = plan_facts(plan);
    let keystrokes = std::sync::Arc::new(super::commands::KeystrokeFilter {
        rules: rules.clone(),
        expected: planned
            .steps
            .iter()
            .flat_map(|s| s.expected.iter().cloned())
            .collect(),
    });
    let audit = store.audit_tail(u32::MAX).await?;
    let mut by_session: HashMap<String, Vec<&AuditRecord>> = HashMap::new();
    let mut seals: HashMap<SessionId, Vec<String>> = HashMap::new();
    for record in &audit {
        if let Some(id) = record.detail.get("session_id").and_then(Value::as_str) {
            by_session.entry(id.to_owned()).or_default().push(record);
        } else if record.kind == store::AuditKind::SessionKilled.as_str() {
            // A kill names its session as the subject: its reason goes into the report.
            by_session
                .entry(record.subject.clone())
                .or_default()
                .push(record);
        }
    }
    for s in sessions {
        for seal in store.session_seals(&s.id).await? {
            seals.entry(s.id).or_default().extend(
                seal.statement
                    .lines()
                    .filter(|l| l.starts_with("file "))
                    .map(str::to_owned),
            );
        }
    }
    let mut out = Vec::with_capacity(sessions.len());
    let mut unechoed = HashMap::new();
    let mut watches = HashMap::new();
    for s in sessions {
        let personal = store
            .target(&s.target)
            .await?
            .is_some_and(|t| t.tags.iter().any(|tag| tag.as_str() == PERSONAL_DATA_TAG));
        let events = by_session
            .get(&s.id.to_string())
            .cloned()
            .unwrap_or_default();
        let read = commands_of(dir, s, std::sync::Arc::clone(&keystrokes)).await?;
        if read.unechoed != Unechoed::default() {
            unechoed.insert(s.id, read.unechoed);
        }
        let watched = watches_of(&events);
        if !watched.is_empty() {
            watches.insert(s.id, watched);
        }
        out.push(session_facts(s, plan, personal, &events, read.commands));
    }
    Ok(Facts {
        plan: planned,
        sessions: out,
        seals,
        unechoed,
        watches,
    })
}

/// The watches among a session's audit records, paired by `watch_id`, by start.
fn watches_of(events: &[&AuditRecord]) -> Vec<WatchFact> {
    let watch_id = |r: &AuditRecord| {
        r.detail
            .get("watch_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut started: Vec<(String, WatchFact)> = Vec::new();
    for r in events {
        let by = r
            .actor
            .strip_prefix("person:")
            .unwrap_or(&r.actor)
            .to_owned();
        if r.kind == store::AuditKind::SessionWatchStarted.as_str() {
            started.push((
                watch_id(r),
                WatchFact {
                    by,
                    from: r.at,
                    to: None,
                },
            ));
        } else if r.kind == store::AuditKind::SessionWatchEnded.as_str() {
            let id = watch_id(r);
            match started.iter_mut().find(|(w, f)| *w == id && f.to.is_none()) {
                Some((_, fact)) => fact.to = Some(r.at),
                // Its start is not among the records read: the end's own span.
                None => started.push((
                    id,
                    WatchFact {
                        by,
                        from: r
                            .detail
                            .get("from")
                            .and_then(Value::as_str)
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(r.at),
                        to: Some(r.at),
                    },
                )),
            }
        }
    }
    let mut list: Vec<WatchFact> = started.into_iter().map(|(_, f)| f).collect();
    list.sort_by_key(|f| f.from);
    list
}

/// The plan as reconciliation reads it.
pub fn plan_facts(plan: &Plan) -> PlanFacts {
    PlanFacts {
        id: plan.id,
        kind: match plan.kind {
            PlanKind::Planned => policy::reconcile::PlanKind::Normal,
            PlanKind::Emergency => policy::reconcile::PlanKind::Emergency,
        },
        vendor: plan.vendor.clone(),
        engineers: plan.engineers.clone(),
        targets: plan.targets.clone(),
        starts_at: plan.starts_at,
        ends_at: plan.ends_at,
        purpose: plan.purpose.clone(),
        steps: plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| PlannedStep {
                number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                text: step.text.clone(),
                // Checked at submission; a pattern that no longer parses is dropped.
                expected: step
                    .expect
                    .iter()
                    .filter_map(|p| CommandPattern::parse(p).ok())
                    .collect(),
            })
            .collect(),
        personal_data: plan.personal_data.clone(),
        allow: plan.allow,
        data_deletion: DataDeletion {
            required: plan.data_deletion.is_some() || plan.personal_data.is_some(),
            attestation: plan.attestation.as_ref().map(|a| Attestation {
                by: a.by.clone(),
                at: a.at,
                statement: a.note.clone(),
            }),
        },
    }
}

fn session_facts(
    s: &SessionRecord,
    plan: &Plan,
    personal_data_target: bool,
    events: &[&AuditRecord],
    commands: Vec<CommandFact>,
) -> SessionFacts {
    let offset = |at: DateTime<Utc>| at - s.started_at;
    let text = |r: &AuditRecord, key: &str| {
        r.detail
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut transfers = Vec::new();
    let mut forwards = Vec::new();
    let mut violations = Vec::new();
    let mut resumed_desktop = None;
    let mut kill_note = None;
    for r in events {
        match r.kind.as_str() {
            "session.killed" => {
                kill_note = Some(format!("{} ({})", text(r, "reason"), r.actor));
            }
            "rdp.desktop_may_resume" => {
                resumed_desktop = Some(LeftDesktop {
                    session: text(r, "previous_session_id"),
                    engineer: text(r, "previous_engineer"),
                    end: text(r, "previous_end"),
                });
            }
            "transfer.protocol_violation" | "rdp.protocol_violation" => {
                violations.push(ViolationFact {
                    offset: offset(r.at),
                    protocol: match r.detail.get("protocol").and_then(Value::as_str) {
                        Some(p) => p.to_owned(),
                        None if r.kind.starts_with("rdp.") => "RDP".to_owned(),
                        None => "SFTP".to_owned(),
                    },
                    reason: text(r, "reason"),
                });
            }
            "transfer" => transfers.push(TransferFact {
                offset: offset(r.at),
                direction: if text(r, "direction") == "upload" {
                    Direction::Upload
                } else {
                    Direction::Download
                },
                path: text(r, "path"),
                size: r.detail.get("size").and_then(Value::as_u64),
                sha256: r
                    .detail
                    .get("sha256")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                content: r
                    .detail
                    .get("content")
                    .and_then(Value::as_str)
                    .and_then(|c| c.parse().ok()),
                outcome: match text(r, "outcome").as_str() {
                    "completed" => TransferOutcome::Completed,
                    "refused" => TransferOutcome::Refused {
                        reason: text(r, "reason"),
                    },
                    _ => TransferOutcome::Aborted,
                },
            }),
            "forward.opened" | "forward.refused" => forwards.push(ForwardFact {
                offset: offset(r.at),
                host: text(r, "host"),
                port: r
                    .detail
                    .get("port")
                    .and_then(Value::as_u64)
                    .and_then(|p| u32::try_from(p).ok())
                    .unwrap_or_default(),
                outcome: if r.kind == "forward.opened" {
                    ForwardOutcome::Opened
                } else {
                    ForwardOutcome::Refused {
                        reason: text(r, "reason"),
                    }
                },
            }),
            _ => {}
        }
    }
    SessionFacts {
        id: s.id,
        engineer: s.engineer.clone(),
        target: s.target.clone(),
        personal_data_target,
        emergency: plan.kind == PlanKind::Emergency,
        started_at: s.started_at,
        end: match (s.ended_at, &s.end_reason) {
            (Some(at), Some(reason)) => Some(SessionEnd {
                at,
                reason: *reason,
                note: kill_note,
            }),
            _ => None,
        },
        commands,
        transfers,
        forwards,
        violations,
        resumed_desktop,
    }
}

/// The commands of a session, from its recordings.
async fn commands_of(
    dir: &DataDir,
    s: &SessionRecord,
    keystrokes: std::sync::Arc<super::commands::KeystrokeFilter>,
) -> Result<SessionCommands, ReportError> {
    let root = dir.recordings();
    let session = *s.id.as_uuid();
    let started = s.started_at;
    let days = (
        started.date_naive(),
        s.ended_at.unwrap_or_else(Utc::now).date_naive(),
    );
    tokio::task::spawn_blocking(move || {
        super::commands::of_session(&root, session, started, days, &keystrokes)
    })
    .await
    .map_err(|e| ReportError::Recordings(e.to_string()))?
}

/// Converts a duration since the session's start into the report's offset type.
pub fn delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "unit tests")]

    use chrono::Duration;
    use ed25519_dalek::SigningKey;
    use policy::ids::PlanId;
    use policy::plan::{Allowances, PlanRequest, submit};
    use policy::risk::RuleSet;
    use serde_json::json;

    use super::*;

    fn record(
        kind: store::AuditKind,
        actor: &str,
        at: DateTime<Utc>,
        detail: Value,
    ) -> AuditRecord {
        AuditRecord {
            seq: 1,
            at,
            actor: actor.to_owned(),
            kind: kind.as_str().to_owned(),
            subject: String::new(),
            detail,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    // Two watchers at once, one whose end was never written: each start finds its own end.
    #[test]
    fn watches_pair_their_start_and_end_by_id() {
        use store::AuditKind::{SessionWatchEnded as End, SessionWatchStarted as Start};
        let t0 = Utc::now();
        let at = |s| t0 + Duration::seconds(s);
        let records = [
            record(Start, "person:olga", at(0), json!({"watch_id": "a"})),
            record(Start, "person:kansa", at(5), json!({"watch_id": "b"})),
            record(End, "person:kansa", at(30), json!({"watch_id": "b"})),
            record(Start, "person:mori", at(40), json!({"watch_id": "c"})),
            record(End, "person:mori", at(50), json!({"watch_id": "c"})),
        ];
        let refs: Vec<&AuditRecord> = records.iter().collect();
        let watches = watches_of(&refs);
        let seen: Vec<(&str, i64, Option<i64>)> = watches
            .iter()
            .map(|w| {
                (
                    w.by.as_str(),
                    (w.from - t0).num_seconds(),
                    w.to.map(|t| (t - t0).num_seconds()),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("olga", 0, None),
                ("kansa", 5, Some(30)),
                ("mori", 40, Some(50))
            ]
        );
    }

    // Each watch at the console is in the sealed report and in every rendering.
    #[test]
    fn watches_are_listed_with_who_and_when() {
        use policy::reconcile::SessionFacts;

        use crate::report::body::ReportBody;
        use crate::report::render::{Lang, html, text};

        let now = Utc::now();
        let plan = submit(
            PlanRequest {
                vendor: "acme".parse().unwrap(),
                engineers: vec!["alice".parse().unwrap()],
                targets: vec!["db01".parse().unwrap()],
                starts_at: now - Duration::hours(2),
                ends_at: now - Duration::minutes(1),
                purpose: "patch".into(),
                steps: vec!["apt upgrade".into()],
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
        let from = now - Duration::minutes(30);
        let facts = Facts {
            plan: plan_facts(&plan),
            sessions: vec![SessionFacts {
                id,
                engineer: "alice".parse().unwrap(),
                target: "db01".parse().unwrap(),
                personal_data_target: false,
                emergency: false,
                started_at: now - Duration::hours(1),
                end: None,
                commands: Vec::new(),
                transfers: Vec::new(),
                forwards: Vec::new(),
                violations: Vec::new(),
                resumed_desktop: None,
            }],
            seals: HashMap::new(),
            unechoed: HashMap::new(),
            watches: HashMap::from([(
                id,
                vec![
                    WatchFact {
                        by: "kansa".into(),
                        from,
                        to: Some(from + Duration::minutes(3)),
                    },
                    WatchFact {
                        by: "olga".into(),
                        from,
                        to: None,
                    },
                ],
            )]),
        };
        let body = ReportBody::build(&plan, &facts, &RuleSet::shipped(), "1:00", now);
        assert_eq!(body.sessions[0].watched_by.len(), 2);
        let sealed = body.seal(&SigningKey::from_bytes(&[7; 32])).unwrap();
        let (start, end) = (
            policy::jst::format_seconds(from),
            policy::jst::format_seconds(from + Duration::minutes(3)),
        );
        let ja = text(&sealed, &body, Lang::Ja);
        assert!(
            ja.contains(&format!("ライブ監視: kansa が {start} から {end} まで閲覧"))
                && ja.contains(&format!(
                    "ライブ監視: olga が {start} から閲覧（終了の記録なし）"
                )),
            "{ja}"
        );
        let en = text(&sealed, &body, Lang::En);
        assert!(
            en.contains(&format!("watched live by kansa from {start} to {end}")),
            "{en}"
        );
        let page = html(&sealed, &body, Lang::En);
        assert!(
            page.contains(&format!(
                "<p class=\"watched\">watched live by kansa from {start} to {end}</p>"
            )),
            "{page}"
        );
        // A report without watches reads as before (no field in its JSON).
        let unwatched = Facts {
            watches: HashMap::new(),
            ..facts
        };
        let body = ReportBody::build(&plan, &unwatched, &RuleSet::shipped(), "1:00", now);
        let sealed = body.seal(&SigningKey::from_bytes(&[7; 32])).unwrap();
        assert!(!sealed.body.contains("watched_by"), "{}", sealed.body);
    }
}
