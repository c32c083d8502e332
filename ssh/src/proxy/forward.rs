//! A TCP forward (`ssh -L`): the engineer's `direct-tcpip` channel relayed to a
//! `direct-tcpip` channel the gateway opened on the target's SSH connection, so the
//! target's sshd resolves the destination and applies its own `AllowTcpForwarding`.
//! Whether the forward may exist at all is `policy::forward`'s decision, taken before.
//!
//! Bytes are counted each way and go into `forward.closed`; each direction awaits its
//! write before reading more, so a slow side slows the other (backpressure end to end,
//! through the SSH windows on both legs).

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use store::{Actor, AuditEvent, AuditKind};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::session::{ProxyContext, TargetSession};
use fumidai_core::live::Activity;

/// Bytes read at once from either side; the SSH packet size is smaller anyway.
const CHUNK: usize = 32 * 1024;

/// How a relay ended.
#[derive(Debug)]
pub struct Relayed {
    /// Bytes from the engineer to the target.
    pub up: u64,
    /// Bytes from the target to the engineer.
    pub down: u64,
    /// The first error on either side; `None` when both sides ended with EOF.
    pub error: Option<std::io::Error>,
}

/// Relays `engineer` ↔ `target` until both directions have ended (EOF is passed on as a
/// half-close) or either fails; every chunk touches `activity`, so a forward in use
/// keeps its session from the idle time-out.
pub async fn relay<E, T>(engineer: E, target: T, activity: Option<Activity>) -> Relayed
where
    E: AsyncRead + AsyncWrite,
    T: AsyncRead + AsyncWrite,
{
    let (from_engineer, to_engineer) = tokio::io::split(engineer);
    let (from_target, to_target) = tokio::io::split(target);
    let (up, down) = (AtomicU64::new(0), AtomicU64::new(0));
    let upstream = pump(from_engineer, to_target, &up, activity.as_ref());
    let downstream = pump(from_target, to_engineer, &down, activity.as_ref());
    tokio::pin!(upstream, downstream);
    // One side failing ends both: the other would otherwise wait forever on a dead peer.
    let error = tokio::select! {
        r = &mut upstream => match r {
            Ok(()) => downstream.await.err(),
            Err(e) => Some(e),
        },
        r = &mut downstream => match r {
            Ok(()) => upstream.await.err(),
            Err(e) => Some(e),
        },
    };
    Relayed {
        up: up.load(Ordering::Relaxed),
        down: down.load(Ordering::Relaxed),
        error,
    }
}

/// Copies `from` to `to` until EOF, then shuts `to` down (EOF on the SSH channel).
async fn pump<R, W>(
    mut from: R,
    mut to: W,
    count: &AtomicU64,
    activity: Option<&Activity>,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0_u8; CHUNK];
    loop {
        let n = from.read(&mut buf).await?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        to.write_all(chunk).await?;
        count.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(activity) = activity {
            activity.touch();
        }
    }
    to.shutdown().await
}

impl ProxyContext {
    /// Appends a forward event about `session` (subject: the target, like transfers).
    /// Returns the store's error so an open can fail closed when it can't be recorded.
    pub async fn record_forward(
        &self,
        session: &TargetSession,
        kind: AuditKind,
        mut detail: Value,
    ) -> store::Result<()> {
        if let Some(map) = detail.as_object_mut() {
            map.insert("session_id".into(), json!(session.id.to_string()));
            map.insert("target".into(), json!(session.target.as_str()));
            map.insert("plan_id".into(), json!(session.plan.to_string()));
        }
        let event = AuditEvent::new(
            kind,
            Actor::Person(session.engineer.clone()),
            session.target.as_str(),
        )
        .with_detail(detail);
        self.sessions.store.append_audit(event).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn relays_both_ways_passes_half_close_on_and_counts() {
        let (engineer, mut laptop) = tokio::io::duplex(64);
        let (target, mut service) = tokio::io::duplex(64);
        let relaying = tokio::spawn(relay(engineer, target, None));
        // More than both buffers hold: only backpressure gets it through.
        let sent = vec![7_u8; 100_000];
        let payload = sent.clone();
        let writer = tokio::spawn(async move {
            laptop.write_all(&payload).await.unwrap();
            laptop.shutdown().await.unwrap();
            let mut back = Vec::new();
            laptop.read_to_end(&mut back).await.unwrap();
            back
        });
        let mut received = Vec::new();
        service.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, sent, "EOF reached the service after every byte");
        service.write_all(b"pong").await.unwrap();
        service.shutdown().await.unwrap();
        assert_eq!(writer.await.unwrap(), b"pong");
        let relayed = relaying.await.unwrap();
        assert_eq!((relayed.up, relayed.down), (100_000, 4));
        assert!(relayed.error.is_none(), "{:?}", relayed.error);
    }
}
