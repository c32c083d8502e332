//! Engineer → target: input (recorded, inspected, or watched as a stream), and the
//! channel's requests — pty, env (filtered), shell, exec and subsystem (judged by the plan
//! and opening the recording first), window changes, signals — each answered one for one
//! ([`super::replies`]); and the inspector's own requests to the target.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use policy::channel::{ChannelWork, ExecTransfer, WorkRefusal, exec_transfer};
use policy::plan::Allowances;
use russh::{ChannelId, ChannelMsg, ChannelReadHalf, ChannelWriteHalf, client, server};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::replies::ReplySender;
use super::{ChannelStart, Owed, PtyInfo, SessionTap, TapError, Work};
use crate::proxy::actions::{Broken, Carrier, ToEngineer, inspect};
use crate::proxy::exec_streams::{ExecStreams, StdinRefused, StreamVia};
use crate::proxy::inspection::ChannelInspector;
use crate::proxy::paste_watch::PasteWatch;
use crate::proxy::scp::ScpSourceInspector;
use crate::proxy::sftp::SftpInspector;

/// Where a request's answer goes, and the channel's messages the bridge sends itself.
pub(super) struct Answers<'a> {
    pub(super) handle: &'a server::Handle,
    pub(super) engineer_id: ChannelId,
    pub(super) replies: &'a ReplySender,
    pub(super) owed: &'a Owed,
}

/// Why the upstream loop stopped early.
pub(super) enum Stop {
    Broken(Broken),
    Refused(WorkRefusal),
    Cut(String),
}

/// Runs until the engineer closes the channel (then the target gets EOF) or it stops early.
pub(super) async fn run<T: SessionTap>(
    mut from_engineer: ChannelReadHalf,
    mut own_rx: mpsc::UnboundedReceiver<Bytes>,
    to_target: &ChannelWriteHalf<client::Msg>,
    carrier: Carrier<'_, T>,
    answers: Answers<'_>,
    mut state: UpState,
) -> Result<(), Stop> {
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
        match forward_up(msg, &carrier, to_target, &answers, &mut state).await {
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
    to_target: &ChannelWriteHalf<client::Msg>,
    answers: &Answers<'_>,
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
    // The target is asked for an answer to every request forwarded to it, whatever the
    // engineer's own flag (see `replies`).
    let expect_reply = || {
        answers.owed.fetch_add(1, Ordering::AcqRel);
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
            want_reply: _,
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
            expect_reply();
            to_target
                .request_pty(
                    true,
                    &term,
                    col_width,
                    row_height,
                    pix_width,
                    pix_height,
                    &terminal_modes,
                )
                .await
        }
        ChannelMsg::RequestShell { want_reply: _ } => {
            begin(tap, answers, pty, env, Work::Shell, allow).await?;
            if pty.is_some() {
                // Before the target's first byte: whose plan this is, until when, and that
                // it is recorded. Recorded too, so a replay shows what the engineer saw.
                let banner = Bytes::from(banner.to_string());
                tap.output(&banner).await?;
                carrier.to_engineer(ToEngineer::Data(banner)).await?;
            }
            expect_reply();
            to_target.request_shell(true).await
        }
        ChannelMsg::Exec {
            want_reply: _,
            command,
        } => {
            let shown = String::from_utf8_lossy(&command).into_owned();
            begin(tap, answers, pty, env, Work::Exec(shown.clone()), allow).await?;
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
            expect_reply();
            to_target.exec(true, command).await
        }
        ChannelMsg::RequestSubsystem {
            want_reply: _,
            name,
        } => {
            begin(tap, answers, pty, env, Work::Subsystem(name.clone()), allow).await?;
            if name == "sftp"
                && let Ok(mut slot) = inspection.lock()
            {
                // Every SFTP operation is judged on its own from here on (§7 ②, R-10-6).
                *slot = Some(ChannelInspector::Sftp(SftpInspector::new(
                    *allow, *scanning,
                )));
            }
            expect_reply();
            to_target.request_subsystem(true, name).await
        }
        ChannelMsg::SetEnv {
            want_reply: _,
            variable_name,
            variable_value,
        } => {
            // Answered here: the target is asked without a reply, and only for the
            // variables policy lets through, with short values; every one asked for is
            // in the recording's header.
            let allowed =
                policy::channel::env_value_forwarded(&variable_name, variable_value.as_bytes());
            env.push((variable_name.clone(), env_shown(allowed, &variable_value)));
            answers.replies.answer(allowed);
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
    answers: &Answers<'_>,
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
        tell_and_close(answers, refusal.message()).await;
        return Err(Up::Refused(refusal));
    }
    let start = ChannelStart {
        pty: pty.clone(),
        env: env.to_vec(),
        work,
    };
    if let Err(error) = tap.begin(&start).await {
        warn!(%error, "recording could not be opened; channel refused");
        tell_and_close(answers, RECORDING_UNAVAILABLE).await;
        return Err(Up::from(error));
    }
    Ok(())
}

/// Answers the request, so OpenSSH shows what follows, then tells the engineer why on
/// stderr and ends the channel with status 1.
async fn tell_and_close(answers: &Answers<'_>, message: &'static str) {
    let (handle, id) = (answers.handle, answers.engineer_id);
    answers.replies.answer(true);
    let _ = handle.extended_data(id, 1, message).await;
    let _ = handle.exit_status_request(id, 1).await;
    let _ = handle.eof(id).await;
    let _ = handle.close(id).await;
}

/// What the upstream loop learns as the channel is set up.
pub(super) struct UpState {
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

impl UpState {
    pub(super) fn new(
        allow: Allowances,
        banner: Arc<str>,
        scanning: bool,
        streams: Streams,
    ) -> Self {
        Self {
            pty: None,
            allow,
            banner,
            scanning,
            env: Vec::new(),
            streams,
            paste: None,
        }
    }
}

/// A non-pty command's streams, watched by both loops.
pub(super) type Streams = Arc<Mutex<Option<ExecStreams>>>;

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

/// Told to the engineer when the recording can't be written.
const RECORDING_UNAVAILABLE: &str = "fumidai: 記録を保存できないため、この操作は開始できません。運用担当者に連絡してください。\r\n\
     fumidai: the session cannot be recorded, so it cannot start; please contact the operator.\r\n";
