//! fumidai's HTTP surfaces on the internal side (R-13-5: management interfaces are not
//! reachable from the vendor side): the operator console (運用コンソール) for the hospital's
//! system operators (システム運用担当者), planning managers (企画管理者) and auditors
//! (監査担当); `/healthz` for liveness monitoring and `/metrics` in Prometheus text format
//! (R-11-2).
//!
//! Pages are rendered on the server from askama templates (checked at compile time,
//! HTML-escaping by default), Japanese first with English one click away, every time
//! absolute in JST with its date. A person signs in with password + TOTP through the same
//! `Authenticator` as every other entrance (same lock-out, same audit records); the
//! session lives in the store, so another node sees it. Approving, rejecting and
//! withdrawing a plan ask for the password and a fresh TOTP code with the action; a kill
//! of a live session asks for a reason only (it must be instant). Watching a live SSH
//! session's terminal goes over a same-origin WebSocket that takes nothing from the
//! browser, and each watch is on record.
//!
//! `/metrics` answers loopback clients only (a Prometheus or agent on the gateway host);
//! from anywhere else it is 403. A reverse proxy in front of a loopback console must not
//! pass `/metrics` on.
//!
//! # Layout
//!
//! - [`router`]: the axum [`Router`] for an [`AppState`]; tests drive it with `oneshot`.
//! - [`serve`]: serving it, plain on loopback or HTTPS with the console's certificate.
//! - `pages/`: one handler file per page; `templates/`: their templates.
//! - [`session`]: the session cookie and the [`session::Signed`] extractor (idle sign-out
//!   after 15 minutes, R-12.3.2); `csrf`: the checked form of every POST; [`security`]:
//!   the headers on every response and the same-origin check; `limiter`: sign-in attempts
//!   per address and login; [`text`]: untrusted text made visible, JST, closed sets in
//!   words; [`lang`]: Japanese or English; `assets`: the embedded stylesheets and
//!   scripts (xterm.js for the Live page's read-only terminal, pinned in
//!   `vendor/xterm/`).
//!
//! # What this crate does not do
//!
//! It opens no database pool of its own (it is handed the store), re-implements no rule
//! (the use cases are `fumidai_core::ops`, the rules `policy`'s), and never depends on a
//! protocol crate or the binary. No page inserts text that came from a session or a plan
//! as HTML.

mod assets;
mod csrf;
pub mod error;
pub mod lang;
mod limiter;
mod pages;
pub mod security;
pub mod serve;
pub mod session;
pub mod settings;
mod step_up;
pub mod text;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use fumidai_core::alerts::Alerts;
use fumidai_core::auth::Authenticator;
use fumidai_core::config::Config;
use fumidai_core::datadir::DataDir;
use fumidai_core::live::Registry;
use fumidai_core::metrics::Exporter;
use store::Store;

pub use settings::{Clock, ConsoleSettings, LoginLimits, system_clock};

/// The audit chain's verification, and when it ran.
type AuditCheck = (DateTime<Utc>, store::AuditVerification);

/// What the handlers need.
#[derive(Clone)]
pub struct AppState {
    /// The gateway's store: accounts, plans, sessions, console sessions, the audit trail.
    store: Arc<dyn Store>,
    /// What `/metrics` serves (the core's exporter).
    metrics: Exporter,
    /// Checks passwords and codes, the same as at the front door and the CLI.
    auth: Arc<Authenticator>,
    /// Idle time-out, sign-in limits, HTTPS.
    settings: Arc<ConsoleSettings>,
    /// Sign-in attempts per address and login, this node's.
    limiter: Arc<limiter::LoginLimiter>,
    /// What time it is (the idle rule's clock).
    clock: Clock,
    /// The audit chain's last verification and when it ran: walking a long chain on
    /// every dashboard view would be slow, so it is walked at most once a minute (and one
    /// walk at a time: others wait for its result).
    audit_check: Arc<tokio::sync::Mutex<Option<AuditCheck>>>,
    /// This node's live sessions (to list, watch and kill); empty in tests that don't
    /// give one.
    live: Registry,
    /// The data directory: recordings, the gateway's public signing key.
    dir: Option<DataDir>,
    /// Where alerts go (a report produced on view raises its own).
    alerts: Alerts,
    /// The gateway's configuration, for the compliance evidence (`None` in tests that
    /// don't give one: the page says so).
    config: Option<Arc<Config>>,
    /// Playbacks on record whose recordings this node may hand out (`pages::playback_grant`).
    grants: Arc<pages::playback_grant::Grants>,
}

