//! What a peer did that SFTP does not allow: the channel ends and the audit trail says why
//! (`transfer.protocol_violation`). A stock client never does any of it; a hand-written
//! one that does is trying to get a request past the inspector (§7 ②, R-10-6).

use super::super::wire::WireError;

/// Why an SFTP channel was ended by the inspector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// A request reused the ID of one still waiting for its reply: the replies could no
    /// longer be told apart, so what the inspector knows of them would be wrong.
    #[error("request id {0} reused while its request is pending")]
    DuplicateRequestId(u32),
    /// A request named a handle the target never gave (or one already closed).
    #[error("request on a handle the target never gave")]
    UnknownHandle,
    /// The target answered a request nobody sent (or answered one twice).
    #[error("reply {0} to no pending request")]
    UnexpectedReply(u32),
    /// The byte stream did not hold SFTP v3.
    #[error("{0}")]
    Malformed(#[from] WireError),
}

impl Violation {
    /// Stable name for the audit trail.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::DuplicateRequestId(_) => "duplicate_request_id",
            Self::UnknownHandle => "unknown_handle",
            Self::UnexpectedReply(_) => "unexpected_reply",
            Self::Malformed(WireError::Version(_)) => "unsupported_version",
            Self::Malformed(_) => "malformed_packet",
        }
    }

    /// What the engineer reads on stderr before the channel closes.
    pub fn message(&self) -> String {
        format!(
            "fumidai: SFTP のプロトコル違反のため、このチャネルを終了しました（{}）/ this SFTP channel was ended: protocol violation ({})\r\n",
            self.reason(),
            self
        )
    }
}
