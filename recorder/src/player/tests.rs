use std::time::Duration;

use super::*;
use crate::format::asciicast::{EventCode, write_event, write_header, write_resize};
use crate::format::cast_reader::CastReader;
use crate::test_support::header;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn out(t_ms: u64, text: &str) -> Result<Event> {
    Ok(Event {
        t: ms(t_ms),
        kind: EventKind::Output(text.into()),
    })
}

fn input(t_ms: u64, text: &str) -> Result<Event> {
    Ok(Event {
        t: ms(t_ms),
        kind: EventKind::Input(text.into()),
    })
}

/// Due times (ms) of the steps of `events` under `speed` and `idle` (seconds, 0 = off).
fn due(events: Vec<Result<Event>>, speed: f64, idle: f64) -> Vec<u128> {
    let options = PlayOptions {
        speed: Speed::new(speed).unwrap(),
        idle_limit: if idle == 0.0 {
            IdleLimit::OFF
        } else {
            IdleLimit::at_most(Duration::from_secs_f64(idle))
        },
        queries: Queries::Remove,
    };
    Player::new(events.into_iter(), options)
        .map(|s| s.unwrap().at.as_millis())
        .collect()
}

#[test]
fn speed_and_idle_limit_shape_the_timeline() {
    // Output at 0.5 s, 1 s, 11 s (a ten-second pause) and 11.5 s.
    let events = || {
        vec![
            out(500, "a"),
            out(1_000, "b"),
            out(11_000, "c"),
            out(11_500, "d"),
        ]
    };
    let cases: [(f64, f64, [u128; 4]); 6] = [
        // As recorded.
        (1.0, 0.0, [500, 1_000, 11_000, 11_500]),
        // Twice as fast: every gap halves.
        (2.0, 0.0, [250, 500, 5_500, 5_750]),
        // Half speed.
        (0.5, 0.0, [1_000, 2_000, 22_000, 23_000]),
        // The ten-second pause is played as two; short gaps are untouched.
        (1.0, 2.0, [500, 1_000, 3_000, 3_500]),
        // The cap applies in recording time, before the speed.
        (4.0, 2.0, [125, 250, 750, 875]),
        // A cap shorter than every gap flattens them all.
        (1.0, 0.1, [100, 200, 300, 400]),
    ];
    for (speed, idle, want) in cases {
        assert_eq!(
            due(events(), speed, idle),
            want,
            "speed {speed} idle {idle}"
        );
    }
}

#[test]
fn input_is_not_played_and_its_time_merges_into_the_next_gap() {
    let events = vec![
        out(100, "$ "),
        input(1_000, "s"),
        input(2_000, "e"),
        input(3_000, "\r"),
        out(3_100, "secret-free output"),
    ];
    let options = PlayOptions {
        speed: Speed::REAL_TIME,
        idle_limit: IdleLimit::at_most(Duration::from_secs(1)),
        queries: Queries::Remove,
    };
    let steps: Vec<Step> = Player::new(events.into_iter(), options)
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        steps,
        [
            Step {
                at: ms(100),
                action: Action::Output("$ ".into())
            },
            // 3 s of typing is one pause, capped at 1 s.
            Step {
                at: ms(1_100),
                action: Action::Output("secret-free output".into())
            },
        ]
    );
}

#[test]
fn resizes_and_markers_are_steps_other_events_are_skipped_errors_pass_through() {
    let events = vec![
        Ok(Event {
            t: ms(10),
            kind: EventKind::Resize {
                cols: 120,
                rows: 40,
            },
        }),
        Err(Error::BadEvent { line: 3 }),
        Ok(Event {
            t: ms(20),
            kind: EventKind::Other {
                code: "x".into(),
                data: "y".into(),
            },
        }),
        Ok(Event {
            t: ms(30),
            kind: EventKind::Marker("fumidai bulk: …".into()),
        }),
        // Time going backwards (not from fumidai's writer) plays without a pause.
        out(25, "late"),
    ];
    let mut player = Player::new(events.into_iter(), PlayOptions::default());
    let got: Vec<_> = player
        .by_ref()
        .map(|s| s.map_err(|e| e.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            Ok(Step {
                at: ms(10),
                action: Action::Resize {
                    cols: 120,
                    rows: 40
                }
            }),
            Err("malformed asciicast event on line 3".to_owned()),
            Ok(Step {
                at: ms(30),
                action: Action::Marker("fumidai bulk: …".into())
            }),
            Ok(Step {
                at: ms(30),
                action: Action::Output("late".into())
            }),
        ]
    );
    assert_eq!(player.elapsed(), ms(30));
}

