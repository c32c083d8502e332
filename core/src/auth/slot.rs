//! The front door's hold on a connection not yet logged in (`limits.max_unauthenticated`
//! and the per-source cap, R-13-5): what it holds is the front door's business; the SSH and
//! RDP services only drop it when the login succeeds (closing the connection drops it too).

/// A place under the caps on connections not yet logged in, given back when dropped.
pub struct UnauthenticatedSlot {
    _held: Box<dyn Send + Sync>,
}

impl UnauthenticatedSlot {
    /// A slot holding `held` (semaphore permits, a source's count) until it is dropped.
    pub fn new<T: Send + Sync + 'static>(held: T) -> Self {
        Self {
            _held: Box::new(held),
        }
    }
}

impl std::fmt::Debug for UnauthenticatedSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnauthenticatedSlot")
    }
}
