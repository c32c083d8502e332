//! The recording of one RDP session (R-10-3, R-17-1): the decoder state and every
//! decrypted server→client frame and client→server input frame, timestamped and written
//! off the forwarding path by `recorder::rdp`, sealed when the session ends and the seal
//! kept in the audit chain like SSH recordings' (`fumidai audit verify` checks it).
//!
//! Fail closed: a recording that can't be opened refuses the session; a write error ends
//! it.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use policy::ids::{Login, PlanId, SessionId, TargetName};
use recorder::Sealed;
use recorder::id::RecordingKind;
use recorder::rdp::{
    LeftDesktop, RdpHeader, RdpRecorder, RdpRecorderConfig, RdpRecorderHandle, RdpState,
};
use tokio::sync::Mutex;

use fumidai_core::session::RecordingSettings;

/// A write failed: the session must end.
#[derive(Debug, thiserror::Error)]
#[error("the recording failed: {0}")]
pub struct RecordingFailed(pub String);

/// The recording, as the relay feeds it.
pub struct SessionRecording {
    settings: Arc<RecordingSettings>,
    handle: RdpRecorderHandle,
    task: Mutex<Option<tokio::task::JoinHandle<recorder::Result<()>>>>,
    /// The live registry's feed of this session's desktop, for operators watching it at
    /// the console: what is recorded is what they see (set once the session is
    /// registered).
    live: std::sync::OnceLock<fumidai_core::live::DesktopFeed>,
}

/// What names a session's recording.
pub struct RecordingSubject<'a> {
    /// The session.
    pub session: SessionId,
    /// Who.
    pub engineer: &'a Login,
    /// Where to.
    pub target: &'a TargetName,
    /// Under which plan.
    pub plan: PlanId,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The desktop an earlier session left, which this one may resume.
    pub may_resume: Option<LeftDesktop>,
}

impl SessionRecording {
    /// Opens the session's recording file and starts its writer (fail closed).
    pub async fn start(
        settings: &Arc<RecordingSettings>,
        subject: &RecordingSubject<'_>,
    ) -> Result<Self, RecordingFailed> {
        let header = RdpHeader {
            session_id: *subject.session.as_uuid(),
            engineer: subject.engineer.to_string(),
            target: subject.target.to_string(),
            plan_id: subject.plan.to_string(),
            started_at: subject.started_at,
            gateway_version: env!("CARGO_PKG_VERSION").to_owned(),
            may_resume: subject.may_resume.clone(),
        };
        let storage = Arc::clone(&settings.storage);
        let id = header.recording_id();
        let started = subject.started_at;
        let sink =
            tokio::task::spawn_blocking(move || storage.open_as(RecordingKind::Rdp, &id, started))
                .await
                .map_err(|e| RecordingFailed(e.to_string()))?
                .map_err(|e| RecordingFailed(e.to_string()))?;
        let (handle, task) = RdpRecorder::start(sink, &header, RdpRecorderConfig::default())
            .map_err(|e| RecordingFailed(e.to_string()))?;
        Ok(Self {
            settings: Arc::clone(settings),
            handle,
            task: Mutex::new(Some(task)),
            live: std::sync::OnceLock::new(),
        })
    }

    /// Also feeds what is recorded to the live registry's watchers of the session.
    pub fn tap(&self, feed: fumidai_core::live::DesktopFeed) {
        let _ = self.live.set(feed);
    }

    /// The decoder state changed.
    pub async fn state(&self, state: &RdpState) -> Result<(), RecordingFailed> {
        if let Some(feed) = self.live.get() {
            feed.state(state);
        }
        self.handle
            .state(state.clone())
            .await
            .map_err(|e| RecordingFailed(e.to_string()))
    }

    /// One server→client frame.
    pub async fn server_frame(&self, frame: Bytes) -> Result<(), RecordingFailed> {
        if let Some(feed) = self.live.get() {
            feed.server_frame(&frame);
        }
        self.handle
            .server_frame(frame)
            .await
            .map_err(|e| RecordingFailed(e.to_string()))
    }

    /// One client→server input frame.
    pub async fn client_frame(&self, frame: Bytes) -> Result<(), RecordingFailed> {
        self.handle
            .client_frame(frame)
            .await
            .map_err(|e| RecordingFailed(e.to_string()))
    }

    /// Flushes, closes and seals the file (digest and signature for the audit chain).
    pub async fn finish(&self) -> Result<Sealed, RecordingFailed> {
        let sealed = self
            .handle
            .finish(&self.settings.signing_key)
            .await
            .map_err(|e| RecordingFailed(e.to_string()));
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
        sealed
    }
}
