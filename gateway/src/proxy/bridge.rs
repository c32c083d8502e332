//! One engineer-side session channel bridged to one target-side channel, so OpenSSH users
//! get exactly what they expect: pty and shell, exec, env (filtered), window changes,
//! signals, EOF/close ordering, exit status and exit signal, subsystems.
//!
//! Two loops run concurrently: engineer → target (input, requests) and target → engineer
//! (output, replies, exit). Requests that want a reply are answered to the engineer only
//! when the target answers, in order, so a refused `pty-req` or `subsystem` on the target
//! is refused to the engineer too. Every byte passes the [`SessionTap`] (the recording)
//! before it is forwarded: when the tap fails, the channel ends (fail closed).
//!
//! Backpressure is end to end: each loop awaits the write to the other side before it reads
//! more, and russh's channel windows hold back the sender.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use policy::channel::{ChannelWork, ExecTransfer, WorkRefusal, exec_transfer};
use policy::plan::Allowances;
use recorder::format::transfers::TransferRecord;
use russh::{Channel, ChannelId, ChannelMsg, client, server};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::actions::{
    Broken, Carrier, EngineerRoute, Inspection, Scans, TargetRoute, ToEngineer, inspect,
};
use super::exec_streams::{ExecStreams, StdinRefused, StreamVia};
use super::inspection::ChannelInspector;
use super::paste_watch::PasteWatch;
use super::scp::ScpSourceInspector;
use super::sftp::{FileChange, SftpInspector, Violation};
use crate::clamd::Scanner;

/// What a channel was opened for, known when its shell, command or subsystem starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelStart {
    /// The terminal, if one was requested first.
    pub pty: Option<PtyInfo>,
    /// The environment variables the engineer's client asked for, in order, as recorded:
    /// the value when it was passed on, else what was withheld.
    pub env: Vec<(String, String)>,
    /// What runs.
    pub work: Work,
}

/// A requested terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtyInfo {
    /// `TERM`.
    pub term: String,
    /// Columns.
    pub cols: u32,
    /// Rows.
    pub rows: u32,
}

/// What a channel runs on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// A login shell.
    Shell,
    /// A command (lossily decoded for the record).
    Exec(String),
    /// A subsystem such as `sftp`.
    Subsystem(String),
}

/// What the bridge reports to the recording. Implemented by the session recorder.
pub trait SessionTap: Send + Sync {
    /// The channel's work starts; the recording must be open before it is forwarded.
    fn begin(&self, start: &ChannelStart) -> impl Future<Output = Result<(), TapError>> + Send;
    /// Bytes the target sent on stderr.
    fn stderr(&self, data: &Bytes) -> impl Future<Output = Result<(), TapError>> + Send;
    /// Bytes the engineer typed (pty sessions) or sent (exec input).
    fn input(&self, data: &Bytes) -> impl Future<Output = Result<(), TapError>> + Send;
    /// Bytes the target sent back.
    fn output(&self, data: &Bytes) -> impl Future<Output = Result<(), TapError>> + Send;
    /// The terminal was resized.
    fn resize(&self, cols: u32, rows: u32) -> impl Future<Output = Result<(), TapError>> + Send;
    /// A file transfer ended (inspected channels: their bytes are not recorded, their
    /// files are).
    fn transfer(&self, record: TransferRecord)
    -> impl Future<Output = Result<(), TapError>> + Send;
    /// A change to the target's files was made or refused (inspected channels).
    fn change(&self, change: &FileChange) -> impl Future<Output = Result<(), TapError>> + Send;
    /// A non-pty command's stdin or bulk stdout moved as a file would (`via` says which).
    fn stream_transfer(
        &self,
        record: TransferRecord,
        via: StreamVia,
    ) -> impl Future<Output = Result<(), TapError>> + Send;
    /// A peer broke the transfer protocol; the channel ends (`transfer.protocol_violation`).
    fn violation(&self, violation: &Violation)
    -> impl Future<Output = Result<(), TapError>> + Send;
    /// Bytes passed without being recorded one by one: the session is not idle.
    fn touch(&self);
}

/// The recording could not keep up or failed: the session must end.
#[derive(Debug, thiserror::Error)]
#[error("recording failed: {0}")]
pub struct TapError(pub String);

