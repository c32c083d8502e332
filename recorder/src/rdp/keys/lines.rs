//! "Lines typed" in an RDP session, shaped like the command lines of an SSH recording
//! ([`crate::commands::CommandLine`]) so the reconciliation report takes both alike.
//!
//! A line is the text typed up to Enter, with Backspace (and Ctrl+Backspace, a word)
//! applied. Its certainty is [`Certainty::KeysOnly`] while the keys explain it; keys whose
//! effect on the text they cannot tell make it [`Certainty::Uncertain`] and appear in the
//! text as markers (`⟨Left⟩`), every key after them too, so a reviewer sees what was
//! pressed where:
//!
//! - caret and focus moves ([`UncertainReason::CaretMoved`]): arrows Left/Right, Home,
//!   End, Page Up/Down, Delete, Insert, Shift+arrows, a mouse click, and shortcuts such as
//!   Alt+Tab or Ctrl+A;
//! - text the keys do not show ([`UncertainReason::UnseenText`]): Tab, Up/Down, function
//!   keys, Ctrl+V, Shift+Insert, Ctrl+R, keys the layout does not know (IME keys);
//! - text never entered ([`UncertainReason::NotEntered`]): ended by Ctrl+C or Escape, or
//!   by the end of the recording.
//!
//! Clicks and caret keys before anything was typed on a line do not count against it
//! (clicking into a field and typing is the normal case).

use std::path::Path;
use std::time::Duration;

use super::{Chord, Entry, Key, timeline_file};
use crate::commands::{Certainty, CommandLine, UncertainReason};
use crate::error::Result;

/// The lines typed, in order.
pub fn lines(entries: &[Entry]) -> Vec<CommandLine> {
    let mut out = Vec::new();
    let mut line = Line::default();
    for entry in entries {
        match entry {
            Entry::Text { text, .. } => line.text.push_str(text),
            Entry::Click { .. } => line.mark(UncertainReason::CaretMoved, "Click", false),
            Entry::Key { offset, key } => match effect(key) {
                Effect::Enter => line.emit(*offset, &mut out),
                Effect::Abandon => {
                    if line.has_text() {
                        line.reason = Some(UncertainReason::NotEntered);
                        line.marker(&key.to_string());
                        line.emit(*offset, &mut out);
                    }
                }
                Effect::Erase { word } => line.erase(word, key),
                Effect::Uncertain(reason) => {
                    let on_empty = reason == UncertainReason::UnseenText;
                    line.mark(reason, &key.to_string(), on_empty);
                }
                Effect::None => {}
            },
        }
    }
    if let Some(last) = entries.last()
        && line.has_text()
    {
        line.reason = Some(UncertainReason::NotEntered);
        line.emit(last.offset(), &mut out);
    }
    out
}

/// The lines typed in a recording file.
pub fn lines_file(path: &Path) -> Result<Vec<CommandLine>> {
    Ok(lines(&timeline_file(path)?.entries))
}

/// The line being typed.
#[derive(Debug, Default)]
struct Line {
    text: String,
    /// Why it is uncertain, from the first key that made it so.
    reason: Option<UncertainReason>,
}

impl Line {
    fn has_text(&self) -> bool {
        !self.text.trim().is_empty()
    }

    /// Records a key whose effect is unknown: from here on the line is uncertain. On an
    /// empty line only if `on_empty` (a recalled history line counts, a click into a
    /// field does not).
    fn mark(&mut self, reason: UncertainReason, key: &str, on_empty: bool) {
        if !self.has_text() && self.reason.is_none() && !on_empty {
            return;
        }
        self.reason.get_or_insert(reason);
        self.marker(key);
    }

    fn marker(&mut self, key: &str) {
        self.text.push('⟨');
        self.text.push_str(key);
        self.text.push('⟩');
    }

    fn erase(&mut self, word: bool, key: &Chord) {
        if self.reason.is_some() {
            // The caret may be anywhere: show the key instead of guessing.
            return self.marker(&key.to_string());
        }
        if word {
            let kept = self
                .text
                .trim_end()
                .trim_end_matches(|c: char| !c.is_whitespace());
            self.text.truncate(kept.len());
        } else {
            self.text.pop();
        }
    }

    fn emit(&mut self, t: Duration, out: &mut Vec<CommandLine>) {
        let line = std::mem::take(self);
        let text = line.text.trim_end().to_owned();
        if text.trim().is_empty() && line.reason.is_none() {
            return;
        }
        out.push(CommandLine {
            t,
            text,
            certainty: line
                .reason
                .map_or(Certainty::KeysOnly, Certainty::Uncertain),
        });
    }
}

/// What a key does to the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Ends it.
    Enter,
    /// Ends it without entering it (Ctrl+C, Escape).
    Abandon,
    /// Deletes the character (or word) before the caret.
    Erase { word: bool },
    /// Makes it uncertain.
    Uncertain(UncertainReason),
    /// Nothing (Print Screen, Pause, a shortcut that does not touch text).
    None,
}