impl AppState {
    /// The state for a console over `store`, signing people in with `auth`.
    pub fn new(
        store: Arc<dyn Store>,
        auth: Arc<Authenticator>,
        metrics: Exporter,
        settings: ConsoleSettings,
    ) -> Self {
        Self {
            store,
            metrics,
            auth,
            limiter: Arc::new(limiter::LoginLimiter::new(settings.login_limits)),
            settings: Arc::new(settings),
            clock: system_clock(),
            audit_check: Arc::new(tokio::sync::Mutex::new(None)),
            live: Registry::default(),
            dir: None,
            alerts: Alerts::log_only(),
            config: None,
            grants: Arc::default(),
        }
    }

    /// The same state assessing compliance against `config`.
    #[must_use]
    pub fn with_config(mut self, config: Arc<Config>) -> Self {
        self.config = Some(config);
        self
    }

    /// The same state over this node's live sessions (`serve` gives its registry).
    #[must_use]
    pub fn with_live(mut self, live: Registry) -> Self {
        self.live = live;
        self
    }

    /// The same state reading recordings and keys from the data directory `dir`.
    #[must_use]
    pub fn with_data_dir(mut self, dir: DataDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// The same state raising alerts on `alerts`.
    #[must_use]
    pub fn with_alerts(mut self, alerts: Alerts) -> Self {
        self.alerts = alerts;
        self
    }

    /// The same state reading another clock (tests move it instead of waiting).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Now, by the state's clock.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

/// The internal HTTP router: the console's pages, `/healthz`, `/metrics`, the assets.
pub fn router(state: AppState) -> Router {
    use pages::*;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/assets/{name}", get(assets::serve))
        .route("/lang", get(language::choose))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(logout::submit))
        .route("/", get(dashboard::page))
        .route("/plans", get(plans::page))
        .route("/plans/{id}", get(plan::page))
        .route("/plans/{id}/approve", post(plan_action::approve))
        .route("/plans/{id}/reject", post(plan_action::reject))
        .route("/plans/{id}/withdraw", post(plan_action::withdraw))
        .route("/sessions", get(sessions::page))
        .route("/sessions/{id}", get(session::page))
        .route(
            "/sessions/{id}/play/{which}",
            get(playback::page).post(playback::override_seal),
        )
        .route("/sessions/{id}/play/{which}/cast", get(playback_data::cast))
        .route(
            "/sessions/{id}/play/{which}/frame",
            get(playback_data::frame),
        )
        .route("/live", get(live::page))
        .route("/live/{id}/watch", get(live_watch::page))
        .route("/live/{id}/watch/socket", get(live_watch::socket))
        .route("/live/{id}/kill", post(live_kill::submit))
        .route(
            "/admin/accounts",
            get(accounts::page).post(account_action::enrol),
        )
        .route("/admin/accounts/{login}", get(account::page))
        .route(
            "/admin/accounts/{login}/{action}",
            post(account_action::change),
        )
        .route("/audit", get(audit::page))
        .route("/audit/export", get(audit_export::download))
        .route("/audit/verify", post(audit_verify::submit))
        .route("/compliance", get(compliance::page))
        .route("/review", get(review::page))
        .route("/reports", get(reports::page))
        .route("/reports/{id}", get(report::page))
        .route("/reports/{id}/document", get(report_document::page))
        .route("/reports/{id}/confirm", post(report_confirm::submit))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
        .with_state(state)
}

async fn not_found() -> error::PageError {
    error::PageError::NotFound
}

#[cfg(test)]
mod tests;
