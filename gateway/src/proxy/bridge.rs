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

use russh::{Channel, ChannelId, ChannelMsg, client, server};
use tracing::debug;

/// What the bridge reports to the recording. Implemented by the session recorder.
pub trait SessionTap: Send + Sync {
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
            while let Some(msg) = from_engineer.wait().await {
                match forward_up(
                    msg,
                    &to_target,
                    &handle,
                    engineer_id,
                    &pending,
                    tap.as_ref(),
                )
                .await
                {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(Up::Tap(e)) => return Err(e),
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
                    tap.output(&data).await?;
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

    let (up, down) = tokio::join!(upstream, downstream);
    match (up, down) {
        (Err(e), _) | (_, Err(e)) => {
            let _ = handle.close(engineer_id).await;
            BridgeEnd::TapFailed(e.0)
        }
        (Ok(()), Ok(end)) => end,
    }
}

enum Up {
    Tap(TapError),
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
) -> Result<bool, Up> {
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
            tap.resize(col_width, row_height).await?;
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
            expect_reply(want_reply);
            to_target.request_shell(want_reply).await
        }
        ChannelMsg::Exec {
            want_reply,
            command,
        } => {
            expect_reply(want_reply);
            to_target.exec(want_reply, command).await
        }
        ChannelMsg::RequestSubsystem { want_reply, name } => {
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

/// A tap that records nothing; for channels whose recording is kept elsewhere.
pub struct NoTap;

impl SessionTap for NoTap {
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
