//! A cast as a browser's player gets it (the console's playback, issue 15): the same
//! asciicast v2, rewritten so that nothing but what the screen showed leaves the gateway.
//!
//! - The header keeps the size and start only: no command, title or environment (text a
//!   vendor chose, which a player might show).
//! - Output (`o`) goes through a [`QueryFilter`], as `fumidai play` does: the target's
//!   terminal queries are removed.
//! - Input (`i`) is dropped: what the engineer typed that was meant to be seen was echoed;
//!   replaying keys would show passwords typed at a `sudo` prompt. Markers (`m`) and
//!   other events are dropped too; resizes (`r`) stay.
//!
//! The events are JSON strings, so every byte of a hostile recording (`<script>`, OSC,
//! bracketed paste) reaches the player as data in a JSON string, never as markup.

use std::io::{BufRead, Write};

use serde_json::json;

use super::queries::QueryFilter;
use crate::error::{Error, Result};
use crate::format::cast_reader::{CastReader, EventKind};
use crate::id::FileKind;

/// [`rewrite`] of the cast file at `path` into memory.
pub fn rewrite_file(path: &std::path::Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(Error::read)?;
    let mut out = Vec::new();
    rewrite(std::io::BufReader::new(file), &mut out)?;
    Ok(out)
}

/// Writes the cast read from `cast` to `out`, rewritten for a browser's player. A cut
/// last line (a live or crashed recording) is dropped, as the reader does.
pub fn rewrite(cast: impl BufRead, mut out: impl Write) -> Result<()> {
    let (header, events) = CastReader::open(cast)?;
    let head = json!({
        "version": 2,
        "width": header.width,
        "height": header.height,
        "timestamp": header.timestamp.timestamp(),
    });
    let write = |out: &mut dyn Write, value: &serde_json::Value| -> Result<()> {
        writeln!(out, "{value}").map_err(|e| Error::write(FileKind::Cast, e))
    };
    write(&mut out, &head)?;
    let mut filter = QueryFilter::new();
    for event in events {
        let event = event?;
        let t = event.t.as_secs_f64();
        match event.kind {
            EventKind::Output(text) => {
                let shown = filter.filter(&text);
                if !shown.is_empty() {
                    write(&mut out, &json!([t, "o", shown]))?;
                }
            }
            EventKind::Resize { cols, rows } => {
                write(&mut out, &json!([t, "r", format!("{cols}x{rows}")]))?;
            }
            EventKind::Input(_) | EventKind::Marker(_) | EventKind::Other { .. } => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "unit tests")]

    use super::*;

    #[test]
    fn only_the_screen_leaves_and_queries_are_removed() {
        let cast = concat!(
            r#"{"version":2,"width":80,"height":24,"timestamp":1796000000,"command":"<b>x</b>","title":"t","env":{"TERM":"xterm"},"fumidai":{"session_id":"00000000-0000-0000-0000-000000000001","channel":0,"kind":"shell","engineer":"alice","target":"db01","plan_id":"42","data":"interactive"}}"#,
            "\n",
            r#"[0.5,"i","Sekret-Pass-1\r"]"#,
            "\n",
            r#"[1.0,"o","<script>alert(1)</script>\u001b]0;title\u0007 \u001b[6n done"]"#,
            "\n",
            r#"[1.5,"m","marker"]"#,
            "\n",
            r#"[2.0,"r","100x30"]"#,
            "\n",
            r#"[2.5,"o","\u001b[200~paste\u001b[201~"]"#,
            "\n",
        );
        let mut out = Vec::new();
        match rewrite(cast.as_bytes(), &mut out) {
            Ok(()) => {}
            Err(e) => panic!("{e}"),
        }
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            json!({"version": 2, "width": 80, "height": 24, "timestamp": 1_796_000_000})
        );
        assert!(!text.contains("Sekret"), "input never leaves: {text}");
        assert!(!text.contains("marker"));
        assert!(
            !text.contains("\\u001b[6n"),
            "the cursor query is removed: {text}"
        );
        assert_eq!(lines[1][1], "o");
        // Markup stays text inside a JSON string; the player writes it to its terminal.
        assert!(
            lines[1][2]
                .as_str()
                .unwrap()
                .starts_with("<script>alert(1)</script>")
        );
        assert_eq!(lines[2], json!([2.0, "r", "100x30"]));
        assert_eq!(lines.len(), 4, "{text}");
    }
}
