//! Engineers reach a real `sshd` through fumidai only inside an approved plan's window,
//! with a credential they never see (R-7-12, R-10.1-APPROVE, R-10.2-PRIV, R-13-9/10).

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use fumidai_e2e::{Engineer, Gateway, SshLogin, Sshd};

const PASSWORD: &str = "Kaede-Hashira-7731";

/// A gateway with engineer alice, operator olga and target db01 (a real sshd).
fn setup() -> (Gateway, Engineer, Sshd) {
    Gateway::with_alice_and_db01(PASSWORD)
}

fn exec(gw: &Gateway, alice: &Engineer, user: &str, command: &str) -> fumidai_e2e::SshOutcome {
    let mut login = SshLogin::engineer(alice);
    login.user = user.to_owned();
    login.command = Some(command.to_owned());
    login.run(gw)
}

#[test]
fn an_approved_plan_admits_exec_with_the_targets_exit_status() {
    let (mut gw, alice, sshd) = setup();
    let plan = gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let out = exec(
        &gw,
        &alice,
        "alice:db01",
        "echo hello-from-target; echo oops >&2; exit 3",
    );
    assert_eq!(out.code, 3, "{out:?}\n{}", gw.log());
    assert_eq!(out.stdout, "hello-from-target\n");
    assert!(out.stderr.contains("oops"), "{out:?}");
    // The target's log shows fumidai's key, not the engineer's secrets.
    assert!(
        sshd.log().contains("Accepted publickey for root"),
        "{}",
        sshd.log()
    );
    let started = gw.wait_audit_kind("session.started");
    assert_eq!(started["detail"]["plan_id"], plan.as_str(), "{started}");
    assert_eq!(started["detail"]["engineer"], "alice", "{started}");
    let ended = gw.wait_audit_kind("session.ended");
    assert_eq!(ended["subject"], started["subject"], "{ended}");
}

// A command that closes its output before it exits: the target sends EOF first and the
// exit status a second later. An OpenSSH control master answers an EOF with CLOSE once its
// client's input is done, and a CLOSE ends the channel at once, so the gateway must not pass
// the EOF on before the exit status (else `ssh` exits 255 and `scp` fails without a word).
#[test]
fn the_exit_status_arrives_even_when_the_command_closed_its_output_early() {
    let (mut gw, alice, _sshd) = setup();
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".to_owned();
    let master = login.master(&gw);
    let out = master.run(
        "ssh",
        &[
            "fumidai-gateway",
            "echo before-close; exec >&- 2>&-; sleep 1; exit 7",
        ],
    );
    assert_eq!(out.code, 7, "{out:?}\n{}", gw.log());
    assert_eq!(out.stdout, "before-close\n");
}

#[test]
fn no_approved_plan_no_session_and_the_engineer_is_told_why() {
    let (mut gw, alice, _sshd) = setup();
    gw.plan("alice", "db01", -5, 60, None);
    gw.start();
    let out = exec(&gw, &alice, "alice:db01", "echo should-not-run");
    assert!(out.authenticated(), "{out:?}");
    assert!(!out.stdout.contains("should-not-run"), "{out:?}");
    assert!(
        out.stdout.contains("approved") && out.stdout.contains("承認"),
        "{out:?}"
    );
    let denied = gw.wait_audit("session.denied", "db01");
    assert_eq!(denied["detail"]["reason"], "not_approved_yet", "{denied}");
}

#[test]
fn a_window_in_the_future_or_past_is_refused_with_its_times() {
    let (mut gw, alice, _sshd) = setup();
    gw.plan("alice", "db01", 120, 180, Some("olga"));
    gw.start();
    let out = exec(&gw, &alice, "alice:db01", "echo should-not-run");
    assert!(!out.stdout.contains("should-not-run"), "{out:?}");
    assert!(
        out.stdout.contains("JST"),
        "the window's start is shown: {out:?}"
    );
    let denied = gw.wait_audit("session.denied", "db01");
    assert_eq!(denied["detail"]["reason"], "window_not_started", "{denied}");
}

