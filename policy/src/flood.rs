//! A budget of failed logins per client certificate (issue 12, "floods are bounded";
//! R-14-6(6) applied to the device as well as the person).
//!
//! The account lock-out ([`crate::lockout`]) counts failures against a *person*. A device
//! that tries unknown user names, or other people's, never touches that count. So each
//! certificate serial gets its own budget: after `failures` failed logins within `window`,
//! the certificate is blocked for a back-off that doubles with every exhaustion in a row
//! (from `base_block` up to `max_block`). While blocked, attempts are refused before any
//! work (no hash, no store, no per-attempt audit record); the exhaustion itself is
//! recorded once. A success resets the budget.
//!
//! Attempts in flight count against the budget ([`begin`] reserves one), so parallel
//! connections can't overshoot it while their hashes are being verified.

use chrono::{DateTime, Duration, Utc};
use ipnet::IpNet;

/// How many failures a certificate may cause, and how long it is then blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureBudget {
    /// Failed logins allowed within `window` (0 behaves as 1).
    pub failures: u32,
    /// The window the failures are counted in, from the first failure.
    pub window: Duration,
    /// The first block's length.
    pub base_block: Duration,
    /// The longest block; the back-off doubles up to it.
    pub max_block: Duration,
}

impl Default for FailureBudget {
    fn default() -> Self {
        Self {
            failures: 10,
            window: Duration::minutes(5),
            base_block: Duration::minutes(1),
            max_block: Duration::hours(1),
        }
    }
}

/// One certificate's budget, as kept by the gateway (in memory, per node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BudgetState {
    /// When the current window's first failure happened.
    pub window_start: Option<DateTime<Utc>>,
    /// Failures in the current window.
    pub failures: u32,
    /// Attempts begun and not yet decided.
    pub in_flight: u32,
    /// While in the future, every attempt is refused without work.
    pub blocked_until: Option<DateTime<Utc>>,
    /// Exhaustions in a row; each doubles the next block.
    pub exhaustions: u32,
}

impl BudgetState {
    /// Whether this entry holds nothing worth keeping at `now` (no failure in an open
    /// window, no block, nothing in flight, no back-off to remember), so it may be dropped.
    pub fn is_idle(&self, budget: &FailureBudget, now: DateTime<Utc>) -> bool {
        let window_open = self
            .window_start
            .is_some_and(|start| now < start + budget.window);
        let remembered = self
            .blocked_until
            .is_some_and(|until| now < until + budget.max_block);
        self.in_flight == 0 && !window_open && !remembered
    }
}

/// Whether an attempt may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Go ahead; store this state (one attempt reserved).
    Proceed(BudgetState),
    /// Refuse without work: the certificate is blocked until then, or its remaining
    /// budget is taken by attempts in flight.
    Refuse {
        /// When attempts are next considered.
        until: DateTime<Utc>,
    },
}

/// What a failure does to the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Counted; the budget is not used up.
    Count(BudgetState),
    /// This failure used the budget up: block, and record that once.
    Exhaust {
        /// The state to store.
        state: BudgetState,
        /// How long this block lasts.
        block: Duration,
    },
}

impl AfterFailure {
    /// The state to store.
    pub fn state(&self) -> BudgetState {
        match *self {
            Self::Count(s) | Self::Exhaust { state: s, .. } => s,
        }
    }
}

/// Decides whether an attempt may start at `now`, reserving it.
pub fn begin(budget: &FailureBudget, state: BudgetState, now: DateTime<Utc>) -> Begin {
    if let Some(until) = state.blocked_until.filter(|until| now < *until) {
        return Begin::Refuse { until };
    }
    let state = expire_window(budget, state, now);
    let used = state.failures.saturating_add(state.in_flight);
    if used >= budget.failures.max(1) {
        // The rest of the budget is with attempts in flight; try again once they end.
        let until = state.window_start.map_or(now, |s| s + budget.window);
        return Begin::Refuse {
            until: until.max(now),
        };
    }
    Begin::Proceed(BudgetState {
        in_flight: state.in_flight.saturating_add(1),
        ..state
    })
}

