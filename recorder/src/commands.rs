//! Command extraction: the command lines an engineer ran, read back from a recording.
//!
//! Two witnesses are replayed side by side and compared for each line:
//! - the **keys** (`i` events), through a readline-like line editor
//!   (`line_editor.rs`): printable text and bracketed pastes, Backspace,
//!   Delete, Ctrl-U/K/W/Y, Ctrl-A/E, arrows and Home/End within the line, Ctrl-C (the
//!   line is abandoned) and Enter;
//! - the **echo** (`o` events), through a small model of the terminal's lines
//!   (`screen.rs`): what the line looked like when Enter was pressed, after
//!   the prompt that was on the screen when its first key was typed.
//!
//! A line the keys fully explain and the echo shows is [`Certainty::Exact`]. Keys whose
//! effect the keys cannot tell (Up/Down and other history keys, Tab, Ctrl-R, meta keys)
//! leave the echo to say what the line was: [`Certainty::FromEcho`], with the key as the
//! reason. Where the echo cannot be read either, the line is [`Certainty::Uncertain`] and
//! says why.
//!
//! A line typed while nothing was echoed (a `sudo` password, or any command after `stty
//! -echo`) comes out as [`Certainty::Unechoed`] with the keys' reading as its text: it
//! may be a secret, so a reader shows it only for a reason (the report: a risk rule or a
//! planned step matches it) and otherwise points at the recording. Keys typed while a
//! full-screen program holds the alternate screen (an editor, `less`, `top`) are not
//! command lines and are skipped. Empty lines are skipped.
//!
//! The terminal's width comes from the cast header and its resize events; a width the
//! model cannot use (0 × 0, what `ssh -tt` sends without a local terminal) is read as 80
//! columns, the width readline falls back to.
//!
//! Pure: [`Extractor`] is fed events and does no I/O; [`extract_file`] reads a cast.

mod line_editor;
mod screen;

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::format::asciicast::SessionKind;
use crate::format::cast_reader::{CastReader, Event, EventKind};
use line_editor::{Edit, LineEditor, Typed};
use screen::{Boundary, Screen};

/// A command line the engineer entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// When Enter was pressed, since the start of the recording.
    pub t: Duration,
    /// The line, trailing blanks trimmed. Pasted multi-line text keeps its newlines.
    /// For [`Certainty::Unechoed`], the keys' reading: possibly a password.
    pub text: String,
    /// How far `text` can be trusted.
    pub certainty: Certainty,
}

/// How a [`CommandLine`]'s text was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certainty {
    /// The keys fully explain the line and the echo shows the same text.
    Exact,
    /// The text is what the terminal showed; the keys alone could not tell it.
    FromEcho(EchoReason),
    /// Neither the keys nor the echo establish the line; the text is the best reading of
    /// the screen (it may include the prompt).
    Uncertain(UncertainReason),
    /// The keys fully explain the line, and there is no echo to check it against: an RDP
    /// session's screen is pixels ([`crate::rdp::keys::lines`]).
    KeysOnly,
    /// Typed while the terminal echoed nothing (a password prompt, `stty -echo`): the text
    /// is the keys' reading, line editing replayed, and may be a secret. `Some` names the
    /// first key whose effect the keys cannot tell (history, completion): the text may
    /// then be incomplete.
    Unechoed(Option<EchoReason>),
}

/// Why the echo, not the keys, gave the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EchoReason {
    /// A history key (Up/Down, Ctrl-P/N/O) recalled text.
    History,
    /// Tab completed text.
    Completion,
    /// An incremental history search (Ctrl-R/S).
    Search,
    /// Another key the line editor does not model (meta keys, word moves, Ctrl-T, …).
    OtherKey,
    /// The keys replay to a different line than the terminal showed (a custom binding,
    /// vi mode, a program with its own line editing).
    KeysDisagree,
}

/// Why a line could not be established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UncertainReason {
    /// The prompt the line began after is no longer at the start of its screen line, so
    /// where the line starts is unknown.
    PromptNotFound,
    /// The echo is there, but the screen was changed in ways the model cannot follow
    /// (absolute cursor positions, scroll regions) while the line was on it.
    EchoDisturbed,
    /// RDP: arrow keys, Home/End, Delete, a mouse click or a window switch moved the caret
    /// or the focus, so where the keys after it went is unknown. The text shows those keys
    /// as `⟨Left⟩`, `⟨Click⟩`, …
    CaretMoved,
    /// RDP: a key put text there that the keys do not show (Tab completion, Up/Down
    /// history, a paste); the text shows it as `⟨Tab⟩`, `⟨Ctrl+V⟩`, …
    UnseenText,
    /// RDP: typed but never entered with Enter (abandoned with Ctrl+C or Escape, typed into
    /// a form, or the session ended).
    NotEntered,
}

