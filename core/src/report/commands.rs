//! The commands a session ran, from its recordings: an exec channel's command from its
//! header (exact), an interactive channel's command lines replayed from its input and echo
//! by `recorder::commands` (marked uncertain where history or completion leave doubt), and
//! an RDP session's lines typed, from its keystroke timeline (`recorder::rdp::keys`) —
//! always uncertain, and only those a [`KeystrokeFilter`] keeps.
//!
//! Lines typed in an interactive channel while nothing was echoed (a password prompt,
//! `stty -echo`) meet the same [`KeystrokeFilter`]: those a risk rule or a planned step
//! matches are commands like any other, marked in [`Unechoed::shown`]; the rest are only
//! counted, per recording ([`Unechoed::withheld`]), since they may be passwords.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use policy::reconcile::CommandFact;
use recorder::FileKind;
use recorder::commands::{Certainty, CommandLine};
use recorder::format::asciicast::SessionKind;
use recorder::format::cast_reader::CastReader;
use recorder::sink::LocalDisk;
use uuid::Uuid;

use super::ReportError;

/// Which lines typed unseen may enter the report: only those a risk rule or a planned
/// step's expected pattern matches. Nothing tells a command from a password typed at a
/// prompt in an RDP session (no echo to read) or in a shell line typed without echo, so
/// the rest stays in the sealed recording (`fumidai play ID`, `--keys` for RDP), not in a
/// report read by the planning manager.
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

/// What a session's recordings say it ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionCommands {
    /// Every command in time order, for reconciliation: exec commands, lines read from the
    /// echo, and the lines typed unseen that the [`KeystrokeFilter`] keeps.
    pub commands: Vec<CommandFact>,
    /// What was typed without echo.
    pub unechoed: Unechoed,
}

/// A session's lines typed without echo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unechoed {
    /// Those kept (a rule or step matched them), by offset and text as in
    /// [`SessionCommands::commands`]: the report marks them.
    pub shown: Vec<(TimeDelta, String)>,
    /// Those left out, counted per recording.
    pub withheld: Vec<Withheld>,
}

impl Unechoed {
    /// Whether the command at `offset` reading `text` was typed without echo.
    pub fn marks(&self, offset: TimeDelta, text: &str) -> bool {
        self.shown.iter().any(|(o, t)| *o == offset && t == text)
    }
}

/// Lines typed without echo in one recording that the report leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withheld {
    /// The recording's cast, relative to the recordings directory, as in its seal
    /// (`YYYY/MM/DD/<session>-ch<n>.cast`): where to read them.
    pub recording: String,
    /// How many lines.
    pub lines: usize,
}

/// Every command of `session` in time order, and what was typed without echo. Blocking
/// (reads files).
pub fn of_session(
    root: &Path,
    session: Uuid,
    started: DateTime<Utc>,
    days: (NaiveDate, NaiveDate),
    keystrokes: &KeystrokeFilter,
) -> Result<SessionCommands, ReportError> {
    let disk = LocalDisk::new(root);
    let found = disk
        .find_session(session, days.0, days.1)
        .map_err(|e| ReportError::Recordings(e.to_string()))?;
    let mut out = SessionCommands::default();
    for recording in found {
        let name = recording.name(FileKind::Cast);
        let path = root.join(&name);
        let Ok(file) = File::open(&path) else {
            continue;
        };
        let Ok((header, _events)) = CastReader::open(BufReader::new(file)) else {
            continue;
        };
        // A channel may open a moment before the session is on record.
        let offset = (header.timestamp - started).max(TimeDelta::zero());
        match (header.fumidai.kind, &header.command) {
            (SessionKind::Exec, Some(command)) if !command.starts_with("subsystem:") => {
                out.commands.push(CommandFact {
                    offset,
                    text: command.clone(),
                    uncertain: false,
                });
            }
            (SessionKind::Shell, _) => {
                interactive(&path, &name, offset, keystrokes, &mut out);
            }
            _ => {}
        }
    }
    let rdp = disk
        .find_session_as(recorder::id::RecordingKind::Rdp, session, days.0, days.1)
        .map_err(|e| ReportError::Recordings(e.to_string()))?;
    for recording in rdp {
        let path = root.join(recording.name(FileKind::Rdp));
        out.commands.extend(typed(&path, keystrokes));
    }
    out.commands.sort_by_key(|c| c.offset);
    Ok(out)
}

