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

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use policy::channel::{ChannelWork, WorkRefusal};
use policy::plan::Allowances;
use recorder::format::transfers::TransferRecord;
use russh::{Channel, ChannelId, ChannelMsg, client, server};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::inspection::{ChannelInspector, InspectError};
use super::scp::ScpSourceInspector;
use super::sftp::{Action, FileChange, SftpInspector};
use super::upload_scan::{ScanSlot, scan_feed, scan_verdict};
use crate::clamd::Scanner;

/// What a channel was opened for, known when its shell, command or subsystem starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelStart {
    /// The terminal, if one was requested first.
    pub pty: Option<PtyInfo>,
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
    /// One side vanished without closing.
    Dropped,
}

/// A reply the engineer is waiting for, in the order the requests were forwarded.
type PendingReplies = Arc<Mutex<VecDeque<()>>>;

/// Bridges `engineer` and `target` until both sides are closed.
pub async fn run<T: SessionTap>(
    engineer: Channel<server::Msg>,
    target: Channel<client::Msg>,
    handle: server::Handle,
    tap: Arc<T>,
    allow: Allowances,
    banner: Arc<str>,
    scanner: Option<Arc<Scanner>>,
) -> BridgeEnd {
    let engineer_id = engineer.id();
    let (mut from_engineer, to_engineer) = engineer.split();
    let (mut from_target, to_target) = target.split();
    let pending: PendingReplies = Arc::default();
    let inspection: Inspection = Arc::default();
    // What the upstream loop sends the engineer goes through the downstream loop, so it
    // never lands inside a reply the target is sending.
    let (side, mut side_rx) = mpsc::channel::<ToEngineer>(64);

    let upstream = {
        let pending = Arc::clone(&pending);
        let tap = Arc::clone(&tap);
        let handle = handle.clone();
        let inspection = Arc::clone(&inspection);
        async move {
            let mut state = UpState {
                pty: None,
                allow,
                banner,
                inspection,
                side,
                scanner,
                scans: HashMap::new(),
            };
            while let Some(msg) = from_engineer.wait().await {
                match forward_up(
                    msg,
                    &to_target,
                    &handle,
                    engineer_id,
                    &pending,
                    tap.as_ref(),
                    &mut state,
                )
                .await
                {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(Up::Tap(e)) => {
                        let _ = to_target.close().await;
                        return Err(Stop::Tap(e));
                    }
                    Err(Up::Refused(r)) => {
                        let _ = to_target.close().await;
                        return Err(Stop::Refused(r));
                    }
                    Err(Up::Gone) => break,
                }
            }
            let _ = to_target.eof().await;
            Ok(())
        }
    };
    let down_handle = handle.clone();
    let down_tap = Arc::clone(&tap);
    let down_inspection = Arc::clone(&inspection);
    let downstream = async move {
        let (handle, tap, inspection) = (down_handle, down_tap, down_inspection);
        let mut exit_status = None;
        let mut side_open = true;
        // The target's EOF waits for its exit status: an OpenSSH control master answers
        // an EOF with CLOSE once its client's input is done, and russh ends the channel on
        // that CLOSE, so an exit status sent after the EOF would be lost (`ssh` exits 255).
        let mut eof_held = false;
        loop {
            let msg = tokio::select! {
                msg = from_target.wait() => match msg {
                    Some(msg) => msg,
                    None => break,
                },
                side = side_rx.recv(), if side_open => {
                    let sent = match side {
                        Some(ToEngineer::Data(data)) => to_engineer.data_bytes(data).await,
                        Some(ToEngineer::Stderr(text)) => {
                            to_engineer.extended_data_bytes(1, Bytes::from(text)).await
                        }
                        None => {
                            side_open = false;
                            Ok(())
                        }
                    };
                    if sent.is_err() {
                        return Ok(BridgeEnd::Dropped);
                    }
                    continue;
                }
            };
            match msg {
                ChannelMsg::Data { data } => {
                    let inspected = inspect(&inspection, |i| i.from_target(&data))?;
                    let Some(actions) = inspected else {
                        tap.output(&data).await?;
                        if to_engineer.data_bytes(data).await.is_err() {
                            return Ok(BridgeEnd::Dropped);
                        }
                        continue;
                    };
                    tap.touch();
                    for action in actions {
                        let sent = match action {
                            Action::ToEngineer(data) => to_engineer.data_bytes(data).await,
                            Action::Tell(text) => {
                                to_engineer.extended_data_bytes(1, Bytes::from(text)).await
                            }
                            Action::Transfer(record) => {
                                tap.transfer(record).await?;
                                Ok(())
                            }
                            Action::Change(change) => {
                                tap.change(&change).await?;
                                Ok(())
                            }
                            // Replies from the target never go back to it, and
                            // uploads are scanned on the way up.
                            Action::ToTarget(_)
                            | Action::ScanFeed { .. }
                            | Action::ScanVerdict { .. } => Ok(()),
                        };
                        if sent.is_err() {
                            return Ok(BridgeEnd::Dropped);
                        }
                    }
                }
                ChannelMsg::ExtendedData { data, ext } => {
                    tap.stderr(&data).await?;
                    if to_engineer.extended_data_bytes(ext, data).await.is_err() {
                        return Ok(BridgeEnd::Dropped);
                    }
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
        Ok::<_, TapError>(BridgeEnd::Closed { exit_status })
    };

    // Whichever side stops first decides: the target closing ends the channel (the
    // engineer's side was closed with it), and an early stop upstream (refused work, a
    // failed recording) must not wait for a target that was never asked to do anything.
    tokio::pin!(upstream, downstream);
    let down = tokio::select! {
        up = &mut upstream => match up {
            Ok(()) => downstream.await,
            Err(Stop::Refused(r)) => return BridgeEnd::Refused(r),
            Err(Stop::Tap(e)) => Err(e),
        },
        down = &mut downstream => down,
    };
    let down = match (down, finish_inspection(&inspection, tap.as_ref()).await) {
        (Ok(BridgeEnd::Closed { .. }), Err(e)) => Err(e),
        (down, _) => down,
    };
    match down {
        Ok(end) => end,
        Err(e) => {
            let _ = handle.close(engineer_id).await;
            BridgeEnd::TapFailed(e.0)
        }
    }
}

enum Up {
    Tap(TapError),
    Refused(WorkRefusal),
    Gone,
}

impl From<TapError> for Up {
    fn from(e: TapError) -> Self {
        Self::Tap(e)
    }
}

/// Forwards one engineer message to the target. `Ok(false)` ends the upstream loop.
async fn forward_up<T: SessionTap>(
    msg: ChannelMsg,
    to_target: &russh::ChannelWriteHalf<client::Msg>,
    handle: &server::Handle,
    engineer_id: ChannelId,
    pending: &PendingReplies,
    tap: &T,
    state: &mut UpState,
) -> Result<bool, Up> {
    let UpState {
        pty,
        allow,
        banner,
        inspection,
        side,
        scanner,
        scans,
    } = state;
    let allow = &*allow;
    let expect_reply = |want: bool| {
        if want && let Ok(mut p) = pending.lock() {
            p.push_back(());
        }
    };
    let sent = match msg {
        ChannelMsg::Data { data } => match inspect(inspection, |i| i.from_engineer(&data))? {
            None => {
                tap.input(&data).await?;
                to_target.data_bytes(data).await
            }
            Some(actions) => {
                tap.touch();
                for action in actions {
                    match action {
                        Action::ToTarget(data) => {
                            to_target.data_bytes(data).await.map_err(|_| Up::Gone)?;
                        }
                        Action::ToEngineer(data) => to_side(side, ToEngineer::Data(data)).await?,
                        Action::Tell(text) => to_side(side, ToEngineer::Stderr(text)).await?,
                        Action::Transfer(record) => tap.transfer(record).await?,
                        Action::Change(change) => tap.change(&change).await?,
                        Action::ScanFeed { handle, data } => {
                            scan_feed(scanner.as_deref(), scans, handle, &data).await;
                        }
                        Action::ScanVerdict {
                            handle,
                            close,
                            id: _,
                        } => {
                            let verdict = scan_verdict(scans, &handle).await;
                            to_target.data_bytes(close).await.map_err(|_| Up::Gone)?;
                            if let Err(note) = verdict {
                                warn!(%note, "upload refused by the virus scan; removing it from the target");
                                let removal =
                                    inspect(inspection, |i| Ok(i.quarantine(&handle, note)))?
                                        .unwrap_or_default();
                                for action in removal {
                                    if let Action::ToTarget(data) = action {
                                        to_target.data_bytes(data).await.map_err(|_| Up::Gone)?;
                                    }
                                }
                            }
                        }
                    }
                }
                Ok(())
            }
        },
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
            begin(tap, handle, engineer_id, pty, Work::Shell, allow).await?;
            if pty.is_some() {
                // Before the target's first byte: whose plan this is, until when, and that
                // it is recorded. Recorded too, so a replay shows what the engineer saw.
                let banner = Bytes::from(banner.to_string());
                tap.output(&banner).await?;
                to_side(side, ToEngineer::Data(banner)).await?;
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
                Work::Exec(shown.clone()),
                allow,
            )
            .await?;
            if policy::channel::is_legacy_scp_source(&shown)
                && let Ok(mut slot) = inspection.lock()
            {
                // Every file of a legacy download goes on record (R-10-3).
                *slot = Some(ChannelInspector::ScpSource(ScpSourceInspector::new(&shown)));
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
                Work::Subsystem(name.clone()),
                allow,
            )
            .await?;
            if name == "sftp"
                && let Ok(mut slot) = inspection.lock()
            {
                // Every SFTP operation is judged on its own from here on (§7 ②, R-10-6).
                *slot = Some(ChannelInspector::Sftp(SftpInspector::new(
                    *allow,
                    scanner.is_some(),
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
            // variables policy lets through.
            let allowed = policy::channel::env_forwarded(&variable_name);
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
    sent.map(|()| true).map_err(|_| Up::Gone)
}

/// Opens the recording before the work starts. If it can't be opened, the engineer's
/// request is refused with a message and the channel ends (fail closed).
async fn begin<T: SessionTap>(
    tap: &T,
    handle: &server::Handle,
    engineer_id: ChannelId,
    pty: &Option<PtyInfo>,
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
        work,
    };
    if let Err(error) = tap.begin(&start).await {
        warn!(%error, "recording could not be opened; channel refused");
        tell_and_close(handle, engineer_id, RECORDING_UNAVAILABLE).await;
        return Err(Up::Tap(error));
    }
    Ok(())
}

/// The channel's inspector, once its work started; shared by both loops.
type Inspection = Arc<Mutex<Option<ChannelInspector>>>;

/// Something for the engineer from the upstream loop, written by the downstream loop.
enum ToEngineer {
    Data(Bytes),
    Stderr(String),
}

/// Runs `step` on the channel's inspector: `None` when the channel is not inspected. A
/// stream that isn't the protocol it claims ends the channel (fail closed).
fn inspect(
    inspection: &Inspection,
    step: impl FnOnce(&mut ChannelInspector) -> Result<Vec<Action>, InspectError>,
) -> Result<Option<Vec<Action>>, TapError> {
    let mut slot = inspection
        .lock()
        .map_err(|_| TapError("channel inspector poisoned".to_owned()))?;
    match slot.as_mut() {
        None => Ok(None),
        Some(inspector) => step(inspector).map(Some).map_err(|e| {
            warn!(error = %e, "transfer stream could not be inspected; channel ends");
            TapError(format!("transfer stream could not be inspected: {e}"))
        }),
    }
}

/// Puts files still open when the channel ended on record.
async fn finish_inspection<T: SessionTap>(
    inspection: &Inspection,
    tap: &T,
) -> Result<(), TapError> {
    let actions = inspection
        .lock()
        .ok()
        .and_then(|mut slot| slot.as_mut().map(ChannelInspector::finish))
        .unwrap_or_default();
    for action in actions {
        if let Action::Transfer(record) = action {
            tap.transfer(record).await?;
        }
    }
    Ok(())
}

async fn to_side(side: &mpsc::Sender<ToEngineer>, message: ToEngineer) -> Result<(), Up> {
    side.send(message).await.map_err(|_| Up::Gone)
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
    /// The SFTP inspector, once the channel runs `sftp`.
    inspection: Inspection,
    /// To the engineer, through the downstream loop.
    side: mpsc::Sender<ToEngineer>,
    /// The virus scanner for uploads, when one is configured.
    scanner: Option<Arc<Scanner>>,
    /// Uploads being scanned, by the target's handle.
    scans: HashMap<Bytes, ScanSlot>,
}

/// Why the upstream loop stopped early.
enum Stop {
    Tap(TapError),
    Refused(WorkRefusal),
}

/// Told to the engineer when the recording can't be written.
const RECORDING_UNAVAILABLE: &str = "fumidai: 記録を保存できないため、この操作は開始できません。運用担当者に連絡してください。\r\n\
     fumidai: the session cannot be recorded, so it cannot start; please contact the operator.\r\n";
