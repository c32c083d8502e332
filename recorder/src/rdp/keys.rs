//! The keystroke timeline: what the engineer typed in an RDP session, read from the
//! recorded client input frames.
//!
//! [`Keyboard`] (pure) decodes fast-path input events and slow-path input PDUs and keeps
//! the keyboard's state: held modifiers, and Caps Lock and Num Lock from the lock keys and
//! the client's synchronize events. Its [`Timeline`] holds:
//!
//! - [`Entry::Text`]: printable characters, grouped into runs while nothing else happens
//!   and no pause reaches [`RUN_GAP`]: scancodes through a US layout (Shift and Caps Lock
//!   applied), Unicode events as they are (UTF-16 surrogate pairs joined);
//! - [`Entry::Key`]: every other key press, with the modifiers held ([`Chord`]: `Enter`,
//!   `Backspace`, `Shift+Tab`, `Ctrl+C`, `Alt+F4`, `F1`, …); a character key pressed with
//!   Ctrl, Alt or Win is a chord, not text;
//! - [`Entry::Click`]: mouse button presses. Moves and the wheel are only counted.
//!
//! [`lines`] turns the timeline into "lines typed" for the reconciliation report.
//!
//! What the keys cannot say: the server's keyboard layout and input method decide the
//! characters that appear (a JIS keyboard's symbols differ from US ones; Japanese typed
//! through an IME shows here as its romaji keystrokes), the focused window decides where
//! they go, and nothing says whether a field echoed them: **a password typed into the
//! remote desktop is in this timeline**, unlike in SSH command extraction, where unechoed
//! input is withheld.

mod layout;
mod lines;

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::time::Duration;

use ironrdp_pdu::input::fast_path::{FastPathInput, FastPathInputEvent, KeyboardFlags};
use ironrdp_pdu::input::mouse::PointerFlags;
use ironrdp_pdu::input::mouse_x::PointerXFlags;
use ironrdp_pdu::input::scan_code::KeyboardFlags as SlowKeyboardFlags;
use ironrdp_pdu::input::{InputEvent, InputEventPdu};
use ironrdp_pdu::mcs::McsMessage;
use ironrdp_pdu::rdp::headers::{ShareControlHeader, ShareControlPdu, ShareDataPdu};
use ironrdp_pdu::x224::X224;
use serde::{Serialize, Serializer};

use self::layout::{Lock, Modifier, Scan, scan};
use super::format::{Event, RdpReader};
use crate::error::{Error, Result};

pub use self::layout::Key;
pub use self::lines::{lines, lines_file};

/// A pause this long between two characters starts a new [`Entry::Text`], so a run's
/// offset stays close to when its characters were typed.
pub const RUN_GAP: Duration = Duration::from_secs(2);

/// One thing the engineer did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Entry {
    /// Printable characters typed one after another.
    Text {
        /// When the first was typed.
        #[serde(serialize_with = "seconds")]
        offset: Duration,
        /// The characters.
        text: String,
    },
    /// Any other key, with the modifiers held.
    Key {
        /// When it was pressed.
        #[serde(serialize_with = "seconds")]
        offset: Duration,
        /// Which.
        #[serde(serialize_with = "display")]
        key: Chord,
    },
    /// A mouse button pressed.
    Click {
        /// When.
        #[serde(serialize_with = "seconds")]
        offset: Duration,
        /// Which button.
        click: Button,
    },
}

impl Entry {
    /// When it happened, since the recording started.
    pub fn offset(&self) -> Duration {
        match self {
            Entry::Text { offset, .. }
            | Entry::Key { offset, .. }
            | Entry::Click { offset, .. } => *offset,
        }
    }
}

/// A key pressed with modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chord {
    /// Ctrl (left or right) held.
    pub ctrl: bool,
    /// Alt (left or right, AltGr included) held.
    pub alt: bool,
    /// Shift held.
    pub shift: bool,
    /// The Windows key held.
    pub win: bool,
    /// The key.
    pub key: Key,
}

impl Chord {
    /// The key alone.
    pub fn plain(key: Key) -> Self {
        Self {
            ctrl: false,
            alt: false,
            shift: false,
            win: false,
            key,
        }
    }

