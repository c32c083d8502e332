//! Keeping the target's terminal queries from the viewer's terminal.
//!
//! Programs on the target ask their terminal things: where the cursor is (`ESC [ 6 n`),
//! which terminal it is (`ESC [ c`), its colours (`ESC ] 11 ; ? BEL`), the clipboard
//! (`ESC ] 52`). The engineer's terminal answered into the session, and the answers are in
//! the recording as input. Replayed as recorded, the queries reach the reviewer's terminal,
//! which answers them too, into the reviewer's own input: junk at their prompt after the
//! replay (`^[[2;2R^[[3;1R` after a `vi` session), or bytes a crafted recording chose (a
//! title typed back, the clipboard read or set). [`QueryFilter`] removes them from the
//! output. A query draws nothing, so the replay looks as the engineer's screen did.
//!
//! # What is removed
//!
//! - Reports asked for in a CSI: device status and cursor position (`CSI 5 n`, `CSI 6 n`,
//!   `CSI ? 6 n`, any `n`), device attributes (`CSI c`, `CSI > c`, `CSI = c`, any `c`),
//!   modes (DECRQM `CSI ? Ps $ p`, `CSI Ps $ p`), window reports (XTWINOPS `CSI 11 t`,
//!   13–16, 18–21, and `CSI ? … t`; moving, resizing and title push/pop stay), XTVERSION
//!   `CSI > q`, XTQMODKEYS `CSI ? Pp m`, the kitty keyboard query `CSI ? u`, DECRQTSR
//!   `CSI $ u`, DECRQUPSS `CSI & u`, DECRQPSR `CSI $ w`, DECRQCRA `CSI * y`, DECRQDE
//!   `CSI " v`, DECREQTPARM `CSI x`, XTSMGRAPHICS `CSI ? … S`, XTREPORTSGR `CSI # |`,
//!   XTREPORTCOLORS `CSI # R`, the DEC locator (DECRQLP, DECELR, DECSLE, DECEFR).
//! - Modes that make the terminal report the viewer's own actions into the input: mouse
//!   tracking (9, 1000–1003), focus (1004), theme changes (2031) and resizes (2048) are
//!   taken out of a `CSI ? … h` (the rest of it stays; a set of nothing is dropped).
//! - `ESC Z` and its 8-bit form (DECID), and ENQ (the answerback: PuTTY types "PuTTY").
//! - DCS strings but sixel graphics (`DCS … q`), soft fonts (`DCS … {`) and synchronized
//!   updates (`DCS = … s`): DECRQSS (`DCS $ q`), XTGETTCAP (`DCS + q`), user-defined keys
//!   (DECUDK, which would reprogram the viewer's keys) and all others.
//! - OSC strings but the title (0, 1, 2), the working directory (7), hyperlinks (8),
//!   shell marks (133) and colours set or reset (4, 5, 10–19, 104, 105, 110–119) without a
//!   `?` among their arguments. So the clipboard (52, read or write), fonts (50), colour
//!   queries (`OSC 11 ; ?`) and terminal-specific ones (iTerm2's 1337 reports and
//!   downloads) are removed.
//! - SOS, PM and APC strings (kitty's graphics are APC, and answered).
//!
//! # How
//!
//! A state machine over the decoded text (this file; which complete sequences are queries
//! is `judge`'s), after the parser terminals use
//! (<https://vt100.net/emu/dec_ansi_parser>): ESC, CAN, SUB and the C1 controls end
//! whatever sequence they interrupt, wherever they come, so no query hides inside another
//! sequence. C1 controls (CSI U+009B, OSC U+009D, DCS U+0090, ST U+009C, …) are the code
//! points U+0080–U+009F of the text, never bytes of a UTF-8 sequence (a cast is UTF-8).
//!
//! Only text and complete sequences judged harmless are written. A sequence that goes on
//! in the next chunk is held back until it is complete, so one split across cast events is
//! still caught, and is then written with the later event (when the terminal would have
//! acted on it). A sequence cut off (by ESC, CAN, SUB or a C1 control, or by the end of the
//! stream) is dropped: a terminal shows nothing for it either. C0 controls inside a CSI
//! are executed by a terminal where they stand; they are written at once, before the
//! sequence, which changes nothing on the screen. DEL inside a sequence is ignored by a
//! terminal and dropped here, and so are C0 controls inside an OSC string.
//!
//! What is held is bounded: a CSI or escape sequence longer than [`MAX_SEQUENCE`]
//! bytes, or a string the filter would keep longer than [`MAX_STRING`] bytes (a large
//! sixel image), is dropped up to its end. Nothing a terminal shows is lost that way but
//! such an image; no real CSI comes near the bound.
//!
//! The output never grows (only removal, and a `CSI ? … h` only loses modes), and
//! filtering it again changes nothing.

