//! The RDP side of the live registry (`fumidai_core::live`).

use async_trait::async_trait;
use fumidai_core::live::{Hangup, LiveConnection};

/// An RDP session, as the live registry sees it. RDP gives fumidai nowhere to write a
/// message (no stderr; the engineer sees the desktop), so a warning is not shown; and the
/// session is ended by its [`relay`](super::relay), which watches the session's
/// `EndSignal` — decided by the registry before it hangs up — and closes both legs itself.
#[derive(Debug)]
pub(super) struct RdpConnection;

#[async_trait]
impl LiveConnection for RdpConnection {
    async fn warn(&self, _text: &str) {}

    async fn disconnect(&self, _why: &Hangup) {}
}
