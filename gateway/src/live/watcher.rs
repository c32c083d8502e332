//! The task that applies the session limits and executes kill requests, once a second.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use policy::authority::{Held, Recheck};
use policy::ids::SessionId;
use policy::limits::{self, Decision, EndReason, Limits, SessionTimes};
use store::Store;
use tokio::time::MissedTickBehavior;
use tracing::{Instrument, info, info_span, warn};

use super::authority::{self, Holder};
use super::registry::{Entry, Registry};
use crate::alerts::{Alert, Alerts};

/// How often the limits are checked and the store asked for kill requests: a kill from
/// another process takes effect within about this long.
const EVERY: Duration = Duration::from_secs(1);

/// Polls in a row the store may fail before every live session is ended (fail closed: no
/// session runs that can be neither killed nor audited), so a blip of a second or two
/// doesn't cut everyone.
const STORE_FAILURES_TOLERATED: u32 = 3;

/// Applies `policy::limits` to every session in a [`Registry`], executes kill requests and
/// re-checks every session's authority.
pub struct Watcher {
    /// The sessions to watch.
    registry: Registry,
    /// The limits in force (`[limits]`).
    limits: Limits,
    /// Where `fumidai session kill` leaves its requests; `None`: kills are not polled
    /// (tests of the time rules alone).
    kills: Option<Arc<dyn Store>>,
    /// Whether the last poll for kill requests failed, so a store outage is logged once,
    /// not every second.
    store_failing: bool,
    /// Polls failed in a row; past [`STORE_FAILURES_TOLERATED`] live sessions end.
    store_failures: u32,
    /// Where executed kills are raised (R-17.1-ALERT); only logged unless set.
    alerts: Alerts,
}

impl Watcher {
    /// A watcher over `registry` with `limits`.
    pub fn new(registry: Registry, limits: Limits) -> Self {
        Self {
            registry,
            limits,
            kills: None,
            store_failing: false,
            store_failures: 0,
            alerts: Alerts::log_only(),
        }
    }

    /// Raises an alert for every kill it executes (R-17.1-ALERT).
    #[must_use]
    pub fn with_alerts(mut self, alerts: Alerts) -> Self {
        self.alerts = alerts;
        self
    }

    /// Also executes the kill requests found in `store`.
    pub fn with_kills(mut self, store: Arc<dyn Store>) -> Self {
        self.kills = Some(store);
        self
    }

    /// Runs until the task is dropped: checks every second. Spawn it.
    pub async fn run(mut self) {
        let mut every = tokio::time::interval(EVERY);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let span = info_span!("session_limits");
        loop {
            every.tick().await;
            self.check_limits();
            self.execute_kills().instrument(span.clone()).await;
            self.recheck_authority().instrument(span.clone()).await;
        }
    }

    /// Applies the limits to every session once: warnings and ends run in tasks of their
    /// own, so a client that reads nothing can't hold up the others.
    pub(super) fn check_limits(&self) {
        let now = self.registry.clock().now();
        for entry in self.registry.entries() {
            if entry.end.reason().is_some() {
                continue;
            }
            let times = SessionTimes {
                started_at: entry.started_at,
                last_activity: entry.activity.last(),
                window_ends_at: entry.window_ends_at,
                warned: entry.warned.load(std::sync::atomic::Ordering::Relaxed),
            };
            match limits::check(&self.limits, &times, now) {
                Decision::Continue { .. } => {}
                Decision::Warn { ends_at, because } => {
                    if entry.first_warning() {
                        info!(session_id = %entry.id, %ends_at, reason = because.as_str(), "warning the engineer of the session's end");
                        let message = limits::warning_message(ends_at, because);
                        tokio::spawn(async move { entry.tell(&message).await });
                    }
                }
                Decision::End(reason) => self.spawn_end(&entry, reason),
            }
        }
    }

    /// Ends the sessions held here that an operator asked to kill.
    async fn execute_kills(&mut self) {
        let Some(store) = &self.kills else {
            return;
        };
        let requests = match store.pending_kills().await {
            Ok(requests) => {
                if self.store_failing {
                    info!("kill requests readable again");
                    self.store_failing = false;
                }
                self.store_failures = 0;
                requests
            }
            Err(error) => {
                if !self.store_failing {
                    warn!(%error, "cannot read kill requests; live sessions can't be killed until the store answers");
                    self.store_failing = true;
                }
                self.store_failures = self.store_failures.saturating_add(1);
                if self.store_failures > STORE_FAILURES_TOLERATED {
                    self.end_all(EndReason::Error);
                }
                return;
            }
        };
        let mut seen = HashSet::<SessionId>::new();
        for request in requests {
            if !seen.insert(request.session) {
                continue;
            }
            // Held by another node, or already gone: not ours to execute.
            let Some(entry) = self.registry.find(&request.session) else {
                continue;
            };
            if entry.end.reason().is_some() {
                continue;
            }
            info!(
                session_id = %entry.id,
                requested_by = %request.requested_by,
                reason = %request.reason,
                "executing a kill request"
            );
            self.alerts.raise(Alert::session_killed(
                entry.id,
                &entry.engineer,
                &entry.target,
                entry.plan,
                &request.requested_by,
                &request.reason,
            ));
            self.spawn_end(&entry, EndReason::Killed);
        }
    }

    /// Re-checks every live session's authority (issue 12): certificate not revoked,
    /// account enabled, plan still admitting it. Those that lost it end, the engineer told
    /// why. A store failure here changes nothing: the kill poll counts failures and fails
    /// closed.
    async fn recheck_authority(&self) {
        let Some(store) = &self.kills else {
            return;
        };
        let entries: Vec<Arc<Entry>> = self
            .registry
            .entries()
            .into_iter()
            .filter(|e| e.end.reason().is_none())
            .collect();
        let holders: Vec<Holder> = entries.iter().map(|e| holder(e)).collect();
        let now = self.registry.clock().now();
        let facts = match authority::facts(store.as_ref(), &holders, now).await {
            Ok(facts) => facts,
            Err(error) => {
                warn!(%error, "cannot re-check live sessions' authority");
                return;
            }
        };
        for ((entry, holder), facts) in entries.iter().zip(&holders).zip(&facts) {
            if let Recheck::Lose(lost) = policy::authority::recheck(&holder.held, facts, now) {
                info!(session_id = %entry.id, engineer = %entry.engineer, reason = lost.as_str(), "session lost its authority");
                self.spawn_end(entry, lost.end_reason());
            }
        }
    }

    /// Ends every live session not already ending (fail closed when the store is gone;
    /// their `session.ended` can't be written then, and the next start of this node ends
    /// them in the store).
    fn end_all(&self, reason: EndReason) {
        for entry in self.registry.entries() {
            if entry.end.reason().is_none() {
                warn!(session_id = %entry.id, "ALERT: store unavailable; ending the session");
                self.spawn_end(&entry, reason);
            }
        }
    }

    fn spawn_end(&self, entry: &Entry, reason: EndReason) {
        let registry = self.registry.clone();
        let id = entry.id;
        let message = reason.message(&self.limits);
        tokio::spawn(async move { registry.end(&id, reason, &message).await });
    }
}

/// What a live session holds, for the authority re-check.
fn holder(entry: &Entry) -> Holder {
    Holder {
        held: Held {
            engineer: entry.engineer.clone(),
            session: Some((entry.target.clone(), entry.plan)),
        },
        serial: entry.serial.clone(),
    }
}
