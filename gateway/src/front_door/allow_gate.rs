//! Sources outside every vendor's allow list, closed at accept (R-10.2-PATH, issue 12).
//!
//! When every vendor has an allow list, no engineer can log in from an address outside
//! their union, so such a connection is closed before any TLS work, and counted in
//! metrics (`outcome="source_not_allowed"`), not audited: an audit record per connection
//! would let a flood write the audit chain. The per-vendor check after the handshake
//! still runs and is audited. When any vendor has no list (or there are no vendors, or
//! the lists were never read), the gate is open.

use std::net::IpAddr;
use std::sync::{PoisonError, RwLock};

use ipnet::IpNet;
use store::Vendor;

/// The cached union of the vendors' allow lists.
#[derive(Debug, Default)]
pub(super) struct AllowGate {
    /// `None`: open. `Some`: only these networks get past accept.
    union: RwLock<Option<Vec<IpNet>>>,
}

impl AllowGate {
    /// Whether a connection from `ip` may go on to the handshake.
    pub(super) fn admits(&self, ip: IpAddr) -> bool {
        let union = self.union.read().unwrap_or_else(PoisonError::into_inner);
        match union.as_deref() {
            None => true,
            Some(nets) => policy::network::source_allowed(nets, ip),
        }
    }

    /// Replaces the cache from the vendors as just read from the store.
    pub(super) fn refresh(&self, vendors: &[Vendor]) {
        let union = policy::flood::accept_union(vendors.iter().map(|v| v.allow_from.as_slice()));
        *self.union.write().unwrap_or_else(PoisonError::into_inner) = union;
    }
}
