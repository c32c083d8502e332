//! A session's channel recordings: found on disk (sealed or not) and in the audit chain
//! (`recording.sealed`), each checked against its seal before anything is played (R-17-2).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, VerifyingKey};
use recorder::format::asciicast::{DataMode, Header, SessionKind};
use recorder::format::cast_reader::CastReader;
use recorder::seal::{self, Statement};
use recorder::sink::{FoundRecording, LocalDisk};
use recorder::{FileKind, RecordingId};
use uuid::Uuid;

/// One channel's recording, as found and checked.
#[derive(Debug)]
pub(super) struct Channel {
    /// Session and channel.
    pub(super) id: RecordingId,
    /// The cast (`.cast`), full path.
    pub(super) cast: PathBuf,
    /// The bulk side file (`.data`), full path.
    pub(super) data: PathBuf,
    /// The transfer log (`.transfers.jsonl`), full path.
    pub(super) transfers: PathBuf,
    /// Sizes on disk, 0 when missing.
    pub(super) cast_bytes: u64,
    /// See `cast_bytes`.
    pub(super) data_bytes: u64,
    /// See `cast_bytes`.
    pub(super) transfers_bytes: u64,
    /// The cast's header, or why it can't be read.
    pub(super) header: Result<Header, String>,
    /// Time of the cast's last event (the channel's recorded length).
    pub(super) duration: Duration,
    /// Whether the files still match the seal in the audit chain.
    pub(super) seal: SealState,
}

/// A recording against its seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SealState {
    /// Signed by this gateway's key, and every file's size and SHA-256 match.
    Intact,
    /// Sealed, but the seal or a file does not match: possible tampering.
    Broken {
        /// The file (or seal) that does not match.
        file: String,
        /// How.
        problem: String,
    },
    /// No `recording.sealed` record: the session is live, or the gateway stopped first.
    Unsealed,
}

impl SealState {
    /// `intact`, `tampered` or `unsealed`, for lists and JSON.
    pub(super) fn as_str(&self) -> &'static str {
        match self {
            SealState::Intact => "intact",
            SealState::Broken { .. } => "tampered",
            SealState::Unsealed => "unsealed",
        }
    }
}

/// A `recording.sealed` audit record's statement and signature, as stored.
#[derive(Debug, Clone)]
pub(super) struct SealRecord {
    /// The audit record's sequence number, to name it in messages.
    pub(super) seq: i64,
    /// Canonical statement text.
    pub(super) statement: String,
    /// Signature, hex.
    pub(super) signature: String,
}

/// What kind of work a channel did, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum ChannelKind {
    /// An interactive shell.
    Shell,
    /// One command (`ssh host cmd`, `scp`).
    Exec,
    /// A subsystem (`sftp`).
    Subsystem,
}

impl ChannelKind {
    /// English name.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Shell => "shell",
            ChannelKind::Exec => "exec",
            ChannelKind::Subsystem => "subsystem",
        }
    }

    /// Japanese name.
    pub(super) fn ja(self) -> &'static str {
        match self {
            ChannelKind::Shell => "シェル",
            ChannelKind::Exec => "コマンド実行",
            ChannelKind::Subsystem => "サブシステム",
        }
    }
}

impl Channel {
    /// Shell, exec or subsystem (the gateway writes subsystems as `subsystem:NAME`).
    pub(super) fn kind(&self) -> Option<ChannelKind> {
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
    pub(super) fn is_bulk(&self) -> bool {
        self.header
            .as_ref()
            .is_ok_and(|h| h.fumidai.data == DataMode::Bulk)
    }

    /// When the channel's recording started.
    pub(super) fn started(&self) -> Option<DateTime<Utc>> {
        self.header.as_ref().ok().map(|h| h.timestamp)
    }
}

/// Every recording of `session` under `root`: the sealed ones by their statements, the
/// others by the casts in the dated directories from `first` to `last` (UTC days). Sorted
/// by start time, then channel. Blocking: reads every file (digests, durations).
/// Statements that do not parse are returned as warnings; they name no recording.
pub(super) fn inventory(
    root: &Path,
    session: Uuid,
    (first, last): (chrono::NaiveDate, chrono::NaiveDate),
    seals: &[SealRecord],
    key: &VerifyingKey,
) -> anyhow::Result<(Vec<Channel>, Vec<String>)> {
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

/// The seal's signature, then each file's size and digest. A problem with the seal itself
/// is reported against the recording's first file (the cast, or the `.rdp` file).
pub(super) fn check_seal(
    root: &Path,
    key: &VerifyingKey,
    statement: &Statement,
    signature: &str,
) -> SealState {
    let cast = statement
        .files
        .first()
        .map(|f| f.name.clone())
        .unwrap_or_default();
    let broken = |file: String, problem: String| SealState::Broken { file, problem };
    let bytes: Option<[u8; 64]> = hex::decode(signature).ok().and_then(|b| b.try_into().ok());
    let Some(bytes) = bytes else {
        return broken(
            root.join(&cast).display().to_string(),
            "malformed seal signature".to_owned(),
        );
    };
    if let Err(e) = seal::verify(statement, &Signature::from_bytes(&bytes), key) {
        return broken(root.join(&cast).display().to_string(), e.to_string());
    }
    match seal::verify_files(root, statement) {
        Ok(()) => SealState::Intact,
        Err(recorder::Error::Tampered { name, mismatch }) => {
            broken(root.join(name).display().to_string(), mismatch.to_string())
        }
        Err(e) => broken(root.join(&cast).display().to_string(), e.to_string()),
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