/// From a cast written by the encoder, through the reader, to steps.
#[test]
fn plays_a_written_cast() {
    let mut cast = Vec::new();
    write_header(&mut cast, &header()).unwrap();
    write_event(&mut cast, ms(200), EventCode::Output, "\u{1b}[1mhi\r\n").unwrap();
    write_event(&mut cast, ms(900), EventCode::Input, "exit\r").unwrap();
    write_resize(&mut cast, Duration::from_secs(60), 100, 30).unwrap();
    write_event(&mut cast, Duration::from_secs(61), EventCode::Output, "bye").unwrap();
    let (_, reader) = CastReader::open(&cast[..]).unwrap();
    let options = PlayOptions {
        speed: "10".parse().unwrap(),
        idle_limit: "5".parse().unwrap(),
        queries: Queries::Remove,
    };
    let steps: Vec<_> = Player::new(reader, options)
        .map(|s| s.unwrap())
        .map(|s| (s.at.as_millis(), s.action))
        .collect();
    assert_eq!(
        steps,
        [
            (20, Action::Output("\u{1b}[1mhi\r\n".into())),
            (
                520,
                Action::Resize {
                    cols: 100,
                    rows: 30
                }
            ),
            (620, Action::Output("bye".into())),
        ]
    );
}

#[test]
fn settings_parse_or_say_what_is_expected() {
    for (text, factor) in [("1", 1.0), ("2.5", 2.5), (" 0.25 ", 0.25), ("1e3", 1000.0)] {
        assert_eq!(text.parse::<Speed>().unwrap().factor(), factor, "{text}");
    }
    for bad in ["0", "-1", "NaN", "inf", "fast", ""] {
        let e = bad.parse::<Speed>().unwrap_err().to_string();
        assert!(e.contains("speed"), "{bad}: {e}");
    }
    let cases = [
        ("2", Some(Duration::from_secs(2))),
        ("0.5", Some(ms(500))),
        ("off", None),
        ("OFF", None),
    ];
    for (text, max) in cases {
        assert_eq!(text.parse::<IdleLimit>().unwrap().max(), max, "{text}");
    }
    for bad in ["0", "-2", "NaN", "1e300", "soon"] {
        let e = bad.parse::<IdleLimit>().unwrap_err().to_string();
        assert!(e.contains("idle limit"), "{bad}: {e}");
    }
    assert_eq!(PlayOptions::default().speed, Speed::REAL_TIME);
    assert_eq!(
        PlayOptions::default().idle_limit.max(),
        Some(Duration::from_secs(2))
    );
    assert_eq!(PlayOptions::default().queries, Queries::Remove);
}

#[test]
fn queries_are_removed_across_events_and_their_steps_keep_the_timing() {
    // vi's cursor report cut in two by the recorder, then an event that is only a query.
    let events = || {
        vec![
            out(100, "$ vi\r\n\x1b[?1049h\x1b["),
            out(200, "6n\x1b[2;1H~"),
            out(1_200, "\x1b]52;c;?\x07"),
            out(1_500, "\x1b[?1049l$ "),
        ]
    };
    let steps = |queries| {
        let options = PlayOptions {
            queries,
            ..PlayOptions::default()
        };
        Player::new(events().into_iter(), options)
            .map(|s| s.unwrap())
            .map(|s| (s.at.as_millis(), s.action))
            .collect::<Vec<_>>()
    };
    let output = |s: &str| Action::Output(s.into());
    assert_eq!(
        steps(Queries::Remove),
        [
            (100, output("$ vi\r\n\x1b[?1049h")),
            (200, output("\x1b[2;1H~")),
            (1_200, output("")),
            (1_500, output("\x1b[?1049l$ ")),
        ]
    );
    // Only for a pipe or a file: as recorded.
    assert_eq!(
        steps(Queries::DangerPassThrough),
        [
            (100, output("$ vi\r\n\x1b[?1049h\x1b[")),
            (200, output("6n\x1b[2;1H~")),
            (1_200, output("\x1b]52;c;?\x07")),
            (1_500, output("\x1b[?1049l$ ")),
        ]
    );
}

#[test]
fn absurd_gaps_saturate_instead_of_panicking() {
    let events = vec![
        out(0, "a"),
        Ok(Event {
            t: Duration::from_secs(u64::MAX / 2),
            kind: EventKind::Output("b".into()),
        }),
    ];
    let options = PlayOptions {
        speed: Speed::new(1e-300).unwrap(),
        idle_limit: IdleLimit::OFF,
        queries: Queries::Remove,
    };
    let last = Player::new(events.into_iter(), options)
        .last()
        .unwrap()
        .unwrap();
    assert_eq!(last.at, Duration::MAX);
}
