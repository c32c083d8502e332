//! Replays the engineer's keys the way readline edits a line: a pure state machine from
//! input text to "a line began", "a line was entered" and "a line was abandoned".
//!
//! Keys whose effect depends on state we do not have (the shell's history, the files that
//! Tab completes, readline bindings we do not model) are not guessed at: the line is
//! marked as needing the echo, with the first such key as the reason.

use super::EchoReason;

/// What the keys of one input chunk did, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Edit {
    /// The first key of a new line was pressed (the prompt is on the screen before it).
    Began,
    /// Enter: the line as the keys left it.
    Entered(Typed),
    /// Ctrl-C: the line was thrown away.
    Abandoned,
}

/// A line as replayed from its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Typed {
    /// The buffer at Enter. Only trustworthy when `needs_echo` is `None`.
    pub(super) text: String,
    /// The first key whose effect the keys alone cannot tell.
    pub(super) needs_echo: Option<EchoReason>,
}

impl Typed {
    /// How many screen lines the line spans at least (pasted newlines are kept).
    pub(super) fn lines(&self) -> usize {
        self.text.matches('\n').count().saturating_add(1)
    }
}

/// A decoded key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Text(char),
    Enter,
    Backspace,
    Delete,
    /// Ctrl-D: deletes under the cursor; on an empty line it is end of input.
    DeleteOrEof,
    Left,
    Right,
    Home,
    End,
    KillToStart,
    KillToEnd,
    KillWord,
    Yank,
    Interrupt,
    /// Does not change the line (Ctrl-L redraws it).
    Ignored,
    /// A key whose effect only the echo shows.
    Opaque(EchoReason),
}

/// Where the decoder is inside a multi-character key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decode {
    Ground,
    /// After ESC.
    Escape,
    /// After ESC `[`: parameter and intermediate characters so far.
    Csi(String),
    /// After ESC `O`.
    Ss3,
    /// Inside a bracketed paste: the text so far (the end marker is found at its tail).
    Paste(String),
}

/// Start and end of a bracketed paste, as the terminal sends them.
const PASTE_END: &str = "\u{1b}[201~";

/// Longest CSI parameter string kept; longer ones are not keys we know.
const MAX_CSI: usize = 32;

/// The line being typed, with readline's default emacs bindings.
#[derive(Debug)]
pub(super) struct LineEditor {
    decode: Decode,
    buf: Vec<char>,
    /// Insertion point, `0..=buf.len()`.
    cursor: usize,
    /// The last kill (Ctrl-U/K/W), for Ctrl-Y.
    killed: Vec<char>,
    needs_echo: Option<EchoReason>,
    /// Whether a key of this line was pressed (so the next one is not [`Edit::Began`]).
    began: bool,
}

impl LineEditor {
    pub(super) fn new() -> Self {
        Self {
            decode: Decode::Ground,
            buf: Vec::new(),
            cursor: 0,
            killed: Vec::new(),
            needs_echo: None,
            began: false,
        }
    }

    /// Forgets the line being typed (a full-screen program took the keys).
    pub(super) fn reset(&mut self) {
        let killed = std::mem::take(&mut self.killed);
        *self = Self::new();
        self.killed = killed;
    }

    /// Feeds one chunk of input; a key split across chunks is completed by the next one.
    pub(super) fn feed(&mut self, input: &str) -> Vec<Edit> {
        let mut edits = Vec::new();
        for c in input.chars() {
            if let Some(key) = self.decode(c) {
                if !self.began {
                    self.began = true;
                    edits.push(Edit::Began);
                }
                if let Some(edit) = self.apply(key) {
                    edits.push(edit);
                }
            }
        }
        edits
    }