#[test]
fn a_target_not_in_the_plan_is_refused() {
    let (mut gw, alice, sshd) = setup();
    gw.add_target("web01", &sshd);
    gw.plan("alice", "web01", -5, 60, Some("olga"));
    gw.start();
    let out = exec(&gw, &alice, "alice:db01", "echo should-not-run");
    assert!(!out.stdout.contains("should-not-run"), "{out:?}");
    let denied = gw.wait_audit("session.denied", "db01");
    assert_eq!(denied["detail"]["reason"], "target_not_in_plan", "{denied}");
}

#[test]
fn a_changed_target_host_key_refuses_the_session_and_raises_an_alert() {
    let sshd = Sshd::start();
    let impostor = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    // Pinned: the real target's key; listening: another server.
    gw.add_target_with_host_key("db01", &impostor, &sshd.host_key);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let out = exec(&gw, &alice, "alice:db01", "echo should-not-run");
    assert!(!out.stdout.contains("should-not-run"), "{out:?}");
    assert!(out.stdout.contains("host key"), "{out:?}");
    let mismatch = gw.wait_audit("host_key.mismatch", "db01");
    assert_eq!(
        mismatch["detail"]["presented"],
        impostor.host_key.as_str(),
        "{mismatch}"
    );
    assert!(gw.log().contains("ALERT"), "{}", gw.log());
}

/// Every file under `dir` whose name ends with `suffix`.
fn files_ending(dir: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
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
fn sessions_are_recorded_replayable_and_sealed_and_tampering_is_detected() {
    fumidai_e2e::tools::require("asciinema");
    let (mut gw, alice, _sshd) = setup();
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let out = exec(&gw, &alice, "alice:db01", "echo recorded-$((6*7))");
    assert_eq!(out.stdout, "recorded-42\n", "{out:?}");
    let sealed = gw.wait_audit_kind("recording.sealed");
    let casts = files_ending(&gw.data.join("recordings"), ".cast");
    assert_eq!(casts.len(), 1, "{casts:?}");
    // A stock asciinema replays it (it wants a terminal, so under script(1)).
    let replay = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("asciinema cat {}", casts[0].display()),
            "/dev/null",
        ])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&replay.stdout);
    assert!(shown.contains("recorded-42"), "{shown}");
    let header: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&casts[0])
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["fumidai"]["engineer"], "alice", "{header}");
    assert_eq!(header["command"], "echo recorded-$((6*7))", "{header}");
    assert_eq!(
        header["fumidai"]["session_id"], sealed["subject"],
        "{header} {sealed}"
    );

    let verified = gw.cli_ok(&["audit", "verify"]);
    assert!(verified.contains("1 intact"), "{verified}");
    // One changed byte in the recording, and verification fails naming it.
    let mut bytes = std::fs::read(&casts[0]).unwrap();
    let at = bytes.windows(11).position(|w| w == b"recorded-42").unwrap();
    bytes[at] = b'R';
    std::fs::write(&casts[0], bytes).unwrap();
    let out = gw.cli(&["audit", "verify"]);
    assert!(
        !out.status.success(),
        "tampered recording passed verification"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".cast"), "{err}");
}

#[test]
fn without_a_writable_recording_store_no_session_starts() {
    let (mut gw, alice, _sshd) = setup();
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    // Root ignores permissions, so make the recordings directory impossible instead.
    let recordings = gw.data.join("recordings");
    std::fs::remove_dir_all(&recordings).unwrap();
    std::fs::write(&recordings, b"not a directory").unwrap();
    gw.start();
    let out = exec(&gw, &alice, "alice:db01", "echo should-not-run");
    assert!(!out.stdout.contains("should-not-run"), "{out:?}");
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("recorded") && out.stdout.contains("記録"),
        "{out:?}"
    );
    let denied = gw.wait_audit("session.denied", "db01");
    assert_eq!(
        denied["detail"]["reason"], "recording_unavailable",
        "{denied}"
    );
}