/// Decides the state after a begun attempt failed at `now`.
pub fn after_failure(
    budget: &FailureBudget,
    state: BudgetState,
    now: DateTime<Utc>,
) -> AfterFailure {
    let state = release(state);
    let mut state = expire_window(budget, state, now);
    if state.window_start.is_none() {
        state.window_start = Some(now);
    }
    state.failures = state.failures.saturating_add(1);
    if state.failures < budget.failures.max(1) {
        return AfterFailure::Count(state);
    }
    let block = back_off(budget, state.exhaustions);
    AfterFailure::Exhaust {
        state: BudgetState {
            window_start: None,
            failures: 0,
            in_flight: state.in_flight,
            blocked_until: Some(now + block),
            exhaustions: state.exhaustions.saturating_add(1),
        },
        block,
    }
}

/// The state after a begun attempt succeeded: the budget starts again.
pub fn after_success(state: BudgetState) -> BudgetState {
    BudgetState {
        in_flight: release(state).in_flight,
        ..BudgetState::default()
    }
}

/// The state after a begun attempt ended undecided (store error, client gone): only the
/// reservation is given back.
pub fn release(state: BudgetState) -> BudgetState {
    BudgetState {
        in_flight: state.in_flight.saturating_sub(1),
        ..state
    }
}

/// The networks a connection must come from to get past accept, given every vendor's
/// allow list (R-10.2-PATH): their union when every vendor has a list, `None` (anyone may
/// go on to the handshake) when any vendor has none or there are no vendors. No engineer
/// can log in from outside that union, so closing it at accept refuses no one who could.
pub fn accept_union<'a>(lists: impl IntoIterator<Item = &'a [IpNet]>) -> Option<Vec<IpNet>> {
    let mut union = Vec::new();
    let mut any = false;
    for list in lists {
        if list.is_empty() {
            return None;
        }
        any = true;
        union.extend_from_slice(list);
    }
    any.then_some(union)
}

/// A window whose time is over starts again; a back-off long over is forgotten.
fn expire_window(
    budget: &FailureBudget,
    mut state: BudgetState,
    now: DateTime<Utc>,
) -> BudgetState {
    if state
        .window_start
        .is_some_and(|start| now >= start + budget.window)
    {
        state.window_start = None;
        state.failures = 0;
    }
    if state
        .blocked_until
        .is_some_and(|until| now >= until + budget.max_block)
    {
        state.blocked_until = None;
        state.exhaustions = 0;
    }
    state
}