    /// Whether Ctrl, Alt or Win is held (Shift alone does not make a shortcut).
    pub fn is_shortcut(&self) -> bool {
        self.ctrl || self.alt || self.win
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (held, name) in [
            (self.ctrl, "Ctrl+"),
            (self.alt, "Alt+"),
            (self.shift, "Shift+"),
            (self.win, "Win+"),
        ] {
            if held {
                f.write_str(name)?;
            }
        }
        write!(f, "{}", self.key)
    }
}

/// A mouse button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Button {
    /// The left (primary) button.
    Left,
    /// The right button.
    Right,
    /// The middle button (wheel click).
    Middle,
    /// Extra button 1 (back).
    X1,
    /// Extra button 2 (forward).
    X2,
}

impl Button {
    /// `left`, `right`, `middle`, `x1`, `x2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Button::Left => "left",
            Button::Right => "right",
            Button::Middle => "middle",
            Button::X1 => "x1",
            Button::X2 => "x2",
        }
    }
}

/// A session's keystroke timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// What was typed and pressed, in order.
    pub entries: Vec<Entry>,
    /// Counts, including what the entries leave out.
    pub stats: KeyStats,
}

/// Counts of the input read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyStats {
    /// Client frames read.
    pub client_frames: u64,
    /// Key presses (scancode and Unicode; releases not counted).
    pub key_presses: u64,
    /// Mouse moves.
    pub mouse_moves: u64,
    /// Mouse button presses.
    pub mouse_clicks: u64,
    /// Wheel turns.
    pub wheel: u64,
    /// Synchronize (lock state) events.
    pub syncs: u64,
    /// Client frames that are not input (or not decodable as such).
    pub other_frames: u64,
}

/// The keyboard state machine: client frames in, timeline out. Pure (no I/O).
#[derive(Debug, Default)]
pub struct Keyboard {
    /// The modifier keys held down, one bit per key and side (`Modifier::bit`).
    held: u8,
    caps: bool,
    num: bool,
    /// A UTF-16 high surrogate waiting for its low half.
    high_surrogate: Option<u16>,
    /// When the last character was typed, for [`RUN_GAP`].
    last_char: Duration,
    timeline: Timeline,
}

impl Keyboard {
    /// A keyboard with nothing held and the locks off.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one client frame (fast-path input, or a slow-path input PDU) at `offset`.
    pub fn feed(&mut self, offset: Duration, frame: &[u8]) {
        self.timeline.stats.client_frames += 1;
        let Some(events) = decode(frame) else {
            self.timeline.stats.other_frames += 1;
            return;
        };
        for event in events {
            self.event(offset, event);
        }
    }

    /// The timeline so far.
    pub fn finish(self) -> Timeline {
        self.timeline
    }

    fn event(&mut self, offset: Duration, event: Input) {
        match event {
            Input::Scancode {
                code,
                extended,
                extended1,
                down,
            } => self.scancode(offset, code, extended, extended1, down),
            Input::Unicode { unit, down: true } => {
                self.timeline.stats.key_presses += 1;
                self.unicode(offset, unit);
            }
            Input::Unicode { down: false, .. } => {}
            Input::MouseMove => self.timeline.stats.mouse_moves += 1,
            Input::Wheel => self.timeline.stats.wheel += 1,
            Input::Click(click) => {
                self.timeline.stats.mouse_clicks += 1;
                self.timeline.entries.push(Entry::Click { offset, click });
            }
            Input::Sync { caps, num } => {
                self.timeline.stats.syncs += 1;
                self.caps = caps;
                self.num = num;
                // Focus came back: the client re-sends what is held after this.
                self.held = 0;
            }
            Input::Other => {}
        }
    }

    fn scancode(
        &mut self,
        offset: Duration,
        code: u8,
        extended: bool,
        extended1: bool,
        down: bool,
    ) {
        if down {
            self.timeline.stats.key_presses += 1;
        }
        match scan(code, extended, extended1) {
            Scan::Modifier(m, right) if down => self.held |= m.bit(right),
            Scan::Modifier(m, right) => self.held &= !m.bit(right),
            Scan::Lock(lock) if down => match lock {
                Lock::Caps => self.caps = !self.caps,
                Lock::Num => self.num = !self.num,
                Lock::Scroll => {}
            },
            Scan::Lock(_) | Scan::Ignore => {}
            _ if !down => {}
            Scan::Char(lower, upper) => {
                let shifted = self.holds(Modifier::Shift);
                let c = if lower.is_ascii_alphabetic() {
                    if shifted != self.caps { upper } else { lower }
                } else if shifted {
                    upper
                } else {
                    lower
                };
                self.press(offset, Key::Char(lower), c);
            }
            Scan::Keypad(c, key) => {
                if self.num {
                    self.press(offset, Key::Char(c), c);
                } else {
                    self.key(offset, key);
                }
            }
            Scan::Key(key) => self.key(offset, key),
        }
    }