/// The commands of one channel's recording (`cast`), offsets since the channel's start:
/// an exec channel's command, an interactive channel's lines (unechoed ones only when
/// `keystrokes` keeps them). The console's playback lists them beside the player.
/// Blocking (reads the file).
pub fn of_cast(cast: &Path, keystrokes: &KeystrokeFilter) -> SessionCommands {
    let mut out = SessionCommands::default();
    let name = cast.display().to_string();
    interactive(cast, &name, TimeDelta::zero(), keystrokes, &mut out);
    out
}

/// The lines typed in an RDP session that `keystrokes` keeps, all marked uncertain. For
/// the console's RDP playback too. Blocking (reads the file).
pub fn of_rdp(recording: &Path, keystrokes: &KeystrokeFilter) -> Vec<CommandFact> {
    typed(recording, keystrokes)
}

/// The lines typed in an RDP session that `keystrokes` keeps, all marked uncertain. An RDP
/// recording starts with its session, so its offsets are the session's.
fn typed(recording: &Path, keystrokes: &KeystrokeFilter) -> Vec<CommandFact> {
    let Ok(lines) = recorder::rdp::keys::lines_file(recording) else {
        return vec![CommandFact {
            offset: TimeDelta::zero(),
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

/// The command lines typed in an interactive channel (cast `name` at `cast`), replayed
/// from its keys and echo; see [`sort_lines`].
fn interactive(
    cast: &Path,
    name: &str,
    offset: TimeDelta,
    keystrokes: &KeystrokeFilter,
    out: &mut SessionCommands,
) {
    let Ok(lines) = recorder::commands::extract_file(cast) else {
        out.commands.push(CommandFact {
            offset,
            text: "(the recording could not be read for commands)".to_owned(),
            uncertain: true,
        });
        return;
    };
    sort_lines(lines, name, offset, keystrokes, out);
}

/// Sorts the `lines` of the interactive channel recorded in cast `name`, which opened at
/// `offset`, into `out`. A line read from the echo (history, completion) is as good as
/// the screen showed it; one the screen did not explain is marked uncertain. A line typed
/// without echo is a command, marked, when `keystrokes` keeps it, and only counted
/// otherwise: it may be a password.
fn sort_lines(
    lines: Vec<CommandLine>,
    name: &str,
    offset: TimeDelta,
    keystrokes: &KeystrokeFilter,
    out: &mut SessionCommands,
) {
    let mut withheld = 0;
    for l in lines {
        let at = offset + super::facts::delta(l.t);
        match l.certainty {
            Certainty::Unechoed(unexplained) => {
                if !keystrokes.keeps(&l.text) {
                    withheld += 1;
                    continue;
                }
                out.unechoed.shown.push((at, l.text.clone()));
                out.commands.push(CommandFact {
                    offset: at,
                    text: l.text,
                    uncertain: unexplained.is_some(),
                });
            }
            certainty if !l.text.trim().is_empty() => out.commands.push(CommandFact {
                offset: at,
                text: l.text,
                uncertain: matches!(certainty, Certainty::Uncertain(_)),
            }),
            _ => {}
        }
    }
    if withheld > 0 {
        out.unechoed.withheld.push(Withheld {
            recording: name.to_owned(),
            lines: withheld,
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "unit tests")]

    use std::time::Duration;

    use policy::risk::{CommandPattern, RuleSet};
    use recorder::commands::{EchoReason, UncertainReason};

    use super::*;

    const CAST: &str = "2026/12/07/s-ch0.cast";

    fn filter() -> KeystrokeFilter {
        KeystrokeFilter {
            rules: RuleSet::shipped(),
            expected: vec![CommandPattern::parse("df *").unwrap()],
        }
    }

    fn line(secs: u64, text: &str, certainty: Certainty) -> CommandLine {
        CommandLine {
            t: Duration::from_secs(secs),
            text: text.to_owned(),
            certainty,
        }
    }

    /// The channel opened 10 s into the session.
    fn sorted(lines: Vec<CommandLine>) -> SessionCommands {
        let mut out = SessionCommands::default();
        sort_lines(lines, CAST, TimeDelta::seconds(10), &filter(), &mut out);
        out
    }

    fn fact(secs: i64, text: &str, uncertain: bool) -> CommandFact {
        CommandFact {
            offset: TimeDelta::seconds(secs),
            text: text.to_owned(),
            uncertain,
        }
    }

    // Issue 11, reproduction 8: lines typed without echo meet the risk rules and the
    // planned steps; what neither matches (a password) is counted, never kept.
    #[test]
    fn unechoed_lines_are_kept_only_when_a_rule_or_step_matches() {
        use Certainty::{Exact, FromEcho, Uncertain};
        let blind = Certainty::Unechoed;
        let cases: &[(&str, Vec<CommandLine>, SessionCommands)] = &[
            (
                "echoed lines are commands whatever they say",
                vec![
                    line(1, "ls /", Exact),
                    line(2, "ls /tmp", FromEcho(EchoReason::History)),
                    line(3, "db01# ls", Uncertain(UncertainReason::PromptNotFound)),
                ],
                SessionCommands {
                    commands: vec![
                        fact(11, "ls /", false),
                        fact(12, "ls /tmp", false),
                        fact(13, "db01# ls", true),
                    ],
                    unechoed: Unechoed::default(),
                },
            ),
            (
                "a password, then a dump, the planned step and an ls typed blind",
                vec![
                    line(1, "Tsubaki-Kagi-90417!", blind(None)),
                    line(2, "stty -echo", Exact),
                    line(3, "pg_dump -Fc his -f /tmp/his.dump", blind(None)),
                    line(4, "df -h /", blind(None)),
                    line(5, "ls /", blind(None)),
                ],
                SessionCommands {
                    commands: vec![
                        fact(12, "stty -echo", false),
                        fact(13, "pg_dump -Fc his -f /tmp/his.dump", false),
                        fact(14, "df -h /", false),
                    ],
                    unechoed: Unechoed {
                        shown: vec![
                            (
                                TimeDelta::seconds(13),
                                "pg_dump -Fc his -f /tmp/his.dump".into(),
                            ),
                            (TimeDelta::seconds(14), "df -h /".into()),
                        ],
                        withheld: vec![Withheld {
                            recording: CAST.into(),
                            lines: 2,
                        }],
                    },
                },
            ),
            (
                "a line recalled blind: kept only if what the keys tell matches, and uncertain",
                vec![
                    line(1, "", blind(Some(EchoReason::History))),
                    line(2, "pg_dump his", blind(Some(EchoReason::Completion))),
                ],
                SessionCommands {
                    commands: vec![fact(12, "pg_dump his", true)],
                    unechoed: Unechoed {
                        shown: vec![(TimeDelta::seconds(12), "pg_dump his".into())],
                        withheld: vec![Withheld {
                            recording: CAST.into(),
                            lines: 1,
                        }],
                    },
                },
            ),
        ];
        for (name, lines, want) in cases {
            assert_eq!(&sorted(lines.clone()), want, "{name}");
        }
    }

    #[test]
    fn marks_only_the_kept_unechoed_command_at_its_offset() {
        let out = sorted(vec![
            line(1, "df -h /", Certainty::Exact),
            line(2, "df -h /", Certainty::Unechoed(None)),
        ]);
        assert!(!out.unechoed.marks(TimeDelta::seconds(11), "df -h /"));
        assert!(out.unechoed.marks(TimeDelta::seconds(12), "df -h /"));
        assert!(!out.unechoed.marks(TimeDelta::seconds(12), "df"));
    }
}
