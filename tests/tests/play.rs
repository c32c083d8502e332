//! `fumidai play`: an auditor replays what an engineer did, and only what was sealed
//! untouched plays without a fuss (R-10.2-REVIEW, R-17-1, R-17-2).
//!
//! Real peers: stock `ssh` through the front door to a real `sshd`, then the `fumidai`
//! command reading the data directory, as an auditor would run it.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use fumidai_e2e::pty::Pty;
use fumidai_e2e::tools::{fumidai_bin, require, wait_for};
use fumidai_e2e::{Engineer, Gateway, SshLogin};
use serde_json::Value;

const PASSWORD: &str = "Kaede-Hashira-7731";
const MARKER: &str = "fumidai-play-marker";

/// How long a step on a terminal may take: a login includes Argon2id and the target's.
const STEP: Duration = Duration::from_secs(30);

/// Queries a terminal answers, with the answers xterm would type into its input: the
/// replay test plays the reviewer's terminal with these. (`vi` asks where the cursor is
/// twice, which terminal it is and its background colour; the `printf` in the session adds
/// the clipboard, the 8-bit forms and an ST-terminated query.)
const ANSWERS: &[(&str, &str)] = &[
    ("\x1b[6n", "\x1b[2;2R"),
    ("\u{9b}6n", "\x1b[3;1R"),
    ("\x1b[c", "\x1b[?64;1;2;6;9;15;18;21;22c"),
    ("\x1b[>c", "\x1b[>41;380;0c"),
    ("\x1b]10;?\x07", "\x1b]10;rgb:0000/0000/0000\x07"),
    ("\x1b]11;?\x07", "\x1b]11;rgb:ffff/ffff/ffff\x07"),
    ("\x1b]11;?\x1b\\", "\x1b]11;rgb:ffff/ffff/ffff\x1b\\"),
    // The reviewer's clipboard, read by the target.
    ("\x1b]52;c;?\x07", "\x1b]52;c;aG9zcGl0YWwtc2VjcmV0\x07"),
    ("\u{9d}52;c;?\u{9c}", "\x1b]52;c;aG9zcGl0YWwtc2VjcmV0\x1b\\"),
    ("\x1bP$qm\x1b\\", "\x1bP1$r0m\x1b\\"),
    ("\x1b[?4m", "\x1b[>4;2m"),
];

fn exec(alice: &Engineer, command: &str) -> SshLogin {
    let mut login = SshLogin::engineer(alice);
    login.user = "alice:db01".to_owned();
    login.command = Some(command.to_owned());
    login
}

/// The only session's ID, as `session list --json` gives it.
fn the_session(gw: &Gateway) -> String {
    let out = gw.cli_ok(&["--json", "session", "list"]);
    let sessions: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(sessions.len(), 1, "{out}");
    sessions[0]["id"].as_str().unwrap().to_owned()
}

/// A gateway with one finished, sealed exec session that ran `command`; its session ID.
fn recorded_session(command: &str) -> (Gateway, String) {
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let out = exec(&alice, command).run(&gw);
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    let id = the_session(&gw);
    gw.wait_audit("recording.sealed", &id);
    (gw, id)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn play(gw: &Gateway, args: &[&str]) -> Output {
    let mut all = vec!["play"];
    all.extend_from_slice(args);
    gw.cli(&all)
}

/// Every file under `dir` whose name ends with `suffix`.
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                found.push(p);
            }
        }
    }
    found
}

