//! Which service a TLS connection goes to, from the ALPN protocol it negotiated.

/// Where a connection goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The SSH service (ALPN `ssh`, or none: stock `openssl s_client` and older clients
    /// offer none).
    Ssh,
    /// The RDP service (ALPN `rdp`: `fumidai connect rdp`'s tunnel).
    Rdp,
    /// Closed, for this reason.
    Refuse(Refusal),
}

/// Why a connection was closed before reaching a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// RDP is not offered by this gateway.
    RdpNotOffered,
    /// The vendor portal (HTTP) is not offered yet.
    HttpNotOffered,
    /// An ALPN protocol the gateway never advertises.
    UnknownProtocol,
}

impl Refusal {
    /// Stable name for logs, metrics and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RdpNotOffered => "rdp_not_offered",
            Self::HttpNotOffered => "http_not_offered",
            Self::UnknownProtocol => "unknown_protocol",
        }
    }
}

/// Routes by the negotiated ALPN protocol.
pub fn route(alpn: Option<&[u8]>) -> Route {
    match alpn {
        None | Some(b"ssh") => Route::Ssh,
        Some(b"rdp") => Route::Rdp,
        Some(b"h2" | b"http/1.1") => Route::Refuse(Refusal::HttpNotOffered),
        Some(_) => Route::Refuse(Refusal::UnknownProtocol),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let table: &[(Option<&[u8]>, Route)] = &[
            (None, Route::Ssh),
            (Some(b"ssh"), Route::Ssh),
            (Some(b"rdp"), Route::Rdp),
            (Some(b"h2"), Route::Refuse(Refusal::HttpNotOffered)),
            (Some(b"http/1.1"), Route::Refuse(Refusal::HttpNotOffered)),
            (Some(b"SSH"), Route::Refuse(Refusal::UnknownProtocol)),
        ];
        for (alpn, expected) in table {
            assert_eq!(route(*alpn), *expected, "{alpn:?}");
        }
    }
}
