//! Live sessions end when they must, and say why (R-10.2-TIMEOUT, R-10.2-REVIEW, R-12-6):
//! a kill from another shell, the idle time-out, the window's end after a warning. Each end
//! reason reaches the engineer (stderr, Japanese and English) and the audit trail.
//!
//! Real peers: stock `ssh` through the front door, a real `sshd` as the target, and the
//! `fumidai session` command in another process against the running `fumidai serve`.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::process::Command;
use std::time::{Duration, Instant};

use fumidai_e2e::tools::{poll, wait_for};
use fumidai_e2e::{Engineer, Gateway, SshLogin, Sshd};
use serde_json::Value;

const PASSWORD: &str = "Kaede-Hashira-7731";

/// A gateway (not started) with engineer alice, operator olga and target db01.
fn setup() -> (Gateway, Engineer, Sshd) {
    Gateway::with_alice_and_db01(PASSWORD)
}

fn exec(alice: &Engineer, command: &str) -> SshLogin {
    let mut login = SshLogin::engineer(alice);
    login.user = "alice:db01".to_owned();
    login.command = Some(command.to_owned());
    login
}

/// The live sessions, as `fumidai session list --live --json` gives them.
fn live_sessions(gw: &Gateway) -> Vec<Value> {
    let out = gw.cli_ok(&["--json", "session", "list", "--live"]);
    serde_json::from_str(&out).expect("session list --json")
}

/// Waits until exactly one session is live, and returns its ID.
fn the_live_session(gw: &Gateway) -> String {
    wait_for("a live session", Duration::from_secs(30), || {
        let live = live_sessions(gw);
        (live.len() == 1).then(|| live[0]["id"].as_str().unwrap().to_owned())
    })
}

/// The `session.ended` record of `id`, once written.
fn ended(gw: &Gateway, id: &str) -> Value {
    gw.wait_audit("session.ended", id)
}

#[test]
fn a_session_killed_from_another_shell_ends_within_seconds_with_who_and_why_on_record() {
    let (mut gw, alice, sshd) = setup();
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let login = exec(&alice, "echo started; sleep 60; echo not-killed");

    let (out, killed_after, kill) = std::thread::scope(|s| {
        let engineer = s.spawn(|| login.run(&gw));
        let id = the_live_session(&gw);
        let t0 = Instant::now();
        let operator = gw.ensure_submitter();
        let kill = gw.cli_as(
            operator,
            &[
                "--json",
                "session",
                "kill",
                &id,
                "--reason",
                "suspicious commands / 不審な操作",
            ],
        );
        let out = engineer.join().unwrap();
        (out, t0.elapsed(), kill)
    });
    fumidai_e2e::gateway::assert_success(&["session", "kill"], &kill);
    assert!(
        killed_after < Duration::from_secs(5),
        "the session ended {killed_after:?} after the kill\n{}",
        gw.log()
    );
    assert_eq!(out.stdout, "started\n", "{out:?}");
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("運用担当者がセッションを終了しました")
            && out.stderr.contains("An operator has ended the session"),
        "the engineer is told why: {out:?}"
    );

    // `session kill --json` reports the request and the ended session.
    let kill: Value = serde_json::from_slice(&kill.stdout).unwrap();
    let id = kill["session"]["id"].as_str().unwrap().to_owned();
    assert_eq!(kill["session"]["end_reason"], "killed", "{kill}");
    assert_eq!(
        kill["request"]["reason"],
        "suspicious commands / 不審な操作"
    );

    // Who (the authenticated operator) and why, then the end with its reason.
    let killed = gw.wait_audit("session.killed", &id);
    assert_eq!(
        killed["actor"],
        format!("person:{}", gw.ensure_submitter()),
        "{killed}"
    );
    assert_eq!(
        killed["detail"]["reason"],
        "suspicious commands / 不審な操作"
    );
    assert_eq!(killed["detail"]["engineer"], "alice");
    assert_eq!(ended(&gw, &id)["detail"]["reason"], "killed");
    assert!(live_sessions(&gw).is_empty());

    // The target's side was hung up too, not left running `sleep 60`.
    let hung_up = poll(Duration::from_secs(10), || {
        sshd.log()
            .contains("session ended by fumidai")
            .then_some(())
    });
    assert!(hung_up.is_some(), "{}", sshd.log());

    // Killing it again, or a session that doesn't exist, fails and records nothing.
    let operator = gw.ensure_submitter();
    let again = gw.cli_as(operator, &["session", "kill", &id]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already ended"),
        "{again:?}"
    );
    let unknown = gw.cli_as(
        operator,
        &["session", "kill", "0192f0c4-8a3e-7c1b-9d2e-5f6a7b8c9d0e"],
    );
    assert!(!unknown.status.success());
    assert_eq!(gw.audits("session.killed", &id).len(), 1);
}

