//! Scancodes (set 1, as RDP sends them) to keys, for a US keyboard layout.

use std::fmt;

/// A key the timeline names, other than the modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// A key that types a character: its unshifted character on the US layout (`a`, `1`,
    /// `/`, space). Shown in chords in upper case (`Ctrl+C`).
    Char(char),
    /// Enter (main or keypad).
    Enter,
    /// Backspace.
    Backspace,
    /// Tab.
    Tab,
    /// Escape.
    Escape,
    /// Delete (forward).
    Delete,
    /// Insert.
    Insert,
    /// Home.
    Home,
    /// End.
    End,
    /// Page Up.
    PageUp,
    /// Page Down.
    PageDown,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// A function key, 1 to 12.
    F(u8),
    /// Print Screen.
    PrintScreen,
    /// Pause/Break.
    Pause,
    /// The context menu key.
    Menu,
    /// A key this layout does not name.
    Unknown {
        /// Set 1 scancode.
        scancode: u8,
        /// Whether it came with the E0 prefix.
        extended: bool,
    },
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Key::Char(' ') => "Space",
            Key::Char(c) => return write!(f, "{}", c.to_uppercase()),
            Key::Enter => "Enter",
            Key::Backspace => "Backspace",
            Key::Tab => "Tab",
            Key::Escape => "Escape",
            Key::Delete => "Delete",
            Key::Insert => "Insert",
            Key::Home => "Home",
            Key::End => "End",
            Key::PageUp => "PageUp",
            Key::PageDown => "PageDown",
            Key::Up => "Up",
            Key::Down => "Down",
            Key::Left => "Left",
            Key::Right => "Right",
            Key::F(n) => return write!(f, "F{n}"),
            Key::PrintScreen => "PrintScreen",
            Key::Pause => "Pause",
            Key::Menu => "Menu",
            Key::Unknown {
                scancode,
                extended: false,
            } => return write!(f, "Scancode{scancode:#04x}"),
            Key::Unknown {
                scancode,
                extended: true,
            } => return write!(f, "Scancode0xe0{scancode:02x}"),
        };
        f.write_str(name)
    }
}

/// What a scancode is on the US layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scan {
    /// Shift, Ctrl, Alt or Win (`true`: the right-hand one), held while other keys are
    /// pressed.
    Modifier(Modifier, bool),
    /// Caps Lock, Num Lock, Scroll Lock: toggles.
    Lock(Lock),
    /// A character key: unshifted and shifted character.
    Char(char, char),
    /// A keypad key: its character with Num Lock on, its key with it off.
    Keypad(char, Key),
    /// Any other key.
    Key(Key),
    /// A key that does nothing on its own (the fake shifts some keyboards send around
    /// Print Screen and the arrows).
    Ignore,
}

/// The modifier keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Modifier {
    Shift = 0,
    Ctrl = 1,
    Alt = 2,
    Win = 3,
}

impl Modifier {
    /// Its bit in a set of held modifier keys, each side its own.
    pub(super) fn bit(self, right: bool) -> u8 {
        1 << (self as u8 * 2 + u8::from(right))
    }

    /// Both sides' bits.
    pub(super) fn bits(self) -> u8 {
        self.bit(false) | self.bit(true)
    }
}

/// The lock keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lock {
    Caps,
    Num,
    Scroll,
}

/// Unshifted and shifted characters of the main block, by scancode from 0x02.
const ROW_NUMBERS: [(char, char); 12] = [
    ('1', '!'),
    ('2', '@'),
    ('3', '#'),
    ('4', '$'),
    ('5', '%'),
    ('6', '^'),
    ('7', '&'),
    ('8', '*'),
    ('9', '('),
    ('0', ')'),
    ('-', '_'),
    ('=', '+'),
];

/// Scancodes 0x10..=0x1b.
const ROW_Q: [(char, char); 12] = [
    ('q', 'Q'),
    ('w', 'W'),
    ('e', 'E'),
    ('r', 'R'),
    ('t', 'T'),
    ('y', 'Y'),
    ('u', 'U'),
    ('i', 'I'),
    ('o', 'O'),
    ('p', 'P'),
    ('[', '{'),
    (']', '}'),
];

