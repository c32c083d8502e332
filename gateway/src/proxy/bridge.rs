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

use policy::channel::{ChannelWork, WorkRefusal};
use policy::plan::Allowances;
use russh::{Channel, ChannelId, ChannelMsg, client, server};
use tracing::{debug, info, warn};

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
    fn stderr(&self, data: &[u8]) -> impl Future<Output = Result<(), TapError>> + Send;
    /// Bytes the engineer typed (pty sessions) or sent (exec input).
    fn input(&self, data: &[u8]) -> impl Future<Output = Result<(), TapError>> + Send;
    /// Bytes the target sent back.
    fn output(&self, data: &[u8]) -> impl Future<Output = Result<(), TapError>> + Send;
    /// The terminal was resized.
    fn resize(&self, cols: u32, rows: u32) -> impl Future<Output = Result<(), TapError>> + Send;
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
) -> BridgeEnd {
    let engineer_id = engineer.id();
    let (mut from_engineer, to_engineer) = engineer.split();
    let (mut from_target, to_target) = target.split();
    let pending: PendingReplies = Arc::default();

    let upstream = {
        let pending = Arc::clone(&pending);
        let tap = Arc::clone(&tap);
        let handle = handle.clone();
        async move {
            let mut state = UpState { pty: None, allow };
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
    let downstream = async move {
        let handle = down_handle;
        let mut exit_status = None;
        while let Some(msg) = from_target.wait().await {
            match msg {
                ChannelMsg::Data { data } => {
                    tap.output(&data).await?;
                    if to_engineer.data_bytes(data).await.is_err() {
                        return Ok(BridgeEnd::Dropped);
                    }
                }
                ChannelMsg::ExtendedData { data, ext } => {
                    tap.stderr(&data).await?;
                    if to_engineer.extended_data_bytes(ext, data).await.is_err() {
                        return Ok(BridgeEnd::Dropped);
                    }
                }
                ChannelMsg::Eof => {
                    let _ = to_engineer.eof().await;
                }
                ChannelMsg::ExitStatus {
                    exit_status: status,
                } => {
                    exit_status = Some(status);
                    let _ = to_engineer.exit_status(status).await;
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
    let UpState { pty, allow } = state;
    let allow = &*allow;
    let expect_reply = |want: bool| {
        if want && let Ok(mut p) = pending.lock() {
            p.push_back(());
        }
    };
    let sent = match msg {
        ChannelMsg::Data { data } => {
            tap.input(&data).await?;
            to_target.data_bytes(data).await
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
            begin(tap, handle, engineer_id, pty, Work::Shell, allow).await?;
            expect_reply(want_reply);
            to_target.request_shell(want_reply).await
        }
        ChannelMsg::Exec {
            want_reply,
            command,
        } => {
            let shown = String::from_utf8_lossy(&command).into_owned();
            begin(tap, handle, engineer_id, pty, Work::Exec(shown), allow).await?;
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
}

/// Why the upstream loop stopped early.
enum Stop {
    Tap(TapError),
    Refused(WorkRefusal),
}

/// Told to the engineer when the recording can't be written.
const RECORDING_UNAVAILABLE: &str = "fumidai: 記録を保存できないため、この操作は開始できません。運用担当者に連絡してください。\r\n\
     fumidai: the session cannot be recorded, so it cannot start; please contact the operator.\r\n";

/// A tap that records nothing; for channels whose recording is kept elsewhere.
pub struct NoTap;

impl SessionTap for NoTap {
    async fn begin(&self, _start: &ChannelStart) -> Result<(), TapError> {
        Ok(())
    }
    async fn stderr(&self, _data: &[u8]) -> Result<(), TapError> {
        Ok(())
    }
    async fn input(&self, _data: &[u8]) -> Result<(), TapError> {
        Ok(())
    }
    async fn output(&self, _data: &[u8]) -> Result<(), TapError> {
        Ok(())
    }
    async fn resize(&self, _cols: u32, _rows: u32) -> Result<(), TapError> {
        Ok(())
    }
}
