//! Carrying out what a channel's inspector decided ([`Action`]s), from either of the
//! bridge's two loops.
//!
//! Each side's byte stream has one writer, so SFTP packets never interleave: the upstream
//! loop writes to the target and hands the engineer's bytes to the downstream loop; the
//! downstream loop writes to the engineer and hands the inspector's own requests (read-back,
//! rename, remove), which it learns of from the target's replies, to the upstream loop.
//! That hand-over is unbounded so the two loops can never wait on each other; the inspector
//! keeps it small (one read-back request at a time per finishing upload).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use russh::{ChannelWriteHalf, client, server};
use tokio::sync::mpsc;
use tracing::warn;

use super::bridge::{SessionTap, TapError};
use super::inspection::{ChannelInspector, InspectError};
use super::sftp::{Action, Violation};
use super::upload_scan::{ScanSlot, scan_feed, scan_verdict};
use fumidai_core::clamd::Scanner;

/// The channel's inspector, once its work started; shared by both loops.
pub(super) type Inspection = Arc<Mutex<Option<ChannelInspector>>>;

/// Uploads being scanned, by the inspector's file serial; shared by both loops (the
/// upstream loop feeds written bytes, the downstream one read-back bytes and verdicts).
pub(super) type Scans = Arc<tokio::sync::Mutex<HashMap<u64, ScanSlot>>>;

/// Something for the engineer from the upstream loop, written by the downstream loop.
pub(super) enum ToEngineer {
    Data(Bytes),
    Stderr(String),
}

/// Why a loop stops carrying out actions.
#[derive(Debug)]
pub(super) enum Broken {
    /// The recording or audit trail failed: the channel ends (fail closed).
    Tap(TapError),
    /// A peer broke the transfer protocol: the channel ends, on record.
    Violation(Violation),
    /// A side went away.
    Gone,
}

impl From<TapError> for Broken {
    fn from(e: TapError) -> Self {
        Self::Tap(e)
    }
}

/// Where bytes for the target go from this loop.
pub(super) enum TargetRoute<'a> {
    /// Written here (the upstream loop).
    Direct(&'a ChannelWriteHalf<client::Msg>),
    /// Handed to the upstream loop.
    Queued(&'a mpsc::UnboundedSender<Bytes>),
}

/// Where bytes for the engineer go from this loop.
pub(super) enum EngineerRoute<'a> {
    /// Written here (the downstream loop).
    Direct(&'a ChannelWriteHalf<server::Msg>),
    /// Handed to the downstream loop.
    Queued(&'a mpsc::Sender<ToEngineer>),
}

/// What one loop needs to carry out actions.
pub(super) struct Carrier<'a, T> {
    pub tap: &'a T,
    pub inspection: &'a Inspection,
    pub scanner: Option<&'a Scanner>,
    pub scans: &'a Scans,
    pub target: TargetRoute<'a>,
    pub engineer: EngineerRoute<'a>,
}

impl<T: SessionTap> Carrier<'_, T> {
    /// Carries out `actions` in order, and those a scan verdict leads to after them.
    pub(super) async fn carry(&self, actions: Vec<Action>) -> Result<(), Broken> {
        let mut queue = VecDeque::from(actions);
        while let Some(action) = queue.pop_front() {
            match action {
                Action::ToTarget(data) => self.to_target(data).await?,
                Action::ToEngineer(data) => self.to_engineer(ToEngineer::Data(data)).await?,
                Action::Tell(text) => self.to_engineer(ToEngineer::Stderr(text)).await?,
                Action::Transfer(record) => self.tap.transfer(record).await?,
                Action::Change(change) => self.tap.change(&change).await?,
                Action::ScanFeed { file, data } => {
                    let mut scans = self.scans.lock().await;
                    scan_feed(self.scanner, &mut scans, file, &data).await;
                }
                Action::ScanReset { file } => {
                    self.scans.lock().await.remove(&file);
                }
                Action::ScanVerdict { file } => {
                    let verdict = scan_verdict(&mut *self.scans.lock().await, file).await;
                    if let Err(note) = &verdict {
                        warn!(%note, "upload refused by the virus scan; removing it from the target");
                    }
                    let next = inspect(self.inspection, |i| Ok(i.scanned(file, verdict)))?;
                    queue.extend(next.unwrap_or_default());
                }
            }
        }
        Ok(())
    }

    async fn to_target(&self, data: Bytes) -> Result<(), Broken> {
        match &self.target {
            TargetRoute::Direct(w) => w.data_bytes(data).await.map_err(|_| Broken::Gone),
            TargetRoute::Queued(q) => q.send(data).map_err(|_| Broken::Gone),
        }
    }

    pub(super) async fn to_engineer(&self, message: ToEngineer) -> Result<(), Broken> {
        match &self.engineer {
            EngineerRoute::Direct(w) => match message {
                ToEngineer::Data(data) => w.data_bytes(data).await,
                ToEngineer::Stderr(text) => w.extended_data_bytes(1, Bytes::from(text)).await,
            }
            .map_err(|_| Broken::Gone),
            EngineerRoute::Queued(q) => q.send(message).await.map_err(|_| Broken::Gone),
        }
    }
}

/// Runs `step` on the channel's inspector: `None` when the channel is not inspected. A
/// stream that breaks its protocol ends the channel (fail closed).
pub(super) fn inspect(
    inspection: &Inspection,
    step: impl FnOnce(&mut ChannelInspector) -> Result<Vec<Action>, InspectError>,
) -> Result<Option<Vec<Action>>, Broken> {
    let mut slot = inspection.lock().map_err(|_| TapError::Poisoned)?;
    match slot.as_mut() {
        None => Ok(None),
        Some(inspector) => step(inspector).map(Some).map_err(|e| match e {
            InspectError::Sftp(violation) => {
                warn!(reason = violation.reason(), error = %violation, "SFTP protocol violation; channel ends");
                Broken::Violation(violation)
            }
            InspectError::Scp(e) => {
                warn!(error = %e, "transfer stream could not be inspected; channel ends");
                Broken::Tap(TapError::Inspect(e))
            }
        }),
    }
}
