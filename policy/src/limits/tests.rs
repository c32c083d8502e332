use chrono::TimeZone;

use super::*;

/// 2026-11-26 09:00 UTC = 18:00 JST.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap()
}

fn min(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + min(minutes)
}

/// 15 min idle, warning 5 min before, 8 h maximum.
fn limits() -> Limits {
    Limits {
        idle_timeout: Some(min(15)),
        window_warning: Some(min(5)),
        max_length: Some(TimeDelta::hours(8)),
    }
}

/// A session started at t0, last active `active` minutes after, window ending `window`
/// minutes after t0.
fn times(active: i64, window: i64, warned: bool) -> SessionTimes {
    SessionTimes {
        started_at: t0(),
        last_activity: at(active),
        window_ends_at: at(window),
        warned,
    }
}

fn cont(minutes: i64) -> Decision {
    Decision::Continue {
        next_check_at: at(minutes),
    }
}

fn warn(minutes: i64, because: EndReason) -> Decision {
    Decision::Warn {
        ends_at: at(minutes),
        because,
    }
}

#[test]
fn decisions() {
    use EndReason::*;
    let l = limits();
    let no_idle = Limits {
        idle_timeout: None,
        ..l
    };
    let no_warning = Limits {
        window_warning: None,
        ..l
    };
    let short_max = Limits {
        max_length: Some(min(60)),
        ..l
    };
    let no_max = Limits {
        max_length: None,
        ..l
    };
    #[rustfmt::skip]
    let cases: &[(&str, Limits, SessionTimes, i64, Decision)] = &[
        // (what, limits, session, now in minutes after t0, expected)
        ("fresh session: next check at the idle deadline", l, times(0, 120, false), 0, cont(15)),
        ("activity moves the idle deadline", l, times(10, 120, false), 14, cont(25)),
        ("idle deadline is inclusive", l, times(0, 120, false), 15, Decision::End(Idle)),
        ("idle long past", l, times(0, 120, false), 50, Decision::End(Idle)),
        ("activity before the start counts from the start", l, times(-30, 120, false), 10, cont(15)),
        ("no idle limit: next check is the warning", no_idle, times(0, 120, false), 50, cont(115)),
        ("just before the warning", l, times(100, 120, false), 114, cont(115)),
        ("warning 5 min before the window's end", l, times(110, 120, false), 115, warn(120, WindowEnd)),
        ("warning once only", l, times(110, 120, true), 116, cont(120)),
        ("window end is exclusive of the session", l, times(119, 120, true), 120, Decision::End(WindowEnd)),
        ("window end even when not warned (a check came late)", l, times(119, 120, false), 121, Decision::End(WindowEnd)),
        ("no warning configured", no_warning, times(110, 120, false), 118, cont(120)),
        ("session admitted inside the warning period is warned at once", l, times(0, 3, false), 0, warn(3, WindowEnd)),
        ("maximum length before the window's end", short_max, times(50, 600, false), 55, warn(60, MaxLength)),
        ("maximum length reached", short_max, times(59, 600, true), 60, Decision::End(MaxLength)),
        ("window end before the maximum length", short_max, times(20, 30, true), 30, Decision::End(WindowEnd)),
        ("tie: window end wins over maximum length", short_max, times(59, 60, true), 60, Decision::End(WindowEnd)),
        ("no maximum length: an all-day window holds", no_max, times(599, 720, false), 600, cont(614)),
        ("8 h maximum on a 12 h window", l, times(479, 720, true), 480, Decision::End(MaxLength)),
        // Several deadlines passed: the one that passed first is the reason.
        ("idle passed before the window's end", l, times(100, 120, true), 130, Decision::End(Idle)),
        ("window ended before idle", l, times(110, 120, true), 130, Decision::End(WindowEnd)),
        ("tie: window end wins over idle", l, times(105, 120, true), 120, Decision::End(WindowEnd)),
    ];
    for (what, limits, session, now, expected) in cases {
        assert_eq!(check(limits, session, at(*now)), *expected, "{what}");
    }
}