mod judge;

use self::judge::{Fate, Verdict, asks_colour, csi_verdict, dcs_fate, osc_fate};

/// Longest CSI or escape sequence held, in bytes; a longer one is dropped.
pub const MAX_SEQUENCE: usize = 256;

/// Longest OSC or DCS string held to be kept, in bytes; a longer one is dropped.
pub const MAX_STRING: usize = 64 * 1024;

/// Removes terminal queries from a stream of terminal output, chunk by chunk. One per
/// stream (an SSH channel): it carries an unfinished sequence from one chunk to the next.
#[derive(Debug, Default)]
pub struct QueryFilter {
    state: State,
    /// The sequence read so far and not yet written, from its introducer (`ESC` or a C1
    /// control) on. Bounded by [`MAX_SEQUENCE`] and [`MAX_STRING`].
    held: String,
}

impl QueryFilter {
    /// A filter at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// What of `chunk` may reach the viewer's terminal. A sequence left unfinished at its
    /// end is held back for the next chunk.
    pub fn filter(&mut self, chunk: &str) -> String {
        let mut out = String::with_capacity(chunk.len());
        let mut rest = chunk;
        while !rest.is_empty() {
            if self.state == State::Ground {
                // Plain text goes through as it is.
                let plain = rest.find(starts_sequence).unwrap_or(rest.len());
                let (text, tail) = rest.split_at_checked(plain).unwrap_or((rest, ""));
                out.push_str(text);
                rest = tail;
            }
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                self.feed(c, &mut out);
            }
            rest = chars.as_str();
        }
        out
    }

    /// Whether an unfinished sequence is held back. At the end of the stream it is never
    /// written: dropping the filter drops it.
    pub fn is_holding(&self) -> bool {
        self.state != State::Ground
    }

    /// One character, in the current state.
    fn feed(&mut self, c: char, out: &mut String) {
        match self.state {
            State::Ground => self.ground(c, out),
            State::Escape => self.escape(c, out),
            State::Csi => self.csi(c, out),
            State::Ignore(until) => self.ignore(c, until, out),
            State::Str { kind, fate } => self.string(c, kind, fate, out),
            State::StrEsc { kind, fate } => self.string_esc(c, kind, fate, out),
        }
    }

    fn ground(&mut self, c: char, out: &mut String) {
        match c {
            ESC => self.begin(c, State::Escape),
            CSI => self.begin(c, State::Csi),
            OSC => self.begin(c, State::string(StrKind::Osc)),
            DCS => self.begin(c, State::string(StrKind::Dcs)),
            SOS | PM | APC => self.begin(c, State::string(StrKind::Other)),
            // The answerback and DECID make the terminal type; nothing is drawn.
            ENQ | DECID => {}
            c => out.push(c),
        }
    }

    /// After ESC and any intermediates (in `held`).
    fn escape(&mut self, c: char, out: &mut String) {
        if self.control(c, out) {
            return;
        }
        match c {
            '\x20'..='\x2f' => {
                self.held.push(c);
                if self.held.len() > MAX_SEQUENCE {
                    self.held.clear();
                    self.state = State::Ignore(Until::EscapeFinal);
                }
            }
            // Right after ESC (no intermediates): an introducer, or a complete sequence.
            '\x30'..='\x7e' if self.held.len() == ESC.len_utf8() => match c {
                '[' => self.go_on(c, State::Csi),
                ']' => self.go_on(c, State::string(StrKind::Osc)),
                'P' => self.go_on(c, State::string(StrKind::Dcs)),
                'X' | '^' | '_' => self.go_on(c, State::string(StrKind::Other)),
                // DECID: the terminal identifies itself.
                'Z' => self.end(),
                c => {
                    self.held.push(c);
                    self.write_held(out);
                }
            },
            '\x30'..='\x7e' => {
                self.held.push(c);
                self.write_held(out);
            }
            // A C1 control or a character that can't be in an escape sequence.
            c => {
                self.end();
                self.ground(c, out);
            }
        }
    }

    /// In a CSI, after its introducer (in `held`).
    fn csi(&mut self, c: char, out: &mut String) {
        if self.control(c, out) {
            return;
        }
        match c {
            '\x20'..='\x3f' => {
                self.held.push(c);
                if self.held.len() > MAX_SEQUENCE {
                    self.held.clear();
                    self.state = State::Ignore(Until::CsiFinal);
                }
            }
            '\x40'..='\x7e' => {
                let (intro, body) = split_introducer(&self.held);
                match csi_verdict(body, c) {
                    Verdict::Keep => {
                        self.held.push(c);
                        self.write_held(out);
                    }
                    Verdict::Drop => self.end(),
                    Verdict::Rewrite(body) => {
                        out.push_str(intro);
                        out.push_str(&body);
                        out.push(c);
                        self.end();
                    }
                }
            }
            c => {
                self.end();
                self.ground(c, out);
            }
        }
    }

    /// In a sequence too long to hold, dropped up to its final character.
    fn ignore(&mut self, c: char, until: Until, out: &mut String) {
        if self.control(c, out) {
            return;
        }
        match (c, until) {
            ('\x20'..='\x2f', _) | ('\x30'..='\x3f', Until::CsiFinal) => {}
            ('\x30'..='\x7e', Until::EscapeFinal) | ('\x40'..='\x7e', Until::CsiFinal) => {
                self.end();
            }
            (c, _) => {
                self.end();
                self.ground(c, out);
            }
        }
    }

    /// C0 controls and DEL in an escape sequence or a CSI, as a terminal treats them:
    /// ESC starts over, CAN and SUB cancel, DEL is ignored, the others are executed where
    /// they stand (written now; ENQ dropped). Whether `c` was one.
    fn control(&mut self, c: char, out: &mut String) -> bool {
        match c {
            ESC => self.begin(c, State::Escape),
            CAN | SUB => {
                self.end();
                out.push(c);
            }
            DEL | ENQ => {}
            '\0'..='\x1f' => out.push(c),
            _ => return false,
        }
        true
    }

    /// In an OSC, DCS, SOS, PM or APC string.
    fn string(&mut self, c: char, kind: StrKind, fate: Fate, out: &mut String) {
        match c {
            ESC => self.state = State::StrEsc { kind, fate },
            BEL if kind == StrKind::Osc => self.terminate(BEL, kind, fate, out),
            ST => self.terminate(ST, kind, fate, out),
            CAN | SUB => {
                self.end();
                out.push(c);
            }
            '\u{80}'..='\u{9f}' => {
                self.end();
                self.ground(c, out);
            }
            // Sixel and soft-font data may be broken into lines; an OSC ignores controls.
            '\0'..='\x1f' if kind == StrKind::Dcs && fate == Fate::Keep && c != ENQ => {
                self.hold(c);
            }
            '\0'..='\x1f' | DEL => {}
            c => match fate {
                Fate::Drop => {}
                Fate::Keep | Fate::KeepUnlessQuery => self.hold(c),
                Fate::Undecided => self.decide(c, kind),
            },
        }
    }

    /// After ESC in a string: `ESC \` ends it (ST); anything else cuts it off, and the
    /// ESC starts a new sequence.
    fn string_esc(&mut self, c: char, kind: StrKind, fate: Fate, out: &mut String) {
        if c == '\\' {
            self.terminate_with("\x1b\\", kind, fate, out);
        } else {
            self.begin(ESC, State::Escape);
            self.escape(c, out);
        }
    }

    /// The head of an OSC (its number) or a DCS (up to its final character) goes on.
    fn decide(&mut self, c: char, kind: StrKind) {
        self.held.push(c);
        let (_, body) = split_introducer(&self.held);
        let fate = match kind {
            StrKind::Osc if c == ';' => osc_fate(body.trim_end_matches(';')),
            StrKind::Osc if c.is_ascii_digit() && body.len() <= 8 => Fate::Undecided,
            StrKind::Dcs if matches!(c, '\x40'..='\x7e') => dcs_fate(body),
            StrKind::Dcs if matches!(c, '\x20'..='\x3f') && body.len() <= MAX_SEQUENCE => {
                Fate::Undecided
            }
            _ => Fate::Drop,
        };
        if fate == Fate::Drop {
            self.held.clear();
        }
        self.state = State::Str { kind, fate };
    }

    /// One more character of a string to keep, unless that makes it too long.
    fn hold(&mut self, c: char) {
        self.held.push(c);
        if self.held.len() > MAX_STRING {
            self.held.clear();
            if let State::Str { kind, .. } = self.state {
                self.state = State::Str {
                    kind,
                    fate: Fate::Drop,
                };
            }
        }
    }

    fn terminate(&mut self, terminator: char, kind: StrKind, fate: Fate, out: &mut String) {
        let mut buf = [0; 4];
        self.terminate_with(terminator.encode_utf8(&mut buf), kind, fate, out);
    }

    /// The string ends with `terminator`: written with it if it is to be kept.
    fn terminate_with(&mut self, terminator: &str, kind: StrKind, fate: Fate, out: &mut String) {
        let (_, body) = split_introducer(&self.held);
        let fate = match (fate, kind) {
            // An OSC without arguments (`OSC 104 ST`) is judged by its number alone.
            (Fate::Undecided, StrKind::Osc) => osc_fate(body),
            (Fate::Undecided, _) => Fate::Drop,
            (fate, _) => fate,
        };
        let keep = match fate {
            Fate::Keep => true,
            Fate::KeepUnlessQuery => !asks_colour(body),
            Fate::Undecided | Fate::Drop => false,
        };
        if keep {
            out.push_str(&self.held);
            out.push_str(terminator);
        }
        self.end();
    }

    /// Starts a sequence with its introducer `c`, dropping any unfinished one.
    fn begin(&mut self, c: char, state: State) {
        self.held.clear();
        self.held.push(c);
        self.state = state;
    }

    /// The sequence goes on in `state`.
    fn go_on(&mut self, c: char, state: State) {
        self.held.push(c);
        self.state = state;
    }

    /// The held sequence is complete and harmless: written.
    fn write_held(&mut self, out: &mut String) {
        out.push_str(&self.held);
        self.end();
    }

    /// Back to text; whatever is held is dropped.
    fn end(&mut self) {
        self.held.clear();
        self.state = State::Ground;
    }
}

