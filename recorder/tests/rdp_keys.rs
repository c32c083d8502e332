//! The keystroke timeline from synthetic client input frames (encoded with IronRDP's
//! `FastPathInput` and slow-path input PDUs), and the lines typed.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: any failure must fail the test loudly"
)]

mod common;

use std::time::Duration;

use common::rdp::*;
use fumidai_recorder::commands::{Certainty, UncertainReason};
use fumidai_recorder::rdp::keys::{Button, Chord, Entry, Key, Keyboard, lines, timeline};
use ironrdp_pdu::input::fast_path::{FastPathInputEvent as Ev, KeyboardFlags, SynchronizeFlags};
use ironrdp_pdu::input::mouse::PointerFlags;
use ironrdp_pdu::input::scan_code::KeyboardFlags as SlowFlags;
use ironrdp_pdu::input::sync::SyncToggleFlags;
use ironrdp_pdu::input::{InputEvent, MousePdu, ScanCodePdu, SyncPdu, UnicodePdu};

const SHIFT: u8 = 0x2a;
const CTRL: u8 = 0x1d;
const ALT: u8 = 0x38;

fn down(code: u8) -> Ev {
    Ev::KeyboardEvent(KeyboardFlags::empty(), code)
}

fn up(code: u8) -> Ev {
    Ev::KeyboardEvent(KeyboardFlags::RELEASE, code)
}

fn ext(code: u8) -> Ev {
    Ev::KeyboardEvent(KeyboardFlags::EXTENDED, code)
}

/// Press and release.
fn tap(code: u8) -> [Ev; 2] {
    [down(code), up(code)]
}

fn unicode(unit: u16) -> [Ev; 2] {
    [
        Ev::UnicodeKeyboardEvent(KeyboardFlags::empty(), unit),
        Ev::UnicodeKeyboardEvent(KeyboardFlags::RELEASE, unit),
    ]
}