/// `base_block × 2^exhaustions`, at most `max_block`.
fn back_off(budget: &FailureBudget, exhaustions: u32) -> Duration {
    let factor = 1_i32.checked_shl(exhaustions.min(30)).unwrap_or(i32::MAX);
    budget
        .base_block
        .checked_mul(factor)
        .unwrap_or(budget.max_block)
        .min(budget.max_block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
    }

    fn budget() -> FailureBudget {
        FailureBudget {
            failures: 3,
            window: Duration::minutes(5),
            base_block: Duration::minutes(1),
            max_block: Duration::minutes(4),
        }
    }

    /// One attempt that fails, from `state` at `now`.
    fn fail(state: BudgetState, now: DateTime<Utc>) -> AfterFailure {
        match begin(&budget(), state, now) {
            Begin::Proceed(s) => after_failure(&budget(), s, now),
            Begin::Refuse { until } => panic!("refused until {until}"),
        }
    }

    #[test]
    fn the_budget_is_used_up_then_refuses_without_work() {
        let mut state = BudgetState::default();
        let mut outcomes = Vec::new();
        for i in 0..3 {
            let after = fail(state, t0() + Duration::seconds(i));
            outcomes.push(matches!(after, AfterFailure::Exhaust { .. }));
            state = after.state();
        }
        assert_eq!(outcomes, [false, false, true]);
        assert_eq!(
            state.blocked_until,
            Some(t0() + Duration::seconds(2) + Duration::minutes(1))
        );
        // Table: (seconds after t0, refused?)
        for (secs, refused) in [(3, true), (61, true), (62, false), (120, false)] {
            let got = matches!(
                begin(&budget(), state, t0() + Duration::seconds(secs)),
                Begin::Refuse { .. }
            );
            assert_eq!(got, refused, "at +{secs}s");
        }
    }

    #[test]
    fn the_block_doubles_with_each_exhaustion_up_to_the_maximum() {
        let mut state = BudgetState::default();
        let mut now = t0();
        let mut blocks = Vec::new();
        for _ in 0..5 {
            loop {
                match fail(state, now) {
                    AfterFailure::Count(s) => state = s,
                    AfterFailure::Exhaust { state: s, block } => {
                        state = s;
                        blocks.push(block.num_minutes());
                        now = s.blocked_until.unwrap();
                        break;
                    }
                }
            }
        }
        assert_eq!(blocks, [1, 2, 4, 4, 4]);
        // Quiet for longer than the maximum block after the last one: back to the base.
        let later = now + Duration::minutes(4);
        let mut after = fail(state, later);
        after = fail(after.state(), later);
        after = fail(after.state(), later);
        assert!(
            matches!(after, AfterFailure::Exhaust { block, .. } if block == Duration::minutes(1))
        );
    }

    #[test]
    fn failures_outside_the_window_start_a_new_one() {
        let a = fail(BudgetState::default(), t0()).state();
        let b = fail(a, t0() + Duration::minutes(4)).state();
        assert_eq!(b.failures, 2);
        // The window runs from the first failure: five minutes after it, counting restarts.
        let c = fail(b, t0() + Duration::minutes(5)).state();
        assert_eq!(
            (c.failures, c.window_start),
            (1, Some(t0() + Duration::minutes(5)))
        );
    }

    #[test]
    fn attempts_in_flight_hold_the_rest_of_the_budget() {
        let b = budget();
        let mut state = BudgetState::default();
        // Three attempts start together (three connections, hashes being verified).
        for _ in 0..3 {
            match begin(&b, state, t0()) {
                Begin::Proceed(s) => state = s,
                Begin::Refuse { .. } => panic!("refused within the budget"),
            }
        }
        assert_eq!(state.in_flight, 3);
        // The fourth can't start: its failure could overshoot the budget.
        assert!(matches!(begin(&b, state, t0()), Begin::Refuse { .. }));
        // One ends without a decision (client gone): its place is free again.
        state = release(state);
        assert!(matches!(begin(&b, state, t0()), Begin::Proceed(_)));
    }

    #[test]
    fn a_success_resets_the_budget() {
        let a = fail(BudgetState::default(), t0()).state();
        let b = fail(a, t0()).state();
        let Begin::Proceed(c) = begin(&budget(), b, t0()) else {
            panic!("refused")
        };
        let after = after_success(c);
        assert_eq!(after, BudgetState::default());
        assert!(after.is_idle(&budget(), t0()));
        assert!(!b.is_idle(&budget(), t0()));
    }

    #[test]
    fn accept_union_closes_only_when_every_vendor_has_a_list() {
        let n = |s: &str| -> IpNet { s.parse().unwrap() };
        let a = [n("192.0.2.0/24")];
        let b = [n("198.51.100.7/32"), n("2001:db8::/32")];
        let none: [IpNet; 0] = [];
        type Row<'a> = (Vec<&'a [IpNet]>, Option<Vec<IpNet>>);
        let table: Vec<Row<'_>> = vec![
            (vec![], None),
            (vec![&none], None),
            (vec![&a, &none], None),
            (vec![&none, &a], None),
            (vec![&a], Some(a.to_vec())),
            (vec![&a, &b], Some([a.to_vec(), b.to_vec()].concat())),
        ];
        for (lists, expected) in table {
            assert_eq!(accept_union(lists.clone()), expected, "{lists:?}");
        }
    }

    #[test]
    fn zero_failures_behaves_as_one() {
        let b = FailureBudget {
            failures: 0,
            ..budget()
        };
        let Begin::Proceed(s) = begin(&b, BudgetState::default(), t0()) else {
            panic!("refused")
        };
        assert!(matches!(
            after_failure(&b, s, t0()),
            AfterFailure::Exhaust { .. }
        ));
    }
}