const ENQ: char = '\x05';
const BEL: char = '\x07';
const CAN: char = '\x18';
const SUB: char = '\x1a';
const ESC: char = '\x1b';
const DEL: char = '\x7f';
const DCS: char = '\u{90}';
const SOS: char = '\u{98}';
const DECID: char = '\u{9a}';
const CSI: char = '\u{9b}';
const ST: char = '\u{9c}';
const OSC: char = '\u{9d}';
const PM: char = '\u{9e}';
const APC: char = '\u{9f}';

/// Where the parser is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Text.
    #[default]
    Ground,
    /// After ESC (and intermediates).
    Escape,
    /// In a CSI's parameters and intermediates.
    Csi,
    /// In a sequence too long to hold, up to its final character.
    Ignore(Until),
    /// In a string.
    Str { kind: StrKind, fate: Fate },
    /// After ESC in a string.
    StrEsc { kind: StrKind, fate: Fate },
}

impl State {
    fn string(kind: StrKind) -> Self {
        let fate = match kind {
            StrKind::Osc | StrKind::Dcs => Fate::Undecided,
            StrKind::Other => Fate::Drop,
        };
        Self::Str { kind, fate }
    }
}

/// Which final characters end an ignored sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    EscapeFinal,
    CsiFinal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrKind {
    Osc,
    Dcs,
    /// SOS, PM, APC.
    Other,
}

/// Whether `c` may start or be part of a sequence (everything else is plain text).
fn starts_sequence(c: char) -> bool {
    matches!(c, ESC | ENQ | '\u{80}'..='\u{9f}')
}

/// `(introducer, rest)` of a held sequence: `ESC` and the next character, or a C1 control.
fn split_introducer(held: &str) -> (&str, &str) {
    let len = if held.starts_with(ESC) { 2 } else { 1 };
    let at = held
        .char_indices()
        .nth(len)
        .map_or(held.len(), |(at, _)| at);
    held.split_at_checked(at).unwrap_or((held, ""))
}

#[cfg(test)]
mod tests;