#[test]
fn an_exec_session_replays_with_a_header_and_lists_its_channel() {
    let command = format!("echo {MARKER}");
    let (gw, id) = recorded_session(&command);

    // --list --json: the channel, what it ran, and that its seal holds.
    let list: Vec<Value> =
        serde_json::from_slice(&gw.cli(&["--json", "play", &id, "--list"]).stdout).unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let ch = &list[0];
    // The gateway's number for the engineer's channel.
    let n = ch["channel"].as_u64().unwrap();
    assert_eq!(ch["session"], id.as_str(), "{ch}");
    assert_eq!(ch["kind"], "exec", "{ch}");
    assert_eq!(ch["command"], command.as_str(), "{ch}");
    assert_eq!(ch["seal"], "intact", "{ch}");
    assert_eq!(ch["bulk"], true, "{ch}");
    assert!(
        ch["cast"]
            .as_str()
            .unwrap()
            .ends_with(&format!("-ch{n}.cast")),
        "{ch}"
    );
    assert!(ch["cast_bytes"].as_u64().unwrap() > 0, "{ch}");
    assert!(ch["started_at"].is_string(), "{ch}");

    // --cat: everything at once, with a bilingual header saying what is shown.
    let out = play(&gw, &[&id, "--cat"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("{MARKER}\n")), "{stdout}");
    for shown in [
        format!("session {id} channel {n} (exec) engineer alice target db01"),
        format!("セッション {id} チャネル {n}（コマンド実行）作業者 alice 接続先 db01"),
        format!("command: {command}"),
        format!("コマンド: {command}"),
    ] {
        assert!(stdout.contains(&shown), "{shown:?} not in {stdout}");
    }
    // An exec channel's bytes are in the side file: said so, with its path, not dumped.
    let data = files_ending(&gw.data.join("recordings"), ".data");
    assert_eq!(data.len(), 1, "{data:?}");
    assert!(
        stdout.contains(&format!("side file {}", data[0].display())),
        "{stdout}"
    );
    assert!(
        !stdout.contains("FUMIDAT1"),
        "raw side file dumped: {stdout}"
    );
    // A sealed, intact recording plays without a warning.
    assert!(!stderr.contains("warning"), "{stderr}");
    // --channel picks it.
    let picked = play(&gw, &[&id, "--cat", "--channel", &n.to_string()]);
    assert!(text(&picked.stdout).contains(MARKER), "{picked:?}");

    // The human list: one line with the kind, the seal and the command.
    let human = gw.cli_ok(&["play", &id, "--list"]);
    let line = human
        .lines()
        .find(|l| l.starts_with(&format!("ch {n}\t")))
        .unwrap();
    assert!(
        line.contains("exec") && line.contains("JST") && line.contains("intact"),
        "{human}"
    );
    assert!(line.ends_with(&command), "{human}");

    // A channel that doesn't exist, or --json without --list: clear errors.
    let none = play(&gw, &[&id, "--channel", "77", "--cat"]);
    assert!(!none.status.success());
    assert!(
        text(&none.stderr).contains("no recording of channel 77"),
        "{}",
        text(&none.stderr)
    );
    let json = gw.cli(&["--json", "play", &id]);
    assert!(!json.status.success());
    assert!(text(&json.stderr).contains("--list"), "{json:?}");
}

#[test]
fn timing_follows_speed_and_idle_limit() {
    let (gw, id) = recorded_session(&format!("echo {MARKER}; sleep 3; echo {MARKER}-end"));
    let timed = |args: &[&str]| {
        let t0 = Instant::now();
        let out = play(&gw, args);
        let took = t0.elapsed();
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(
            stdout.contains(MARKER) && stdout.contains(&format!("{MARKER}-end")),
            "{args:?}: {stdout}"
        );
        took
    };
    // As recorded: the three-second pause is played.
    let real = timed(&[&id, "--idle-limit", "off"]);
    assert!(real >= Duration::from_secs(3), "played in {real:?}");
    // Fast: a hundred times faster, the pause is 30 ms.
    let fast = timed(&[&id, "--idle-limit", "off", "--speed", "100"]);
    assert!(fast < Duration::from_millis(2_500), "played in {fast:?}");
    // Capped: the pause is played as 0.2 s.
    let capped = timed(&[&id, "--idle-limit", "0.2"]);
    assert!(
        capped < Duration::from_millis(2_500),
        "played in {capped:?}"
    );

    // Nonsense settings are refused before anything plays.
    for bad in [
        ["--speed", "0"],
        ["--speed", "fast"],
        ["--idle-limit", "-1"],
    ] {
        let out = play(&gw, &[&id, bad[0], bad[1]]);
        assert!(!out.status.success(), "{bad:?}");
        assert!(out.stdout.is_empty(), "{bad:?}: {out:?}");
    }
}

