//! An RDP session's recording: its one `.rdp` file, found by its seal or on disk, and
//! checked against its seal like a channel.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use ed25519_dalek::VerifyingKey;
use uuid::Uuid;

use super::SealRecord;
use super::check::{SealState, check_seal};
use crate::error::Result;
use crate::id::{FileKind, RecordingKind};
use crate::rdp::RdpHeader;
use crate::rdp::format::RdpReader;
use crate::seal::Statement;
use crate::sink::LocalDisk;

/// A session's RDP recording, as found and checked.
#[derive(Debug)]
pub struct RdpRecording {
    /// The `.rdp` file, full path.
    pub path: PathBuf,
    /// Its size, 0 when missing.
    pub bytes: u64,
    /// Its header, or why it can't be read.
    pub header: std::result::Result<RdpHeader, String>,
    /// Offset of its last record.
    pub duration: Duration,
    /// Whether it still matches its seal.
    pub seal: SealState,
}

/// Whether a seal statement is an RDP recording's (it names a `.rdp` file).
pub fn is_rdp(statement: &Statement) -> bool {
    let suffix = format!(".{}", FileKind::Rdp.extension());
    statement.files.iter().any(|f| f.name.ends_with(&suffix))
}

/// The RDP recording of `session` under `root`: by its seal if sealed, else found on disk
/// in the dated directories from `first` to `last`. Blocking (reads the file).
pub fn find(
    root: &Path,
    session: Uuid,
    (first, last): (NaiveDate, NaiveDate),
    seals: &[SealRecord],
    key: &VerifyingKey,
) -> Result<Option<RdpRecording>> {
    let sealed = seals.iter().find_map(|record| {
        let statement = Statement::parse(&record.statement).ok()?;
        (statement.recording.session == session && is_rdp(&statement))
            .then_some((statement, record))
    });
    let (name, seal) = match sealed {
        Some((statement, record)) => {
            let seal = check_seal(root, key, &statement, &record.signature);
            let name = statement.files.first().map(|f| f.name.clone());
            (name, seal)
        }
        None => {
            let found =
                LocalDisk::new(root).find_session_as(RecordingKind::Rdp, session, first, last)?;
            let name = found.first().map(|f| f.name(FileKind::Rdp));
            (name, SealState::Unsealed)
        }
    };
    let Some(name) = name else {
        return Ok(None);
    };
    let path = root.join(name);
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let (header, duration) = match read(&path) {
        Ok((header, duration)) => (Ok(header), duration),
        Err(e) => (Err(e), Duration::ZERO),
    };
    Ok(Some(RdpRecording {
        path,
        bytes,
        header,
        duration,
        seal,
    }))
}

/// The header and the offset of the last record; a cut last record is fine here.
fn read(path: &Path) -> std::result::Result<(RdpHeader, Duration), String> {
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let (header, records) =
        RdpReader::open(BufReader::new(file)).map_err(|e| format!("{}: {e}", path.display()))?;
    let duration = records
        .map_while(std::result::Result::ok)
        .map(|r| r.offset)
        .max()
        .unwrap_or_default();
    Ok((header, duration))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::id::RecordingId;
    use crate::rdp::RdpState;
    use crate::rdp::format::{RecordKind, state_payload, write_preamble, write_record};
    use crate::seal;

    const NAME: &str = "2026/01/01/00000000-0000-0000-0000-000000000009.rdp";

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
    }

    /// A recording: a 32×16 desktop, and one input frame at 1.5 s.
    fn write_recording(root: &Path) {
        let header = RdpHeader {
            session_id: Uuid::from_u128(9),
            engineer: "alice".into(),
            target: "ct-console".into(),
            plan_id: "7".into(),
            started_at: chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
            gateway_version: "0.1.0".into(),
            may_resume: None,
        };
        let state = RdpState {
            io_channel_id: 1003,
            user_channel_id: 1007,
            share_id: 1,
            desktop_width: 32,
            desktop_height: 16,
            static_channels: Vec::new(),
        };
        let mut bytes = Vec::new();
        write_preamble(&mut bytes, &header).unwrap();
        let state = state_payload(&state).unwrap();
        write_record(&mut bytes, Duration::ZERO, RecordKind::State, &state).unwrap();
        write_record(
            &mut bytes,
            Duration::from_millis(1500),
            RecordKind::Client,
            b"\x04\x06\x00\x1e",
        )
        .unwrap();
        let path = root.join(NAME);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    fn sealed(root: &Path, key: &SigningKey) -> SealRecord {
        let id = RecordingId::session(Uuid::from_u128(9));
        let statement = Statement::from_files(root, id, &[NAME.to_owned()]).unwrap();
        let sealed = seal::sign(statement, key);
        SealRecord {
            seq: 1,
            statement: sealed.statement.canonical(),
            signature: sealed.signature_hex(),
        }
    }

    #[test]
    fn found_by_seal_or_on_disk_and_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let key = SigningKey::from_bytes(&[3; 32]);
        let verifying = key.verifying_key();
        let session = Uuid::from_u128(9);
        let days = (day(), day());
        assert!(
            find(root, session, days, &[], &verifying)
                .unwrap()
                .is_none()
        );

        write_recording(root);
        let unsealed = find(root, session, days, &[], &verifying).unwrap().unwrap();
        assert_eq!(unsealed.seal, SealState::Unsealed);
        assert_eq!(unsealed.path, root.join(NAME));
        assert_eq!(unsealed.duration, Duration::from_millis(1500));
        assert_eq!(unsealed.header.as_ref().unwrap().engineer, "alice");

        let seals = [sealed(root, &key)];
        let rec = find(root, session, days, &seals, &verifying)
            .unwrap()
            .unwrap();
        assert_eq!(rec.seal, SealState::Intact);
        // Not a channel: the SSH inventory leaves the RDP seal alone.
        let found = super::super::inventory(root, session, days, &seals, &verifying).unwrap();
        assert!(
            found.channels.is_empty() && found.warnings.is_empty(),
            "{found:?}"
        );
        assert_eq!(found.rdp.map(|r| r.seal), Some(SealState::Intact));

        // One byte changed: the seal is broken, naming the file.
        let path = root.join(NAME);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, bytes).unwrap();
        let rec = find(root, session, days, &seals, &verifying)
            .unwrap()
            .unwrap();
        match rec.seal {
            SealState::Broken { file, problem } => {
                assert!(file.ends_with(".rdp"), "{file}");
                assert_eq!(problem, "SHA-256 differs");
            }
            other => panic!("{other:?}"),
        }
        // Someone else's key: the signature does not verify.
        let other = SigningKey::from_bytes(&[4; 32]).verifying_key();
        let rec = find(root, session, days, &seals, &other).unwrap().unwrap();
        assert!(
            matches!(rec.seal, SealState::Broken { .. }),
            "{:?}",
            rec.seal
        );
    }
}
