//! `[floods]`: how far a flood of connections or failed logins can reach (issue 12).

use std::time::Duration;

use serde::Deserialize;

/// `[floods]`: per-source caps and time-outs before login, and the failed-login budget
/// per client certificate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FloodsSection {
    /// Connections not yet logged in from one source address (one IPv6 /64), at most.
    /// More from that source are closed at accept, so one address can't take the whole
    /// `limits.max_unauthenticated`. Vendors behind one NAT address share it: a login
    /// takes seconds, so a few parallel ones are far below it.
    pub max_unauthenticated_per_source: usize,
    /// A connection whose first TLS byte hasn't arrived by then is dropped, before any
    /// other work (a real client sends its ClientHello at once). `tls.handshake_timeout`
    /// then bounds the rest of the handshake.
    #[serde(with = "humantime_serde")]
    pub first_byte_timeout: Duration,
    /// Failed logins one client certificate may cause within `failure_window` (unknown
    /// user names count); then its attempts are refused without work and without a
    /// `login.failure` each, for `failure_block`, doubling per exhaustion in a row up to
    /// `failure_block_max`.
    pub failure_budget: u32,
    /// The window failed logins are counted in.
    #[serde(with = "humantime_serde")]
    pub failure_window: Duration,
    /// The first block once the budget is used up.
    #[serde(with = "humantime_serde")]
    pub failure_block: Duration,
    /// The longest block.
    #[serde(with = "humantime_serde")]
    pub failure_block_max: Duration,
    /// How often the union of the vendors' allow lists, checked at accept, is re-read
    /// from the store (it is also re-read with the revocation list at every handshake).
    #[serde(with = "humantime_serde")]
    pub allow_list_refresh: Duration,
}

impl Default for FloodsSection {
    fn default() -> Self {
        Self {
            max_unauthenticated_per_source: 32,
            first_byte_timeout: Duration::from_secs(5),
            failure_budget: 10,
            failure_window: Duration::from_secs(5 * 60),
            failure_block: Duration::from_secs(60),
            failure_block_max: Duration::from_secs(3600),
            allow_list_refresh: Duration::from_secs(2),
        }
    }
}

impl FloodsSection {
    /// The failed-login budget as the policy's type.
    pub fn failure_budget(&self) -> policy::flood::FailureBudget {
        let d = |d: Duration, fallback: chrono::Duration| {
            chrono::Duration::from_std(d).unwrap_or(fallback)
        };
        policy::flood::FailureBudget {
            failures: self.failure_budget,
            window: d(self.failure_window, chrono::Duration::minutes(5)),
            base_block: d(self.failure_block, chrono::Duration::minutes(1)),
            max_block: d(self.failure_block_max, chrono::Duration::hours(1)),
        }
    }

    /// The `[floods]` part of the commented template.
    pub(super) fn template(&self) -> String {
        let h = |d: Duration| humantime::format_duration(d).to_string();
        format!(
            r#"
[floods]
# Connections not yet logged in from one source address (IPv6: one /64), at most; more
# from it are closed at accept (within limits.max_unauthenticated, which caps them all).
max_unauthenticated_per_source = {per_source}
# A connection that sends no TLS byte by then is dropped (before the handshake time-out).
first_byte_timeout = "{first_byte}"
# Failed logins one client certificate may cause within failure_window (unknown user names
# count); then it is refused without work for failure_block, doubling up to
# failure_block_max. Recorded once as login.budget_exhausted.
failure_budget = {budget}
failure_window = "{window}"
failure_block = "{block}"
failure_block_max = "{block_max}"
# When every vendor has an allow list, sources outside all of them are closed at accept;
# the lists are re-read this often (and at every handshake).
allow_list_refresh = "{refresh}"
"#,
            per_source = self.max_unauthenticated_per_source,
            first_byte = h(self.first_byte_timeout),
            budget = self.failure_budget,
            window = h(self.failure_window),
            block = h(self.failure_block),
            block_max = h(self.failure_block_max),
            refresh = h(self.allow_list_refresh),
        )
    }
}
