//! Times as the hospital reads them: Japan Standard Time, `YYYY-MM-DD HH:MM JST` (or to the
//! second where a minute is too coarse, as for a lock-out's end).
//!
//! Japan has no daylight saving time, so a fixed +09:00 offset is exact; no time zone
//! database is needed.

use chrono::{DateTime, FixedOffset, Utc};

/// JST's offset from UTC, in seconds.
const JST_OFFSET_SECONDS: i32 = 9 * 3600;

/// `at` in JST, to the minute: `2026-11-26 18:00 JST`.
pub fn format(at: DateTime<Utc>) -> String {
    match FixedOffset::east_opt(JST_OFFSET_SECONDS) {
        Some(jst) => format!("{} JST", at.with_timezone(&jst).format("%Y-%m-%d %H:%M")),
        // Unreachable (9 h is within chrono's ±24 h), but never worth a panic.
        None => format!("{} UTC", at.format("%Y-%m-%d %H:%M")),
    }
}

/// `at` in JST, to the second: `2026-11-26 18:00:59 JST`. For instants a person waits
/// for, such as the end of a 15-minute lock-out.
pub fn format_seconds(at: DateTime<Utc>) -> String {
    match FixedOffset::east_opt(JST_OFFSET_SECONDS) {
        Some(jst) => format!("{} JST", at.with_timezone(&jst).format("%Y-%m-%d %H:%M:%S")),
        None => format!("{} UTC", at.format("%Y-%m-%d %H:%M:%S")),
    }
}

/// A window `start – end` in JST, leaving out the end's date when it is the same day:
/// `2026-11-26 18:00 – 22:00 JST`.
pub fn format_window(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let (from, to) = (format(start), format(end));
    match (from.split_once(' '), to.split_once(' ')) {
        (Some((from_day, from_rest)), Some((to_day, to_rest))) if from_day == to_day => {
            let from_time = from_rest.trim_end_matches(" JST");
            format!("{from_day} {from_time} – {to_rest}")
        }
        _ => format!("{} – {to}", from.trim_end_matches(" JST")),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn formats_in_jst() {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap();
        assert_eq!(format(at), "2026-11-26 18:00 JST");
        // Past midnight in Tokyo while still the previous day in UTC.
        let late = Utc.with_ymd_and_hms(2026, 11, 26, 15, 30, 59).unwrap();
        assert_eq!(format(late), "2026-11-27 00:30 JST");
        // To the second, without the fraction a stored time carries.
        let locked = late + chrono::Duration::microseconds(123_456);
        assert_eq!(format_seconds(locked), "2026-11-27 00:30:59 JST");
        assert_eq!(
            format_window(at, at + chrono::Duration::hours(4)),
            "2026-11-26 18:00 – 22:00 JST"
        );
        assert_eq!(
            format_window(at, late),
            "2026-11-26 18:00 – 2026-11-27 00:30 JST"
        );
    }
}
