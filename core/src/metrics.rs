//! Prometheus metrics (R-11-2: performance and liveness monitoring), served on the
//! internal `/metrics` endpoint.
//!
//! Names are defined here once so a typo can't split a series.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// TCP connections accepted by the front door, by outcome
/// (`admitted`, `over_capacity`, `handshake_failed`, `handshake_timeout`, `refused`).
pub const CONNECTIONS: &str = "fumidai_front_door_connections_total";
/// Connections accepted but not yet logged in, now.
pub const UNAUTHENTICATED: &str = "fumidai_front_door_unauthenticated";
/// Login attempts, by `outcome` (`accept` or a rejection reason) and `protocol`.
pub const LOGINS: &str = "fumidai_logins_total";
/// SSH connections open now.
pub const SSH_CONNECTIONS: &str = "fumidai_ssh_connections";

/// Alerts raised, by `kind` (R-17.1-ALERT).
pub const ALERTS: &str = "fumidai_alerts_total";
/// Alerts dropped for a `sink` because its queue was full: its deliveries have been
/// failing for long; look at the log.
pub const ALERTS_DROPPED: &str = "fumidai_alerts_dropped_total";
/// Alert deliveries by `sink` and `outcome` (`delivered`, or `failed` after the retries).
pub const ALERT_DELIVERIES: &str = "fumidai_alert_deliveries_total";

/// Installs the process-wide recorder and returns the handle that renders it. Installing
/// twice (in tests) keeps the first recorder and returns a fresh, detached handle.
pub fn install() -> PrometheusHandle {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    // Only fails when a recorder is already installed; the earlier one keeps working.
    let _ = metrics::set_global_recorder(recorder);
    handle
}
