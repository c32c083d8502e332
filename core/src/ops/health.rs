//! Liveness for monitoring (R-11-2): the gateway is healthy when its store answers — an
//! unreachable store means no session can start (fail closed), which monitoring must see.

use store::Store;

/// The gateway's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// The store answers: sessions can start.
    Ready,
    /// The store does not answer: no session can start.
    StoreUnreachable,
}

/// Asks the store.
pub async fn check(store: &dyn Store) -> Health {
    match store.ping().await {
        Ok(()) => Health::Ready,
        Err(error) => {
            tracing::warn!(%error, "health check: store unreachable");
            Health::StoreUnreachable
        }
    }
}