#[test]
fn a_tampered_recording_is_refused_naming_the_file_and_force_plays_it_with_a_warning() {
    let (gw, id) = recorded_session(&format!("echo {MARKER}"));
    let cast = files_ending(&gw.data.join("recordings"), ".cast");
    assert_eq!(cast.len(), 1, "{cast:?}");
    let cast = &cast[0];
    // Someone rewrites what the target printed: same length, one letter.
    let bytes = std::fs::read(cast).unwrap();
    let changed = text(&bytes).replace(MARKER, "fumidai-play-market");
    assert_ne!(changed.as_bytes(), &bytes[..]);
    std::fs::write(cast, changed).unwrap();

    let out = play(&gw, &[&id, "--cat"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "tampered recording played: {stdout}");
    assert!(!stdout.contains("fumidai-play-market"), "{stdout}");
    assert!(
        stderr.contains(&cast.display().to_string())
            && stderr.contains("does not match its seal")
            && stderr.contains("改ざん")
            && stderr.contains("--force"),
        "{stderr}"
    );
    // A timed play is refused the same way.
    assert!(!play(&gw, &[&id, "--speed", "100"]).status.success());

    // --list says so.
    let list: Vec<Value> =
        serde_json::from_slice(&gw.cli(&["--json", "play", &id, "--list"]).stdout).unwrap();
    assert_eq!(list[0]["seal"], "tampered", "{list:?}");
    assert!(
        list[0]["seal_problem"]
            .as_str()
            .unwrap()
            .contains("SHA-256"),
        "{list:?}"
    );

    // --force: plays what is there now, after a loud warning.
    let out = play(&gw, &[&id, "--cat", "--force"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("fumidai-play-market"), "{stdout}");
    assert!(
        stderr.contains("WARNING")
            && stderr.contains("does NOT match its seal")
            && stderr.contains(&cast.display().to_string()),
        "{stderr}"
    );

    // The side file is sealed too: growing it is caught, and named.
    std::fs::write(cast, bytes).unwrap();
    assert!(play(&gw, &[&id, "--cat"]).status.success(), "restored");
    let data = cast.with_extension("data");
    let mut side = std::fs::read(&data).unwrap();
    side.push(0);
    std::fs::write(&data, side).unwrap();
    let out = play(&gw, &[&id, "--cat"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(&data.display().to_string()),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_unsealed_recording_plays_with_a_warning() {
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    std::thread::scope(|s| {
        let engineer = s.spawn(|| exec(&alice, &format!("echo {MARKER}; sleep 60")).run(&gw));
        // The writer flushes at least every second: wait until the marker is on disk.
        wait_for("the marker in the cast", Duration::from_secs(30), || {
            files_ending(&gw.data.join("recordings"), ".cast")
                .first()
                .and_then(|c| std::fs::read_to_string(c).ok())
                .filter(|t| t.contains(MARKER))
        });
        let id = the_session(&gw);
        let out = play(&gw, &[&id, "--cat"]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains(MARKER), "{stdout}");
        assert!(
            stderr.contains("is not sealed") && stderr.contains("封印されていません"),
            "{stderr}"
        );
        let list = gw.cli_ok(&["--json", "play", &id, "--list"]);
        let list: Vec<Value> = serde_json::from_str(&list).unwrap();
        assert_eq!(list[0]["seal"], "unsealed", "{list:?}");
        // End the engineer's `sleep 60`.
        gw.cli_as_ok(gw.ensure_submitter(), &["session", "kill", &id]);
        let _ = engineer.join();
    });
}

#[test]
fn unknown_sessions_and_sessions_without_recordings_fail_clearly() {
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    // No transfers allowed: sftp's channel is refused before its recording begins.
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();

    let unknown = "0192f0c4-8a3e-7c1b-9d2e-5f6a7b8c9d0e";
    let out = play(&gw, &[unknown, "--cat"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("no session {unknown}")) && stderr.contains("セッション"),
        "{stderr}"
    );
    let out = play(&gw, &["not-a-session-id"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "{out:?}");

    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".to_owned();
    let out = login.run_tool(&gw, "sftp", &["gw:"]);
    assert_ne!(out.code, 0, "{out:?}");
    gw.wait_audit_kind("transfer");
    let id = the_session(&gw);
    let out = play(&gw, &[&id]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("session {id} has no recordings")) && stderr.contains("録画"),
        "{stderr}"
    );
}

#[test]
fn a_replay_keeps_the_targets_terminal_queries_from_the_reviewers_terminal() {
    require("vi");
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".to_owned();
    login.command = None;
    let (mut term, _work) = login.interactive(&gw, 24, 80);
    login.answer_prompts(&mut term);
    term.expect("# ", STEP);

    // vi queries the engineer's terminal as it starts (this one doesn't answer), then
    // draws its screen.
    term.type_text("vi -u NONE -i NONE -N\r");
    term.expect("VIM - Vi IMproved", STEP);
    term.type_text(":qa!\r");
    term.expect("# ", STEP);
    // More queries, between two markers: a cursor report, DA1, the clipboard, the
    // background colour (ST-terminated), DECRQSS, and 8-bit CSI and OSC (as UTF-8).
    term.type_text(&format!(
        "printf '{MARKER}\\033[6n\\033[c\\033]52;c;?\\a\\033]11;?\\033\\\\\\033P$qm\\033\\\\\\302\\2336n\\302\\23552;c;?\\302\\234{MARKER}-end\\n'\r"
    ));
    term.expect(&format!("{MARKER}-end\r\n"), STEP);
    term.type_text("exit\r");
    let status = term.wait(STEP);
    assert_eq!(status.code(), Some(0), "{}", term.screen());
    gw.wait_audit_kind("recording.sealed");
    let id = the_session(&gw);

    // The recording keeps them: it is sealed evidence of what the target sent.
    let casts = files_ending(&gw.data.join("recordings"), ".cast");
    assert_eq!(casts.len(), 1, "{casts:?}");
    let cast = std::fs::read_to_string(&casts[0]).unwrap();
    let recorded: String = cast
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e[1] == "o")
        .map(|e| e[2].as_str().unwrap().to_owned())
        .collect();
    for query in [
        "\x1b[6n",
        "\x1b[>c",
        "\x1b]52;c;?\x07",
        "\x1bP$qm\x1b\\",
        "\u{9b}6n",
    ] {
        assert!(recorded.contains(query), "{query:?} not in the recording");
    }

    // The reviewer replays it on their terminal, then their shell reads a line. The test
    // is that terminal: it answers every query it was sent, as xterm would, into the input
    // the shell reads next.
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        r#""$0" "$@"; printf 'PLAYED\n'; IFS= read -r typed; printf 'TYPED<%s>\n' "$typed""#,
    ])
    .arg(fumidai_bin())
    .arg("--data-dir")
    .arg(&gw.data)
    .args(["play", &id, "--cat"])
    .env_remove("RUST_LOG");
    let mut viewer = Pty::spawn(&cmd, 24, 80);
    let played = viewer.expect("PLAYED\r\n", STEP);
    for (query, answer) in ANSWERS {
        if played.contains(query) {
            viewer.type_text(answer);
        }
    }
    viewer.type_text("\r");
    viewer.expect("TYPED<", STEP);
    let typed = viewer.expect(">\r\n", STEP);
    let screen = viewer.screen();
    assert_eq!(
        typed, ">\r\n",
        "the reviewer's terminal answered queries into the shell's input:\n{screen}"
    );
    assert!(
        cursor_report(&screen).is_none(),
        "a cursor report came back: {:?}\n{screen}",
        cursor_report(&screen)
    );
    for (query, _) in ANSWERS {
        assert!(!played.contains(query), "{query:?} reached the terminal");
    }
    // What the engineer saw is still there: vi's screen and both markers, now adjacent.
    for shown in [
        "VIM - Vi IMproved",
        "\x1b[?1049h",
        &format!("{MARKER}{MARKER}-end"),
    ] {
        assert!(played.contains(shown), "{shown:?} not replayed:\n{played}");
    }

    // Timed, or into a pipe: the same.
    for args in [&[&id, "--cat"][..], &[&id, "--speed", "100"]] {
        let out = play(&gw, args);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(
            stdout.contains(&format!("{MARKER}{MARKER}-end")),
            "{stdout}"
        );
        for (query, _) in ANSWERS {
            assert!(!stdout.contains(query), "{args:?}: {query:?} written");
        }
    }

    // --danger-raw: exactly as recorded, for a pipe or a file; refused on a terminal.
    let raw = play(&gw, &[&id, "--cat", "--danger-raw"]);
    assert!(raw.status.success(), "{raw:?}");
    let raw = text(&raw.stdout);
    for query in ["\x1b[6n", "\x1b]52;c;?\x07", "\u{9b}6n"] {
        assert!(raw.contains(query), "{query:?} not in the raw output");
    }
    let cmd = gw.command(&["play", &id, "--cat", "--danger-raw"], &[]);
    let mut terminal = Pty::spawn(&cmd, 24, 80);
    terminal.expect("does not write to a terminal", STEP);
    assert!(!terminal.wait(STEP).success());
    let screen = terminal.screen();
    assert!(screen.contains("端末には書きません"), "{screen}");
    assert!(!screen.contains(MARKER), "played on a terminal: {screen}");
}

/// The first cursor position report (`ESC [ row ; col R`, or `^[[row;colR` as a
/// terminal echoes it) in `screen`.
fn cursor_report(screen: &str) -> Option<String> {
    ["\x1b[", "^[["].iter().find_map(|intro| {
        screen.match_indices(intro).find_map(|(at, _)| {
            let rest = &screen[at + intro.len()..];
            let (row, rest) = rest.split_once(';')?;
            let col = rest.split('R').next()?;
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            (digits(row) && digits(col) && rest.len() > col.len())
                .then(|| format!("{intro}{row};{col}R"))
        })
    })
}
