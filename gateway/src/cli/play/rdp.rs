//! RDP sessions in `fumidai play`: the session's `.rdp` recording (found and checked
//! against its seal by `recorder::inventory`) listed, replayed into files (PNG frames, a
//! GIF, an MP4) or read for its keystrokes. The decoding is `recorder::rdp`'s; this is the
//! glue.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use recorder::inventory::{RdpRecording, SealState};
use recorder::rdp::keys::{Entry, Timeline};
use recorder::rdp::render::{self, Rendered};
use recorder::rdp::replay::{Replay, ReplayStats};
use serde::Serialize;

use super::{duration, printable};
use crate::cli::output::Output;

/// Default sampling intervals: a picture a second; a GIF at 5 and a video at 10 frames a
/// second.
const PNG_EVERY: Duration = Duration::from_secs(1);
const GIF_EVERY: Duration = Duration::from_millis(200);
const MP4_EVERY: Duration = Duration::from_millis(100);

/// What to make of it.
#[derive(Debug, Clone, Default)]
pub(super) struct Outputs {
    pub(super) png_dir: Option<PathBuf>,
    pub(super) gif: Option<PathBuf>,
    pub(super) mp4: Option<PathBuf>,
    pub(super) every: Option<Duration>,
    pub(super) keys: bool,
}

impl Outputs {
    pub(super) fn any(&self) -> bool {
        self.png_dir.is_some() || self.gif.is_some() || self.mp4.is_some() || self.keys
    }
}

/// `play --list` for an RDP session.
#[derive(Debug, Serialize)]
pub(super) struct ListEntry {
    session: String,
    /// Always `rdp`.
    kind: &'static str,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
    duration_secs: f64,
    file: String,
    bytes: u64,
    seal: &'static str,
    seal_problem: Option<String>,
    error: Option<String>,
    /// The desktop an earlier session left, which this session may have resumed.
    may_resume: Option<recorder::rdp::LeftDesktop>,
}

pub(super) fn list(session: &str, rec: &RdpRecording, out: Output) -> anyhow::Result<()> {
    let entry = ListEntry {
        session: session.to_owned(),
        kind: "rdp",
        started_at: rec.header.as_ref().ok().map(|h| h.started_at),
        duration_secs: rec.duration.as_secs_f64(),
        file: rec.path.display().to_string(),
        bytes: rec.bytes,
        seal: rec.seal.as_str(),
        seal_problem: match &rec.seal {
            SealState::Broken { file, problem } => Some(format!("{file}: {problem}")),
            _ => None,
        },
        error: rec.header.as_ref().err().cloned(),
        may_resume: rec.header.as_ref().ok().and_then(|h| h.may_resume.clone()),
    };
    out.print(&vec![entry], |entries| {
        entries
            .iter()
            .map(|e| {
                let seal = match (&e.seal_problem, &e.error) {
                    (Some(problem), _) => format!("TAMPERED ({problem})"),
                    (None, Some(error)) => format!("{} (unreadable: {error})", e.seal),
                    (None, None) => e.seal.to_owned(),
                };
                let resumed = e.may_resume.as_ref().map_or_else(String::new, |left| {
                    format!(
                        "\t前のセッションのデスクトップを再開した可能性 / may have resumed the desktop \
                         left by session {} ({}, {})",
                        left.session_id, left.engineer, left.end
                    )
                });
                format!(
                    "rdp\t{}\t{}\t{}\t{seal}\t{}{resumed}\n",
                    e.started_at
                        .map_or_else(|| "?".to_owned(), super::jst_seconds),
                    duration(Duration::from_secs_f64(e.duration_secs)),
                    super::size(e.bytes),
                    e.file,
                )
            })
            .collect()
    })
}

/// Writes the outputs asked for and prints the keys if asked. Blocking (decodes the whole
/// recording once per output).
pub(super) fn play(rec: &RdpRecording, outputs: &Outputs, out: Output) -> anyhow::Result<()> {
    let path = &rec.path;
    let open =
        || Replay::open_file(path).with_context(|| format!("cannot read {}", path.display()));
    if let Some(dir) = &outputs.png_dir {
        let done = render::png_series(open()?, dir, outputs.every.unwrap_or(PNG_EVERY))?;
        report(
            &done,
            &format!("{} PNG files in {}", done.frames, dir.display()),
        );
    }
    if let Some(gif) = &outputs.gif {
        let done = render::gif(open()?, gif, outputs.every.unwrap_or(GIF_EVERY))?;
        report(
            &done,
            &format!("a GIF of {} frames: {}", done.frames, gif.display()),
        );
    }
    if let Some(mp4) = &outputs.mp4 {
        let ffmpeg = render::find_ffmpeg()?;
        let done = render::mp4(open()?, mp4, outputs.every.unwrap_or(MP4_EVERY), &ffmpeg)?;
        report(
            &done,
            &format!("a video of {} frames: {}", done.frames, mp4.display()),
        );
    }
    if outputs.keys {
        let timeline = recorder::rdp::keys::timeline_file(path)?;
        out.print(&timeline, keys_text)?;
    }
    Ok(())
}

