//! Where a TCP forward (`ssh -L`, a `direct-tcpip` channel) may go (R-13-7: no
//! "cross-over" into other hosts; forwarding only as the plan allows).
//!
//! A forward is opened *on the target's SSH connection*, so the destination is resolved
//! by the target's sshd, as seen from the target. The only destination allowed is the
//! target itself, named the one way that means "this host" on every target:
//! `localhost`, `127.0.0.1` or `::1` (any spelling of it). Deliberately not allowed:
//!
//! - the target's registered host name or address: it is how *fumidai* reaches the
//!   target, and from the target it may resolve elsewhere (split DNS, NAT, a load
//!   balancer's address), which would turn the forward into a way to another host;
//! - the rest of `127.0.0.0/8` and other loopback names: on some systems they are other
//!   services' addresses, and there is no maintenance need for them;
//! - the target's own SSH port (the registered one, and 22): a nested SSH login through
//!   the tunnel would run a session fumidai cannot see or record (R-10-3).
//!
//! Remote forwarding (`ssh -R`, `tcpip-forward`) is never allowed and is not decided here.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::plan::Allowances;

/// The standard SSH port, refused as a destination whatever the target's registered port.
const SSH_PORT: u32 = 22;

/// Why a forward was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardRefusal {
    /// The plan does not allow port forwarding.
    NotInPlan,
    /// The destination is not the target host itself.
    NotTheTarget,
    /// The destination is the target's SSH server: a nested session would not be recorded.
    SshPort,
    /// Port 0 or above 65535.
    InvalidPort,
}

impl ForwardRefusal {
    /// Stable name for the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotInPlan => "forward_not_allowed",
            Self::NotTheTarget => "forward_not_to_target",
            Self::SshPort => "forward_to_ssh_port",
            Self::InvalidPort => "forward_invalid_port",
        }
    }

    /// What the engineer reads, in Japanese.
    pub fn message_ja(self) -> &'static str {
        match self {
            Self::NotInPlan => "作業計画でポート転送が許可されていません",
            Self::NotTheTarget => "ポート転送は接続先ホスト自身（localhost）宛てのみ利用できます",
            Self::SshPort => "接続先の SSH ポートへの転送はできません（記録されないため）",
            Self::InvalidPort => "ポート番号が正しくありません",
        }
    }

    /// What the engineer reads, in English; ASCII, since OpenSSH prints a refused
    /// channel's reason through its logger, which escapes anything else.
    pub fn message_en(self) -> &'static str {
        match self {
            Self::NotInPlan => "port forwarding is not allowed by the work plan",
            Self::NotTheTarget => "port forwarding goes only to the target host itself (localhost)",
            Self::SshPort => {
                "forwarding to the target's SSH port is not allowed (it would not be recorded)"
            }
            Self::InvalidPort => "invalid port",
        }
    }
}

/// Whether a forward to `host:port`, as the engineer asked for it, may be opened on the
/// target's connection. `target_ssh_port` is the port the target's sshd is registered on.
pub fn forward_allowed(
    allow: &Allowances,
    host: &str,
    port: u32,
    target_ssh_port: u16,
) -> Result<(), ForwardRefusal> {
    if !allow.forward {
        return Err(ForwardRefusal::NotInPlan);
    }
    if !is_the_target_itself(host) {
        return Err(ForwardRefusal::NotTheTarget);
    }
    if port == 0 || port > u32::from(u16::MAX) {
        return Err(ForwardRefusal::InvalidPort);
    }
    if port == SSH_PORT || port == u32::from(target_ssh_port) {
        return Err(ForwardRefusal::SshPort);
    }
    Ok(())
}

/// `localhost` (any case), `127.0.0.1` or `::1` in any spelling, optionally in brackets.
fn is_the_target_itself(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(v4) = bare.parse::<Ipv4Addr>() {
        return v4 == Ipv4Addr::LOCALHOST;
    }
    if let Ok(v6) = bare.parse::<Ipv6Addr>() {
        return v6 == Ipv6Addr::LOCALHOST;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORWARD: Allowances = Allowances {
        upload: false,
        download: false,
        forward: true,
        content: crate::transfer::ContentKinds::NONE,
    };

    #[test]
    fn only_the_target_itself_when_the_plan_allows_it() {
        use ForwardRefusal::*;
        let table: &[(&str, u32, Result<(), ForwardRefusal>)] = &[
            ("localhost", 5432, Ok(())),
            ("LocalHost", 5432, Ok(())),
            ("127.0.0.1", 8080, Ok(())),
            ("::1", 8080, Ok(())),
            ("[::1]", 8080, Ok(())),
            ("0:0:0:0:0:0:0:1", 8080, Ok(())),
            ("localhost", 65535, Ok(())),
            ("localhost", 1, Ok(())),
            // Other hosts, as the target would see them.
            ("127.0.0.2", 5432, Err(NotTheTarget)),
            ("127.1", 5432, Err(NotTheTarget)),
            ("0.0.0.0", 5432, Err(NotTheTarget)),
            ("::ffff:127.0.0.1", 5432, Err(NotTheTarget)),
            ("localhost.", 5432, Err(NotTheTarget)),
            ("localhost.example.jp", 5432, Err(NotTheTarget)),
            ("ip6-localhost", 5432, Err(NotTheTarget)),
            ("db02", 5432, Err(NotTheTarget)),
            ("10.0.0.5", 5432, Err(NotTheTarget)),
            ("", 5432, Err(NotTheTarget)),
            ("local\0host", 5432, Err(NotTheTarget)),
            // Ports.
            ("localhost", 0, Err(InvalidPort)),
            ("localhost", 65536, Err(InvalidPort)),
            ("localhost", u32::MAX, Err(InvalidPort)),
            ("localhost", 22, Err(SshPort)),
            ("localhost", 2222, Err(SshPort)),
            ("127.0.0.1", 2222, Err(SshPort)),
        ];
        for (host, port, expected) in table {
            assert_eq!(
                forward_allowed(&FORWARD, host, *port, 2222),
                *expected,
                "{host}:{port}"
            );
        }
    }

    #[test]
    fn nothing_without_forward_in_the_plan() {
        let transfers = Allowances {
            upload: true,
            download: true,
            forward: false,
            content: crate::transfer::ContentKinds::NONE,
        };
        for host in ["localhost", "127.0.0.1", "db02"] {
            assert_eq!(
                forward_allowed(&transfers, host, 5432, 22),
                Err(ForwardRefusal::NotInPlan)
            );
        }
    }

    #[test]
    fn refusals_read_in_both_languages_and_the_english_is_ascii() {
        use ForwardRefusal::*;
        for r in [NotInPlan, NotTheTarget, SshPort, InvalidPort] {
            assert!(r.message_en().is_ascii(), "{r:?}");
            assert!(!r.message_ja().is_ascii(), "{r:?}");
            assert!(r.as_str().starts_with("forward_"), "{r:?}");
        }
    }
}
