//! The inspector a channel gets once its work is known: SFTP (every operation judged, every
//! file on record) or a legacy `scp -f` download (every file on record). Channels without
//! one have their bytes recorded as they pass.

use bytes::Bytes;

use super::scp::{ScpError, ScpSourceInspector};
use super::sftp::wire::WireError;
use super::sftp::{Action, SftpInspector};

/// A channel's inspector.
#[derive(Debug)]
pub enum ChannelInspector {
    /// The `sftp` subsystem.
    Sftp(SftpInspector),
    /// `scp -f` on the target (a legacy `scp -O` download).
    ScpSource(ScpSourceInspector),
}

/// The stream is not the protocol the channel claims: the channel ends (fail closed).
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// Not SFTP.
    #[error("{0}")]
    Sftp(#[from] WireError),
    /// Not SCP.
    #[error("{0}")]
    Scp(#[from] ScpError),
}

impl ChannelInspector {
    /// What the engineer sent.
    pub fn from_engineer(&mut self, data: &[u8]) -> Result<Vec<Action>, InspectError> {
        match self {
            Self::Sftp(i) => Ok(i.from_engineer(data)?),
            Self::ScpSource(i) => Ok(i.from_engineer(data)),
        }
    }

    /// What the target sent.
    pub fn from_target(&mut self, data: &[u8]) -> Result<Vec<Action>, InspectError> {
        match self {
            Self::Sftp(i) => Ok(i.from_target(data)?),
            Self::ScpSource(i) => Ok(i.from_target(data)?),
        }
    }

    /// An upload the virus scan refused: what removes it from the target.
    pub fn quarantine(&mut self, handle: &Bytes, note: String) -> Vec<Action> {
        match self {
            Self::Sftp(i) => i.quarantine(handle, note),
            Self::ScpSource(_) => Vec::new(),
        }
    }

    /// The channel ended: files still open go on record.
    pub fn finish(&mut self) -> Vec<Action> {
        match self {
            Self::Sftp(i) => i.finish(),
            Self::ScpSource(i) => i.finish(),
        }
    }
}
