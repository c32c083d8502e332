//! The [`Alerts`] handle and the tasks that deliver: one bounded queue and one task per
//! sink, so a dead webhook delays neither syslog nor the mail, and nothing delays the
//! caller.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};
use tracing::{Instrument, error, info, info_span, warn};

use super::settings::{Retry, Settings};
use super::{Alert, email, syslog, webhook};
use crate::metrics as m;

/// Alerts waiting for one sink, at most. Alerts are rare; a full queue means the sink has
/// been failing for a long time, and further alerts for it are dropped (logged, counted).
pub const QUEUE: usize = 256;

/// Raises alerts. Cheap to clone; clones share the queues. Create one with
/// [`Alerts::start`] in `serve`, or [`Alerts::log_only`] where nothing is configured.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    /// One queue per configured sink; empty: alerts are only logged.
    queues: Arc<[Queue]>,
    /// What became of the deliveries so far, so a short-lived process (the CLI producing
    /// a report) can wait for them before it exits: [`Alerts::settle`].
    deliveries: Arc<watch::Sender<Deliveries>>,
}

/// Deliveries (one per alert and sink) since the [`Alerts`] was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deliveries {
    /// Queued or being tried.
    pub pending: usize,
    /// Got through.
    pub delivered: usize,
    /// Given up on after the retries, or at a permanent failure.
    pub failed: usize,
}

#[derive(Debug)]
struct Queue {
    sink: &'static str,
    tx: mpsc::Sender<Arc<Alert>>,
}

/// A destination for alerts.
#[async_trait]
pub trait Sink: Send + Sync + 'static {
    /// Its name in logs and metrics (`webhook`, `syslog`, `email`).
    fn name(&self) -> &'static str;

    /// Delivers one alert, once; the caller retries.
    async fn deliver(&self, alert: &Alert) -> Result<(), DeliveryError>;
}

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth another try: connection refused, time-out, a 5xx, a broken pipe.
    #[error("{0}")]
    Transient(String),
    /// Trying again would fail the same way (the receiver refused the request itself,
    /// e.g. HTTP 401, or a message can't be built); not retried.
    #[error("{0}")]
    Permanent(String),
}

impl Alerts {
    /// Alerts that are only logged: no sink.
    pub fn log_only() -> Self {
        Self::default()
    }

    /// Starts one delivery task per sink configured in `settings`. Must be called inside
    /// a tokio runtime. With no sink configured, alerts are only logged.
    pub fn start(settings: Settings) -> Self {
        let gateway = super::host_name();
        let mut sinks: Vec<Arc<dyn Sink>> = Vec::new();
        if let Some(webhook) = settings.webhook {
            sinks.push(Arc::new(webhook::Webhook::new(webhook, gateway.clone())));
        }
        if let Some(syslog) = settings.syslog {
            sinks.push(Arc::new(syslog::Syslog::new(syslog, gateway.clone())));
        }
        if let Some(email) = settings.email {
            sinks.push(Arc::new(email::Email::new(email, gateway)));
        }
        Self::with_sinks(sinks, settings.retry)
    }

    /// Starts one delivery task for each of `sinks`, retrying as `retry` says.
    pub fn with_sinks(sinks: Vec<Arc<dyn Sink>>, retry: Retry) -> Self {
        if sinks.is_empty() {
            info!("alerts are only logged: nothing is configured in [alerts]");
        }
        let deliveries = Arc::new(watch::Sender::new(Deliveries::default()));
        let queues = sinks
            .into_iter()
            .map(|sink| {
                let (tx, rx) = mpsc::channel(QUEUE);
                let name = sink.name();
                info!(sink = name, "alerts are delivered");
                tokio::spawn(
                    deliver_all(sink, rx, retry, Arc::clone(&deliveries))
                        .instrument(info_span!("alerts", sink = name)),
                );
                Queue { sink: name, tx }
            })
            .collect();
        Self { queues, deliveries }
    }

