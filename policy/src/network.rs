//! Source-address allow lists (R-10.2-PATH: restrict the terminals and addresses a vendor
//! may connect from).

use std::net::IpAddr;

use ipnet::IpNet;

/// Whether `addr` may connect, given a vendor's allow list. An empty list allows any
/// address: the list is optional per vendor, and the client certificate is still required.
pub fn source_allowed(allow_from: &[IpNet], addr: IpAddr) -> bool {
    let addr = canonical(addr);
    allow_from.is_empty() || allow_from.iter().any(|net| net.contains(&addr))
}

/// IPv4 clients reaching a dual-stack socket appear as `::ffff:a.b.c.d`; compare them as
/// IPv4 so an IPv4 allow list still applies.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        IpAddr::V4(_) => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists() {
        let list: Vec<IpNet> = vec![
            "192.0.2.0/24".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ];
        let table: &[(&[IpNet], &str, bool)] = &[
            (&[], "203.0.113.9", true),
            (&list, "192.0.2.77", true),
            (&list, "::ffff:192.0.2.77", true),
            (&list, "192.0.3.1", false),
            (&list, "2001:db8::1", true),
            (&list, "2001:db9::1", false),
            (&list, "127.0.0.1", false),
        ];
        for (allow, addr, expected) in table {
            assert_eq!(
                source_allowed(allow, addr.parse().unwrap()),
                *expected,
                "{addr}"
            );
        }
    }
}
