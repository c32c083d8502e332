//! asciicast v2 encoder: one JSON header line, then one JSON array per event.
//!
//! ```text
//! {"version": 2, "width": 80, "height": 24, "timestamp": 1767225600, "command": "ls",
//!  "env": {"TERM": "xterm"}, "fumidai": {"session_id": "…", "engineer": "…", …}}
//! [0.104512, "o", "total 0\r\n"]
//! [1.200000, "i", "exit\r"]
//! [1.250000, "r", "120x40"]
//! [2.000000, "m", "fumidai bulk: …"]
//! ```
//!
//! What Debian's asciinema 2.2 (`cat`, `play`) accepts, checked by `tests/asciinema.rs`:
//! extra header keys (our `fumidai` object) are ignored; events other than `"o"` (`"i"`,
//! `"r"`, `"m"`, anything) are skipped; but every event must be exactly a 3-element array,
//! no blank line may appear, and a cut last line makes it stop with a traceback after
//! printing everything before it. So every line is written whole, and
//! [`super::cast_reader`] tolerates the cut line a crash can leave. `asciinema cat` also
//! needs a controlling terminal (it opens `/dev/tty`); `play` does not.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Seconds;
use crate::id::RecordingId;

/// The header of a fumidai cast (the asciicast `version` is added by the encoder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Terminal columns at the start (80 for channels without a pty).
    pub width: u16,
    /// Terminal rows at the start (24 for channels without a pty).
    pub height: u16,
    /// When the recording started, as Unix seconds in the file.
    #[serde(with = "chrono::serde::ts_seconds")]
    pub timestamp: DateTime<Utc>,
    /// The exec command, for exec channels; asciinema shows it as the recorded command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// A human title, e.g. `engineer@target`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The environment worth knowing for replay: `TERM` (and the locale, if passed).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// fumidai's own fields, under one namespaced key that players ignore.
    pub fumidai: FumidaiMeta,
}

/// Who recorded what, under the header's `"fumidai"` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FumidaiMeta {
    /// The gateway's session ID.
    pub session_id: Uuid,
    /// The SSH channel, when each channel of a connection has its own recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<u32>,
    /// The engineer's login name.
    pub engineer: String,
    /// The target's name.
    pub target: String,
    /// The approved plan the session ran under.
    pub plan_id: String,
    /// Shell (pty) or exec channel.
    pub kind: SessionKind,
    /// Where stream bytes live; decides how the writer routes data.
    pub data: DataMode,
}

impl FumidaiMeta {
    /// The recording ID these fields name (and the file stem).
    pub fn recording_id(&self) -> RecordingId {
        RecordingId {
            session: self.session_id,
            channel: self.channel,
        }
    }
}

/// What kind of channel was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// An interactive shell, usually with a pty.
    Shell,
    /// A single command (`ssh host cmd`, `scp`, SFTP runs as a subsystem: also `Exec`).
    Exec,
}

/// Where a recording keeps stream bytes (the writer's policy knob, stored in the header so
/// readers know where to look).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataMode {
    /// Output and input are cast events (`o`, `i`); the side file only holds the exact raw
    /// bytes of events that contained invalid UTF-8. For pty shells.
    Interactive,
    /// All stream bytes go to the side file; the cast holds a short output preview and
    /// periodic `m` markers with byte counts. For exec channels that may carry files.
    Bulk,
}

/// The type letter of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventCode {
    /// `"o"`: output to the terminal.
    Output,
    /// `"i"`: input from the engineer.
    Input,
    /// `"r"`: terminal resized, data `"COLSxROWS"`.
    Resize,
    /// `"m"`: a marker (fumidai notes: bulk byte counts, transfers).
    Marker,
}

impl EventCode {
    /// The letter as it appears in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            EventCode::Output => "o",
            EventCode::Input => "i",
            EventCode::Resize => "r",
            EventCode::Marker => "m",
        }
    }
}

/// Writes the header line.
pub fn write_header(w: &mut impl Write, header: &Header) -> io::Result<()> {
    #[derive(Serialize)]
    struct Versioned<'a> {
        version: u8,
        #[serde(flatten)]
        header: &'a Header,
    }
    serde_json::to_writer(&mut *w, &Versioned { version: 2, header })?;
    w.write_all(b"\n")
}

/// Writes one event line: `[t, "code", data]`. `data` is JSON-escaped (control characters
/// as `\u001b` etc.), non-ASCII stays UTF-8.
pub fn write_event(w: &mut impl Write, t: Duration, code: EventCode, data: &str) -> io::Result<()> {
    write!(w, "[{}, \"{}\", ", Seconds(t), code.as_str())?;
    serde_json::to_writer(&mut *w, data)?;
    w.write_all(b"]\n")
}

/// Writes a resize event: `[t, "r", "COLSxROWS"]`.
pub fn write_resize(w: &mut impl Write, t: Duration, cols: u16, rows: u16) -> io::Result<()> {
    write_event(w, t, EventCode::Resize, &format!("{cols}x{rows}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::header;

    #[test]
    fn header_line() {
        let mut out = Vec::new();
        write_header(&mut out, &header()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                r#"{"version":2,"width":80,"height":24,"timestamp":1767225600,"command":"ls -l","#,
                r#""env":{"TERM":"xterm-256color"},"fumidai":{"session_id":"#,
                r#""00000000-0000-0000-0000-000000000001","channel":0,"engineer":"alice","#,
                r#""target":"pacs-01","plan_id":"42","kind":"exec","data":"interactive"}}"#,
                "\n"
            )
        );
    }

    #[test]
    fn event_lines() {
        let t = Duration::from_micros(1_234_567);
        let cases: [(EventCode, &str, &str); 8] = [
            (EventCode::Output, "hi\r\n", r#"[1.234567, "o", "hi\r\n"]"#),
            (
                EventCode::Output,
                "\x1b[1m\x07\x00",
                r#"[1.234567, "o", "\u001b[1m\u0007\u0000"]"#,
            ),
            (
                EventCode::Output,
                "say \"x\" \\ /",
                r#"[1.234567, "o", "say \"x\" \\ /"]"#,
            ),
            (
                EventCode::Output,
                "日本語 é \u{fffd}",
                "[1.234567, \"o\", \"日本語 é \u{fffd}\"]",
            ),
            (
                EventCode::Output,
                "\t\x7f\u{2028}",
                "[1.234567, \"o\", \"\\t\x7f\u{2028}\"]",
            ),
            (EventCode::Input, "ls\r", r#"[1.234567, "i", "ls\r"]"#),
            (EventCode::Marker, "note", r#"[1.234567, "m", "note"]"#),
            (EventCode::Resize, "120x40", r#"[1.234567, "r", "120x40"]"#),
        ];
        for (code, data, want) in cases {
            let mut out = Vec::new();
            write_event(&mut out, t, code, data).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("{want}\n"),
                "{data:?}"
            );
        }
    }

    #[test]
    fn resize_and_timestamps() {
        let cases = [
            (Duration::ZERO, 80, 24, "[0.000000, \"r\", \"80x24\"]\n"),
            (
                Duration::from_micros(999_999),
                1,
                1,
                "[0.999999, \"r\", \"1x1\"]\n",
            ),
            (
                Duration::from_secs(3600),
                65535,
                65535,
                "[3600.000000, \"r\", \"65535x65535\"]\n",
            ),
        ];
        for (t, c, r, want) in cases {
            let mut out = Vec::new();
            write_resize(&mut out, t, c, r).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }
}