/// Replays a recording's events into command lines. Feed every event in order, then
/// [`finish`](Self::finish).
#[derive(Debug)]
pub struct Extractor {
    editor: LineEditor,
    screen: Screen,
    /// Where the line being typed began, from its first key.
    current: Option<Start>,
    /// Lines entered whose echo is not complete yet (the shell echoes Enter after the
    /// input event, and keys may be typed ahead of it).
    pending: VecDeque<Pending>,
    /// The last prompt found where a line began, for lines typed ahead of their prompt.
    last_prompt: Option<String>,
    lines: Vec<CommandLine>,
}

/// Where a line began on the screen.
#[derive(Debug, Clone)]
struct Start {
    /// The cursor's row; `None` when typed ahead, before the previous line's echo.
    row: Option<u64>,
    /// The text before the cursor on its line: the prompt.
    prompt: Option<String>,
    /// [`Screen::disturbances`] then.
    disturbances: u64,
}

#[derive(Debug)]
struct Pending {
    t: Duration,
    typed: Typed,
    start: Option<Start>,
    /// Output came after Enter (a program without echo may never send a newline).
    output_seen: bool,
}

impl Pending {
    /// Whether the cursor's screen line can be this line's echo: it starts with the last
    /// prompt, or shows the keys at its end.
    fn echoed_on(&self, screen: &Screen, last_prompt: Option<&str>) -> bool {
        let shown = screen.lines_to_cursor(None, self.typed.lines());
        let typed = self.typed.text.trim_end();
        last_prompt.is_some_and(|prompt| strip_prompt(&shown, prompt).is_some())
            || (self.typed.needs_echo.is_none() && !typed.is_empty() && shown.ends_with(typed))
    }
}

impl Extractor {
    /// An extractor for a terminal `cols` wide (the cast header's `width`).
    pub fn new(cols: u16) -> Self {
        Self {
            editor: LineEditor::new(),
            screen: Screen::new(cols),
            current: None,
            pending: VecDeque::new(),
            last_prompt: None,
            lines: Vec::new(),
        }
    }

    /// Feeds the next event.
    pub fn feed(&mut self, event: &Event) {
        match &event.kind {
            EventKind::Input(keys) => self.input(event.t, keys),
            EventKind::Output(text) => self.output(text),
            EventKind::Resize { cols, .. } => self.screen.resize(*cols),
            EventKind::Marker(_) | EventKind::Other { .. } => {}
        }
    }

    /// The command lines, in the order they were entered.
    pub fn finish(mut self) -> Vec<CommandLine> {
        while let Some(p) = self.pending.pop_front() {
            self.settle(p);
        }
        self.lines
    }

    fn input(&mut self, t: Duration, keys: &str) {
        // A program that read a line without echoing it may print no newline after it:
        // once it answered and the engineer types again, the line is done.
        while self.pending.front().is_some_and(|p| p.output_seen) {
            if let Some(p) = self.pending.pop_front() {
                self.settle(p);
            }
        }
        if self.screen.alt_screen() {
            return;
        }
        for edit in self.editor.feed(keys) {
            match edit {
                Edit::Began => {
                    let settled = self.pending.is_empty();
                    self.current = Some(Start {
                        row: settled.then(|| self.screen.cursor_row()),
                        prompt: settled.then(|| self.screen.before_cursor()),
                        disturbances: self.screen.disturbances(),
                    });
                }
                Edit::Entered(typed) => self.pending.push_back(Pending {
                    t,
                    typed,
                    start: self.current.take(),
                    output_seen: false,
                }),
                Edit::Abandoned => self.current = None,
            }
        }
    }

    fn output(&mut self, text: &str) {
        let Self {
            screen,
            pending,
            last_prompt,
            lines,
            editor,
            current,
        } = self;
        screen.feed(text, |screen, boundary| match boundary {
            Boundary::LineEnd => {
                // A line typed ahead ends at the first screen line that can be its echo:
                // the output of the command before it cannot.
                let ends = pending.front().is_some_and(|p| {
                    p.start.as_ref().is_some_and(|s| s.row.is_some())
                        || p.echoed_on(screen, last_prompt.as_deref())
                });
                if ends && let Some(p) = pending.pop_front() {
                    lines.extend(settle(screen, last_prompt, p));
                }
            }
            Boundary::Cleared => {
                if let Some(p) = pending.pop_front() {
                    lines.extend(settle(screen, last_prompt, p));
                }
            }
            Boundary::AltScreen(_) => {
                while let Some(p) = pending.pop_front() {
                    lines.extend(settle(screen, last_prompt, p));
                }
                editor.reset();
                *current = None;
            }
        });
        for p in &mut self.pending {
            p.output_seen = true;
        }
    }

