//! `fumidai play SESSION_ID`: replay a session's recordings on the terminal, one channel
//! after another, for review and audit (R-10.2-REVIEW, R-17-1). An RDP session is
//! replayed into files instead: PNG frames (`--png-dir`), a GIF (`--gif`), an MP4
//! (`--mp4`), or its keystrokes are printed (`--keys`).
//!
//! Every recording is checked against its seal in the audit chain before anything is
//! played (R-17-2): a recording that no longer matches is refused, naming the file, unless
//! `--force` (then with a loud warning); one never sealed (session live, or the gateway
//! stopped first) plays with a warning. `--list` shows the channels instead.
//!
//! The target's terminal queries (cursor position, device attributes, colours, the
//! clipboard) are removed from the output (`recorder::player::queries`): the viewer's
//! terminal would answer them into the viewer's own input. `--danger-raw` keeps them, for
//! a file or a pipe only.
//!
//! # Layout
//!
//! - this file: arguments, checks, the channel list;
//! - `recorder::inventory`: finding the recordings (SSH and RDP) and checking their seals;
//! - [`replay`]: writing them to the terminal (timing from `recorder::player`);
//! - [`rdp`]: an RDP session's recording listed and rendered by `recorder::rdp`.

mod rdp;
mod replay;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use chrono::{DateTime, FixedOffset, Utc};
use policy::ids::SessionId;
use recorder::inventory::{Channel, ChannelKind, RdpRecording, SealState};
use recorder::player::{IdleLimit, PlayOptions, Queries, Speed};
use serde::Serialize;

use self::replay::Pace;
use super::context::Context;
use super::output::Output;

/// `fumidai play …`
#[derive(Debug, clap::Args)]
pub struct PlayArgs {
    /// The session's ID, as `session list` shows it.
    id: SessionId,
    /// Playback speed factor (2 = twice as fast).
    #[arg(long, default_value_t = Speed::REAL_TIME)]
    speed: Speed,
    /// Longest pause played, in seconds of recording time, or `off`.
    #[arg(long, value_name = "SECS|off", default_value = "2")]
    idle_limit: IdleLimit,
    /// Print all output at once, without timing (like `asciinema cat`).
    #[arg(long, conflicts_with = "list")]
    cat: bool,
    /// Only this channel (numbers as `--list` shows them).
    #[arg(long, value_name = "N")]
    channel: Option<u32>,
    /// List the session's channels instead of playing them (`--json` for scripts).
    #[arg(long)]
    list: bool,
    /// Play recordings that do not match their seal (possibly tampered with), after a
    /// warning. For investigating the damage, never for normal review.
    #[arg(long, conflicts_with = "list")]
    force: bool,
    /// Write the output exactly as recorded, the target's terminal queries included
    /// (cursor position, device attributes, colours, the clipboard), for a file or a pipe
    /// (`| cat -v`). Refused on a terminal: it would answer them into your own input.
    #[arg(long, conflicts_with = "list")]
    danger_raw: bool,
    /// RDP: write a PNG into DIR for every interval (`--every`, default 1s) in which the
    /// screen changed, and one of the last frame, named by their offset in the session.
    #[arg(long, value_name = "DIR", conflicts_with = "list")]
    png_dir: Option<PathBuf>,
    /// RDP: write an animated GIF of the session (sampled every 200ms unless `--every`).
    #[arg(long, value_name = "FILE", conflicts_with = "list")]
    gif: Option<PathBuf>,
    /// RDP: write an MP4 video of the session (10 frames/s unless `--every`); needs
    /// `ffmpeg` on PATH.
    #[arg(long, value_name = "FILE", conflicts_with = "list")]
    mp4: Option<PathBuf>,
    /// RDP: the sampling interval for `--png-dir`, `--gif` and `--mp4` (`1s`, `250ms`).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    every: Option<Duration>,
    /// RDP: print what was typed, key by key, with times (`--json` for scripts). It
    /// includes anything typed into the remote desktop, passwords too.
    #[arg(long, conflicts_with = "list")]
    keys: bool,
}

impl PlayArgs {
    fn rdp_outputs(&self) -> rdp::Outputs {
        rdp::Outputs {
            png_dir: self.png_dir.clone(),
            gif: self.gif.clone(),
            mp4: self.mp4.clone(),
            every: self.every,
            keys: self.keys,
        }
    }
}

/// One channel in `play --list`.
#[derive(Debug, Serialize)]
struct ListEntry {
    session: String,
    channel: Option<u32>,
    kind: Option<ChannelKind>,
    command: Option<String>,
    started_at: Option<DateTime<Utc>>,
    /// Seconds from the start of the recording to its last event.
    duration_secs: f64,
    cast: String,
    cast_bytes: u64,
    data: String,
    data_bytes: u64,
    /// The transfer log (scp/sftp), with its size.
    transfers: String,
    transfers_bytes: u64,
    /// Whether the channel's bytes are in the side file (not a pty).
    bulk: bool,
    /// `intact`, `tampered` or `unsealed`.
    seal: &'static str,
    /// For `tampered`: which file and how.
    seal_problem: Option<String>,
    /// Why the cast can't be read, if it can't.
    error: Option<String>,
}

