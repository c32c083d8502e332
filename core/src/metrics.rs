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

/// What `/metrics` serves: the process's metrics in Prometheus text format.
#[derive(Clone)]
pub struct Exporter {
    exposition: Exposition,
    /// Run before each rendering: gauges read on demand (the front door's count of
    /// connections not logged in).
    refresh: Option<std::sync::Arc<dyn Fn() + Send + Sync>>,
}

#[derive(Clone)]
enum Exposition {
    /// The process-wide recorder's.
    Recorder(PrometheusHandle),
    /// A fixed text (tests of the HTTP surface).
    Fixed(std::sync::Arc<str>),
}

impl Exporter {
    /// An exporter that always renders `text` (for tests of the endpoint).
    pub fn fixed(text: &str) -> Self {
        Self {
            exposition: Exposition::Fixed(text.into()),
            refresh: None,
        }
    }

    /// The same exporter, running `refresh` before each rendering.
    pub fn refreshing(self, refresh: impl Fn() + Send + Sync + 'static) -> Self {
        Self {
            refresh: Some(std::sync::Arc::new(refresh)),
            ..self
        }
    }

    /// The metrics now, in Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        if let Some(refresh) = &self.refresh {
            refresh();
        }
        match &self.exposition {
            Exposition::Recorder(handle) => handle.render(),
            Exposition::Fixed(text) => text.to_string(),
        }
    }
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Exporter")
    }
}

/// Installs the process-wide recorder and returns the exporter that renders it. Installing
/// twice (in tests) keeps the first recorder and returns a fresh, detached one.
pub fn install() -> Exporter {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    // Only fails when a recorder is already installed; the earlier one keeps working.
    let _ = metrics::set_global_recorder(recorder);
    Exporter {
        exposition: Exposition::Recorder(handle),
        refresh: None,
    }
}
