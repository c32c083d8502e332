//! A gateway killed with SIGKILL mid-session (R-17-1, R-17-2): its recording is at most
//! about a second short and still parses, and at the next start the session it left "live"
//! is ended with reason `error` (cause `gateway_restart`) and on record, with the audit
//! chain intact.
//!
//! Real peers: stock `ssh -tt` on a pseudo-terminal through the front door, a real `sshd`
//! as the target, `asciinema cat` on what the killed gateway left.

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
const STEP: Duration = Duration::from_secs(30);

/// Sessions as `fumidai session list --json` gives them.
fn sessions(gw: &Gateway, live_only: bool) -> Vec<Value> {
    let mut args = vec!["--json", "session", "list"];
    if live_only {
        args.push("--live");
    }
    serde_json::from_str(&gw.cli_ok(&args)).expect("session list --json")
}

#[test]
fn a_session_left_live_by_a_killed_gateway_is_ended_at_the_next_start() {
    require("asciinema");
    require("script");
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".to_owned();
    login.command = Some("echo marker-$((2+3)); sleep 60".to_owned());
    let (mut term, _work) = login.interactive(&gw, 24, 80);
    login.answer_prompts(&mut term);
    term.expect("marker-5", STEP);
    let shown_at = Instant::now();
    let live = sessions(&gw, true);
    assert_eq!(live.len(), 1, "{live:?}");
    let id = live[0]["id"].as_str().unwrap().to_owned();

    // The recording is flushed at least every second: what the engineer saw reaches the
    // file that soon, without the session ending (slack for a loaded machine).
    let cast = wait_for(
        "the marker in the recording",
        Duration::from_secs(10),
        || {
            files_ending(&gw.data.join("recordings"), ".cast")
                .into_iter()
                .find(|c| std::fs::read_to_string(c).is_ok_and(|t| t.contains("marker-5")))
        },
    );
    let flushed_after = shown_at.elapsed();
    assert!(
        flushed_after < Duration::from_secs(2),
        "the recording lagged the terminal by {flushed_after:?}"
    );

    // SIGKILL: nothing in the gateway gets to end the session or seal the recording.
    gw.stop();
    let status = term.wait(STEP);
    assert_eq!(status.code(), Some(255), "{}", term.screen());
    let left = sessions(&gw, true);
    assert_eq!(left.len(), 1, "still live in the store: {left:?}");

    // What the killed gateway left parses: every line is JSON, and asciinema replays it.
    let text = std::fs::read_to_string(&cast).unwrap();
    for line in text.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("{line:?} in {}: {e}", cast.display()));
    }
    let replay = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("asciinema cat {}", cast.display()),
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert!(replay.status.success(), "{replay:?}");
    assert!(
        String::from_utf8_lossy(&replay.stdout).contains("marker-5"),
        "{replay:?}"
    );

    // The next start ends it, on record.
    gw.start();
    assert!(sessions(&gw, true).is_empty(), "{:?}", sessions(&gw, true));
    let all = sessions(&gw, false);
    let session = all.iter().find(|s| s["id"] == id.as_str()).unwrap();
    assert_eq!(session["end_reason"], "error", "{session}");
    assert!(!session["ended_at"].is_null(), "{session}");
    let ended = gw.wait_audit("session.ended", &id);
    assert_eq!(ended["detail"]["reason"], "error", "{ended}");
    assert_eq!(ended["detail"]["cause"], "gateway_restart", "{ended}");
    assert_eq!(gw.audits("session.ended", &id).len(), 1);
    assert!(
        gw.log().contains("left live"),
        "the operator reads it in the log:\n{}",
        gw.log()
    );
    let verified = gw.cli_ok(&["audit", "verify"]);
    assert!(verified.contains("intact"), "{verified}");

    // Another restart finds nothing more to end.
    gw.stop();
    gw.start();
    assert_eq!(gw.audits("session.ended", &id).len(), 1);
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
