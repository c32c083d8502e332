//! An SSH session's channel recordings: found on disk (sealed or not) and in their seals,
//! each checked against its seal.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use uuid::Uuid;

use super::SealRecord;
use super::check::{SealState, check_seal};
use crate::error::Result;
use crate::format::asciicast::{DataMode, Header, SessionKind};
use crate::format::cast_reader::CastReader;
use crate::id::{FileKind, RecordingId};
use crate::seal::Statement;
use crate::sink::{FoundRecording, LocalDisk};

/// One channel's recording, as found and checked.
#[derive(Debug)]
pub struct Channel {
    /// Session and channel.
    pub id: RecordingId,
    /// The cast (`.cast`), full path.
    pub cast: PathBuf,
    /// The bulk side file (`.data`), full path.
    pub data: PathBuf,
    /// The transfer log (`.transfers.jsonl`), full path.
    pub transfers: PathBuf,
    /// Sizes on disk, 0 when missing.
    pub cast_bytes: u64,
    /// See `cast_bytes`.
    pub data_bytes: u64,
    /// See `cast_bytes`.
    pub transfers_bytes: u64,
    /// The cast's header, or why it can't be read.
    pub header: Result<Header, String>,
    /// Time of the cast's last event (the channel's recorded length).
    pub duration: Duration,
    /// Whether the files still match the seal in the audit chain.
    pub seal: SealState,
}

/// What kind of work a channel did, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// An interactive shell.
    Shell,
    /// One command (`ssh host cmd`, `scp`).
    Exec,
    /// A subsystem (`sftp`).
    Subsystem,
}

impl ChannelKind {
    /// English name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Shell => "shell",
            ChannelKind::Exec => "exec",
            ChannelKind::Subsystem => "subsystem",
        }
    }
}

impl Channel {
    /// Shell, exec or subsystem (the gateway writes subsystems as `subsystem:NAME`).
    pub fn kind(&self) -> Option<ChannelKind> {
        let header = self.header.as_ref().ok()?;
        Some(match header.fumidai.kind {
            SessionKind::Shell => ChannelKind::Shell,
            SessionKind::Exec
                if header
                    .command
                    .as_deref()
                    .is_some_and(|c| c.starts_with("subsystem:")) =>
            {
                ChannelKind::Subsystem
            }
            SessionKind::Exec => ChannelKind::Exec,
        })
    }

    /// Whether stream bytes live in the side file rather than the cast.
    pub fn is_bulk(&self) -> bool {
        self.header
            .as_ref()
            .is_ok_and(|h| h.fumidai.data == DataMode::Bulk)
    }

    /// When the channel's recording started.
    pub fn started(&self) -> Option<DateTime<Utc>> {
        self.header.as_ref().ok().map(|h| h.timestamp)
    }
}

/// Every channel recording of `session` under `root`: the sealed ones by their statements,
/// the others by the casts in the dated directories from `first` to `last` (UTC days).
/// Sorted by start time, then channel. Blocking: reads every file (digests, durations).
/// Statements that do not parse are returned as warnings; they name no recording.
pub fn find(
    root: &Path,
    session: Uuid,
    (first, last): (chrono::NaiveDate, chrono::NaiveDate),
    seals: &[SealRecord],
    key: &VerifyingKey,
) -> Result<(Vec<Channel>, Vec<String>)> {
    let disk = LocalDisk::new(root);
    // Channel → (names of its files, seal state if sealed).
    let mut found: BTreeMap<Option<u32>, (Names, Option<SealState>)> = BTreeMap::new();
    let mut warnings = Vec::new();
    for record in seals {
        let statement = match Statement::parse(&record.statement) {
            // RDP recordings are not channels: `super::rdp` takes them.
            Ok(s) if s.recording.session == session && !super::rdp::is_rdp(&s) => s,
            Ok(_) => continue,
            Err(e) => {
                warnings.push(format!("audit record {}: {e}", record.seq));
                continue;
            }
        };
        // One seal per recording; a second one changes nothing.
        if found.contains_key(&statement.recording.channel) {
            continue;
        }
        let state = check_seal(root, key, &statement, &record.signature);
        found.insert(
            statement.recording.channel,
            (Names::sealed(&statement), Some(state)),
        );
    }
    for f in disk.find_session(session, first, last)? {
        found
            .entry(f.id.channel)
            .or_insert_with(|| (Names::found(&f), None));
    }
    let mut channels: Vec<Channel> = found
        .into_iter()
        .map(|(channel, (names, seal))| {
            let id = RecordingId { session, channel };
            describe(root, id, &names, seal.unwrap_or(SealState::Unsealed))
        })
        .collect();
    channels.sort_by_key(|c| (c.started(), c.id.channel));
    Ok((channels, warnings))
}

/// The relative names of a recording's files.
#[derive(Debug)]
struct Names {
    cast: String,
    data: String,
    transfers: String,
}

impl Names {
    fn found(f: &FoundRecording) -> Self {
        Self {
            cast: f.name(FileKind::Cast),
            data: f.name(FileKind::Data),
            transfers: f.name(FileKind::Transfers),
        }
    }

    /// From a statement, which lists the files in [`FileKind::ALL`] order.
    fn sealed(s: &Statement) -> Self {
        let name = |kind: FileKind| {
            s.files
                .iter()
                .map(|f| f.name.clone())
                .find(|n| n.ends_with(&format!(".{}", kind.extension())))
                .unwrap_or_default()
        };
        Self {
            cast: name(FileKind::Cast),
            data: name(FileKind::Data),
            transfers: name(FileKind::Transfers),
        }
    }
}

/// Sizes, header and duration of one recording.
fn describe(root: &Path, id: RecordingId, names: &Names, seal: SealState) -> Channel {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let cast = root.join(&names.cast);
    let data = root.join(&names.data);
    let transfers = root.join(&names.transfers);
    let (header, duration) = match read_cast(&cast) {
        Ok((header, duration)) => (Ok(header), duration),
        Err(e) => (Err(e), Duration::ZERO),
    };
    Channel {
        id,
        cast_bytes: size(&cast),
        data_bytes: size(&data),
        transfers_bytes: size(&transfers),
        cast,
        data,
        transfers,
        header,
        duration,
        seal,
    }
}

/// The header and the time of the last event; malformed events are skipped here (the
/// replay reports them).
fn read_cast(path: &Path) -> Result<(Header, Duration), String> {
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let (header, reader) =
        CastReader::open(BufReader::new(file)).map_err(|e| format!("{}: {e}", path.display()))?;
    let duration = reader
        .filter_map(Result::ok)
        .map(|e| e.t)
        .max()
        .unwrap_or_default();
    Ok((header, duration))
}
