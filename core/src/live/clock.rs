//! The time the limits are measured in, and the activity mark the bridge updates.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// Where "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The system's wall clock: plan windows are wall-clock times, so production uses it.
    #[default]
    System,
    /// `base` plus the time tokio's clock has moved since `started`: tests pause tokio's
    /// clock and advance it (STYLE.md §18) instead of sleeping.
    Tokio {
        /// The wall-clock time at `started`.
        base: DateTime<Utc>,
        /// The tokio instant that corresponds to `base`.
        started: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock that reads `base` now and then follows tokio's (pausable) clock.
    pub fn tokio_from(base: DateTime<Utc>) -> Self {
        Self::Tokio {
            base,
            started: tokio::time::Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Self::System => Utc::now(),
            Self::Tokio { base, started } => {
                let elapsed = TimeDelta::from_std(started.elapsed()).unwrap_or(TimeDelta::MAX);
                base.checked_add_signed(elapsed).unwrap_or(*base)
            }
        }
    }
}

/// When a session last saw engineer input or target output. Cheap to clone and to touch
/// (one clock read and one atomic store), so the bridge may touch it on every message.
#[derive(Debug, Clone)]
pub struct Activity {
    /// Unix microseconds of the last touch; shared by every clone.
    last_micros: Arc<AtomicI64>,
    /// What "now" is when touched.
    clock: Clock,
}

impl Activity {
    /// An activity mark set to `at`.
    pub(super) fn new(clock: Clock, at: DateTime<Utc>) -> Self {
        Self {
            last_micros: Arc::new(AtomicI64::new(at.timestamp_micros())),
            clock,
        }
    }

    /// Marks activity now.
    pub fn touch(&self) {
        // fetch_max: touches from two bridge tasks racing can't move the mark back.
        self.last_micros
            .fetch_max(self.clock.now().timestamp_micros(), Ordering::Relaxed);
    }

    /// When activity was last marked.
    pub fn last(&self) -> DateTime<Utc> {
        let micros = self.last_micros.load(Ordering::Relaxed);
        DateTime::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}
