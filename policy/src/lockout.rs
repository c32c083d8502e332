//! Lock-out after repeated failures (R-14-6(6)): after `threshold` consecutive failed
//! logins the account is locked for `duration`; a lock-out raises an alert.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How many failures lock an account, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutPolicy {
    /// Consecutive failures that lock the account.
    pub threshold: u32,
    /// How long the lock lasts.
    pub duration: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            threshold: 5,
            duration: Duration::minutes(15),
        }
    }
}

/// An account's failure record, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailureState {
    /// Failures since the last success or the last lock-out.
    pub consecutive_failures: u32,
    /// While in the future, every login is refused, the right credentials included.
    pub locked_until: Option<DateTime<Utc>>,
}

/// Whether the account is locked at `now`.
pub fn is_locked(state: &FailureState, now: DateTime<Utc>) -> bool {
    state.locked_until.is_some_and(|until| now < until)
}

/// What one more failure does to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Count it; the account stays open.
    Count(FailureState),
    /// This failure reached the threshold: lock the account, raise an alert.
    Lock(FailureState),
    /// Already locked: keep the lock as it is (failures during a lock don't extend it,
    /// so an attacker can't keep a person locked out forever by guessing slowly).
    StillLocked(FailureState),
}

impl AfterFailure {
    /// The state to store.
    pub fn state(&self) -> FailureState {
        match *self {
            Self::Count(s) | Self::Lock(s) | Self::StillLocked(s) => s,
        }
    }
}

/// Decides the new state after a failure at `now`.
pub fn after_failure(
    policy: &LockoutPolicy,
    state: FailureState,
    now: DateTime<Utc>,
) -> AfterFailure {
    if is_locked(&state, now) {
        return AfterFailure::StillLocked(state);
    }
    let failures = state.consecutive_failures.saturating_add(1);
    if failures >= policy.threshold.max(1) {
        AfterFailure::Lock(FailureState {
            consecutive_failures: 0,
            locked_until: Some(now + policy.duration),
        })
    } else {
        AfterFailure::Count(FailureState {
            consecutive_failures: failures,
            locked_until: None,
        })
    }
}

/// The state after a successful login: the count starts again.
pub fn after_success() -> FailureState {
    FailureState::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn five_failures_lock_for_fifteen_minutes() {
        let policy = LockoutPolicy::default();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap();
        let mut state = FailureState::default();
        for i in 1..=4 {
            let after = after_failure(&policy, state, t0);
            assert!(matches!(after, AfterFailure::Count(_)), "failure {i}");
            state = after.state();
            assert!(!is_locked(&state, t0));
        }
        let after = after_failure(&policy, state, t0);
        assert!(matches!(after, AfterFailure::Lock(_)));
        state = after.state();
        assert!(is_locked(&state, t0));
        assert!(is_locked(
            &state,
            t0 + Duration::minutes(15) - Duration::seconds(1)
        ));
        assert!(!is_locked(&state, t0 + Duration::minutes(15)));
        // Failures during the lock don't extend it.
        let during = after_failure(&policy, state, t0 + Duration::minutes(10));
        assert_eq!(during, AfterFailure::StillLocked(state));
        // After the lock, counting starts again from zero.
        let later = after_failure(&policy, state, t0 + Duration::minutes(16));
        assert_eq!(later.state().consecutive_failures, 1);
        assert_eq!(after_success(), FailureState::default());
    }

    #[test]
    fn threshold_zero_behaves_as_one() {
        let policy = LockoutPolicy {
            threshold: 0,
            duration: Duration::minutes(1),
        };
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert!(matches!(
            after_failure(&policy, FailureState::default(), now),
            AfterFailure::Lock(_)
        ));
    }
}
