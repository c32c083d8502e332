//! A session's recordings, SSH channels and RDP, found on disk and in their seals, each
//! checked against its seal before anything is played (R-17-2).
//!
//! The caller (`fumidai play` now, the web console next) reads the session's seals from the
//! audit chain (the store's `session_seals`) and hands over their text; [`inventory`] parses
//! and checks them, finds unsealed recordings in the dated directories, and describes every
//! recording (sizes, header, length). It plays nothing and prints nothing.
//!
//! # Layout
//!
//! - [`check`](mod@check): [`SealState`], a recording against its seal.
//! - [`channels`](mod@channels): an SSH session's channel recordings ([`Channel`]).
//! - [`rdp`](mod@rdp): an RDP session's one recording ([`RdpRecording`]).

pub mod channels;
pub mod check;
pub mod rdp;

use std::path::Path;

use chrono::NaiveDate;
use ed25519_dalek::VerifyingKey;
use uuid::Uuid;

pub use self::channels::{Channel, ChannelKind};
pub use self::check::{SealState, check_seal};
pub use self::rdp::RdpRecording;
use crate::error::Result;

/// A seal as the audit chain holds it (a `recording.sealed` record): statement and
/// signature as text, unparsed and unchecked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealRecord {
    /// The audit record's sequence number, to name it in warnings.
    pub seq: i64,
    /// Canonical statement text ([`Statement::parse`](crate::Statement::parse) reads it).
    pub statement: String,
    /// Ed25519 signature, hex.
    pub signature: String,
}

/// A session's recordings, as found and checked.
#[derive(Debug)]
pub struct Inventory {
    /// Its SSH channels' recordings, by start time, then channel.
    pub channels: Vec<Channel>,
    /// Its RDP recording, if it has one.
    pub rdp: Option<RdpRecording>,
    /// Seals that do not parse (they name no recording), one line each.
    pub warnings: Vec<String>,
}

/// Every recording of `session` under `root`: the sealed ones by their statements, checked
/// with `key`, the others by their files in the dated directories from `first` to `last`
/// (UTC days). Blocking: reads every file (digests, durations).
pub fn inventory(
    root: &Path,
    session: Uuid,
    days: (NaiveDate, NaiveDate),
    seals: &[SealRecord],
    key: &VerifyingKey,
) -> Result<Inventory> {
    let (channels, warnings) = channels::find(root, session, days, seals, key)?;
    let rdp = rdp::find(root, session, days, seals, key)?;
    Ok(Inventory {
        channels,
        rdp,
        warnings,
    })
}
