//! The commands a session ran, from its recordings: an exec channel's command from its
//! header (exact), an interactive channel's command lines replayed from its input and echo
//! by `recorder::commands` (marked uncertain where history or completion leave doubt), and
//! an RDP session's lines typed, from its keystroke timeline (`recorder::rdp::keys`) —
//! always uncertain, and only those a [`KeystrokeFilter`] keeps.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use policy::reconcile::CommandFact;
use recorder::FileKind;
use recorder::commands::Certainty;
use recorder::format::asciicast::SessionKind;
use recorder::format::cast_reader::CastReader;
use recorder::sink::LocalDisk;
use uuid::Uuid;

use super::ReportError;

/// Which lines typed in an RDP session may enter the report: only those a risk rule or a
/// planned step's expected pattern matches. RDP shows no echo that would tell a command
/// from a password typed at a prompt, so the rest stays in the sealed recording (`fumidai
/// play ID --keys`), not in a report read by the planning manager.
pub struct KeystrokeFilter {
    /// The report's risk rules.
    pub rules: policy::risk::RuleSet,
    /// Every planned step's expected-command patterns.
    pub expected: Vec<policy::risk::CommandPattern>,
}

impl KeystrokeFilter {
    /// Whether `line` may appear in the report.
    pub fn keeps(&self, line: &str) -> bool {
        !self.rules.classify(line).is_empty() || self.expected.iter().any(|p| p.matches_line(line))
    }
}

/// Every command of `session` in time order. Blocking (reads files).
pub fn of_session(
    root: &Path,
    session: Uuid,
    started: DateTime<Utc>,
    days: (NaiveDate, NaiveDate),
    keystrokes: &KeystrokeFilter,
) -> Result<Vec<CommandFact>, ReportError> {
    let disk = LocalDisk::new(root);
    let found = disk
        .find_session(session, days.0, days.1)
        .map_err(|e| ReportError::Recordings(e.to_string()))?;
    let mut commands = Vec::new();
    for recording in found {
        let path = root.join(recording.name(FileKind::Cast));
        let Ok(file) = File::open(&path) else {
            continue;
        };
        let Ok((header, _events)) = CastReader::open(BufReader::new(file)) else {
            continue;
        };
        // A channel may open a moment before the session is on record.
        let offset = (header.timestamp - started).max(chrono::TimeDelta::zero());
        match (header.fumidai.kind, &header.command) {
            (SessionKind::Exec, Some(command)) if !command.starts_with("subsystem:") => {
                commands.push(CommandFact {
                    offset,
                    text: command.clone(),
                    uncertain: false,
                });
            }
            (SessionKind::Shell, _) => commands.extend(interactive(&path, offset)),
            _ => {}
        }
    }
    let rdp = disk
        .find_session_as(recorder::id::RecordingKind::Rdp, session, days.0, days.1)
        .map_err(|e| ReportError::Recordings(e.to_string()))?;
    for recording in rdp {
        let path = root.join(recording.name(FileKind::Rdp));
        commands.extend(typed(&path, keystrokes));
    }
    commands.sort_by_key(|c| c.offset);
    Ok(commands)
}

/// The lines typed in an RDP session that `keystrokes` keeps, all marked uncertain. An RDP
/// recording starts with its session, so its offsets are the session's.
fn typed(recording: &Path, keystrokes: &KeystrokeFilter) -> Vec<CommandFact> {
    let Ok(lines) = recorder::rdp::keys::lines_file(recording) else {
        return vec![CommandFact {
            offset: chrono::TimeDelta::zero(),
            text: "(the RDP recording could not be read for keystrokes)".to_owned(),
            uncertain: true,
        }];
    };
    lines
        .into_iter()
        .filter(|l| keystrokes.keeps(&l.text))
        .map(|l| CommandFact {
            offset: super::facts::delta(l.t),
            text: l.text,
            uncertain: true,
        })
        .collect()
}

/// The command lines typed in an interactive channel, replayed from its keys and echo.
/// A line read from the echo (history, completion) is as good as the screen showed it; one
/// the screen did not explain is marked uncertain; input that was never echoed (a
/// password) is left out.
fn interactive(cast: &Path, offset: chrono::TimeDelta) -> Vec<CommandFact> {
    let Ok(lines) = recorder::commands::extract_file(cast) else {
        return vec![CommandFact {
            offset,
            text: "(the recording could not be read for commands)".to_owned(),
            uncertain: true,
        }];
    };
    lines
        .into_iter()
        .filter(|l| !l.text.trim().is_empty())
        .map(|l| CommandFact {
            offset: offset + super::facts::delta(l.t),
            text: l.text,
            uncertain: matches!(l.certainty, Certainty::Uncertain(_)),
        })
        .collect()
}
