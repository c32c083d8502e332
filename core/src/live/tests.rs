//! The registry without any protocol: a connection that notes what it was asked to do
//! stands for SSH or RDP (their own tests drive real clients: the gateway's
//! `ssh::live::tests`, the end-to-end tests). This is what a console sees: it lists and
//! kills through the registry alone.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use policy::ids::{PlanId, SessionId};
use policy::limits::EndReason;

use super::*;

/// What the registry asked of a connection, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Asked {
    Warn(String),
    Disconnect(Hangup),
}

#[derive(Debug, Default)]
struct Noted(Mutex<Vec<Asked>>);

#[async_trait]
impl LiveConnection for Noted {
    async fn warn(&self, text: &str) {
        self.0.lock().unwrap().push(Asked::Warn(text.to_owned()));
    }

    async fn disconnect(&self, why: &Hangup) {
        self.0.lock().unwrap().push(Asked::Disconnect(why.clone()));
    }
}

impl Noted {
    fn asked(&self) -> Vec<Asked> {
        self.0.lock().unwrap().clone()
    }
}

fn parts(id: SessionId) -> SessionParts {
    let now = Utc::now();
    SessionParts {
        id,
        engineer: "alice".parse().unwrap(),
        target: "db01".parse().unwrap(),
        plan: PlanId::generate(),
        serial: None,
        started_at: now,
        window_ends_at: now + TimeDelta::hours(1),
    }
}

#[tokio::test]
async fn a_kill_tells_then_hangs_up_once_and_the_listing_follows() {
    let registry = Registry::default();
    let connection = Arc::new(Noted::default());
    let id = SessionId::generate();
    let guard = registry.register(parts(id), connection.clone());
    assert_eq!(registry.sessions().len(), 1);
    assert_eq!(registry.sessions()[0].id, id);
    assert_eq!(registry.sessions()[0].ending, None);

    assert!(registry.end(&id, EndReason::Killed, "bye\r\n").await);
    assert!(!registry.end(&id, EndReason::Idle, "again\r\n").await);
    assert!(
        !registry
            .end(&SessionId::generate(), EndReason::Killed, "")
            .await
    );
    assert_eq!(
        connection.asked(),
        vec![
            Asked::Warn("bye\r\n".to_owned()),
            Asked::Disconnect(Hangup::SessionEnded(EndReason::Killed)),
        ]
    );
    assert_eq!(registry.sessions()[0].ending, Some(EndReason::Killed));
    assert_eq!(guard.end_reason(), Some(EndReason::Killed));

    let signal = guard.end_signal();
    drop(guard);
    assert!(registry.sessions().is_empty());
    assert_eq!(signal.ended().await, EndReason::Killed);
}

#[tokio::test]
async fn a_guard_dropped_leaves_a_later_registration_under_the_same_id() {
    let registry = Registry::default();
    let id = SessionId::generate();
    let first = registry.register(parts(id), Arc::new(Noted::default()));
    let second = registry.register(parts(id), Arc::new(Noted::default()));
    drop(first);
    assert_eq!(registry.sessions().len(), 1);
    drop(second);
    assert!(registry.sessions().is_empty());
}
