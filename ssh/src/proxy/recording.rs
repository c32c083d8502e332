//! The recording of one bridged channel (R-10-3, R-17-1): an asciicast started when the
//! channel's shell, command or subsystem starts, fed by the bridge, sealed when the
//! channel ends. Interactive (pty) channels record output in the cast; others (`scp`,
//! `sftp`, piped commands) put their bytes in the side file, so bulk transfers stay compact.
//!
//! Fail closed: if the recording can't be opened the channel's request is refused, and if a
//! write fails the bridge ends the channel.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use chrono::Utc;
use recorder::format::asciicast::{DataMode, FumidaiMeta, Header, SessionKind};
use recorder::{Recorder, RecorderConfig, RecorderHandle, RecordingId, Sealed};
use tokio::sync::Mutex;

use recorder::format::transfers::TransferRecord;
use serde_json::json;
use store::{Actor, AuditEvent, AuditKind, Store};

use super::bridge::{ChannelStart, SessionTap, TapError, Work};
use super::exec_streams::StreamVia;
use super::session::TargetSession;
use super::sftp::{FileChange, Violation};
use fumidai_core::live::{Activity, Registry, ScreenFeed};
pub use fumidai_core::session::RecordingSettings;

/// The recording of one channel, begun lazily by the bridge.
pub struct ChannelRecording {
    settings: Arc<RecordingSettings>,
    session: Arc<TargetSession>,
    channel: u32,
    /// Touched on every byte either way, for the idle time-out (R-12-6).
    activity: Option<Activity>,
    /// The audit trail, where every transfer and file change goes too (R-10-3).
    audit: Arc<dyn Store>,
    handle: OnceLock<RecorderHandle>,
    /// The writer task, awaited at the end so its last error surfaces.
    task: Mutex<Option<tokio::task::JoinHandle<recorder::Result<()>>>>,
    /// The live sessions, where an interactive channel finds its session's screen.
    live: Option<Registry>,
    /// The session's screen for watchers, when this channel is interactive (pty).
    screen: OnceLock<ScreenFeed>,
}

impl ChannelRecording {
    /// A recording for `channel` of `session`, not yet begun.
    pub fn new(
        settings: Arc<RecordingSettings>,
        session: Arc<TargetSession>,
        channel: u32,
        activity: Option<Activity>,
        audit: Arc<dyn Store>,
    ) -> Self {
        Self {
            settings,
            session,
            channel,
            activity,
            audit,
            handle: OnceLock::new(),
            task: Mutex::new(None),
            live: None,
            screen: OnceLock::new(),
        }
    }

    /// Feeds this channel's output to its session's screen in `live`, if it turns out
    /// interactive (operators watch it, R-10.2-REVIEW).
    pub fn watched_in(mut self, live: Registry) -> Self {
        self.live = Some(live);
        self
    }

    /// Seals the recording if it was begun: digests and signature over its files.
    pub async fn finish(&self) -> Option<Result<Sealed, TapError>> {
        let handle = self.handle.get()?.clone();
        let sealed = handle
            .finish(&self.settings.signing_key)
            .await
            .map_err(TapError::from);
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
        Some(sealed)
    }
}

impl SessionTap for ChannelRecording {
    async fn begin(&self, start: &ChannelStart) -> Result<(), TapError> {
        if self.handle.get().is_some() {
            return Ok(());
        }
        let (kind, command) = match &start.work {
            Work::Shell => (SessionKind::Shell, None),
            Work::Exec(command) => (SessionKind::Exec, Some(command.clone())),
            Work::Subsystem(name) => (SessionKind::Exec, Some(format!("subsystem:{name}"))),
        };
        let (width, height, mut env) = match &start.pty {
            Some(pty) => (
                clamp(pty.cols),
                clamp(pty.rows),
                BTreeMap::from([("TERM".to_owned(), pty.term.clone())]),
            ),
            None => (80, 24, BTreeMap::new()),
        };
        // Every variable the client asked for, passed on or not (issue 11, reproduction 6).
        env.extend(start.env.iter().cloned());
        let s = &self.session;
        let header = Header {
            width,
            height,
            timestamp: Utc::now(),
            command,
            title: Some(format!("{} → {} ({})", s.engineer, s.target, s.plan)),
            env,
            fumidai: FumidaiMeta {
                session_id: *s.id.as_uuid(),
                channel: Some(self.channel),
                engineer: s.engineer.to_string(),
                target: s.target.to_string(),
                plan_id: s.plan.to_string(),
                kind,
                data: if start.pty.is_some() {
                    DataMode::Interactive
                } else {
                    DataMode::Bulk
                },
            },
        };
        let storage = Arc::clone(&self.settings.storage);
        let id = RecordingId::channel(*s.id.as_uuid(), self.channel);
        let started = header.timestamp;
        let sink = tokio::task::spawn_blocking(move || storage.open(&id, started))
            .await
            .map_err(|_| TapError::Stopped)??;
        let (handle, task) = Recorder::start(sink, &header, RecorderConfig::default())?;
        *self.task.lock().await = Some(task);
        let _ = self.handle.set(handle);
        if start.pty.is_some()
            && let Some(screen) = self.live.as_ref().and_then(|live| live.screen(&s.id))
        {
            screen.size(width, height);
            let _ = self.screen.set(screen);
        }
        Ok(())
    }