#[test]
fn an_idle_session_is_cut_with_reason_idle_and_an_active_one_is_not() {
    let (mut gw, alice, _sshd) = setup();
    gw.set_config("idle_timeout = \"15m\"", "idle_timeout = \"3s\"");
    // Two engineers: a TOTP code logs in once, and both runs fall in one 30 s step.
    let bob = gw.add_engineer("bob", "acme", PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.plan("bob", "db01", -5, 60, Some("olga"));
    gw.start();

    // Output every second keeps a session alive past the idle time-out.
    let active = exec(
        &alice,
        "for i in 1 2 3 4 5 6 7; do echo tick; sleep 1; done; exit 4",
    )
    .run(&gw);
    assert_eq!(active.code, 4, "{active:?}\n{}", gw.log());
    assert_eq!(active.stdout.matches("tick").count(), 7, "{active:?}");
    let first = gw.wait_audit_kind("session.ended");
    assert_eq!(first["detail"]["reason"], "normal", "{first}");

    // Nothing in or out: cut after about 3 s, not 30.
    let t0 = Instant::now();
    let mut login = exec(&bob, "sleep 30; echo not-cut");
    login.user = "bob:db01".to_owned();
    let idle = login.run(&gw);
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(15), "took {took:?}: {idle:?}");
    assert!(!idle.stdout.contains("not-cut"), "{idle:?}");
    assert!(
        idle.stderr.contains("3秒間操作がなかったため") && idle.stderr.contains("idle for 3s"),
        "{idle:?}"
    );
    let cut = wait_for("the idle session's end", Duration::from_secs(20), || {
        gw.audit_tail(1000)
            .into_iter()
            .rev()
            .find(|r| r["kind"] == "session.ended" && r["subject"] != first["subject"])
    });
    assert_eq!(cut["detail"]["reason"], "idle", "{cut}");
}

#[test]
fn the_window_end_is_warned_then_the_session_is_cut_with_reason_window_end() {
    let (mut gw, alice, _sshd) = setup();
    gw.set_config("window_warning = \"5m\"", "window_warning = \"15s\"");
    gw.start();
    // A window ending 25 s from now: the warning comes 15 s before, then the cut.
    let plan = submit_plan_ending_in(&gw, 25);
    gw.approve(&plan, "olga");

    let out = exec(&alice, "echo started; sleep 90; echo not-cut").run(&gw);
    assert_eq!(out.stdout, "started\n", "{out:?}\n{}", gw.log());
    let warning = "The work window ends at";
    assert_eq!(
        out.stderr.matches(warning).count(),
        1,
        "warned once: {out:?}"
    );
    assert!(
        out.stderr.contains("この作業ウィンドウは") && out.stderr.contains("JST"),
        "{out:?}"
    );
    let (warned, cut) = (
        out.stderr.find(warning).unwrap(),
        out.stderr
            .find("The approved work window has ended")
            .unwrap_or_else(|| panic!("told the window ended: {out:?}")),
    );
    assert!(warned < cut, "{out:?}");
    let started = gw.wait_audit_kind("session.started");
    let id = started["subject"].as_str().unwrap();
    assert_eq!(ended(&gw, id)["detail"]["reason"], "window-end");
}

/// Submits a plan for alice on db01 from 5 minutes ago to `seconds` from now (the
/// harness's `plan` counts in minutes); returns its ID.
fn submit_plan_ending_in(gw: &Gateway, seconds: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let rfc3339 = |at: i64| {
        let out = Command::new("date")
            .args(["-u", "-d", &format!("@{at}"), "+%Y-%m-%dT%H:%M:%SZ"])
            .output()
            .expect("date");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let out = gw.cli_as_ok(
        gw.ensure_submitter(),
        &[
            "--json",
            "plan",
            "submit",
            "--engineer",
            "alice",
            "--target",
            "db01",
            "--start",
            &rfc3339(now - 300),
            "--end",
            &rfc3339(now + seconds),
            "--purpose",
            "short window / 短い作業時間帯",
        ],
    );
    let plan: Value = serde_json::from_str(&out).unwrap();
    plan["id"].as_str().unwrap().to_owned()
}