    fn settle(&mut self, p: Pending) {
        self.lines
            .extend(settle(&self.screen, &mut self.last_prompt, p));
    }
}

/// Reads a cast file and extracts its command lines. An exec channel's recording yields
/// its command (from the header) as the one line, [`Certainty::Exact`] at `t = 0`.
/// A malformed event line fails the extraction (a sealed recording has none).
pub fn extract_file(path: &Path) -> Result<Vec<CommandLine>> {
    let file = File::open(path).map_err(Error::read)?;
    let (header, reader) = CastReader::open(BufReader::new(file))?;
    if header.fumidai.kind == SessionKind::Exec {
        return Ok(header
            .command
            .map(|text| CommandLine {
                t: Duration::ZERO,
                text,
                certainty: Certainty::Exact,
            })
            .into_iter()
            .collect());
    }
    let mut extractor = Extractor::new(header.width);
    for event in reader {
        extractor.feed(&event?);
    }
    Ok(extractor.finish())
}

/// Extracts the command lines from a shell recording's events, on a terminal `cols` wide.
pub fn extract(cols: u16, events: impl IntoIterator<Item = Event>) -> Vec<CommandLine> {
    let mut extractor = Extractor::new(cols);
    for event in events {
        extractor.feed(&event);
    }
    extractor.finish()
}

/// Decides a finished line from its keys and the screen as it stands at its end.
fn settle(screen: &Screen, last_prompt: &mut Option<String>, p: Pending) -> Option<CommandLine> {
    let start = p.start.as_ref();
    let shown = screen.lines_to_cursor(start.and_then(|s| s.row), p.typed.lines());
    let own_prompt = start.and_then(|s| s.prompt.as_deref());
    let own_echo = own_prompt.and_then(|prompt| strip_prompt(&shown, prompt));
    let echo = match own_echo {
        Some(echo) => {
            // A prompt found where its line began: the best guess for lines typed ahead.
            if let Some(own) = own_prompt.filter(|p| !p.is_empty()) {
                *last_prompt = Some(own.to_owned());
            }
            Some(echo)
        }
        None => last_prompt
            .as_deref()
            .and_then(|prompt| strip_prompt(&shown, prompt)),
    };
    let clean = start.is_some_and(|s| s.disturbances == screen.disturbances());
    let typed = p.typed.text.trim_end();
    let (text, certainty) = match (p.typed.needs_echo, echo) {
        (None, Some(echo)) if echo == typed => (typed, Certainty::Exact),
        // Keys typed and nothing shown after the prompt: the keys are all there is.
        (needs_echo, Some("")) => (typed, Certainty::Unechoed(needs_echo)),
        (None, _) if !typed.is_empty() && echo.is_none() && shown.ends_with(typed) => {
            (typed, Certainty::Exact)
        }
        (None, Some(echo)) if clean => (echo, Certainty::FromEcho(EchoReason::KeysDisagree)),
        (Some(reason), Some(echo)) if clean => (echo, Certainty::FromEcho(reason)),
        (_, Some(echo)) => (echo, Certainty::Uncertain(UncertainReason::EchoDisturbed)),
        (_, None) => (
            shown.as_str(),
            Certainty::Uncertain(UncertainReason::PromptNotFound),
        ),
    };
    // An empty line is no command; one whose keys could not be read without echo is
    // still a line entered blind (a recalled command, run unseen).
    if text.trim().is_empty() && !matches!(certainty, Certainty::Unechoed(Some(_))) {
        return None;
    }
    Some(CommandLine {
        t: p.t,
        text: text.to_owned(),
        certainty,
    })
}

/// The line after `prompt`, if the screen line starts with it (an empty line's screen
/// line is the prompt with its trailing blanks trimmed).
fn strip_prompt<'a>(shown: &'a str, prompt: &str) -> Option<&'a str> {
    shown
        .strip_prefix(prompt)
        .or_else(|| (shown == prompt.trim_end()).then_some(""))
}

#[cfg(test)]
mod tests;