    async fn input(&self, data: &Bytes) -> Result<(), TapError> {
        self.touch();
        match self.handle.get() {
            Some(h) => h.input(data.clone()).await.map_err(TapError::from),
            None => Ok(()),
        }
    }

    async fn output(&self, data: &Bytes) -> Result<(), TapError> {
        self.touch();
        if let Some(screen) = self.screen.get() {
            screen.output(data);
        }
        match self.handle.get() {
            Some(h) => h.output(data.clone()).await.map_err(TapError::from),
            None => Ok(()),
        }
    }

    async fn stderr(&self, data: &Bytes) -> Result<(), TapError> {
        self.touch();
        match self.handle.get() {
            Some(h) => h.stderr(data.clone()).await.map_err(TapError::from),
            None => Ok(()),
        }
    }

    async fn transfer(&self, record: TransferRecord) -> Result<(), TapError> {
        self.transfer_via(record, None).await
    }

    async fn stream_transfer(
        &self,
        record: TransferRecord,
        via: StreamVia,
    ) -> Result<(), TapError> {
        self.transfer_via(record, Some(via)).await
    }

    async fn change(&self, change: &FileChange) -> Result<(), TapError> {
        let mut detail = json!({
            "op": change.op,
            "path": change.path,
            "outcome": if change.refused.is_some() { "refused" } else { "completed" },
        });
        if let Some(to) = &change.to {
            put(&mut detail, "to", json!(to));
        }
        if let Some(refusal) = change.refused {
            put(&mut detail, "reason", json!(refusal.as_str()));
        }
        self.append(AuditKind::Transfer, detail).await
    }

    async fn violation(&self, violation: &Violation) -> Result<(), TapError> {
        let detail = json!({
            "protocol": "sftp",
            "reason": violation.reason(),
            "error": violation.to_string(),
        });
        self.append(AuditKind::TransferProtocolViolation, detail)
            .await
    }

    fn touch(&self) {
        if let Some(activity) = &self.activity {
            activity.touch();
        }
    }

    async fn resize(&self, cols: u32, rows: u32) -> Result<(), TapError> {
        if let Some(screen) = self.screen.get() {
            screen.size(clamp(cols), clamp(rows));
        }
        match self.handle.get() {
            Some(h) => h
                .resize(clamp(cols), clamp(rows))
                .await
                .map_err(TapError::from),
            None => Ok(()),
        }
    }
}

impl ChannelRecording {
    /// A transfer on record: in the audit trail (with `via` for a command's stream) and in
    /// the recording's transfer log.
    async fn transfer_via(
        &self,
        record: TransferRecord,
        via: Option<StreamVia>,
    ) -> Result<(), TapError> {
        let mut detail = json!({
            "direction": record.direction.as_str(),
            "path": record.path,
            "size": record.size,
            "outcome": record.outcome.as_str(),
        });
        if let Some(digest) = &record.sha256 {
            put(&mut detail, "sha256", json!(digest.to_string()));
        }
        if let Some(reason) = &record.reason {
            put(&mut detail, "reason", json!(reason));
        }
        if let Some(via) = via {
            put(&mut detail, "via", json!(via.as_str()));
        }
        self.append(AuditKind::Transfer, detail).await?;
        match self.handle.get() {
            Some(h) => h.transfer(record).await.map_err(TapError::from),
            None => Ok(()),
        }
    }

    /// Appends a `transfer` (or `transfer.protocol_violation`) event for this channel. If
    /// the audit trail can't take it, the channel ends (fail closed: a transfer nobody can
    /// account for must not go on).
    async fn append(&self, kind: AuditKind, mut detail: serde_json::Value) -> Result<(), TapError> {
        let s = &self.session;
        put(&mut detail, "session_id", json!(s.id.to_string()));
        put(&mut detail, "channel", json!(self.channel));
        put(&mut detail, "plan_id", json!(s.plan.to_string()));
        put(&mut detail, "target", json!(s.target.as_str()));
        let event = AuditEvent::new(kind, Actor::Person(s.engineer.clone()), s.target.as_str())
            .with_detail(detail);
        self.audit
            .append_audit(event)
            .await
            .map(|_| ())
            .map_err(TapError::Audit)
    }
}

/// Sets `key` in a JSON object (the audit details are always objects).
fn put(detail: &mut serde_json::Value, key: &str, value: serde_json::Value) {
    if let Some(map) = detail.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
}

fn clamp(n: u32) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}
