//! An interactive session as an engineer has it: stock `ssh -tt` on a real pseudo-terminal,
//! through fumidai to a real `sshd` (R-10-3, R-17-1).
//!
//! The password and code prompts come on the terminal and are typed there; then a command
//! and its output, a window resize that reaches the remote terminal, Ctrl-C interrupting a
//! remote command, and the remote shell's exit status coming back as ssh's. Afterwards the
//! recording holds what was typed (`i`), what was shown (`o`) and the resize (`r`), and a
//! stock `asciinema cat` replays it.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fumidai_e2e::tools::{require, wait_for};
use fumidai_e2e::{Gateway, SshLogin};
use serde_json::Value;

const PASSWORD: &str = "Kaede-Hashira-7731";

/// How long a step on the terminal may take: a login includes Argon2id and the target's.
const STEP: Duration = Duration::from_secs(30);

#[test]
fn an_interactive_session_types_resizes_interrupts_exits_and_is_recorded() {
    require("asciinema");
    require("script");
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".to_owned();
    login.command = None;
    let (mut term, _work) = login.interactive(&gw, 24, 80);

    // The two prompts, each in Japanese and English, come on the engineer's terminal.
    login.answer_prompts(&mut term);

    // The target's shell prompt (root's bash on the test sshd).
    term.expect("# ", STEP);
    // (Outputs are matched up to their line end: bash puts bracketed-paste switches
    // before them, and the echoed command line never holds the result.)
    term.type_text("echo $((6*7))\r");
    term.expect("42\r\n", STEP);

    // A resize reaches the remote terminal. ssh sends the window change when it notices
    // the signal; a command typed at the same moment may overtake it, so ask again until
    // the new size shows (bounded).
    term.resize(40, 100);
    let deadline = Instant::now() + STEP;
    loop {
        term.type_text("stty size\r");
        if term
            .try_expect("40 100\r\n", Duration::from_secs(2))
            .is_some()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the remote terminal never took the new size:\n{}",
            term.screen()
        );
    }

    // Ctrl-C interrupts a remote command (it runs on this machine: the target is a local
    // sshd) and the shell comes back long before the command would have ended.
    term.type_text("sleep 9137\r");
    wait_for("sleep 9137 on the target", STEP, || {
        remote_sleep_running().then_some(())
    });
    term.type_text("\x03");
    term.expect("# ", STEP);
    term.type_text("echo after-$((3+4))\r");
    term.expect("after-7\r\n", STEP);
    assert!(!remote_sleep_running(), "Ctrl-C did not stop the command");

    // The remote shell's exit status is ssh's.
    term.type_text("exit 3\r");
    let status = term.wait(STEP);
    assert_eq!(status.code(), Some(3), "{}", term.screen());
    let screen = term.screen();
    assert!(
        !screen.contains(&alice.password),
        "the password was echoed:\n{screen}"
    );

    // The recording, once sealed.
    let sealed = gw.wait_audit_kind("recording.sealed");
    let casts = files_ending(&gw.data.join("recordings"), ".cast");
    assert_eq!(casts.len(), 1, "{casts:?}");
    let text = std::fs::read_to_string(&casts[0]).unwrap();
    assert!(
        !text.contains(&alice.password),
        "the password is in the recording"
    );
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2, "{header}");
    assert_eq!(
        (&header["width"], &header["height"]),
        (&Value::from(80), &Value::from(24)),
        "{header}"
    );
    assert_eq!(header["fumidai"]["session_id"], sealed["subject"]);
    let events: Vec<Value> = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
    let joined = |code: &str| -> String {
        events
            .iter()
            .filter(|e| e[1] == code)
            .map(|e| e[2].as_str().unwrap())
            .collect()
    };
    let typed = joined("i");
    for keys in [
        "echo $((6*7))\r",
        "stty size\r",
        "sleep 9137\r",
        "\x03",
        "exit 3\r",
    ] {
        assert!(typed.contains(keys), "{keys:?} not in the input: {typed:?}");
    }
    let shown = joined("o");
    assert!(shown.contains("42\r\n"), "{shown:?}");
    assert!(shown.contains("40 100\r\n"), "{shown:?}");
    let resizes: Vec<&str> = events
        .iter()
        .filter(|e| e[1] == "r")
        .map(|e| e[2].as_str().unwrap())
        .collect();
    assert!(resizes.contains(&"100x40"), "{resizes:?}");
    // Times only go forward.
    let times: Vec<f64> = events.iter().map(|e| e[0].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    // A stock asciinema replays it (it wants a terminal, so under script(1)).
    let replay = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("asciinema cat {}", casts[0].display()),
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert!(replay.status.success(), "{replay:?}");
    let replayed = String::from_utf8_lossy(&replay.stdout);
    assert!(replayed.contains("42\r\n"), "{replayed}");

    let ended = gw.wait_audit("session.ended", sealed["subject"].as_str().unwrap());
    assert_eq!(ended["detail"]["reason"], "normal", "{ended}");
}

/// Whether `sleep 9137` runs on this machine (where the target sshd runs it).
fn remote_sleep_running() -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|cmdline| cmdline == b"sleep\09137\0")
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
