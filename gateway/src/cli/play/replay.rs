//! Writing channels to the terminal: a bilingual header per channel, then the cast's
//! output with its escape sequences, timed by `recorder::player` or all at once (`--cat`).
//! The player has removed the target's terminal queries from it (unless `--danger-raw`,
//! which `play` refuses on a terminal), each channel's on its own. Input events are never
//! written (the player drops them).

use std::fs::File;
use std::io::{self, BufReader, IsTerminal, Write};
use std::time::{Duration, Instant};

use recorder::format::cast_reader::CastReader;
use recorder::player::{Action, PlayOptions, Player};
use store::SessionRecord;

use super::{jst_seconds, printable, size};
use recorder::inventory::{Channel, ChannelKind};

/// At most this many fumidai notes (transfers) are listed under a channel.
const MAX_NOTES: usize = 20;

/// How to pace the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pace {
    /// Real timing, scaled and capped by the [`PlayOptions`].
    Timed,
    /// Everything at once, like `asciinema cat`.
    Cat,
}

/// Plays `channels` in order to standard output. Blocking (it sleeps between steps).
/// A closed pipe (`| head`) ends the replay quietly.
pub(super) fn replay(
    session: &SessionRecord,
    channels: &[&Channel],
    pace: Pace,
    options: PlayOptions,
) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let tty = stdout.is_terminal();
    let mut out = stdout.lock();
    for (i, channel) in channels.iter().enumerate() {
        match play_channel(&mut out, session, channel, pace, options, tty, i == 0) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            other => other?,
        }
    }
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn play_channel(
    out: &mut impl Write,
    session: &SessionRecord,
    channel: &Channel,
    pace: Pace,
    options: PlayOptions,
    tty: bool,
    first: bool,
) -> io::Result<()> {
    if tty {
        // Whatever colours the previous channel left on must not dress the header.
        out.write_all(b"\x1b[0m")?;
    }
    if !first {
        out.write_all(b"\n")?;
    }
    out.write_all(header_lines(session, channel).as_bytes())?;
    out.flush()?;

    let file = File::open(&channel.cast)?;
    let (_, reader) = CastReader::open(BufReader::new(file)).map_err(io::Error::other)?;
    let start = Instant::now();
    let mut notes = Notes::default();
    for step in Player::new(reader, options) {
        let step = match step {
            Ok(step) => step,
            Err(e) => {
                eprintln!(
                    "fumidai: 警告 / warning: {}: {e} (skipped / 読み飛ばしました)",
                    channel.cast.display()
                );
                continue;
            }
        };
        if pace == Pace::Timed {
            wait_until(start, step.at);
        }
        match step.action {
            // Empty when the event held only queries: nothing to write.
            Action::Output(text) if text.is_empty() => {}
            Action::Output(text) => {
                out.write_all(text.as_bytes())?;
                if pace == Pace::Timed {
                    out.flush()?;
                }
            }
            // Ask the terminal to take the recorded size (xterm window operation; most
            // terminals ignore it unless allowed). Only when timing, and only on a terminal.
            Action::Resize { cols, rows } => {
                if tty && pace == Pace::Timed {
                    write!(out, "\x1b[8;{rows};{cols}t")?;
                }
            }
            Action::Marker(text) => notes.add(text),
        }
    }
    out.write_all(footer(channel, &notes).as_bytes())?;
    out.flush()
}

/// Sleeps until `at` after `start`; a time too far to represent is not waited for.
fn wait_until(start: Instant, at: Duration) {
    if let Some(due) = start.checked_add(at) {
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

/// Two lines, Japanese then English: whose session, which channel, what command.
fn header_lines(session: &SessionRecord, channel: &Channel) -> String {
    let number = channel
        .id
        .channel
        .map_or_else(|| "-".to_owned(), |n| n.to_string());
    let (kind_ja, kind_en) = channel
        .kind()
        .map_or(("不明", "unknown"), |k| (kind_ja(k), k.as_str()));
    let started = channel
        .started()
        .map_or_else(|| "?".to_owned(), jst_seconds);
    let command = channel
        .header
        .as_ref()
        .ok()
        .and_then(|h| h.command.as_deref())
        .map(printable);
    let (cmd_ja, cmd_en) = match &command {
        Some(c) => (format!(" コマンド: {c}"), format!(" command: {c}")),
        None => (String::new(), String::new()),
    };
    format!(
        "=== セッション {id} チャネル {number}（{kind_ja}）作業者 {engineer} 接続先 {target} \
         作業計画 {plan} 開始 {started}{cmd_ja} ===\n\
         === session {id} channel {number} ({kind_en}) engineer {engineer} target {target} \
         plan {plan} started {started}{cmd_en} ===\n",
        id = session.id,
        engineer = printable(session.engineer.as_str()),
        target = printable(session.target.as_str()),
        plan = session.plan,
    )
}

/// fumidai's markers seen in a channel, summarised after it.
#[derive(Debug, Default)]
struct Notes {
    /// The latest running byte count of a bulk channel.
    bulk: Option<String>,
    /// The output preview ended before the output did.
    preview_cut: bool,
    /// Other notes (transfers), the first [`MAX_NOTES`].
    other: Vec<String>,
    /// How many other notes were left out.
    more: usize,
}

impl Notes {
    fn add(&mut self, text: String) {
        if text.starts_with("fumidai bulk:") {
            self.bulk = Some(text);
        } else if text.starts_with("fumidai: output preview ends here") {
            self.preview_cut = true;
        } else if self.other.len() < MAX_NOTES {
            self.other.push(text);
        } else {
            self.more += 1;
        }
    }
}

/// What the cast could not show: where a bulk channel's bytes are, and the notes.
fn footer(channel: &Channel, notes: &Notes) -> String {
    let mut s = String::new();
    if channel.is_bulk() {
        let path = channel.data.display();
        let bytes = size(channel.data_bytes);
        s.push_str(&format!(
            "\n--- このチャネルのデータ本体は別ファイル {path}（{bytes}）にあり、端末には表示しません ---\n\
             --- this channel's bulk data is in the side file {path} ({bytes}), not shown on the terminal ---\n"
        ));
        if notes.preview_cut {
            s.push_str("--- 上の出力は先頭部分のみです / the output above is a preview only ---\n");
        }
        if let Some(bulk) = &notes.bulk {
            s.push_str(&format!("--- {} ---\n", printable(bulk)));
        }
    }
    for note in &notes.other {
        s.push_str(&format!("--- {} ---\n", printable(note)));
    }
    if channel.transfers_bytes > 0 {
        let path = channel.transfers.display();
        s.push_str(&format!(
            "--- ファイル転送の記録 / transfer log: {path} ({}) ---\n",
            size(channel.transfers_bytes)
        ));
    }
    if notes.more > 0 {
        s.push_str(&format!(
            "--- ほか {n} 件 / {n} more; see {} ---\n",
            channel.transfers.display(),
            n = notes.more
        ));
    }
    s
}

/// A channel kind's Japanese name, for the header.
fn kind_ja(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Shell => "シェル",
        ChannelKind::Exec => "コマンド実行",
        ChannelKind::Subsystem => "サブシステム",
    }
}
