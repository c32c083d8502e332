//! The set of revoked certificate serials, shared between the front door (which refreshes it
//! from the store before every handshake) and the client certificate verifier (which reads
//! it, synchronously, during the handshake).
//!
//! It does not load anything itself; revocation is checked at every handshake because
//! resumption is off (see `server.rs`).

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};

use store::CertSerial;

/// Revoked serials. Clones share one set, so a serial added after a `ServerConfig` was
/// built refuses the very next handshake, with no rebuild.
#[derive(Debug, Clone, Default)]
pub struct Revocations {
    /// Read by every handshake, written on refresh; a whole new set is swapped in at once.
    serials: Arc<RwLock<HashSet<CertSerial>>>,
}

impl Revocations {
    /// Replace the whole set with `serials`.
    pub fn replace(&self, serials: impl IntoIterator<Item = CertSerial>) {
        // Build outside the lock: the lock is held only for a pointer swap, so handshakes
        // never wait on a large refresh.
        let fresh: HashSet<CertSerial> = serials.into_iter().collect();
        // A poisoned lock still holds a whole set (a panic can't interrupt the swap
        // half-way), and refusing to update would keep revoked certificates usable.
        let mut guard = self.serials.write().unwrap_or_else(PoisonError::into_inner);
        *guard = fresh;
    }

    /// Whether `serial` is revoked.
    pub fn contains(&self, serial: &CertSerial) -> bool {
        let guard = self.serials.read().unwrap_or_else(PoisonError::into_inner);
        guard.contains(serial)
    }

    /// How many serials are revoked.
    pub fn len(&self) -> usize {
        self.serials
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether nothing is revoked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serial(hex: &str) -> CertSerial {
        CertSerial::parse(hex).unwrap()
    }

    #[test]
    fn clones_share_the_set_and_replace_replaces() {
        let a = Revocations::default();
        let b = a.clone();
        assert!(b.is_empty());
        a.replace([serial("01"), serial("0a:bc")]);
        // Same numbers, spelled differently.
        assert!(b.contains(&serial("0ABC")));
        assert!(b.contains(&serial("00:01")));
        assert_eq!(b.len(), 2);
        b.replace([serial("02")]);
        assert!(!a.contains(&serial("01")));
        assert!(a.contains(&serial("02")));
        a.replace(std::iter::empty());
        assert!(b.is_empty());
    }
}
