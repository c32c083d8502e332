//! The inspector a channel gets once its work is known: SFTP (every operation judged, every
//! file on record) or a legacy `scp -f` download (every file on record). Channels without
//! one have their bytes recorded as they pass.

use super::scp::{ScpError, ScpSourceInspector};
use super::sftp::inspector::Leftovers;
use super::sftp::{Action, SftpInspector, Violation};

/// A channel's inspector.
#[derive(Debug)]
pub enum ChannelInspector {
    /// The `sftp` subsystem, or an SFTP server started by exec.
    Sftp(SftpInspector),
    /// `scp -f` on the target (a legacy `scp -O` download).
    ScpSource(ScpSourceInspector),
    /// `scp -t` on the target (a legacy `scp -O` upload, only with every kind declared):
    /// the engineer's stream is read as `ScpSource` reads the target's.
    ScpSink(ScpSourceInspector),
}

/// The stream is not the protocol the channel claims, or breaks it: the channel ends
/// (fail closed).
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// SFTP broken.
    #[error("{0}")]
    Sftp(#[from] Violation),
    /// Not SCP.
    #[error("{0}")]
    Scp(#[from] ScpError),
}

impl InspectError {
    /// The audit trail's reason, for a protocol violation; `None` for a stream that was
    /// never the protocol.
    pub fn violation(&self) -> Option<&Violation> {
        match self {
            Self::Sftp(v) => Some(v),
            Self::Scp(_) => None,
        }
    }
}

impl ChannelInspector {
    /// What the engineer sent.
    pub fn from_engineer(&mut self, data: &[u8]) -> Result<Vec<Action>, InspectError> {
        match self {
            Self::Sftp(i) => Ok(i.from_engineer(data)?),
            Self::ScpSource(i) => Ok(i.from_engineer(data)),
            Self::ScpSink(i) => Ok(swapped(i.from_target(data)?)),
        }
    }

    /// What the target sent.
    pub fn from_target(&mut self, data: &[u8]) -> Result<Vec<Action>, InspectError> {
        match self {
            Self::Sftp(i) => Ok(i.from_target(data)?),
            Self::ScpSource(i) => Ok(i.from_target(data)?),
            Self::ScpSink(i) => Ok(swapped(i.from_engineer(data))),
        }
    }

    /// The virus scan's verdict on an upload: what accepts or removes it.
    pub fn scanned(&mut self, file: u64, verdict: Result<(), String>) -> Vec<Action> {
        match self {
            Self::Sftp(i) => i.scanned(file, verdict),
            Self::ScpSource(_) | Self::ScpSink(_) => Vec::new(),
        }
    }

    /// The channel ended: files still open go on record, temporary files are named.
    pub fn finish(&mut self) -> Leftovers {
        match self {
            Self::Sftp(i) => i.finish(),
            Self::ScpSource(i) | Self::ScpSink(i) => Leftovers {
                records: i
                    .finish()
                    .into_iter()
                    .filter_map(|a| match a {
                        Action::Transfer(record) => Some(record),
                        _ => None,
                    })
                    .collect(),
                temp_files: Vec::new(),
            },
        }
    }
}

/// An SCP reader's actions with the sides swapped, for a stream read the other way.
fn swapped(actions: Vec<Action>) -> Vec<Action> {
    actions
        .into_iter()
        .map(|action| match action {
            Action::ToTarget(data) => Action::ToEngineer(data),
            Action::ToEngineer(data) => Action::ToTarget(data),
            other => other,
        })
        .collect()
}