/// How a bridged channel ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeEnd {
    /// Both sides closed normally; the exit status, if the target sent one.
    Closed {
        /// The remote command's exit status.
        exit_status: Option<u32>,
    },
    /// The recording failed; the channel was closed with a message.
    TapFailed(String),
    /// The plan doesn't allow what the channel asked for; the engineer was told.
    Refused(WorkRefusal),
    /// A peer broke the transfer protocol; the engineer was told, the audit trail says why.
    ProtocolViolation(&'static str),
    /// A command's stdin carried what the plan doesn't allow; the engineer was told, the
    /// refused transfer is on record.
    StreamCut,
    /// One side vanished without closing.
    Dropped,
}

/// A reply the engineer is waiting for, in the order the requests were forwarded.
type PendingReplies = Arc<Mutex<VecDeque<()>>>;

/// How a bridged channel ended, and what it left on the target.
#[derive(Debug)]
pub struct Bridged {
    /// How it ended.
    pub end: BridgeEnd,
    /// Temporary files of staged uploads still on the target (the channel ended before they
    /// were renamed into place or removed): the caller removes them over a new channel.
    pub temp_files: Vec<String>,
}

/// Bridges `engineer` and `target` until both sides are closed.
pub async fn run<T: SessionTap>(
    engineer: Channel<server::Msg>,
    target: Channel<client::Msg>,
    handle: server::Handle,
    tap: Arc<T>,
    allow: Allowances,
    banner: Arc<str>,
    scanner: Option<Arc<Scanner>>,
) -> Bridged {
    let engineer_id = engineer.id();
    let (mut from_engineer, to_engineer) = engineer.split();
    let (mut from_target, to_target) = target.split();
    let pending: PendingReplies = Arc::default();
    let inspection: Inspection = Arc::default();
    let scans: Scans = Arc::default();
    let streams: Streams = Arc::default();
    // What the upstream loop sends the engineer goes through the downstream loop, so it
    // never lands inside a reply the target is sending; the inspector's own requests, made
    // on the target's replies, go the other way (see `actions`).
    let (side, mut side_rx) = mpsc::channel::<ToEngineer>(64);
    let (own, mut own_rx) = mpsc::unbounded_channel::<Bytes>();
    let (to_target, to_engineer) = (&to_target, &to_engineer);
    let scanning = scanner.is_some();
    let carrier = |target, engineer| Carrier {
        tap: tap.as_ref(),
        inspection: &inspection,
        scanner: scanner.as_deref(),
        scans: &scans,
        target,
        engineer,
    };

    let upstream = {
        let carrier = carrier(TargetRoute::Direct(to_target), EngineerRoute::Queued(&side));
        let watched = Arc::clone(&streams);
        let (pending, handle) = (&pending, &handle);
        async move {
            let mut state = UpState {
                pty: None,
                allow,
                banner,
                scanning,
                env: Vec::new(),
                streams: watched,
                paste: None,
            };
            loop {
                let msg = tokio::select! {
                    msg = from_engineer.wait() => match msg {
                        Some(msg) => msg,
                        None => break,
                    },
                    Some(data) = own_rx.recv() => {
                        if to_target.data_bytes(data).await.is_err() {
                            break;
                        }
                        continue;
                    }
                };
                match forward_up(
                    msg,
                    &carrier,
                    to_target,
                    handle,
                    engineer_id,
                    pending,
                    &mut state,
                )
                .await
                {
                    Ok(true) => {}
                    Ok(false) | Err(Up::Broken(Broken::Gone)) => break,
                    Err(Up::Broken(broken)) => return Err(Stop::Broken(broken)),
                    Err(Up::Refused(r)) => {
                        let _ = to_target.close().await;
                        return Err(Stop::Refused(r));
                    }
                    Err(Up::Cut(message)) => {
                        let _ = to_target.close().await;
                        return Err(Stop::Cut(message));
                    }
                }
            }
            if let Some(record) = state.paste.as_mut().and_then(PasteWatch::finish) {
                carrier
                    .tap
                    .stream_transfer(record, StreamVia::PtyPaste)
                    .await
                    .map_err(|e| Stop::Broken(Broken::Tap(e)))?;
            }
            let _ = to_target.eof().await;
            Ok(())
        }
    };
    let downstream = {
        let carrier = carrier(
            TargetRoute::Queued(&own),
            EngineerRoute::Direct(to_engineer),
        );
        let (pending, handle, tap, inspection) = (&pending, &handle, tap.as_ref(), &inspection);
        let streams = &streams;
        async move {
            let mut exit_status = None;
            let mut side_open = true;
            // The target's EOF waits for its exit status: an OpenSSH control master answers
            // an EOF with CLOSE once its client's input is done, and russh ends the channel
            // on that CLOSE, so an exit status sent after the EOF would be lost (`ssh` exits
            // 255).
            let mut eof_held = false;
            loop {
                let msg = tokio::select! {
                    msg = from_target.wait() => match msg {
                        Some(msg) => msg,
                        None => break,
                    },
                    side = side_rx.recv(), if side_open => {
                        match side {
                            Some(message) => carrier.to_engineer(message).await?,
                            None => side_open = false,
                        }
                        continue;
                    }
                };
                match msg {
                    ChannelMsg::Data { data } => {
                        let inspected = inspect(inspection, |i| i.from_target(&data))?;
                        if inspected.is_none()
                            && let Ok(mut slot) = streams.lock()
                            && let Some(watched) = slot.as_mut()
                        {
                            watched.stdout(&data);
                        }
                        // Inspected channels' bytes are on record too, in the side file (R-10-3).
                        tap.output(&data).await?;
                        match inspected {
                            None => to_engineer
                                .data_bytes(data)
                                .await
                                .map_err(|_| Broken::Gone)?,
                            Some(actions) => carrier.carry(actions).await?,
                        }
                    }
                    ChannelMsg::ExtendedData { data, ext } => {
                        tap.stderr(&data).await?;
                        to_engineer
                            .extended_data_bytes(ext, data)
                            .await
                            .map_err(|_| Broken::Gone)?;
                    }
                    ChannelMsg::Eof => eof_held = true,
                    ChannelMsg::ExitStatus {
                        exit_status: status,
                    } => {
                        exit_status = Some(status);
                        let _ = to_engineer.exit_status(status).await;
                        if std::mem::take(&mut eof_held) {
                            let _ = to_engineer.eof().await;
                        }
                    }
                    ChannelMsg::ExitSignal {
                        signal_name,
                        core_dumped,
                        error_message,
                        lang_tag,
                    } => {
                        let _ = handle
                            .exit_signal_request(
                                engineer_id,
                                signal_name,
                                core_dumped,
                                error_message,
                                lang_tag,
                            )
                            .await;
                        if std::mem::take(&mut eof_held) {
                            let _ = to_engineer.eof().await;
                        }
                    }
                    ChannelMsg::Success | ChannelMsg::Failure => {
                        let waiting = pending
                            .lock()
                            .map(|mut p| p.pop_front().is_some())
                            .unwrap_or(false);
                        if waiting {
                            let _ = if matches!(msg, ChannelMsg::Success) {
                                handle.channel_success(engineer_id).await
                            } else {
                                handle.channel_failure(engineer_id).await
                            };
                        }
                    }
                    ChannelMsg::Close => break,
                    other => debug!(?other, "target channel message not forwarded"),
                }
            }
            if eof_held {
                let _ = to_engineer.eof().await;
            }
            let _ = to_engineer.close().await;
            Ok::<_, Broken>(BridgeEnd::Closed { exit_status })
        }
    };

    // Whichever side stops first decides: the target closing ends the channel (the
    // engineer's side was closed with it), and an early stop upstream (refused work, a
    // failed recording) must not wait for a target that was never asked to do anything.
    tokio::pin!(upstream, downstream);
    let down = tokio::select! {
        up = &mut upstream => match up {
            Ok(()) => downstream.await,
            Err(Stop::Refused(r)) => {
                return Bridged { end: BridgeEnd::Refused(r), temp_files: Vec::new() };
            }
            Err(Stop::Broken(broken)) => Err(broken),
            Err(Stop::Cut(message)) => {
                // The target's command may wait for input forever: the engineer's side
                // ends here, with the reason and status 1.
                let _ = handle.extended_data(engineer_id, 1, message).await;
                let _ = handle.exit_status_request(engineer_id, 1).await;
                let _ = handle.eof(engineer_id).await;
                let _ = handle.close(engineer_id).await;
                Ok(BridgeEnd::StreamCut)
            }
        },
        down = &mut downstream => down,
    };
    let (finished, temp_files) = finish_inspection(&inspection, tap.as_ref()).await;
    let finished = finished.and(finish_streams(&streams, tap.as_ref()).await);
    let down = match (down, finished) {
        (Ok(BridgeEnd::Closed { .. }), Err(e)) => Err(Broken::Tap(e)),
        (down, _) => down,
    };
    let end = match down {
        Ok(end) => end,
        Err(Broken::Gone) => BridgeEnd::Dropped,
        Err(Broken::Violation(violation)) => {
            // On record first: the audit trail names what the peer did (R-10-3).
            if let Err(error) = tap.violation(&violation).await {
                warn!(%error, "protocol violation could not be put on record");
            }
            let _ = to_target.close().await;
            let _ = handle
                .extended_data(engineer_id, 1, violation.message())
                .await;
            let _ = handle.close(engineer_id).await;
            BridgeEnd::ProtocolViolation(violation.reason())
        }
        Err(Broken::Tap(e)) => {
            let _ = to_target.close().await;
            let _ = handle.close(engineer_id).await;
            BridgeEnd::TapFailed(e.0)
        }
    };
    Bridged { end, temp_files }
}