    /// A character key: text, unless a shortcut modifier is held.
    fn press(&mut self, offset: Duration, key: Key, c: char) {
        if self.chord(key).is_shortcut() {
            self.key(offset, key);
        } else {
            self.text(offset, c);
        }
    }

    fn holds(&self, m: Modifier) -> bool {
        self.held & m.bits() != 0
    }

    fn chord(&self, key: Key) -> Chord {
        Chord {
            ctrl: self.holds(Modifier::Ctrl),
            alt: self.holds(Modifier::Alt),
            shift: self.holds(Modifier::Shift),
            win: self.holds(Modifier::Win),
            key,
        }
    }

    fn key(&mut self, offset: Duration, key: Key) {
        let key = self.chord(key);
        self.timeline.entries.push(Entry::Key { offset, key });
    }

    fn unicode(&mut self, offset: Duration, unit: u16) {
        let c = match (self.high_surrogate.take(), unit) {
            (None, 0xd800..=0xdbff) => {
                self.high_surrogate = Some(unit);
                return;
            }
            (Some(high), 0xdc00..=0xdfff) => {
                char::decode_utf16([high, unit]).next().and_then(|r| r.ok())
            }
            (_, unit) => char::decode_utf16([unit]).next().and_then(|r| r.ok()),
        };
        let Some(c) = c else {
            return self.text(offset, char::REPLACEMENT_CHARACTER);
        };
        let control = match c {
            '\r' | '\n' => Some(Key::Enter),
            '\t' => Some(Key::Tab),
            '\u{8}' => Some(Key::Backspace),
            '\u{1b}' => Some(Key::Escape),
            '\u{7f}' => Some(Key::Delete),
            _ => None,
        };
        match control {
            Some(key) => self.timeline.entries.push(Entry::Key {
                offset,
                key: Chord::plain(key),
            }),
            None if c.is_control() => self.text(offset, char::REPLACEMENT_CHARACTER),
            None => self.text(offset, c),
        }
    }

    /// Appends to the current run of text, or starts one.
    fn text(&mut self, offset: Duration, c: char) {
        if let Some(Entry::Text { text, .. }) = self.timeline.entries.last_mut()
            && offset.saturating_sub(self.last_char) < RUN_GAP
        {
            text.push(c);
        } else {
            self.timeline.entries.push(Entry::Text {
                offset,
                text: c.to_string(),
            });
        }
        self.last_char = offset;
    }
}

/// The timeline of a recording (its client frames).
pub fn timeline(reader: impl Read) -> Result<Timeline> {
    let (_, records) = RdpReader::open(reader)?;
    let mut keyboard = Keyboard::new();
    for record in records {
        let record = record?;
        if let Event::Client(frame) = &record.event {
            keyboard.feed(record.offset, frame);
        }
    }
    Ok(keyboard.finish())
}

/// The timeline of a recording file.
pub fn timeline_file(path: &Path) -> Result<Timeline> {
    timeline(BufReader::new(File::open(path).map_err(Error::read)?))
}

/// One input event, fast-path or slow-path alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Scancode {
        code: u8,
        extended: bool,
        extended1: bool,
        down: bool,
    },
    Unicode {
        unit: u16,
        down: bool,
    },
    MouseMove,
    Wheel,
    Click(Button),
    Sync {
        caps: bool,
        num: bool,
    },
    Other,
}

/// The input events of a client frame; `None` if it carries none.
fn decode(frame: &[u8]) -> Option<Vec<Input>> {
    let first = frame.first()?;
    if first & 0x03 == 0 {
        let input: FastPathInput = ironrdp_pdu::decode(frame).ok()?;
        return Some(input.input_events().iter().map(fast_path).collect());
    }
    let X224(McsMessage::SendDataRequest(request)) =
        ironrdp_pdu::decode::<X224<McsMessage<'_>>>(frame).ok()?
    else {
        return None;
    };
    let header: ShareControlHeader = ironrdp_pdu::decode(&request.user_data).ok()?;
    let ShareControlPdu::Data(data) = header.share_control_pdu else {
        return None;
    };
    let ShareDataPdu::Input(InputEventPdu(events)) = data.share_data_pdu else {
        return None;
    };
    Some(events.iter().map(slow_path).collect())
}