/// Runs `fumidai play …`.
pub(crate) async fn run(ctx: &Context, args: PlayArgs, out: Output) -> anyhow::Result<()> {
    if out.json && !args.list && !args.keys {
        bail!(
            "--json は --list か --keys と共に使います / --json applies to --list and --keys only"
        );
    }
    if args.danger_raw && std::io::stdout().is_terminal() {
        bail!(
            "--danger-raw は端末には書きません。ファイルかパイプに出力してください（例: | cat -v）。\
             録画中の問い合わせに端末が応答し、その応答があなたの入力になります / --danger-raw \
             does not write to a terminal: send it to a file or a pipe (e.g. | cat -v); your \
             terminal would answer the recording's queries into your own input"
        );
    }
    let id = args.id;
    let fumidai_core::ops::recordings::SessionRecordings { session, found } =
        fumidai_core::ops::recordings::of_session(ctx.store.as_ref(), &ctx.dir, id)
            .await
            .map_err(|e| match e {
                fumidai_core::ops::OpError::NotFound { .. } => anyhow::anyhow!(
                    "セッション {id} はありません / no session {id} (`fumidai session list` shows them)"
                ),
                other => other.into(),
            })?;
    for warning in &found.warnings {
        eprintln!("fumidai: 警告 / warning: {warning}");
    }
    let outputs = args.rdp_outputs();
    if let Some(rec) = found.rdp {
        return play_rdp(&id, &rec, &args, &outputs, out).await;
    }
    if outputs.any() {
        bail!(
            "--png-dir, --gif, --mp4, --keys は RDP セッション用です / --png-dir, --gif, --mp4 \
             and --keys apply to RDP sessions; session {id} has no RDP recording"
        );
    }
    let channels = found.channels;
    if channels.is_empty() {
        bail!("セッション {id} の録画はありません / session {id} has no recordings");
    }
    let selected: Vec<&Channel> = match args.channel {
        None => channels.iter().collect(),
        Some(n) => channels
            .iter()
            .filter(|c| c.id.channel == Some(n))
            .collect(),
    };
    if selected.is_empty() {
        bail!(
            "セッション {id} にチャネル {n} の録画はありません / session {id} has no recording of channel {n} (channels: {list})",
            n = args.channel.unwrap_or_default(),
            list = numbers(&channels),
        );
    }
    if args.list {
        let entries: Vec<ListEntry> = selected.iter().map(|c| entry(&id, c)).collect();
        return out.print(&entries, |es| es.iter().map(list_line).collect());
    }

    check_before_playing(&selected, args.force)?;
    let pace = if args.cat { Pace::Cat } else { Pace::Timed };
    let options = PlayOptions {
        speed: args.speed,
        idle_limit: args.idle_limit,
        queries: if args.danger_raw {
            Queries::DangerPassThrough
        } else {
            Queries::Remove
        },
    };
    tokio::task::block_in_place(|| replay::replay(&session, &selected, pace, options))
}

/// An RDP session: its one recording listed, or checked and rendered.
async fn play_rdp(
    id: &SessionId,
    rec: &RdpRecording,
    args: &PlayArgs,
    outputs: &rdp::Outputs,
    out: Output,
) -> anyhow::Result<()> {
    if args.list {
        return rdp::list(&id.to_string(), rec, out);
    }
    if args.channel.is_some() || args.cat || args.danger_raw {
        bail!(
            "セッション {id} は RDP セッションです / session {id} is an RDP session: --channel, --cat and --danger-raw apply to SSH"
        );
    }
    if !outputs.any() {
        bail!(
            "セッション {id} は RDP セッションです。--png-dir DIR, --gif FILE, --mp4 FILE か --keys \
             を指定してください / session {id} is an RDP session: replay it into files with \
             --png-dir DIR, --gif FILE or --mp4 FILE, or print its keystrokes with --keys"
        );
    }
    if let Err(e) = &rec.header {
        bail!("録画を読めません / cannot read the recording: {e}");
    }
    check_seal(&rec.seal, &rec.path, args.force)?;
    tokio::task::block_in_place(|| rdp::play(rec, outputs, out))
}

/// Refuses a recording that doesn't match its seal (unless forced, then warns loudly),
/// and warns about unsealed ones, before any output.
fn check_before_playing(channels: &[&Channel], force: bool) -> anyhow::Result<()> {
    for c in channels {
        if let Err(e) = &c.header {
            bail!("録画を読めません / cannot read the recording: {e}");
        }
        check_seal(&c.seal, &c.cast, force)?;
    }
    Ok(())
}