enum Up {
    Broken(Broken),
    Refused(WorkRefusal),
    /// A command's stdin was cut: the engineer is told this, and the channel ends.
    Cut(String),
}

impl From<TapError> for Up {
    fn from(e: TapError) -> Self {
        Self::Broken(Broken::Tap(e))
    }
}

impl From<Broken> for Up {
    fn from(b: Broken) -> Self {
        Self::Broken(b)
    }
}

/// Forwards one engineer message to the target. `Ok(false)` ends the upstream loop.
async fn forward_up<T: SessionTap>(
    msg: ChannelMsg,
    carrier: &Carrier<'_, T>,
    to_target: &russh::ChannelWriteHalf<client::Msg>,
    handle: &server::Handle,
    engineer_id: ChannelId,
    pending: &PendingReplies,
    state: &mut UpState,
) -> Result<bool, Up> {
    let UpState {
        pty,
        allow,
        banner,
        scanning,
        env,
        streams,
        paste,
    } = state;
    let (allow, tap, inspection) = (&*allow, carrier.tap, carrier.inspection);
    let expect_reply = |want: bool| {
        if want && let Ok(mut p) = pending.lock() {
            p.push_back(());
        }
    };
    let sent = match msg {
        ChannelMsg::Data { data } => {
            let inspected = inspect(inspection, |i| i.from_engineer(&data))?;
            if inspected.is_none()
                && let Some(refused) = watch_stdin(streams, &data)
            {
                // Cut before these bytes go on (R-10-6).
                tap.stream_transfer(refused.record, StreamVia::ExecStdin)
                    .await?;
                return Err(Up::Cut(refused.message));
            }
            if inspected.is_none() && pty.is_some() {
                let watch = paste.get_or_insert_with(|| PasteWatch::new(Instant::now()));
                if let Some(record) = watch.input(&data, Instant::now()) {
                    tap.stream_transfer(record, StreamVia::PtyPaste).await?;
                }
            }
            // Inspected channels' bytes are on record too, in the side file (R-10-3).
            tap.input(&data).await?;
            match inspected {
                None => to_target.data_bytes(data).await,
                Some(actions) => {
                    carrier.carry(actions).await?;
                    Ok(())
                }
            }
        }
        ChannelMsg::ExtendedData { data, ext } => {
            tap.input(&data).await?;
            to_target.extended_data_bytes(ext, data).await
        }
        ChannelMsg::Eof => to_target.eof().await,
        ChannelMsg::Close => return Ok(false),
        ChannelMsg::RequestPty {
            want_reply,
            term,
            col_width,
            row_height,
            pix_width,
            pix_height,
            terminal_modes,
        } => {
            *pty = Some(PtyInfo {
                term: term.clone(),
                cols: col_width,
                rows: row_height,
            });
            expect_reply(want_reply);
            to_target
                .request_pty(
                    want_reply,
                    &term,
                    col_width,
                    row_height,
                    pix_width,
                    pix_height,
                    &terminal_modes,
                )
                .await
        }
        ChannelMsg::RequestShell { want_reply } => {
            begin(tap, handle, engineer_id, pty, env, Work::Shell, allow).await?;
            if pty.is_some() {
                // Before the target's first byte: whose plan this is, until when, and that
                // it is recorded. Recorded too, so a replay shows what the engineer saw.
                let banner = Bytes::from(banner.to_string());
                tap.output(&banner).await?;
                carrier.to_engineer(ToEngineer::Data(banner)).await?;
            }
            expect_reply(want_reply);
            to_target.request_shell(want_reply).await
        }
        ChannelMsg::Exec {
            want_reply,
            command,
        } => {
            let shown = String::from_utf8_lossy(&command).into_owned();
            begin(
                tap,
                handle,
                engineer_id,
                pty,
                env,
                Work::Exec(shown.clone()),
                allow,
            )
            .await?;
            // A transfer server in any wrapping is inspected as its standard form is
            // (R-10-6); any other command without a pty has its streams watched.
            let inspector = match exec_transfer(&shown) {
                ExecTransfer::SftpServer => Some(ChannelInspector::Sftp(SftpInspector::new(
                    *allow, *scanning,
                ))),
                // Every file of a legacy download goes on record (R-10-3).
                ExecTransfer::ScpSource { command } => Some(ChannelInspector::ScpSource(
                    ScpSourceInspector::new(&command),
                )),
                // Every file of a legacy upload goes on record too.
                ExecTransfer::ScpSink => {
                    Some(ChannelInspector::ScpSink(ScpSourceInspector::sink(&shown)))
                }
                _ => None,
            };
            match inspector {
                Some(inspector) => {
                    if let Ok(mut slot) = inspection.lock() {
                        *slot = Some(inspector);
                    }
                }
                None if pty.is_none() => {
                    if let Ok(mut slot) = streams.lock() {
                        *slot = Some(ExecStreams::new(&shown, *allow));
                    }
                }
                None => {}
            }
            expect_reply(want_reply);
            to_target.exec(want_reply, command).await
        }
        ChannelMsg::RequestSubsystem { want_reply, name } => {
            begin(
                tap,
                handle,
                engineer_id,
                pty,
                env,
                Work::Subsystem(name.clone()),
                allow,
            )
            .await?;
            if name == "sftp"
                && let Ok(mut slot) = inspection.lock()
            {
                // Every SFTP operation is judged on its own from here on (§7 ②, R-10-6).
                *slot = Some(ChannelInspector::Sftp(SftpInspector::new(
                    *allow, *scanning,
                )));
            }
            expect_reply(want_reply);
            to_target.request_subsystem(want_reply, name).await
        }
        ChannelMsg::SetEnv {
            want_reply,
            variable_name,
            variable_value,
        } => {
            // Answered here: the target is asked without a reply, and only for the
            // variables policy lets through, with short values; every one asked for is
            // in the recording's header.
            let allowed =
                policy::channel::env_value_forwarded(&variable_name, variable_value.as_bytes());
            env.push((variable_name.clone(), env_shown(allowed, &variable_value)));
            if want_reply {
                let _ = if allowed {
                    handle.channel_success(engineer_id).await
                } else {
                    handle.channel_failure(engineer_id).await
                };
            }
            if allowed {
                to_target
                    .set_env(false, variable_name, variable_value)
                    .await
            } else {
                Ok(())
            }
        }
        ChannelMsg::WindowChange {
            col_width,
            row_height,
            pix_width,
            pix_height,
        } => {
            tap.resize(col_width, row_height).await?;
            to_target
                .window_change(col_width, row_height, pix_width, pix_height)
                .await
        }
        ChannelMsg::Signal { signal } => to_target.signal(signal).await,
        other => {
            debug!(?other, "engineer channel message not forwarded");
            Ok(())
        }
    };
    sent.map(|()| true).map_err(|_| Up::Broken(Broken::Gone))
}