fn fast_path(event: &FastPathInputEvent) -> Input {
    match event {
        FastPathInputEvent::KeyboardEvent(flags, code) => Input::Scancode {
            code: *code,
            extended: flags.contains(KeyboardFlags::EXTENDED),
            extended1: flags.contains(KeyboardFlags::EXTENDED1),
            down: !flags.contains(KeyboardFlags::RELEASE),
        },
        FastPathInputEvent::UnicodeKeyboardEvent(flags, unit) => Input::Unicode {
            unit: *unit,
            down: !flags.contains(KeyboardFlags::RELEASE),
        },
        FastPathInputEvent::MouseEvent(m) => mouse(m.flags),
        FastPathInputEvent::MouseEventEx(m) => mouse_x(m.flags),
        FastPathInputEvent::MouseEventRel(_) => Input::MouseMove,
        FastPathInputEvent::QoeEvent(_) => Input::Other,
        FastPathInputEvent::SyncEvent(flags) => {
            use ironrdp_pdu::input::fast_path::SynchronizeFlags;
            Input::Sync {
                caps: flags.contains(SynchronizeFlags::CAPS_LOCK),
                num: flags.contains(SynchronizeFlags::NUM_LOCK),
            }
        }
    }
}

fn slow_path(event: &InputEvent) -> Input {
    match event {
        InputEvent::ScanCode(pdu) => Input::Scancode {
            // Set 1 scancodes fit a byte; the high byte is unused.
            code: {
                let [low, _] = pdu.key_code.to_le_bytes();
                low
            },
            extended: pdu.flags.contains(SlowKeyboardFlags::EXTENDED),
            extended1: pdu.flags.contains(SlowKeyboardFlags::EXTENDED_1),
            down: !pdu.flags.contains(SlowKeyboardFlags::RELEASE),
        },
        InputEvent::Unicode(pdu) => Input::Unicode {
            unit: pdu.unicode_code,
            down: !pdu
                .flags
                .contains(ironrdp_pdu::input::unicode::KeyboardFlags::RELEASE),
        },
        InputEvent::Mouse(m) => mouse(m.flags),
        InputEvent::MouseX(m) => mouse_x(m.flags),
        InputEvent::MouseRel(_) => Input::MouseMove,
        InputEvent::Sync(pdu) => {
            use ironrdp_pdu::input::sync::SyncToggleFlags;
            Input::Sync {
                caps: pdu.flags.contains(SyncToggleFlags::CAPS_LOCK),
                num: pdu.flags.contains(SyncToggleFlags::NUM_LOCK),
            }
        }
        InputEvent::Unused(_) => Input::Other,
    }
}

fn mouse(flags: PointerFlags) -> Input {
    if flags.intersects(PointerFlags::VERTICAL_WHEEL | PointerFlags::HORIZONTAL_WHEEL) {
        return Input::Wheel;
    }
    if !flags.contains(PointerFlags::DOWN) {
        // A release, or a move.
        return if flags.contains(PointerFlags::MOVE) {
            Input::MouseMove
        } else {
            Input::Other
        };
    }
    if flags.contains(PointerFlags::LEFT_BUTTON) {
        Input::Click(Button::Left)
    } else if flags.contains(PointerFlags::RIGHT_BUTTON) {
        Input::Click(Button::Right)
    } else if flags.contains(PointerFlags::MIDDLE_BUTTON_OR_WHEEL) {
        Input::Click(Button::Middle)
    } else {
        Input::Other
    }
}

fn mouse_x(flags: PointerXFlags) -> Input {
    match (
        flags.contains(PointerXFlags::DOWN),
        flags.contains(PointerXFlags::BUTTON1),
    ) {
        (false, _) => Input::Other,
        (true, true) => Input::Click(Button::X1),
        (true, false) => Input::Click(Button::X2),
    }
}

fn seconds<S: Serializer>(offset: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64((offset.as_micros() as f64) / 1e6)
}

fn display<S: Serializer>(value: &Chord, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(value)
}
