//! Every client a vendor really uses works (issue 13): PuTTY's `plink` interactive and in
//! scripts, `pscp`, stock `ssh` with `SetEnv`. Each one's session is checked on the target
//! (what the command left there), not only by what the client printed.
//!
//! The regression these hold: russh kept one "wants reply" flag per channel, so PuTTY's
//! `pty-req` and `shell` sent back to back lost the second answer and plink hung, and an
//! `env` that wanted no answer handed its failure to the next `exec` (`ssh -o SetEnv=…`:
//! "exec request failed"). See `gateway/src/proxy/bridge/replies.rs`.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::time::Duration;

use fumidai_e2e::putty::Putty;
use fumidai_e2e::{Gateway, SshLogin};

const PASSWORD: &str = "Kaede-Hashira-7731";

/// How long a step on the terminal may take: a login includes Argon2id and the target's.
const STEP: Duration = Duration::from_secs(30);

#[test]
fn interactive_plink_gets_its_shell_runs_a_command_and_exits() {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let marker = sshd.tmp.path().join("typed-in-plink");
    let code = fumidai_e2e::tools::oathtool_code(&alice.totp_secret);
    let plink =
        Putty::new(&gw, "plink", "alice:db01", &alice.certs).args(&["-t", "fumidai-gateway"]);
    let mut term = plink.spawn_and_log_in(&gw, &alice.password, &code);
    // PuTTY's defence against a server spoofing its prompts: after a keyboard-interactive
    // login it waits for Return before the session (README: `-no-antispoof` in scripts).
    term.expect("Press Return to begin session", STEP);
    term.type_text("\r");
    // The shell came: both `pty-req` and `shell` were answered.
    term.expect("# ", STEP);
    term.type_text(&format!(
        "touch {} && echo plink-$((6*7))\r",
        marker.display()
    ));
    term.expect("plink-42\r\n", STEP);
    term.type_text("exit 3\r");
    let status = term.wait(STEP);
    assert_eq!(status.code(), Some(3), "{}", term.screen());
    assert!(marker.exists(), "{}", term.screen());
    let ended = gw.wait_audit_kind("session.ended");
    assert_eq!(ended["detail"]["engineer"], "alice", "{ended}");
    assert_eq!(ended["detail"]["reason"], "normal", "{ended}");
}

#[test]
fn a_plink_script_runs_its_command_without_a_keypress() {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let marker = sshd.tmp.path().join("from-a-plink-script");
    let code = fumidai_e2e::tools::oathtool_code(&alice.totp_secret);
    let command = format!("touch {} && echo script-done", marker.display());
    let plink = Putty::new(&gw, "plink", "alice:db01", &alice.certs).args(&[
        "-no-antispoof",
        "fumidai-gateway",
        &command,
    ]);
    let mut term = plink.spawn_and_log_in(&gw, &alice.password, &code);
    term.expect("script-done", STEP);
    let status = term.wait(STEP);
    assert_eq!(status.code(), Some(0), "{}", term.screen());
    assert!(marker.exists());
}

#[test]
fn ssh_with_an_environment_variable_it_does_not_pass_still_runs_its_command() {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let marker = sshd.tmp.path().join("ran-despite-setenv");
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".into();
    let command = format!("touch {} && echo env-ok", marker.display());
    // `FUMIDAI_PROBE` is not among the variables passed on; `LANG` is, and the target's
    // sshd refuses it (Debian's default `AcceptEnv LANG LC_*` is not in the test sshd):
    // neither refusal may land on the `exec`.
    let out = login.run_tool(
        &gw,
        "ssh",
        &[
            "-T",
            "-o",
            "SetEnv=FUMIDAI_PROBE=bar LANG=C.UTF-8",
            "fumidai-gateway",
            &command,
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "env-ok", "{out:?}");
    assert!(marker.exists());
}