/// Scancodes 0x1e..=0x29.
const ROW_A: [(char, char); 12] = [
    ('a', 'A'),
    ('s', 'S'),
    ('d', 'D'),
    ('f', 'F'),
    ('g', 'G'),
    ('h', 'H'),
    ('j', 'J'),
    ('k', 'K'),
    ('l', 'L'),
    (';', ':'),
    ('\'', '"'),
    ('`', '~'),
];

/// Scancodes 0x2b..=0x35.
const ROW_Z: [(char, char); 11] = [
    ('\\', '|'),
    ('z', 'Z'),
    ('x', 'X'),
    ('c', 'C'),
    ('v', 'V'),
    ('b', 'B'),
    ('n', 'N'),
    ('m', 'M'),
    (',', '<'),
    ('.', '>'),
    ('/', '?'),
];

/// What `scancode` (with the E0 prefix if `extended`, E1 if `extended1`) is.
pub(super) fn scan(scancode: u8, extended: bool, extended1: bool) -> Scan {
    let row = |table: &[(char, char)], first: u8| {
        table
            .get(usize::from(scancode.wrapping_sub(first)))
            .map(|&(lower, upper)| Scan::Char(lower, upper))
    };
    if extended1 {
        // E1 1D 45: Pause; nothing else uses E1.
        return if scancode == 0x1d {
            Scan::Key(Key::Pause)
        } else {
            Scan::Ignore
        };
    }
    if extended {
        return match scancode {
            0x1c => Scan::Key(Key::Enter),
            0x1d => Scan::Modifier(Modifier::Ctrl, true),
            0x2a | 0x36 => Scan::Ignore,
            0x35 => Scan::Char('/', '/'),
            0x37 => Scan::Key(Key::PrintScreen),
            0x38 => Scan::Modifier(Modifier::Alt, true),
            0x46 => Scan::Key(Key::Pause), // Ctrl+Break
            0x47 => Scan::Key(Key::Home),
            0x48 => Scan::Key(Key::Up),
            0x49 => Scan::Key(Key::PageUp),
            0x4b => Scan::Key(Key::Left),
            0x4d => Scan::Key(Key::Right),
            0x4f => Scan::Key(Key::End),
            0x50 => Scan::Key(Key::Down),
            0x51 => Scan::Key(Key::PageDown),
            0x52 => Scan::Key(Key::Insert),
            0x53 => Scan::Key(Key::Delete),
            0x5b => Scan::Modifier(Modifier::Win, false),
            0x5c => Scan::Modifier(Modifier::Win, true),
            0x5d => Scan::Key(Key::Menu),
            _ => Scan::Key(Key::Unknown {
                scancode,
                extended: true,
            }),
        };
    }
    let found = match scancode {
        0x01 => Some(Scan::Key(Key::Escape)),
        0x02..=0x0d => row(&ROW_NUMBERS, 0x02),
        0x0e => Some(Scan::Key(Key::Backspace)),
        0x0f => Some(Scan::Key(Key::Tab)),
        0x10..=0x1b => row(&ROW_Q, 0x10),
        0x1c => Some(Scan::Key(Key::Enter)),
        0x1d => Some(Scan::Modifier(Modifier::Ctrl, false)),
        0x1e..=0x29 => row(&ROW_A, 0x1e),
        0x2a => Some(Scan::Modifier(Modifier::Shift, false)),
        0x36 => Some(Scan::Modifier(Modifier::Shift, true)),
        0x2b..=0x35 => row(&ROW_Z, 0x2b),
        0x37 => Some(Scan::Char('*', '*')),
        0x38 => Some(Scan::Modifier(Modifier::Alt, false)),
        0x39 => Some(Scan::Char(' ', ' ')),
        0x3a => Some(Scan::Lock(Lock::Caps)),
        0x3b..=0x44 => Some(Scan::Key(Key::F(scancode - 0x3a))),
        0x45 => Some(Scan::Lock(Lock::Num)),
        0x46 => Some(Scan::Lock(Lock::Scroll)),
        0x47 => Some(Scan::Keypad('7', Key::Home)),
        0x48 => Some(Scan::Keypad('8', Key::Up)),
        0x49 => Some(Scan::Keypad('9', Key::PageUp)),
        0x4a => Some(Scan::Char('-', '-')),
        0x4b => Some(Scan::Keypad('4', Key::Left)),
        0x4c => Some(Scan::Keypad(
            '5',
            Key::Unknown {
                scancode,
                extended: false,
            },
        )),
        0x4d => Some(Scan::Keypad('6', Key::Right)),
        0x4e => Some(Scan::Char('+', '+')),
        0x4f => Some(Scan::Keypad('1', Key::End)),
        0x50 => Some(Scan::Keypad('2', Key::Down)),
        0x51 => Some(Scan::Keypad('3', Key::PageDown)),
        0x52 => Some(Scan::Keypad('0', Key::Insert)),
        0x53 => Some(Scan::Keypad('.', Key::Delete)),
        0x56 => Some(Scan::Char('\\', '|')), // the ISO key beside left Shift
        0x57 => Some(Scan::Key(Key::F(11))),
        0x58 => Some(Scan::Key(Key::F(12))),
        _ => None,
    };
    found.unwrap_or(Scan::Key(Key::Unknown {
        scancode,
        extended: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_layout() {
        let cases = [
            (0x02, false, Scan::Char('1', '!')),
            (0x0d, false, Scan::Char('=', '+')),
            (0x10, false, Scan::Char('q', 'Q')),
            (0x1b, false, Scan::Char(']', '}')),
            (0x1e, false, Scan::Char('a', 'A')),
            (0x28, false, Scan::Char('\'', '"')),
            (0x29, false, Scan::Char('`', '~')),
            (0x2b, false, Scan::Char('\\', '|')),
            (0x2c, false, Scan::Char('z', 'Z')),
            (0x35, false, Scan::Char('/', '?')),
            (0x35, true, Scan::Char('/', '/')),
            (0x39, false, Scan::Char(' ', ' ')),
            (0x1c, false, Scan::Key(Key::Enter)),
            (0x1c, true, Scan::Key(Key::Enter)),
            (0x3b, false, Scan::Key(Key::F(1))),
            (0x44, false, Scan::Key(Key::F(10))),
            (0x58, false, Scan::Key(Key::F(12))),
            (0x48, true, Scan::Key(Key::Up)),
            (0x48, false, Scan::Keypad('8', Key::Up)),
            (0x1d, true, Scan::Modifier(Modifier::Ctrl, true)),
            (0x36, false, Scan::Modifier(Modifier::Shift, true)),
            (0x2a, true, Scan::Ignore),
            (0x5b, true, Scan::Modifier(Modifier::Win, false)),
            (0x3a, false, Scan::Lock(Lock::Caps)),
            (
                0x7b,
                false,
                Scan::Key(Key::Unknown {
                    scancode: 0x7b,
                    extended: false,
                }),
            ),
        ];
        for (code, ext, want) in cases {
            assert_eq!(scan(code, ext, false), want, "{code:#x} ext={ext}");
        }
        assert_eq!(scan(0x1d, false, true), Scan::Key(Key::Pause));
        let names = [
            (Key::Char('c'), "C"),
            (Key::Char(' '), "Space"),
            (Key::Char('/'), "/"),
            (Key::F(11), "F11"),
            (Key::PageDown, "PageDown"),
            (
                Key::Unknown {
                    scancode: 0x7b,
                    extended: false,
                },
                "Scancode0x7b",
            ),
            (
                Key::Unknown {
                    scancode: 0x5e,
                    extended: true,
                },
                "Scancode0xe05e",
            ),
        ];
        for (key, name) in names {
            assert_eq!(key.to_string(), name);
        }
    }
}
