//! Replay timing: turns a cast's events into the steps a terminal player performs, each
//! with the moment (since playback began) it is due, like `asciinema play`.
//!
//! Only what the viewer's terminal should show is yielded: output (`o`), resizes (`r`),
//! and fumidai's markers (`m`, for the caller to summarise). Input (`i`) is never played:
//! the remote terminal already echoed whatever the engineer typed that was meant to be
//! seen, and replaying keystrokes would show passwords typed at a `sudo` prompt. The
//! output goes through a [`queries::QueryFilter`] (unless [`Queries::DangerPassThrough`]):
//! the target's terminal queries are removed, so the viewer's terminal doesn't answer them
//! into the viewer's input.
//!
//! Timing, applied in this order to the gap between two played events:
//! 1. the [`IdleLimit`] caps it (a coffee break doesn't cost the auditor ten minutes);
//! 2. the [`Speed`] divides it.
//!
//! Gaps are measured between played events, so time spent only typing (input events)
//! counts as one pause. Steps carry absolute due times rather than delays, so a player
//! that sleeps until each one doesn't drift.
//!
//! Pure: no clock, no sleeping, no I/O. `fumidai play` (in the gateway) does those.

pub mod browser;
pub mod queries;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use self::queries::QueryFilter;
use crate::error::{Error, Result};
use crate::format::cast_reader::{Event, EventKind};

/// How fast to play: `2.0` is twice the recorded speed. Finite and positive by
/// construction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed(f64);

impl Speed {
    /// Recorded speed.
    pub const REAL_TIME: Speed = Speed(1.0);

    /// A speed factor, if finite and positive.
    pub fn new(factor: f64) -> Option<Self> {
        (factor.is_finite() && factor > 0.0).then_some(Self(factor))
    }

    /// The factor.
    pub fn factor(self) -> f64 {
        self.0
    }

    /// `gap` as played at this speed, saturating at [`Duration::MAX`] (a gap so long that
    /// it overflows will not be waited for in practice).
    fn scale(self, gap: Duration) -> Duration {
        Duration::try_from_secs_f64(gap.as_secs_f64() / self.0).unwrap_or(Duration::MAX)
    }
}

impl Default for Speed {
    fn default() -> Self {
        Self::REAL_TIME
    }
}

impl FromStr for Speed {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        s.trim()
            .parse::<f64>()
            .ok()
            .and_then(Self::new)
            .ok_or(Error::BadPlaySetting {
                what: "speed",
                expected: "a positive number such as 2 or 0.5",
            })
    }
}

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The longest pause played, in recording time; `off` plays every pause as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleLimit(Option<Duration>);

impl IdleLimit {
    /// No cap.
    pub const OFF: IdleLimit = IdleLimit(None);

    /// Pauses longer than `max` are played as `max`.
    pub fn at_most(max: Duration) -> Self {
        Self(Some(max))
    }

    /// The cap, if any.
    pub fn max(self) -> Option<Duration> {
        self.0
    }

    fn cap(self, gap: Duration) -> Duration {
        self.0.map_or(gap, |max| gap.min(max))
    }
}

impl Default for IdleLimit {
    /// Two seconds, as `asciinema rec -i 2` would: long enough to read, short enough to
    /// skip a break.
    fn default() -> Self {
        Self::at_most(Duration::from_secs(2))
    }
}

impl FromStr for IdleLimit {
    type Err = Error;

    /// Seconds (`2`, `0.5`), or `off`.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Self::OFF);
        }
        s.parse::<f64>()
            .ok()
            .filter(|secs| *secs > 0.0)
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .map(Self::at_most)
            .ok_or(Error::BadPlaySetting {
                what: "idle limit",
                expected: "seconds greater than 0, or off",
            })
    }
}

/// How to replay: the timing, and what of the output reaches the viewer's terminal.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PlayOptions {
    /// Speed factor.
    pub speed: Speed,
    /// Longest pause (before the speed applies).
    pub idle_limit: IdleLimit,
    /// The target's terminal queries in the output: removed unless asked otherwise.
    pub queries: Queries,
}

/// What becomes of the terminal queries in a recording's output (cursor position, device
/// attributes, colours, the clipboard: see [`queries`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Queries {
    /// Removed: they draw nothing, and the viewer's terminal would answer them into the
    /// viewer's input.
    #[default]
    Remove,
    /// Yielded as recorded, for output to a file or a pipe (forensics). Never for a
    /// terminal: it answers them, as if the viewer had typed the answers, and a crafted
    /// recording chooses what is asked (the clipboard, the title typed back).
    DangerPassThrough,
}

/// One thing the player does, at `at` after playback began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// When, since the start of playback (after idle limit and speed).
    pub at: Duration,
    /// What.
    pub action: Action,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write this to the terminal, as is (queries already removed unless
    /// [`Queries::DangerPassThrough`]; possibly empty then).
    Output(String),
    /// The recorded terminal changed size.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// A fumidai note (bulk byte counts, a transfer, the end of an output preview); not
    /// terminal output.
    Marker(String),
}

/// The steps of one cast: an iterator adapter over its events. Malformed events (the
/// reader's errors) are passed through, and timing continues after them.
#[derive(Debug)]
pub struct Player<I> {
    events: I,
    options: PlayOptions,
    /// Recording time of the last played event.
    last_t: Duration,
    /// Playback time of the last step.
    at: Duration,
    /// Removes the queries from the output, carrying an unfinished sequence from one
    /// event to the next; `None` for [`Queries::DangerPassThrough`].
    filter: Option<QueryFilter>,
}

impl<I> Player<I>
where
    I: Iterator<Item = Result<Event>>,
{
    /// Plays `events` (usually a [`CastReader`](crate::format::cast_reader::CastReader)).
    pub fn new(events: I, options: PlayOptions) -> Self {
        let filter = match options.queries {
            Queries::Remove => Some(QueryFilter::new()),
            Queries::DangerPassThrough => None,
        };
        Self {
            events,
            options,
            last_t: Duration::ZERO,
            at: Duration::ZERO,
            filter,
        }
    }

    /// Playback time of the last step so far: after the iterator is exhausted, how long
    /// the replay takes.
    pub fn elapsed(&self) -> Duration {
        self.at
    }
}

impl<I> Iterator for Player<I>
where
    I: Iterator<Item = Result<Event>>,
{
    type Item = Result<Step>;

    fn next(&mut self) -> Option<Result<Step>> {
        loop {
            let event = match self.events.next()? {
                Ok(event) => event,
                Err(e) => return Some(Err(e)),
            };
            let action = match event.kind {
                // An event that was all queries still takes its step: the timing stays.
                EventKind::Output(text) => Action::Output(match &mut self.filter {
                    Some(filter) => filter.filter(&text),
                    None => text,
                }),
                EventKind::Resize { cols, rows } => Action::Resize { cols, rows },
                EventKind::Marker(text) => Action::Marker(text),
                EventKind::Input(_) | EventKind::Other { .. } => continue,
            };
            // The reader's times never go backwards in fumidai's casts; another writer's
            // might, and then the gap is zero.
            let gap = event.t.saturating_sub(self.last_t);
            self.last_t = self.last_t.max(event.t);
            let played = self.options.speed.scale(self.options.idle_limit.cap(gap));
            self.at = self.at.saturating_add(played);
            return Some(Ok(Step {
                at: self.at,
                action,
            }));
        }
    }
}

#[cfg(test)]
mod tests;