fn mouse(flags: PointerFlags) -> Ev {
    Ev::MouseEvent(MousePdu {
        flags,
        number_of_wheel_rotation_units: 0,
        x_position: 100,
        y_position: 200,
    })
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn text(n: u64, s: &str) -> Entry {
    Entry::Text {
        offset: ms(n),
        text: s.into(),
    }
}

fn key(n: u64, chord: Chord) -> Entry {
    Entry::Key {
        offset: ms(n),
        key: chord,
    }
}

fn plain(n: u64, k: Key) -> Entry {
    key(n, Chord::plain(k))
}

#[test]
fn typed_text_special_keys_and_chords() {
    let frames: Vec<(u64, Vec<Ev>)> = vec![
        // "Hi" with Shift, "!" with the right Shift.
        (
            100,
            [
                vec![down(SHIFT)],
                tap(0x23).to_vec(),
                vec![up(SHIFT)],
                tap(0x17).to_vec(),
            ]
            .concat(),
        ),
        (
            150,
            [vec![down(0x36)], tap(0x02).to_vec(), vec![up(0x36)]].concat(),
        ),
        // Backspace, Enter, Tab, F1, Escape.
        (
            200,
            [tap(0x0e), tap(0x1c), tap(0x0f), tap(0x3b), tap(0x01)].concat(),
        ),
        // Arrows and Delete are extended; keypad Enter too.
        (300, vec![ext(0x4b), ext(0x48), ext(0x53), ext(0x1c)]),
        // Ctrl+C, Ctrl+Shift+T, Alt+F4, Shift+Tab.
        (
            400,
            [
                vec![down(CTRL)],
                tap(0x2e).to_vec(),
                vec![down(SHIFT)],
                tap(0x14).to_vec(),
                vec![up(SHIFT), up(CTRL), down(ALT)],
                tap(0x3e).to_vec(),
                vec![up(ALT), down(SHIFT)],
                tap(0x0f).to_vec(),
                vec![up(SHIFT)],
            ]
            .concat(),
        ),
        // Caps Lock: letters upper, digits not; Shift inverts letters back.
        (
            500,
            [
                tap(0x3a).to_vec(),
                tap(0x1e).to_vec(),
                tap(0x03).to_vec(),
                vec![down(SHIFT)],
                tap(0x1e).to_vec(),
                vec![up(SHIFT)],
                tap(0x3a).to_vec(),
                tap(0x1e).to_vec(),
            ]
            .concat(),
        ),
        // Sync from the client: Caps Lock on; a held Shift is forgotten.
        (
            600,
            vec![
                down(SHIFT),
                Ev::SyncEvent(SynchronizeFlags::CAPS_LOCK),
                down(0x30),
            ],
        ),
        // Num Lock via sync: keypad 7 is a digit; without it, Home.
        (
            700,
            vec![Ev::SyncEvent(SynchronizeFlags::NUM_LOCK), down(0x47)],
        ),
        (
            710,
            vec![Ev::SyncEvent(SynchronizeFlags::empty()), down(0x47)],
        ),
        // Unicode: 日本, then a surrogate pair (U+1F600), then a Unicode carriage return.
        (
            800,
            [
                unicode(0x65e5),
                unicode(0x672c),
                unicode(0xd83d),
                unicode(0xde00),
                unicode(0x0d),
            ]
            .concat(),
        ),
        // Mouse: moves and the wheel are counted, a press is a click, a release nothing.
        (
            900,
            vec![
                mouse(PointerFlags::MOVE),
                mouse(PointerFlags::DOWN | PointerFlags::LEFT_BUTTON),
                mouse(PointerFlags::LEFT_BUTTON),
                mouse(PointerFlags::VERTICAL_WHEEL | PointerFlags::WHEEL_NEGATIVE),
                mouse(PointerFlags::DOWN | PointerFlags::RIGHT_BUTTON),
            ],
        ),
        // Autorepeat: key-downs without releases type again.
        (1000, vec![down(0x1f), down(0x1f), down(0x1f), up(0x1f)]),
        // A pause of 2 s or more starts a new run.
        (2999, tap(0x1f).to_vec()),
        (5000, tap(0x1f).to_vec()),
    ];
    let mut rec = Recording::new().state(0, &state(64, 48));
    for (at, events) in &frames {
        rec = rec.client(*at, &fast_path_input(events.clone()));
    }
    // Noise a real session has: server frames, an unrelated client frame.
    let rec = rec
        .server(1001, &[0x00, 0x02])
        .client(1002, &[0x03, 0x00, 0x00, 0x04]);
    let tl = timeline(rec.bytes.as_slice()).unwrap();

    let chord = |ctrl, alt, shift, k| Chord {
        ctrl,
        alt,
        shift,
        win: false,
        key: k,
    };
    let want = vec![
        text(100, "Hi!"),
        plain(200, Key::Backspace),
        plain(200, Key::Enter),
        plain(200, Key::Tab),
        plain(200, Key::F(1)),
        plain(200, Key::Escape),
        plain(300, Key::Left),
        plain(300, Key::Up),
        plain(300, Key::Delete),
        plain(300, Key::Enter),
        key(400, chord(true, false, false, Key::Char('c'))),
        key(400, chord(true, false, true, Key::Char('t'))),
        key(400, chord(false, true, false, Key::F(4))),
        key(400, chord(false, false, true, Key::Tab)),
        // The Caps Lock is on again after the sync, and the held Shift was dropped.
        text(500, "A2aaB7"),
        plain(710, Key::Home),
        text(800, "日本😀"),
        plain(800, Key::Enter),
        Entry::Click {
            offset: ms(900),
            click: Button::Left,
        },
        Entry::Click {
            offset: ms(900),
            click: Button::Right,
        },
        text(1000, "ssss"),
        text(5000, "s"),
    ];
    assert_eq!(tl.entries, want);
    let s = &tl.stats;
    assert_eq!(s.client_frames, 15);
    assert_eq!(s.other_frames, 1, "the non-input client frame");
    assert_eq!(
        (s.mouse_moves, s.mouse_clicks, s.wheel, s.syncs),
        (1, 2, 1, 3)
    );

    // Names as the CLI prints them, and the JSON shape.
    let names: Vec<String> = tl.entries[10..14]
        .iter()
        .map(|e| match e {
            Entry::Key { key, .. } => key.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["Ctrl+C", "Ctrl+Shift+T", "Alt+F4", "Shift+Tab"]);
    assert_eq!(
        serde_json::to_string(&tl.entries[..2]).unwrap(),
        r#"[{"offset":0.1,"text":"Hi!"},{"offset":0.2,"key":"Backspace"}]"#
    );
    assert_eq!(
        serde_json::to_string(&tl.entries[18]).unwrap(),
        r#"{"offset":0.9,"click":"left"}"#
    );
}

/// Slow-path input PDUs (TPKT, MCS Send Data Request, share data Input) read the same.
#[test]
fn slow_path_input_pdus() {
    let scan = |code: u16, flags: SlowFlags| {
        InputEvent::ScanCode(ScanCodePdu {
            flags,
            key_code: code,
        })
    };
    let events = vec![
        InputEvent::Sync(SyncPdu {
            flags: SyncToggleFlags::empty(),
        }),
        scan(0x2a, SlowFlags::DOWN),
        scan(0x26, SlowFlags::DOWN),
        scan(0x26, SlowFlags::RELEASE),
        scan(0x2a, SlowFlags::RELEASE),
        scan(0x20, SlowFlags::DOWN),
        InputEvent::Unicode(UnicodePdu {
            flags: ironrdp_pdu::input::unicode::KeyboardFlags::empty(),
            unicode_code: u16::from(b'!'),
        }),
        scan(0x50, SlowFlags::DOWN | SlowFlags::EXTENDED),
        scan(0x1c, SlowFlags::DOWN),
    ];
    let rec = Recording::new().client(5, &slow_path_input(events));
    let tl = timeline(rec.bytes.as_slice()).unwrap();
    assert_eq!(
        tl.entries,
        [text(5, "Ld!"), plain(5, Key::Down), plain(5, Key::Enter)]
    );
    assert_eq!(tl.stats.syncs, 1);
}

/// From frames to the lines the reconciliation report takes.
#[test]
fn lines_from_frames() {
    let mut keyboard = Keyboard::new();
    let typed = |s: &str| -> Vec<Ev> {
        s.bytes()
            .flat_map(|b| {
                let code = match b {
                    b'l' => 0x26,
                    b's' => 0x1f,
                    b' ' => 0x39,
                    b'-' => 0x0c,
                    b'a' => 0x1e,
                    b'x' => 0x2d,
                    other => panic!("no scancode for {other}"),
                };
                tap(code)
            })
            .collect()
    };
    keyboard.feed(ms(10), &fast_path_input(typed("ls -la")));
    keyboard.feed(ms(20), &fast_path_input(tap(0x0e).to_vec()));
    keyboard.feed(ms(30), &fast_path_input(tap(0x1c).to_vec()));
    keyboard.feed(ms(40), &fast_path_input(typed("xx")));
    keyboard.feed(ms(41), &fast_path_input(vec![ext(0x4b)]));
    keyboard.feed(ms(42), &fast_path_input(typed("a")));
    keyboard.feed(ms(50), &fast_path_input(tap(0x1c).to_vec()));
    let got = lines(&keyboard.finish().entries);
    let summary: Vec<_> = got
        .iter()
        .map(|l| (l.t.as_millis(), l.text.as_str(), l.certainty))
        .collect();
    assert_eq!(
        summary,
        [
            (30, "ls -l", Certainty::KeysOnly),
            (
                50,
                "xx⟨Left⟩a",
                Certainty::Uncertain(UncertainReason::CaretMoved)
            ),
        ]
    );
}
