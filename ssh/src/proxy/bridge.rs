//! One engineer-side session channel bridged to one target-side channel, so OpenSSH users
//! get exactly what they expect: pty and shell, exec, env (filtered), window changes,
//! signals, EOF/close ordering, exit status and exit signal, subsystems.
//!
//! Two loops run concurrently: engineer → target ([`upstream`]: input, requests) and
//! target → engineer ([`downstream`]: output, replies, exit). Every request is answered one
//! for one, in order, with the target's answer where it was asked, so a refused `pty-req`
//! or `subsystem` on the target is refused to the engineer too ([`replies`]). Every byte
//! passes the [`SessionTap`] (the recording) before it is forwarded: when the tap fails, the
//! channel ends (fail closed).
//!
//! Backpressure is end to end: each loop awaits the write to the other side before it reads
//! more, and russh's channel windows hold back the sender.

mod downstream;
mod finish;
pub mod replies;
mod upstream;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use bytes::Bytes;
use policy::channel::WorkRefusal;
use policy::plan::Allowances;
use recorder::format::transfers::TransferRecord;
use russh::{Channel, client, server};
use tokio::sync::mpsc;
use tracing::warn;

use self::downstream::TargetAnswers;
use self::replies::ReplySender;
use self::upstream::{Answers, Stop, UpState};
use super::actions::{Broken, Carrier, EngineerRoute, Inspection, Scans, TargetRoute, ToEngineer};
use super::exec_streams::StreamVia;
use super::sftp::{FileChange, Violation};
use fumidai_core::clamd::Scanner;

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

/// Why the tap could not go on: the channel must end (fail closed, R-10-3).
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    /// The recording could not be opened or written.
    #[error("recording failed: {0}")]
    Recording(#[from] recorder::Error),
    /// The task opening the recording stopped (the process is shutting down).
    #[error("recording failed: the task opening it stopped")]
    Stopped,
    /// The audit trail could not take a transfer or violation record.
    #[error("audit trail unavailable: {0}")]
    Audit(#[from] store::Error),
    /// An SCP stream could not be inspected (the peer broke the protocol).
    #[error("transfer stream could not be inspected: {0}")]
    Inspect(#[from] super::scp::ScpError),
    /// A task panicked while holding the channel's inspector.
    #[error("channel inspector poisoned")]
    Poisoned,
}

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

/// How many answers the target owes: one per request forwarded to it (each asks for one).
type Owed = Arc<AtomicUsize>;

/// How a bridged channel ended, and what it left on the target.
#[derive(Debug)]
pub struct Bridged {
    /// How it ended.
    pub end: BridgeEnd,
    /// Temporary files of staged uploads still on the target (the channel ended before they
    /// were renamed into place or removed): the caller removes them over a new channel.
    pub temp_files: Vec<String>,
}

/// Bridges `engineer` and `target` until both sides are closed; each request's answer
/// goes to `replies`.
#[expect(
    clippy::too_many_arguments,
    reason = "the two channels, the connection and the channel's rules, each used once"
)]
pub async fn run<T: SessionTap>(
    engineer: Channel<server::Msg>,
    target: Channel<client::Msg>,
    handle: server::Handle,
    replies: ReplySender,
    tap: Arc<T>,
    allow: Allowances,
    banner: Arc<str>,
    scanner: Option<Arc<Scanner>>,
) -> Bridged {
    let engineer_id = engineer.id();
    let (from_engineer, to_engineer) = engineer.split();
    let (from_target, to_target) = target.split();
    let owed: Owed = Arc::default();
    let inspection: Inspection = Arc::default();
    let scans: Scans = Arc::default();
    let streams: upstream::Streams = Arc::default();
    // What the upstream loop sends the engineer goes through the downstream loop, so it
    // never lands inside a reply the target is sending; the inspector's own requests, made
    // on the target's replies, go the other way (see `actions`).
    let (side, side_rx) = mpsc::channel::<ToEngineer>(64);
    let (own, own_rx) = mpsc::unbounded_channel::<Bytes>();
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

    let upstream = upstream::run(
        from_engineer,
        own_rx,
        to_target,
        carrier(TargetRoute::Direct(to_target), EngineerRoute::Queued(&side)),
        Answers {
            handle: &handle,
            engineer_id,
            replies: &replies,
            owed: &owed,
        },
        UpState::new(allow, banner, scanning, Arc::clone(&streams)),
    );
    let downstream = downstream::run(
        from_target,
        side_rx,
        to_engineer,
        carrier(
            TargetRoute::Queued(&own),
            EngineerRoute::Direct(to_engineer),
        ),
        TargetAnswers {
            handle: &handle,
            engineer_id,
            replies: &replies,
            owed: &owed,
        },
        &streams,
    );

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
    let (finished, temp_files) = finish::inspection(&inspection, tap.as_ref()).await;
    let finished = finished.and(finish::streams(&streams, tap.as_ref()).await);
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
            BridgeEnd::TapFailed(e.to_string())
        }
    };
    Bridged { end, temp_files }
}
