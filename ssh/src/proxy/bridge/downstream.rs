//! Target → engineer: output (recorded, or inspected first), stderr, the target's answers
//! to forwarded requests (handed to the waiting request, [`super::replies`]), exit status
//! and signal, EOF and close; and what the upstream loop queued for the engineer.

use std::sync::atomic::Ordering;

use russh::{ChannelId, ChannelMsg, ChannelReadHalf, ChannelWriteHalf, server};
use tokio::sync::mpsc;
use tracing::debug;

use super::replies::ReplySender;
use super::upstream::Streams;
use super::{BridgeEnd, Owed, SessionTap};
use crate::proxy::actions::{Broken, Carrier, ToEngineer, inspect};

/// Where the target's answers go.
pub(super) struct TargetAnswers<'a> {
    pub(super) handle: &'a server::Handle,
    pub(super) engineer_id: ChannelId,
    pub(super) replies: &'a ReplySender,
    pub(super) owed: &'a Owed,
}

/// Runs until the target closes the channel or goes away.
pub(super) async fn run<T: SessionTap>(
    mut from_target: ChannelReadHalf,
    mut side_rx: mpsc::Receiver<ToEngineer>,
    to_engineer: &ChannelWriteHalf<server::Msg>,
    carrier: Carrier<'_, T>,
    answers: TargetAnswers<'_>,
    streams: &Streams,
) -> Result<BridgeEnd, Broken> {
    let TargetAnswers {
        handle,
        engineer_id,
        replies,
        owed,
    } = answers;
    let (tap, inspection) = (carrier.tap, carrier.inspection);
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
                // An answer nobody asked the target for is dropped.
                let was_owed = owed
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                    .is_ok();
                if was_owed {
                    replies.answer(matches!(msg, ChannelMsg::Success));
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
    Ok(BridgeEnd::Closed { exit_status })
}
