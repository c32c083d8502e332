//! The console's settings, typed, with their defaults in one place (STYLE.md §21), and
//! the clock its idle rule reads (a test moves it instead of sleeping, STYLE.md §18).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

/// What time it is; [`Utc::now`] outside tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// How the console behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// A console session with no request for this long is signed out (R-12.3.2: no use of
    /// an unattended terminal).
    pub idle_timeout: Duration,
    /// Sign-in attempts allowed per client address and per login, on top of the account
    /// lock-out every entrance shares (R-14-6(6)).
    pub login_limits: LoginLimits,
    /// Whether the console is served over HTTPS (then `Strict-Transport-Security` too).
    pub https: bool,
}

/// The console's own bound on sign-in attempts, kept in memory per node. It slows down a
/// guesser before the lock-out and keeps one address from locking out every account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Attempts from one client address per window.
    pub per_address: u32,
    /// Attempts at one login per window.
    pub per_login: u32,
    /// The window.
    pub window: Duration,
}

/// R-12.3.2's idle time-out for the console.
pub const IDLE_TIMEOUT_MINUTES: i64 = 15;

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_address: 20,
            per_login: 10,
            window: Duration::minutes(15),
        }
    }
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::minutes(IDLE_TIMEOUT_MINUTES),
            login_limits: LoginLimits::default(),
            https: false,
        }
    }
}

impl ConsoleSettings {
    /// Whether a session last seen at `last_seen` has idled out at `now`.
    pub fn idled_out(&self, last_seen: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now - last_seen >= self.idle_timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_after_fifteen_minutes() {
        let s = ConsoleSettings::default();
        let t = Utc::now();
        assert!(!s.idled_out(t, t + Duration::minutes(14) + Duration::seconds(59)));
        assert!(s.idled_out(t, t + Duration::minutes(15)));
    }
}
