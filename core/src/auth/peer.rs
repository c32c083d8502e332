//! Who a client certificate names: its CN as a [`Login`] and its serial. Reading it from a
//! certificate is the gateway's (`pki::peer_identity`), after the TLS handshake verified the
//! certificate against the pinned CA and the revocation set.

use policy::ids::Login;
use store::CertSerial;

/// The person and device behind a verified client certificate. The SSH login must equal
/// `login`, so one engineer can't use another's device (R-10.2-PRIV).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerIdentity {
    /// The certificate's CN.
    pub login: Login,
    /// The certificate's serial, for the audit trail and revocation.
    pub serial: CertSerial,
}