/// What was written, and a warning when the recording did not decode cleanly.
fn report(done: &Rendered, what: &str) {
    eprintln!("fumidai: 書き出しました / wrote {what}");
    let ReplayStats {
        undecodable,
        first_error,
        before_state,
        ..
    } = &done.stats;
    if *undecodable > 0 {
        eprintln!(
            "fumidai: 警告: {undecodable} 個のフレームを復号できませんでした / warning: \
             {undecodable} frames could not be decoded (first: {})",
            first_error.as_deref().unwrap_or("?")
        );
    }
    if *before_state > 0 {
        eprintln!(
            "fumidai: 警告 / warning: {before_state} frames came before the decoder state and \
             were skipped"
        );
    }
}

/// `00:01:02.345  ls -l` per entry: text as typed (control characters escaped), other
/// keys in brackets, clicks in parentheses.
fn keys_text(timeline: &Timeline) -> String {
    let mut text = String::new();
    for entry in &timeline.entries {
        let at = clock(entry.offset());
        let what = match entry {
            Entry::Text { text, .. } => printable(text),
            Entry::Key { key, .. } => format!("[{key}]"),
            Entry::Click { click, .. } => format!("(click {})", click.as_str()),
        };
        text.push_str(&format!("{at}  {what}\n"));
    }
    let s = &timeline.stats;
    text.push_str(&format!(
        "-- {} key presses, {} clicks, {} mouse moves, {} wheel turns\n",
        s.key_presses, s.mouse_clicks, s.mouse_moves, s.wheel
    ));
    text
}

/// `HH:MM:SS.mmm`.
fn clock(offset: Duration) -> String {
    let secs = offset.as_secs();
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        offset.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use ed25519_dalek::SigningKey;
    use ironrdp_pdu::input::fast_path::{FastPathInput, FastPathInputEvent, KeyboardFlags};
    use recorder::rdp::format::{RecordKind, state_payload, write_preamble, write_record};
    use recorder::rdp::{RdpHeader, RdpState};
    use uuid::Uuid;

    use super::*;

    const NAME: &str = "2026/01/01/00000000-0000-0000-0000-000000000009.rdp";

    fn day() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
    }

    /// A recording: a 32×16 desktop, and "hi" Enter typed at 1.5 s.
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
        let keys: Vec<FastPathInputEvent> = [0x23, 0x17, 0x1c]
            .into_iter()
            .flat_map(|code| {
                [
                    FastPathInputEvent::KeyboardEvent(KeyboardFlags::empty(), code),
                    FastPathInputEvent::KeyboardEvent(KeyboardFlags::RELEASE, code),
                ]
            })
            .collect();
        let input = ironrdp_pdu::encode_vec(&FastPathInput::new(keys).unwrap()).unwrap();
        let mut bytes = Vec::new();
        write_preamble(&mut bytes, &header).unwrap();
        let state = state_payload(&state).unwrap();
        write_record(&mut bytes, Duration::ZERO, RecordKind::State, &state).unwrap();
        write_record(
            &mut bytes,
            Duration::from_millis(1500),
            RecordKind::Client,
            &input,
        )
        .unwrap();
        let path = root.join(NAME);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    #[test]
    fn renders_pngs_and_prints_keys() {
        let tmp = tempfile::tempdir().unwrap();
        write_recording(tmp.path());
        let key = SigningKey::from_bytes(&[3; 32]).verifying_key();
        let rec = recorder::inventory::rdp::find(
            tmp.path(),
            Uuid::from_u128(9),
            (day(), day()),
            &[],
            &key,
        )
        .unwrap()
        .unwrap();
        let dir = tmp.path().join("png");
        let outputs = Outputs {
            png_dir: Some(dir.clone()),
            keys: true,
            ..Outputs::default()
        };
        play(&rec, &outputs, Output { json: false }).unwrap();
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        // The picture at 1 s would repeat the one at 0 s; the last frame is that one too.
        assert_eq!(names, ["000000.000.png"]);
        let timeline = recorder::rdp::keys::timeline_file(&rec.path).unwrap();
        assert_eq!(
            keys_text(&timeline),
            "00:00:01.500  hi\n00:00:01.500  [Enter]\n\
             -- 3 key presses, 0 clicks, 0 mouse moves, 0 wheel turns\n"
        );
        assert_eq!(clock(Duration::from_millis(3_723_045)), "01:02:03.045");
    }
}
