//! The configuration as the assessment reads it: plain values, gathered once from the
//! typed configuration ([`Settings::of`]) — the assessment never sees `Config` itself, so a
//! test (or another node) can assess any set of facts.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::config::ssh::CryptoProfile;

/// What the compliance checks read of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// `[gateway] listen`: the mutual-TLS front door.
    pub listen: SocketAddr,
    /// `[gateway] ui_listen`: the internal side (console, `/healthz`, `/metrics`).
    pub ui_listen: SocketAddr,
    /// `[tls] allow_tls12`.
    pub allow_tls12: bool,
    /// `[limits] idle_timeout` (zero: off).
    pub idle_timeout: Duration,
    /// `[limits] max_session` (zero: off).
    pub max_session: Duration,
    /// `[limits] window_warning`.
    pub window_warning: Duration,
    /// `[limits] emergency_max`.
    pub emergency_max: Duration,
    /// `[auth] lockout_threshold`.
    pub lockout_threshold: u32,
    /// `[auth] lockout_duration`.
    pub lockout_duration: Duration,
    /// `[transfers] clamd_socket`, as written.
    pub clamd_socket: Option<String>,
    /// `[transfers] max_scan_size`.
    pub max_scan_size: u64,
    /// `[ssh] crypto_profile`.
    pub crypto_profile: CryptoProfile,
    /// `[database] url` (redacted where shown).
    pub database_url: String,
    /// The alert sinks configured in `[alerts]` (`webhook`, `syslog`, `e-mail`).
    pub alert_sinks: Vec<&'static str>,
}

impl Settings {
    /// The settings of `config`.
    pub fn of(config: &Config) -> Self {
        let a = &config.alerts;
        Self {
            listen: config.gateway.listen,
            ui_listen: config.gateway.ui_listen,
            allow_tls12: config.tls.allow_tls12,
            idle_timeout: config.limits.idle_timeout,
            max_session: config.limits.max_session,
            window_warning: config.limits.window_warning,
            emergency_max: config.limits.emergency_max,
            lockout_threshold: config.auth.lockout_threshold,
            lockout_duration: config.auth.lockout_duration,
            clamd_socket: config
                .transfers
                .clamd_socket
                .as_ref()
                .map(ToString::to_string),
            max_scan_size: config.transfers.max_scan_size,
            crypto_profile: config.ssh.crypto_profile,
            database_url: config.database.url.clone(),
            alert_sinks: [
                (a.webhook_url.is_some(), "webhook"),
                (a.syslog.is_some(), "syslog"),
                (a.smtp_host.is_some(), "e-mail"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect(),
        }
    }
}
