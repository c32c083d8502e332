//! Where clamd listens and what a scanner needs (`[transfers]`): plain settings, parsed
//! once here. The client that talks to clamd is the gateway's (`fumidai_gateway::clamd`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Where clamd listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClamdSocket {
    /// clamd's `LocalSocket`, e.g. `/run/clamav/clamd.ctl`: the usual and preferred way.
    Unix(PathBuf),
    /// clamd's `TCPSocket` on a loopback address. clamd's TCP protocol has no
    /// authentication or encryption, so no other address is accepted.
    Tcp(SocketAddr),
}

/// Why a clamd address was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClamdSocketError {
    /// Neither an absolute path nor an address.
    #[error("clamd_socket must be an absolute path (clamd's LocalSocket) or a loopback IP:PORT")]
    Malformed,
    /// A TCP address off this machine.
    #[error(
        "clamd_socket {0} is not a loopback address: clamd's TCP protocol is unauthenticated and unencrypted"
    )]
    NotLoopback(SocketAddr),
}

impl FromStr for ClamdSocket {
    type Err = ClamdSocketError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return if addr.ip().is_loopback() {
                Ok(Self::Tcp(addr))
            } else {
                Err(ClamdSocketError::NotLoopback(addr))
            };
        }
        let path = PathBuf::from(s);
        if path.is_absolute() {
            Ok(Self::Unix(path))
        } else {
            Err(ClamdSocketError::Malformed)
        }
    }
}

impl TryFrom<String> for ClamdSocket {
    type Error = ClamdSocketError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl<'de> serde::Deserialize<'de> for ClamdSocket {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ClamdSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "{}", path.display()),
            Self::Tcp(addr) => write!(f, "{addr}"),
        }
    }
}

/// What a `Scanner` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerConfig {
    /// Where clamd listens.
    pub socket: ClamdSocket,
    /// The longest clamd may take for any one step: to accept the connection, to take
    /// one chunk (backpressure beyond that is clamd stuck, not busy), and to give its
    /// verdict once the stream has ended (which includes scanning the whole upload).
    pub timeout: Duration,
    /// The most bytes one scan may stream. Feeding more fails with
    /// `ClamdError::TooLarge` before anything is sent: the upload must be refused, as
    /// a file that can't be scanned can't be called clean.
    pub max_stream: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_are_absolute_paths_or_loopback_addresses() {
        assert_eq!(
            "/run/clamav/clamd.ctl".parse(),
            Ok(ClamdSocket::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert_eq!(
            "127.0.0.1:3310".parse(),
            Ok(ClamdSocket::Tcp(SocketAddr::from(([127, 0, 0, 1], 3310))))
        );
        assert!(matches!(
            "[::1]:3310".parse::<ClamdSocket>(),
            Ok(ClamdSocket::Tcp(_))
        ));
        assert_eq!(
            "10.0.0.5:3310".parse::<ClamdSocket>(),
            Err(ClamdSocketError::NotLoopback(SocketAddr::from((
                [10, 0, 0, 5],
                3310
            ))))
        );
        for bad in ["clamd.ctl", "", "localhost:3310"] {
            assert_eq!(
                bad.parse::<ClamdSocket>(),
                Err(ClamdSocketError::Malformed),
                "{bad}"
            );
        }
    }
}