/// Opens the recording before the work starts. If it can't be opened, the engineer's
/// request is refused with a message and the channel ends (fail closed).
async fn begin<T: SessionTap>(
    tap: &T,
    handle: &server::Handle,
    engineer_id: ChannelId,
    pty: &Option<PtyInfo>,
    env: &[(String, String)],
    work: Work,
    allow: &Allowances,
) -> Result<(), Up> {
    let asked = match &work {
        Work::Shell => ChannelWork::Shell,
        Work::Exec(command) => ChannelWork::Exec(command),
        Work::Subsystem(name) => ChannelWork::Subsystem(name),
    };
    if let Err(refusal) = policy::channel::work_allowed(asked, allow) {
        info!(
            reason = refusal.as_str(),
            "channel work refused by the plan"
        );
        tell_and_close(handle, engineer_id, refusal.message()).await;
        return Err(Up::Refused(refusal));
    }
    let start = ChannelStart {
        pty: pty.clone(),
        env: env.to_vec(),
        work,
    };
    if let Err(error) = tap.begin(&start).await {
        warn!(%error, "recording could not be opened; channel refused");
        tell_and_close(handle, engineer_id, RECORDING_UNAVAILABLE).await;
        return Err(Up::from(error));
    }
    Ok(())
}

/// Puts files still open when the channel ended on record; the temporary files of staged
/// uploads it left are returned, for removal.
async fn finish_inspection<T: SessionTap>(
    inspection: &Inspection,
    tap: &T,
) -> (Result<(), TapError>, Vec<String>) {
    let leftovers = inspection
        .lock()
        .ok()
        .and_then(|mut slot| slot.as_mut().map(ChannelInspector::finish))
        .unwrap_or_default();
    for record in leftovers.records {
        if let Err(e) = tap.transfer(record).await {
            return (Err(e), leftovers.temp_files);
        }
    }
    (Ok(()), leftovers.temp_files)
}

