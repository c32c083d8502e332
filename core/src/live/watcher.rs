//! The task that applies the session limits and executes kill requests, once a second.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use policy::ids::SessionId;
use policy::limits::{self, Decision, EndReason, Limits, SessionTimes};
use policy::recheck::{Held, Recheck};
use serde_json::json;
use store::{Actor, AuditEvent, AuditKind, Store};
use tokio::time::MissedTickBehavior;
use tracing::{Instrument, info, info_span, warn};

use super::authority::{self, Holder};
use super::logins::LoginEntry;
use super::registry::{Entry, Registry};
use crate::alerts::{Alert, Alerts};

/// How often the limits are checked and the store asked for kill requests: a kill from
/// another process takes effect within about this long.
const EVERY: Duration = Duration::from_secs(1);

/// What a login closed for opening no channel within the grace reads (OpenSSH prints it
/// as "Received disconnect").
const NO_CHANNEL: &str = "fumidai: no channel was opened within the login grace; disconnected / \
     ログイン後、一定時間内にチャネルが開かれなかったため切断しました";

/// What a login closed by an operator reads.
const KILLED: &str = "fumidai: an operator closed this connection / 運用担当者が接続を終了しました";

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
    /// A login that opened no channel this long after it succeeded is closed (issue 12:
    /// keepalives keep no login alive); `None`: not applied.
    login_grace: Option<Duration>,
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
            login_grace: None,
        }
    }

    /// Raises an alert for every kill it executes (R-17.1-ALERT).
    #[must_use]
    pub fn with_alerts(mut self, alerts: Alerts) -> Self {
        self.alerts = alerts;
        self
    }

    /// Closes logins that opened no channel within `grace` (`[limits] login_grace`).
    #[must_use]
    pub fn with_login_grace(mut self, grace: Duration) -> Self {
        self.login_grace = Some(grace);
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
            self.check_logins().instrument(span.clone()).await;
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
                        tokio::spawn(async move { entry.warn(&message).await });
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
            if let Recheck::Lose(lost) = policy::recheck::recheck(&holder.held, facts, now) {
                info!(session_id = %entry.id, engineer = %entry.engineer, reason = lost.as_str(), "session lost its authority");
                self.spawn_end(entry, lost.end_reason());
            }
        }
    }

    /// Logged-in connections without a session (issue 12): closes those past the login
    /// grace without a channel, those an operator asked to kill, and those whose
    /// certificate or account lost its authority. Each close is audited.
    pub(super) async fn check_logins(&self) {
        let logins: Vec<Arc<LoginEntry>> = self
            .registry
            .login_entries()
            .into_iter()
            .filter(|e| !e.closing())
            .collect();
        if logins.is_empty() {
            return;
        }
        let now = self.registry.clock().now();
        let mut open = Vec::with_capacity(logins.len());
        for entry in logins {
            let overdue = self.login_grace.is_some_and(|grace| {
                !entry.channel_opened()
                    && chrono::TimeDelta::from_std(grace)
                        .is_ok_and(|grace| now >= entry.logged_in_at + grace)
            });
            if overdue {
                self.spawn_close(&entry, "no_channel", NO_CHANNEL.to_owned(), None);
            } else {
                open.push(entry);
            }
        }
        let Some(store) = &self.kills else {
            return;
        };
        let requested = match store.connections().await {
            Ok(rows) => rows,
            Err(error) => {
                warn!(%error, "cannot read logged-in connections");
                return;
            }
        };
        let mut still = Vec::with_capacity(open.len());
        for entry in open {
            let kill = requested
                .iter()
                .find(|c| c.id == entry.id && c.kill_requested_at.is_some());
            match kill {
                Some(row) => {
                    let by = row.kill_requested_by.clone();
                    self.spawn_close(&entry, "killed", KILLED.to_owned(), by);
                }
                None => still.push(entry),
            }
        }
        let holders: Vec<Holder> = still
            .iter()
            .map(|e| Holder {
                held: Held {
                    engineer: e.engineer.clone(),
                    session: None,
                },
                serial: e.serial.clone(),
            })
            .collect();
        let facts = match authority::facts(store.as_ref(), &holders, now).await {
            Ok(facts) => facts,
            Err(error) => {
                warn!(%error, "cannot re-check logins' authority");
                return;
            }
        };
        for ((entry, holder), facts) in still.iter().zip(&holders).zip(&facts) {
            if let Recheck::Lose(lost) = policy::recheck::recheck(&holder.held, facts, now) {
                // English first: OpenSSH may escape what is not ASCII.
                let message = lost.message();
                let mut text: Vec<&str> = message
                    .split("\r\n")
                    .filter(|l| !l.is_empty())
                    .map(|l| l.trim_start_matches("fumidai: "))
                    .collect();
                text.reverse();
                let description = format!("fumidai: {}", text.join(" / "));
                self.spawn_close(entry, lost.as_str(), description, None);
            }
        }
    }

    /// Closes a login in a task of its own and audits it as `connection.closed`.
    fn spawn_close(
        &self,
        entry: &LoginEntry,
        reason: &'static str,
        description: String,
        requested_by: Option<String>,
    ) {
        let registry = self.registry.clone();
        let store = self.kills.clone();
        let (id, engineer) = (entry.id, entry.engineer.clone());
        tokio::spawn(async move {
            if !registry.close_login(&id, &description).await {
                return;
            }
            let Some(store) = store else {
                return;
            };
            let event = AuditEvent::new(AuditKind::ConnectionClosed, Actor::System, id.to_string())
                .with_detail(json!({
                    "engineer": engineer.as_str(),
                    "reason": reason,
                    "requested_by": requested_by,
                    "state": "logged_in_no_channel",
                }));
            if let Err(error) = store.append_audit(event).await {
                warn!(connection_id = %id, %error, "could not audit a closed login");
            }
        });
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