    /// Advances the decoder by one character; a key when one is complete.
    fn decode(&mut self, c: char) -> Option<Key> {
        match std::mem::replace(&mut self.decode, Decode::Ground) {
            Decode::Ground => self.ground(c),
            Decode::Escape => match c {
                '[' => {
                    self.decode = Decode::Csi(String::new());
                    None
                }
                'O' => {
                    self.decode = Decode::Ss3;
                    None
                }
                // Meta-key bindings (Alt-b, Alt-., Alt-Backspace, …), or a lone ESC.
                _ => Some(Key::Opaque(EchoReason::OtherKey)),
            },
            Decode::Csi(mut params) => {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    Some(self.csi(&params, c))
                } else if ('\u{20}'..='\u{3f}').contains(&c) {
                    if params.len() < MAX_CSI {
                        params.push(c);
                    }
                    self.decode = Decode::Csi(params);
                    None
                } else {
                    // Not a CSI after all: an unknown key (the stray character is dropped).
                    Some(Key::Opaque(EchoReason::OtherKey))
                }
            }
            Decode::Ss3 => Some(match c {
                'A' | 'B' => Key::Opaque(EchoReason::History),
                'C' => Key::Right,
                'D' => Key::Left,
                'H' => Key::Home,
                'F' => Key::End,
                _ => Key::Opaque(EchoReason::OtherKey),
            }),
            Decode::Paste(mut text) => {
                text.push(c);
                if let Some(pasted) = text.strip_suffix(PASTE_END) {
                    // Readline inserts the paste as text; a pasted CR becomes a newline.
                    let pasted: Vec<char> = pasted
                        .chars()
                        .map(|c| if c == '\r' { '\n' } else { c })
                        .collect();
                    self.insert(&pasted);
                    // The paste counts as a key (it may begin a line).
                    Some(Key::Ignored)
                } else {
                    self.decode = Decode::Paste(text);
                    None
                }
            }
        }
    }

    fn ground(&mut self, c: char) -> Option<Key> {
        Some(match c {
            '\r' | '\n' => Key::Enter,
            '\u{7f}' | '\u{8}' => Key::Backspace,
            '\u{1}' => Key::Home,
            '\u{5}' => Key::End,
            '\u{2}' => Key::Left,
            '\u{6}' => Key::Right,
            '\u{3}' => Key::Interrupt,
            '\u{4}' => Key::DeleteOrEof,
            '\u{b}' => Key::KillToEnd,
            '\u{15}' => Key::KillToStart,
            '\u{17}' => Key::KillWord,
            '\u{19}' => Key::Yank,
            '\u{c}' => Key::Ignored,
            '\t' => Key::Opaque(EchoReason::Completion),
            // Ctrl-R, Ctrl-S: incremental history search.
            '\u{12}' | '\u{13}' => Key::Opaque(EchoReason::Search),
            // Ctrl-P, Ctrl-N: history; Ctrl-O: operate-and-get-next.
            '\u{10}' | '\u{e}' | '\u{f}' => Key::Opaque(EchoReason::History),
            '\u{1b}' => {
                self.decode = Decode::Escape;
                return None;
            }
            c if c.is_control() => Key::Opaque(EchoReason::OtherKey),
            c => Key::Text(c),
        })
    }

    /// The key an `ESC [ params final` sequence is.
    fn csi(&mut self, params: &str, last: char) -> Key {
        let plain = params.is_empty() || params == "1";
        match (params, last) {
            (_, 'A' | 'B') if plain => Key::Opaque(EchoReason::History),
            (_, 'C') if plain => Key::Right,
            (_, 'D') if plain => Key::Left,
            (_, 'H') if plain => Key::Home,
            (_, 'F') if plain => Key::End,
            ("1" | "7", '~') => Key::Home,
            ("4" | "8", '~') => Key::End,
            ("3", '~') => Key::Delete,
            ("200", '~') => {
                self.decode = Decode::Paste(String::new());
                Key::Ignored
            }
            // Ctrl/Alt-arrows (word moves), Page Up/Down, Insert, function keys.
            _ => Key::Opaque(EchoReason::OtherKey),
        }
    }

    fn apply(&mut self, key: Key) -> Option<Edit> {
        match key {
            Key::Text(c) => self.insert(&[c]),
            Key::Enter => {
                let typed = Typed {
                    text: self.buf.iter().collect(),
                    needs_echo: self.needs_echo,
                };
                self.reset();
                return Some(Edit::Entered(typed));
            }
            Key::Interrupt => {
                self.reset();
                return Some(Edit::Abandoned);
            }
            Key::Backspace => {
                if let Some(before) = self.cursor.checked_sub(1) {
                    self.buf.remove(before);
                    self.cursor = before;
                }
            }
            Key::Delete | Key::DeleteOrEof => {
                if self.cursor < self.buf.len() {
                    self.buf.remove(self.cursor);
                }
            }
            Key::Left => self.cursor = self.cursor.saturating_sub(1),
            Key::Right => self.cursor = (self.cursor.saturating_add(1)).min(self.buf.len()),
            Key::Home => self.cursor = 0,
            Key::End => self.cursor = self.buf.len(),
            Key::KillToStart => self.kill(0, self.cursor),
            Key::KillToEnd => self.kill(self.cursor, self.buf.len()),
            Key::KillWord => {
                // unix-word-rubout: back over blanks, then back to the previous blank.
                let before = |i: usize| self.buf.get(i.wrapping_sub(1)).copied();
                let mut start = self.cursor;
                while start > 0 && before(start).is_some_and(char::is_whitespace) {
                    start -= 1;
                }
                while start > 0 && before(start).is_some_and(|c| !c.is_whitespace()) {
                    start -= 1;
                }
                self.kill(start, self.cursor);
            }
            Key::Yank => {
                let killed = self.killed.clone();
                self.insert(&killed);
            }
            Key::Ignored => {}
            Key::Opaque(reason) => {
                self.needs_echo.get_or_insert(reason);
            }
        }
        None
    }

    fn insert(&mut self, text: &[char]) {
        let at = self.cursor.min(self.buf.len());
        self.buf.splice(at..at, text.iter().copied());
        self.cursor = at.saturating_add(text.len());
    }

    /// Removes `start..end` (clamped) into the kill buffer.
    fn kill(&mut self, start: usize, end: usize) {
        let end = end.min(self.buf.len());
        let start = start.min(end);
        self.killed = self.buf.drain(start..end).collect();
        self.cursor = start;
    }
}