#[test]
fn reasons_round_trip_through_their_names() {
    let names: Vec<&str> = EndReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        names,
        [
            "normal",
            "idle",
            "window-end",
            "max-length",
            "killed",
            "error",
            "revoked",
            "disabled",
            "rejected",
            "withdrawn"
        ]
    );
    for reason in EndReason::ALL {
        assert_eq!(reason.as_str().parse::<EndReason>(), Ok(reason));
        assert_eq!(reason.to_string(), reason.as_str());
        // Serialised (reports, JSON output) by the same name.
        let json = serde_json::to_string(&reason).unwrap();
        assert_eq!(json, format!("\"{}\"", reason.as_str()));
        assert_eq!(serde_json::from_str::<EndReason>(&json).unwrap(), reason);
    }
    assert_eq!(
        "timeout".parse::<EndReason>(),
        Err(UnknownEndReason("timeout".to_owned()))
    );
}

#[test]
fn messages_are_bilingual_and_name_the_time() {
    let warning = warning_message(at(120), EndReason::WindowEnd);
    assert!(warning.contains("2026-11-26 20:00 JST"), "{warning}");
    assert!(warning.contains("作業ウィンドウ"), "{warning}");
    assert!(
        warning.contains("the session will be cut then"),
        "{warning}"
    );
    let max = warning_message(at(480), EndReason::MaxLength);
    assert!(
        max.contains("maximum length") && max.contains("最大接続時間"),
        "{max}"
    );

    let l = limits();
    for reason in EndReason::ALL {
        let text = reason.message(&l);
        let lines: Vec<&str> = text.split("\r\n").filter(|s| !s.is_empty()).collect();
        assert_eq!(lines.len(), 2, "{reason}: {text:?}");
        assert!(lines.iter().all(|l| l.starts_with("fumidai: ")), "{text:?}");
        // One line Japanese, one English.
        assert!(!lines[0].is_ascii() && lines[1].is_ascii(), "{text:?}");
    }
    assert!(EndReason::Idle.message(&l).contains("15分間操作がなかった"));
    assert!(EndReason::Idle.message(&l).contains("idle for 15m"));
    assert!(EndReason::MaxLength.message(&l).contains("(8h)"));
}

#[test]
fn durations_read_naturally() {
    let cases = [
        (TimeDelta::seconds(2), "2s", "2秒間"),
        (min(15), "15m", "15分間"),
        (TimeDelta::hours(8), "8h", "8時間"),
        (min(90), "1h30m", "1時間30分間"),
        (TimeDelta::seconds(3661), "1h1m1s", "1時間1分1秒間"),
        (TimeDelta::zero(), "0s", "0秒間"),
    ];
    for (d, en, ja) in cases {
        assert_eq!(short_en(Some(d)), en);
        assert_eq!(short_ja(d), ja);
    }
}

#[test]
fn kill_reasons_are_parsed_at_the_edge() {
    let ok = "不審な操作 / suspicious commands"
        .parse::<KillReason>()
        .unwrap();
    assert_eq!(ok.as_str(), "不審な操作 / suspicious commands");
    assert_eq!(
        "  padded\n".parse::<KillReason>().unwrap().as_str(),
        "padded"
    );
    let cases = [
        ("", BadKillReason::Empty),
        ("   ", BadKillReason::Empty),
        ("line one\nline two", BadKillReason::ControlCharacter),
        ("\u{1b}[2Jcleared", BadKillReason::ControlCharacter),
        ("abc\u{202e}fed", BadKillReason::ControlCharacter),
        ("\u{2067}isolated", BadKillReason::ControlCharacter),
    ];
    for (text, expected) in cases {
        assert_eq!(text.parse::<KillReason>(), Err(expected), "{text:?}");
    }
    let long = "あ".repeat(KillReason::MAX_CHARS + 1);
    assert_eq!(
        long.parse::<KillReason>(),
        Err(BadKillReason::TooLong {
            max: KillReason::MAX_CHARS
        })
    );
    assert!(
        "あ"
            .repeat(KillReason::MAX_CHARS)
            .parse::<KillReason>()
            .is_ok()
    );
}