/// Answers the request, so OpenSSH shows what follows, then tells the engineer why on
/// stderr and ends the channel with status 1.
async fn tell_and_close(handle: &server::Handle, id: ChannelId, message: &'static str) {
    let _ = handle.channel_success(id).await;
    let _ = handle.extended_data(id, 1, message).await;
    let _ = handle.exit_status_request(id, 1).await;
    let _ = handle.eof(id).await;
    let _ = handle.close(id).await;
}

/// What the upstream loop learns as the channel is set up.
struct UpState {
    /// The terminal, once requested (for the recording's header).
    pty: Option<PtyInfo>,
    /// What the plan allows the channel to run.
    allow: Allowances,
    /// Shown at the start of an interactive shell.
    banner: Arc<str>,
    /// Uploads go through the virus scanner.
    scanning: bool,
    /// Environment variables asked for so far, as recorded.
    env: Vec<(String, String)>,
    /// The streams of a command without a pty.
    streams: Streams,
    /// The typing on a pty, watched for pastes.
    paste: Option<PasteWatch>,
}

/// A non-pty command's streams, watched by both loops.
type Streams = Arc<Mutex<Option<ExecStreams>>>;

/// Judges a non-pty command's stdin: `Some` when it is cut.
fn watch_stdin(streams: &Streams, data: &[u8]) -> Option<StdinRefused> {
    let mut slot = streams.lock().ok()?;
    slot.as_mut()?.stdin(data).err()
}

/// An environment variable's value as the recording shows it.
fn env_shown(forwarded: bool, value: &str) -> String {
    if forwarded {
        value.to_owned()
    } else {
        format!("(fumidai: not passed to the target; {} bytes)", value.len())
    }
}

/// Puts a finished command's stream transfers on record.
async fn finish_streams<T: SessionTap>(streams: &Streams, tap: &T) -> Result<(), TapError> {
    let records = streams
        .lock()
        .ok()
        .and_then(|mut slot| slot.as_mut().map(ExecStreams::finish))
        .unwrap_or_default();
    for (record, via) in records {
        tap.stream_transfer(record, via).await?;
    }
    Ok(())
}

/// Why the upstream loop stopped early.
enum Stop {
    Broken(Broken),
    Refused(WorkRefusal),
    Cut(String),
}

/// Told to the engineer when the recording can't be written.
const RECORDING_UNAVAILABLE: &str = "fumidai: 記録を保存できないため、この操作は開始できません。運用担当者に連絡してください。\r\n\
     fumidai: the session cannot be recorded, so it cannot start; please contact the operator.\r\n";