/// One recording's seal: refused if broken (unless forced), warned about if unsealed.
/// `file` names it in the warning.
fn check_seal(seal: &SealState, path: &Path, force: bool) -> anyhow::Result<()> {
    match seal {
        SealState::Intact => {}
        SealState::Broken { file, problem } if !force => bail!(
            "録画ファイル {file} が封印と一致しません（改ざんの可能性）: {problem}。再生しません \
             / recording file {file} does not match its seal (it may have been tampered with): \
             {problem}; not played (--force plays it anyway)"
        ),
        SealState::Broken { file, problem } => eprintln!(
            "fumidai: !!! 警告: 録画ファイル {file} は封印と一致しません（改ざんの可能性）: {problem}。\
             --force により再生します。内容は信頼できません !!!\n\
             fumidai: !!! WARNING: recording file {file} does NOT match its seal (it may have \
             been tampered with): {problem}. Playing it because of --force; do not trust \
             what follows !!!"
        ),
        SealState::Unsealed => eprintln!(
            "fumidai: 警告: {} は封印されていません（セッション継続中か、封印前にゲートウェイが停止）。\
             改ざんを検出できません\n\
             fumidai: warning: {} is not sealed (the session is still live, or the gateway \
             stopped before sealing it); changes to it cannot be detected",
            path.display(),
            path.display()
        ),
    }
    Ok(())
}

fn entry(id: &SessionId, c: &Channel) -> ListEntry {
    let (seal_problem, error) = (
        match &c.seal {
            SealState::Broken { file, problem } => Some(format!("{file}: {problem}")),
            _ => None,
        },
        c.header.as_ref().err().cloned(),
    );
    ListEntry {
        session: id.to_string(),
        channel: c.id.channel,
        kind: c.kind(),
        command: c.header.as_ref().ok().and_then(|h| h.command.clone()),
        started_at: c.started(),
        duration_secs: c.duration.as_secs_f64(),
        cast: c.cast.display().to_string(),
        cast_bytes: c.cast_bytes,
        data: c.data.display().to_string(),
        data_bytes: c.data_bytes,
        transfers: c.transfers.display().to_string(),
        transfers_bytes: c.transfers_bytes,
        bulk: c.is_bulk(),
        seal: c.seal.as_str(),
        seal_problem,
        error,
    }
}

/// `ch 0  exec  2026-02-10 14:03:05 JST  12.3s  4.1 KiB  intact  echo hi`
fn list_line(e: &ListEntry) -> String {
    let number = e.channel.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let kind = e.kind.map_or("?", ChannelKind::as_str);
    let started = e.started_at.map_or_else(|| "?".to_owned(), jst_seconds);
    let seal = match (&e.seal_problem, &e.error) {
        (Some(problem), _) => format!("TAMPERED ({problem})"),
        (None, Some(error)) => format!("{} (unreadable: {error})", e.seal),
        (None, None) => e.seal.to_owned(),
    };
    format!(
        "ch {number}\t{kind}\t{started}\t{}\t{}\t{seal}\t{}\n",
        duration(Duration::from_secs_f64(e.duration_secs)),
        size(e.cast_bytes + e.data_bytes),
        e.command.as_deref().map(printable).unwrap_or_default(),
    )
}

/// The channel numbers, for an error message.
fn numbers(channels: &[Channel]) -> String {
    channels
        .iter()
        .map(|c| {
            c.id.channel
                .map_or_else(|| "-".to_owned(), |n| n.to_string())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `at` in JST to the second: `2026-02-10 14:03:05 JST`.
fn jst_seconds(at: DateTime<Utc>) -> String {
    match FixedOffset::east_opt(9 * 3600) {
        Some(jst) => format!("{} JST", at.with_timezone(&jst).format("%Y-%m-%d %H:%M:%S")),
        None => format!("{} UTC", at.format("%Y-%m-%d %H:%M:%S")),
    }
}

/// `0.4s`, `59.9s`, `1:02:03`.
fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

/// `812 B`, `4.1 KiB`, `3.0 MiB`, `1.2 GiB`.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = "KiB";
    for next in UNITS.iter().skip(1) {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

/// Text from a recording (a command, a name) made safe to print in our own lines: control
/// characters are shown escaped, so a crafted command can't drive the reviewer's terminal
/// from a header line.
fn printable(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_formats() {
        let durations = [
            (Duration::ZERO, "0.0s"),
            (Duration::from_millis(420), "0.4s"),
            (Duration::from_secs(59), "59.0s"),
            (Duration::from_secs(3723), "1:02:03"),
        ];
        for (d, want) in durations {
            assert_eq!(duration(d), want);
        }
        let sizes = [
            (0, "0 B"),
            (1023, "1023 B"),
            (4198, "4.1 KiB"),
            (3 << 20, "3.0 MiB"),
            (5 << 30, "5.0 GiB"),
            (u64::MAX, "17179869184.0 GiB"),
        ];
        for (b, want) in sizes {
            assert_eq!(size(b), want);
        }
        assert_eq!(
            printable("ls\x1b]0;pwned\x07 -l\n"),
            "ls\\u{1b}]0;pwned\\u{7} -l\\n"
        );
        assert_eq!(printable("日本語 ok"), "日本語 ok");
        let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        assert_eq!(jst_seconds(at), "2026-01-01 09:00:00 JST");
    }
}
