//! Pure encoders and readers of the recording formats. Encoders write into any
//! [`std::io::Write`] and never touch files or the runtime; readers take any
//! [`std::io::BufRead`]/[`std::io::Read`].

pub mod asciicast;
pub mod cast_reader;
pub mod datafile;
pub mod reassemble;
pub mod transfers;
pub mod utf8;

use std::fmt;
use std::time::Duration;

/// Seconds since the start of the recording, printed with exactly six decimals
/// (microseconds), as asciinema itself writes them: `12.000340`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.0.as_secs(), self.0.subsec_micros())
    }
}

/// Seconds as read from JSON back to a duration, rounded to microseconds; `None` when
/// negative, not finite or absurdly large.
pub(crate) fn duration_from_secs(secs: f64) -> Option<Duration> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    let micros = (secs * 1e6).round();
    // u64::MAX microseconds is some 584,000 years; anything above is garbage.
    if micros >= 1.8e19 {
        return None;
    }
    // Finite, non-negative and below u64::MAX (checked above), so the cast is exact.
    let micros = micros as u64;
    Some(Duration::from_micros(micros))
}

/// A duration in whole microseconds, saturating.
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_format_and_parse() {
        let cases = [
            (Duration::ZERO, "0.000000"),
            (Duration::from_micros(1), "0.000001"),
            (Duration::from_nanos(1_999), "0.000001"),
            (Duration::from_millis(1_500), "1.500000"),
            (Duration::from_micros(12_000_340), "12.000340"),
            (Duration::from_secs(86_400 * 3), "259200.000000"),
        ];
        for (d, text) in cases {
            assert_eq!(Seconds(d).to_string(), text);
            let back = duration_from_secs(text.parse().unwrap()).unwrap();
            assert_eq!(back, Duration::from_micros(micros(d)), "{text}");
        }
        for bad in [-0.5, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(duration_from_secs(bad), None, "{bad}");
        }
    }
}