    /// Waits until every alert raised so far has been delivered or given up on, at most
    /// `within`, and says how the deliveries went. `serve` never needs this; a command
    /// that raises alerts and then exits calls it, or its alerts die with it.
    pub async fn settle(&self, within: Duration) -> Deliveries {
        let mut rx = self.deliveries.subscribe();
        // A time-out leaves some pending: the answer says so.
        let _ = tokio::time::timeout(within, async {
            let _ = rx.wait_for(|d| d.pending == 0).await;
        })
        .await;
        *self.deliveries.borrow()
    }

    /// Raises `alert`: logs it, and queues it for every sink. Never waits and never
    /// fails; an alert a full queue can't take is dropped for that sink, with an ERROR
    /// log and [`m::ALERTS_DROPPED`] counted.
    pub fn raise(&self, alert: Alert) {
        warn!(
            alert_id = %alert.id,
            kind = alert.kind.as_str(),
            severity = alert.severity.as_str(),
            engineer = alert.subject.engineer.as_ref().map(|e| e.as_str()),
            session_id = alert.subject.session.map(|s| s.to_string()),
            plan_id = alert.subject.plan.map(|p| p.to_string()),
            target = alert.subject.target.as_ref().map(|t| t.as_str()),
            "ALERT: {}",
            alert.summary.en
        );
        metrics::counter!(m::ALERTS, "kind" => alert.kind.as_str()).increment(1);
        let alert = Arc::new(alert);
        for queue in self.queues.iter() {
            // Counted before the task can take it, so `settle` never sees it missing.
            self.deliveries.send_modify(|d| d.pending += 1);
            if let Err(e) = queue.tx.try_send(Arc::clone(&alert)) {
                self.deliveries.send_modify(|d| {
                    d.pending = d.pending.saturating_sub(1);
                    d.failed += 1;
                });
                let why = match e {
                    mpsc::error::TrySendError::Full(_) => "queue full",
                    mpsc::error::TrySendError::Closed(_) => "delivery task gone",
                };
                error!(
                    alert_id = %alert.id,
                    kind = alert.kind.as_str(),
                    sink = queue.sink,
                    why,
                    "alert dropped: not delivered to this sink"
                );
                metrics::counter!(m::ALERTS_DROPPED, "sink" => queue.sink).increment(1);
            }
        }
    }
}

/// Delivers the alerts of one sink, one after the other, each with its retries.
async fn deliver_all(
    sink: Arc<dyn Sink>,
    mut rx: mpsc::Receiver<Arc<Alert>>,
    retry: Retry,
    deliveries: Arc<watch::Sender<Deliveries>>,
) {
    while let Some(alert) = rx.recv().await {
        let delivered = deliver_one(sink.as_ref(), &alert, retry).await;
        deliveries.send_modify(|d| {
            d.pending = d.pending.saturating_sub(1);
            if delivered {
                d.delivered += 1;
            } else {
                d.failed += 1;
            }
        });
        let outcome = if delivered { "delivered" } else { "failed" };
        metrics::counter!(m::ALERT_DELIVERIES, "sink" => sink.name(), "outcome" => outcome)
            .increment(1);
    }
}

/// Tries to deliver `alert` up to `retry.attempts` times; whether it got through.
async fn deliver_one(sink: &dyn Sink, alert: &Alert, retry: Retry) -> bool {
    let attempts = retry.attempts.max(1);
    for attempt in 1..=attempts {
        match sink.deliver(alert).await {
            Ok(()) => {
                info!(alert_id = %alert.id, kind = alert.kind.as_str(), attempt, "alert delivered");
                return true;
            }
            Err(DeliveryError::Transient(error)) if attempt < attempts => {
                let wait = retry.delay_after(attempt);
                warn!(
                    alert_id = %alert.id,
                    kind = alert.kind.as_str(),
                    attempt,
                    %error,
                    retry_in = %humantime::format_duration(wait),
                    "alert delivery failed; retrying"
                );
                tokio::time::sleep(wait).await;
            }
            Err(error) => {
                error!(
                    alert_id = %alert.id,
                    kind = alert.kind.as_str(),
                    attempt,
                    %error,
                    "alert delivery failed; giving up"
                );
                return false;
            }
        }
    }
    false
}
