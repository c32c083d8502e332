//! The cap on channels one login has open towards its target at once: proxied session
//! channels and TCP forwards together (issue 12: the 4-channel cap per login did not
//! apply to proxied channels, and 9 ran). Each holds a slot until its bridge or relay
//! task ends, however it ends, so channels the gateway closes first are given back too
//! (russh calls `channel_close` only when the client closes first).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::handler::{ConnectionHandler, MAX_SESSION_CHANNELS};

/// One open channel's place under the cap; given back when dropped.
#[derive(Debug)]
pub(super) struct ChannelSlot(Arc<AtomicUsize>);

impl Drop for ChannelSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnectionHandler {
    /// A slot for one more channel to the target, unless `MAX_SESSION_CHANNELS` are open.
    pub(super) fn take_channel_slot(&self) -> Option<ChannelSlot> {
        let open = &self.proxied_channels;
        open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < MAX_SESSION_CHANNELS).then_some(n.saturating_add(1))
        })
        .ok()
        .map(|_| ChannelSlot(Arc::clone(open)))
    }
}
