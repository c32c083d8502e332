//! Why an RDP connection ended before or instead of its session (STYLE.md §6): the client's
//! faults apart from fumidai's decisions, the target's, the store's and the configuration's,
//! so each can be counted and audited.

use policy::ids::TargetName;

use crate::negotiation::NegotiationError;
use crate::nla::NlaError;
use crate::recording::RecordingFailed;
use fumidai_core::session::Refusal;

/// RDP service results.
pub type Result<T> = std::result::Result<T, RdpError>;

/// Why a connection ended before or instead of its session.
#[derive(Debug, thiserror::Error)]
pub enum RdpError {
    /// The client's X.224 request was refused or was not RDP (peer fault).
    #[error("negotiation: {0}")]
    Negotiation(#[from] NegotiationError),
    /// The client sent bytes before the TLS handshake (peer fault).
    #[error("data before the TLS handshake")]
    EarlyData,
    /// The TLS handshake with the client failed (peer fault).
    #[error("TLS: {0}")]
    ClientTls(#[source] std::io::Error),
    /// The client took longer than the handshake time-out to finish NLA (peer fault).
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// NLA refused the client's credential (unknown, used, expired, or CredSSP broken).
    #[error("{0}")]
    Credential(#[source] NlaError),
    /// The client presented a ticket issued to another engineer (left unused).
    #[error("ticket of another engineer")]
    OtherEngineersTicket,
    /// A decision refused the session: admission, the login re-check, recording.
    #[error("{}", .0.one_line())]
    Refused(Refusal),
    /// The target presented another certificate than the pinned one (audited, alerted).
    #[error("the target's certificate does not match the pinned one")]
    PinMismatch,
    /// The target could not be reached or refused fumidai's logon.
    #[error("cannot reach target {target}: {detail}")]
    TargetUnreachable {
        /// Which target.
        target: TargetName,
        /// What failed, for the log.
        detail: String,
    },
    /// The target's registration can't serve RDP (configuration).
    #[error("target {0}")]
    Target(#[from] TargetSetupError),
    /// The store failed (fail closed).
    #[error("store: {0}")]
    Store(#[from] store::Error),
    /// The recording could not be started (fail closed, R-10-3).
    #[error("recording: {0}")]
    Recording(#[from] RecordingFailed),
}

/// Why a registered target can't be used for RDP (an operator must fix its registration).
#[derive(Debug, thiserror::Error)]
pub enum TargetSetupError {
    /// No target by that name.
    #[error("{0} is not registered")]
    NotRegistered(TargetName),
    /// The target is an SSH server.
    #[error("{0} is not an RDP server")]
    NotRdp(TargetName),
    /// No password is stored for it.
    #[error("{0} has no stored password")]
    NoPassword(TargetName),
    /// The stored password is not UTF-8.
    #[error("{0}: the stored password is not text")]
    PasswordNotText(TargetName),
}
