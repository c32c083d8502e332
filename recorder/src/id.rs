//! Which recording, and which of its files.

use std::fmt;

use uuid::Uuid;

/// Names one recording: a session, or one channel of it when a connection multiplexes
/// several channels (OpenSSH `ControlMaster`), each with its own cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordingId {
    /// The gateway's session ID.
    pub session: Uuid,
    /// The SSH channel, when the session records one cast per channel.
    pub channel: Option<u32>,
}

impl RecordingId {
    /// The recording of a whole session.
    pub fn session(session: Uuid) -> Self {
        Self {
            session,
            channel: None,
        }
    }

    /// The recording of one channel of a session.
    pub fn channel(session: Uuid, channel: u32) -> Self {
        Self {
            session,
            channel: Some(channel),
        }
    }

    /// The file name stem: `<uuid>` or `<uuid>-ch<channel>`; safe in paths by construction.
    pub fn stem(&self) -> String {
        self.to_string()
    }

    /// Reads a stem back: only the exact spelling [`stem`](Self::stem) writes (lowercase
    /// hyphenated UUID, channel without leading zeros).
    pub fn from_stem(stem: &str) -> Option<Self> {
        let (uuid, channel) = match stem.split_once("-ch") {
            Some((uuid, ch)) => (uuid, Some(ch.parse::<u32>().ok()?)),
            None => (stem, None),
        };
        let id = Self {
            session: Uuid::try_parse(uuid).ok()?,
            channel,
        };
        (id.stem() == stem).then_some(id)
    }
}

impl fmt::Display for RecordingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.channel {
            None => write!(f, "{}", self.session.hyphenated()),
            Some(ch) => write!(f, "{}-ch{ch}", self.session.hyphenated()),
        }
    }
}

/// The files of one recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    /// The asciicast v2 file (`.cast`).
    Cast,
    /// The bulk data side file (`.data`), framed binary records.
    Data,
    /// The file transfer log (`.transfers.jsonl`).
    Transfers,
    /// An RDP session's recording (`.rdp`): timestamped PDUs, see [`crate::rdp::format`].
    Rdp,
}

impl FileKind {
    /// All kinds, in the order they appear in a seal statement. A recording has only the
    /// files of its [`RecordingKind`].
    pub const ALL: [FileKind; 4] = [
        FileKind::Cast,
        FileKind::Data,
        FileKind::Transfers,
        FileKind::Rdp,
    ];

    /// The files of an SSH recording ([`RecordingKind::Ssh`]).
    pub const SSH: [FileKind; 3] = [FileKind::Cast, FileKind::Data, FileKind::Transfers];

    /// The file name suffix after the stem, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Cast => "cast",
            FileKind::Data => "data",
            FileKind::Transfers => "transfers.jsonl",
            FileKind::Rdp => "rdp",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Cast => "cast",
            FileKind::Data => "bulk data file",
            FileKind::Transfers => "transfer log",
            FileKind::Rdp => "RDP recording",
        })
    }
}

/// What a recording is of, which decides the files it has (and so what its seal states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordingKind {
    /// An SSH channel: cast, side file and transfer log, exactly as before RDP existed, so
    /// SSH seal statements keep their three `file` lines.
    Ssh,
    /// An RDP session: one `.rdp` file.
    Rdp,
}

impl RecordingKind {
    /// The files of a recording of this kind, in seal statement order.
    pub fn files(self) -> &'static [FileKind] {
        match self {
            RecordingKind::Ssh => &FileKind::SSH,
            RecordingKind::Rdp => &[FileKind::Rdp],
        }
    }

    /// The file a recording of this kind is found by on disk.
    pub fn primary(self) -> FileKind {
        match self {
            RecordingKind::Ssh => FileKind::Cast,
            RecordingKind::Rdp => FileKind::Rdp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems() {
        let u = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let cases = [
            (
                RecordingId::session(u),
                "01234567-89ab-cdef-0123-456789abcdef",
            ),
            (
                RecordingId::channel(u, 3),
                "01234567-89ab-cdef-0123-456789abcdef-ch3",
            ),
        ];
        for (id, want) in cases {
            assert_eq!(id.stem(), want);
            assert_eq!(RecordingId::from_stem(want), Some(id), "{want}");
        }
        for bad in [
            "",
            "01234567-89AB-cdef-0123-456789abcdef",
            "0123456789abcdef0123456789abcdef",
            "01234567-89ab-cdef-0123-456789abcdef-ch",
            "01234567-89ab-cdef-0123-456789abcdef-ch03",
            "01234567-89ab-cdef-0123-456789abcdef-ch+3",
            "01234567-89ab-cdef-0123-456789abcdef-chx",
            "01234567-89ab-cdef-0123-456789abcdef.cast",
        ] {
            assert_eq!(RecordingId::from_stem(bad), None, "{bad:?}");
        }
    }
}