fn effect(chord: &Chord) -> Effect {
    use UncertainReason::{CaretMoved, UnseenText};
    let shortcut = chord.is_shortcut();
    match chord.key {
        Key::Enter if !shortcut => Effect::Enter,
        Key::Escape if !shortcut => Effect::Abandon,
        Key::Char('c') if chord.ctrl && !chord.alt && !chord.shift && !chord.win => Effect::Abandon,
        Key::Backspace if !chord.alt && !chord.win && !chord.shift => {
            Effect::Erase { word: chord.ctrl }
        }
        Key::Char('v' | 'r' | 'y') if chord.ctrl => Effect::Uncertain(UnseenText),
        Key::Insert if chord.shift => Effect::Uncertain(UnseenText),
        Key::Tab | Key::Up | Key::Down | Key::F(_) | Key::Menu | Key::Unknown { .. }
            if !chord.alt && !chord.win =>
        {
            Effect::Uncertain(UnseenText)
        }
        Key::PrintScreen | Key::Pause => Effect::None,
        // Arrows, Home/End, Page Up/Down, Delete, Insert, Shift+arrows, Alt+Tab, Ctrl+A, …:
        // the caret, the selection or the focus moved.
        _ => Effect::Uncertain(CaretMoved),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn text(ms: u64, s: &str) -> Entry {
        Entry::Text {
            offset: t(ms),
            text: s.into(),
        }
    }

    fn key(ms: u64, key: Key) -> Entry {
        Entry::Key {
            offset: t(ms),
            key: Chord::plain(key),
        }
    }

    fn ctrl(ms: u64, c: char) -> Entry {
        Entry::Key {
            offset: t(ms),
            key: Chord {
                ctrl: true,
                ..Chord::plain(Key::Char(c))
            },
        }
    }

    fn click(ms: u64) -> Entry {
        Entry::Click {
            offset: t(ms),
            click: super::super::Button::Left,
        }
    }

    fn line(ms: u64, s: &str, certainty: Certainty) -> CommandLine {
        CommandLine {
            t: t(ms),
            text: s.into(),
            certainty,
        }
    }

    #[test]
    fn lines_typed() {
        use Certainty::{KeysOnly, Uncertain};
        use UncertainReason::{CaretMoved, NotEntered, UnseenText};
        let cases: Vec<(&str, Vec<Entry>, Vec<CommandLine>)> = vec![
            (
                "plain, with backspace",
                vec![
                    text(0, "lss"),
                    key(1, Key::Backspace),
                    text(2, " -l"),
                    key(3, Key::Enter),
                ],
                vec![line(3, "ls -l", KeysOnly)],
            ),
            (
                "empty lines are skipped; a click into a field first is fine",
                vec![
                    key(0, Key::Enter),
                    click(1),
                    key(2, Key::Left),
                    text(3, "hostname"),
                    key(4, Key::Enter),
                ],
                vec![line(4, "hostname", KeysOnly)],
            ),
            (
                "ctrl+backspace deletes a word",
                vec![
                    text(0, "echo foo bar  "),
                    Entry::Key {
                        offset: t(1),
                        key: Chord {
                            ctrl: true,
                            ..Chord::plain(Key::Backspace)
                        },
                    },
                    text(2, "baz"),
                    key(3, Key::Enter),
                ],
                vec![line(3, "echo foo baz", KeysOnly)],
            ),
            (
                "arrows make it uncertain and show where they were",
                vec![
                    text(0, "rm -rf /tmp/x"),
                    key(1, Key::Left),
                    key(2, Key::Left),
                    text(3, "y"),
                    key(4, Key::Backspace),
                    key(5, Key::Enter),
                ],
                vec![line(
                    5,
                    "rm -rf /tmp/x⟨Left⟩⟨Left⟩y⟨Backspace⟩",
                    Uncertain(CaretMoved),
                )],
            ),
            (
                "a click mid-line",
                vec![text(0, "abc"), click(1), text(2, "d"), key(3, Key::Enter)],
                vec![line(3, "abc⟨Click⟩d", Uncertain(CaretMoved))],
            ),
            (
                "history recall on an empty line, tab completion, paste",
                vec![
                    key(0, Key::Up),
                    key(1, Key::Enter),
                    text(2, "cd /va"),
                    key(3, Key::Tab),
                    key(4, Key::Enter),
                    ctrl(5, 'v'),
                    key(6, Key::Enter),
                ],
                vec![
                    line(1, "⟨Up⟩", Uncertain(UnseenText)),
                    line(4, "cd /va⟨Tab⟩", Uncertain(UnseenText)),
                    line(6, "⟨Ctrl+V⟩", Uncertain(UnseenText)),
                ],
            ),
            (
                "ctrl+c abandons; text left at the end was never entered",
                vec![
                    text(0, "shutdown -h now"),
                    ctrl(1, 'c'),
                    ctrl(2, 'c'),
                    text(3, "passw0rd"),
                ],
                vec![
                    line(1, "shutdown -h now⟨Ctrl+C⟩", Uncertain(NotEntered)),
                    line(3, "passw0rd", Uncertain(NotEntered)),
                ],
            ),
            (
                "the first reason is kept",
                vec![
                    text(0, "a"),
                    key(1, Key::Home),
                    key(2, Key::Tab),
                    key(3, Key::Enter),
                ],
                vec![line(3, "a⟨Home⟩⟨Tab⟩", Uncertain(CaretMoved))],
            ),
        ];
        for (what, entries, want) in cases {
            assert_eq!(lines(&entries), want, "{what}");
        }
    }
}
