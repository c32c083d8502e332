//! Connections not yet logged in, capped per source address (issue 12: one address can't
//! take every slot of `limits.max_unauthenticated`), and the slot that travels with a
//! connection until its login succeeds.

use fumidai_core::auth::UnauthenticatedSlot;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OwnedSemaphorePermit;

/// Counts connections not yet logged in per source.
#[derive(Debug)]
pub(super) struct SourceCaps {
    /// At most this many per source.
    max: usize,
    /// Open now, by source; an entry goes when its count reaches zero, so the map holds
    /// only sources with connections open (at most `max_unauthenticated` of them).
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl SourceCaps {
    pub(super) fn new(max: usize) -> Self {
        Self {
            max,
            open: Arc::default(),
        }
    }

    /// A slot for one more connection from `ip`, unless it has `max` open already.
    pub(super) fn try_take(&self, ip: IpAddr) -> Option<SourceSlot> {
        let key = source_key(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(key).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count = count.saturating_add(1);
        Some(SourceSlot {
            open: Arc::clone(&self.open),
            key,
        })
    }
}

/// One connection's place in its source's count; given back when dropped.
#[derive(Debug)]
pub(super) struct SourceSlot {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    key: IpAddr,
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The slot for a connection under the global cap and its source's.
pub(super) fn unauthenticated_slot(
    global: OwnedSemaphorePermit,
    source: SourceSlot,
) -> UnauthenticatedSlot {
    UnauthenticatedSlot::new((global, source))
}

/// The unit a source is counted in: the IPv4 address, or the IPv6 /64 (one subscriber's
/// usual allocation: counting single IPv6 addresses would give each attacker 2^64 caps).
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_at_most_max_and_slots_come_back() {
        let caps = SourceCaps::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = caps.try_take(a).unwrap();
        let _second = caps.try_take(a).unwrap();
        assert!(caps.try_take(a).is_none(), "third from one source");
        assert!(caps.try_take(b).is_some(), "another source is unaffected");
        drop(first);
        assert!(caps.try_take(a).is_some(), "a freed slot comes back");
    }

    #[test]
    fn the_map_forgets_sources_with_nothing_open() {
        let caps = SourceCaps::new(4);
        for i in 0..100_u8 {
            let slot = caps.try_take(IpAddr::from([10, 0, 0, i]));
            drop(slot);
        }
        assert!(caps.open.lock().unwrap().is_empty());
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let table: &[(&str, &str)] = &[
            ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::"),
            ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::"),
            ("::ffff:192.0.2.9", "192.0.2.9"),
            ("198.51.100.7", "198.51.100.7"),
        ];
        for (ip, key) in table {
            assert_eq!(
                source_key(ip.parse().unwrap()),
                key.parse::<IpAddr>().unwrap(),
                "{ip}"
            );
        }
    }
}
