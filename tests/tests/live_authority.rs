//! Authority is re-checked live (issue 12, R-10.1-APPROVE, R-14-1): a revoked certificate,
//! a disabled account or a rejected plan reaches connections that are already open — the
//! next channel is refused and the connection closed within about a second, the engineer
//! told why and the end on record with its reason.
//!
//! Real peers: stock `ssh` with an OpenSSH ControlMaster through the front door, a real
//! `sshd` as the target, and `fumidai cert revoke` (or the database changed underneath,
//! standing in for the account and plan commands) in another process.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::time::{Duration, Instant};

use fumidai_e2e::tools::{poll, wait_for};
use fumidai_e2e::{Engineer, Gateway, SshLogin, Sshd};
use serde_json::Value;

const PASSWORD: &str = "Kaede-Hashira-7731";

/// How long the gateway may take to close a connection that lost its authority: the
/// watcher's tick (1 s), the end message, and the disconnect.
const CUT_WITHIN: Duration = Duration::from_secs(3);

/// A started gateway with alice, an approved plan for db01 now, and the target.
fn setup() -> (Gateway, Engineer, Sshd) {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    (gw, alice, sshd)
}

fn login(alice: &Engineer) -> SshLogin {
    let mut login = SshLogin::engineer(alice);
    login.user = "alice:db01".to_owned();
    login
}

fn live_sessions(gw: &Gateway) -> Vec<Value> {
    let out = gw.cli_ok(&["--json", "session", "list", "--live"]);
    serde_json::from_str(&out).expect("session list --json")
}

/// A session running `sleep` over a ControlMaster is cut by `change`, made once the
/// session is live. Returns what the engineer's command saw, how long after `change`
/// returned the command ended, the master's stderr and how long it took to exit, and the
/// session's `session.ended` record.
fn cut_by(
    gw: &Gateway,
    alice: &Engineer,
    change: impl FnOnce(&Gateway),
) -> (fumidai_e2e::SshOutcome, Duration, String, Duration, Value) {
    let mut master = login(alice).master(gw);
    let (out, cut_after, t0) = std::thread::scope(|s| {
        let running = s.spawn(|| {
            master.run(
                "ssh",
                &["fumidai-gateway", "echo started; sleep 60; echo not-cut"],
            )
        });
        wait_for("a live session", Duration::from_secs(30), || {
            (live_sessions(gw).len() == 1).then_some(())
        });
        change(gw);
        let t0 = Instant::now();
        let out = running.join().unwrap();
        (out, t0.elapsed(), t0)
    });
    let (status, stderr) = poll(CUT_WITHIN, || master.exited()).unwrap_or_else(|| {
        panic!(
            "the master was not disconnected within {CUT_WITHIN:?}\n{}",
            gw.log()
        )
    });
    let master_gone = t0.elapsed();
    assert!(!status.success(), "{status}");
    let id = gw
        .audit_tail(200)
        .into_iter()
        .find(|r| r["kind"] == "session.started")
        .expect("session.started")["subject"]
        .as_str()
        .unwrap()
        .to_owned();
    let ended = gw.wait_audit("session.ended", &id);
    // The next channel on that login is refused: the master is gone.
    let again = master.run("ssh", &["fumidai-gateway", "echo again"]);
    assert_ne!(again.code, 0, "{again:?}");
    assert!(!again.stdout.contains("again"), "{again:?}");
    assert!(live_sessions(gw).is_empty(), "{:?}", live_sessions(gw));
    (out, cut_after, stderr, master_gone, ended)
}

fn assert_cut(out: &fumidai_e2e::SshOutcome, cut_after: Duration, ja: &str, en: &str) {
    assert!(out.stdout.contains("started"), "{out:?}");
    assert!(
        !out.stdout.contains("not-cut"),
        "the command ran on: {out:?}"
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(ja) && out.stderr.contains(en),
        "the engineer was not told why: {out:?}"
    );
    assert!(cut_after < CUT_WITHIN, "cut after {cut_after:?}");
}

// Issue 12: revoking a certificate reaches the ControlMaster that logged in with it.
#[test]
fn a_controlmaster_is_closed_within_a_second_or_so_of_cert_revoke() {
    let (gw, alice, _sshd) = setup();
    let serial = alice.certs.serial.clone();
    let (out, cut_after, master_stderr, master_gone, ended) = cut_by(&gw, &alice, |gw| {
        gw.cli_ok(&["cert", "revoke", &serial, "--reason", "laptop lost"]);
    });
    eprintln!("revoke → command cut {cut_after:?}, master gone {master_gone:?}");
    assert_cut(
        &out,
        cut_after,
        "クライアント証明書が失効",
        "certificate was revoked",
    );
    assert!(
        master_gone < CUT_WITHIN,
        "master gone after {master_gone:?}"
    );
    assert!(master_stderr.contains("revoked"), "{master_stderr}");
    assert_eq!(ended["detail"]["reason"], "revoked", "{ended}");
}

// Issue 12: a login that opened no channel yet is not a session, but the next channel it
// opens after a revocation is refused, audited, and the login is closed; no session starts.
#[test]
fn a_login_revoked_before_its_first_channel_gets_no_channel() {
    let (gw, alice, sshd) = setup();
    let mut master = login(&alice).master(&gw);
    gw.cli_ok(&["cert", "revoke", &alice.certs.serial]);
    let marker = sshd.tmp.path().join("ran");
    let command = format!("touch {}; echo ran", marker.display());
    let out = master.run("ssh", &["fumidai-gateway", &command]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("ran"), "{out:?}");
    assert!(!marker.exists(), "the command ran on the target");
    let denied = gw.wait_audit("session.denied", "db01");
    assert_eq!(
        denied["detail"]["reason"], "certificate_revoked",
        "{denied}"
    );
    assert_eq!(denied["actor"], "person:alice", "{denied}");
    assert!(
        gw.audit_tail(200)
            .iter()
            .all(|r| r["kind"] != "session.started"),
        "a session started"
    );
    poll(CUT_WITHIN, || master.exited()).expect("the revoked login stays connected");
}

// Issue 12: disabling an account ends its live session.
#[test]
fn a_disabled_account_loses_its_live_session() {
    let (gw, alice, _sshd) = setup();
    let (out, cut_after, _, _, ended) = cut_by(&gw, &alice, |gw| {
        gw.cli_as_ok("olga", &["engineer", "disable", "alice"]);
    });
    assert_cut(&out, cut_after, "アカウントが無効", "account was disabled");
    assert_eq!(ended["detail"]["reason"], "disabled", "{ended}");
}

// Issue 12: disabling the engineer's vendor ends the live session too.
#[test]
fn a_disabled_vendor_loses_its_engineers_live_session() {
    let (gw, alice, _sshd) = setup();
    let (out, cut_after, _, _, ended) = cut_by(&gw, &alice, |gw| {
        gw.cli_as_ok("olga", &["vendor", "disable", "acme"]);
    });
    assert_cut(&out, cut_after, "アカウントが無効", "account was disabled");
    assert_eq!(ended["detail"]["reason"], "disabled", "{ended}");
}

// Issue 12: `plan withdraw` ends the sessions running under the plan, within a second or so.
#[test]
fn a_plan_withdrawn_while_in_use_ends_its_session() {
    let (gw, alice, sshd) = setup();
    let plans: Value = serde_json::from_str(&gw.cli_ok(&["--json", "plan", "list"])).unwrap();
    let plan = plans[0]["id"].as_str().unwrap().to_owned();
    let (out, cut_after, _, _, ended) = cut_by(&gw, &alice, |gw| {
        gw.cli_as_ok(
            "olga",
            &["plan", "withdraw", &plan, "--reason", "vendor unreachable"],
        );
    });
    assert_eq!(ended["detail"]["reason"], "withdrawn", "{ended}");
    assert!(
        out.stdout.contains("started") && !out.stdout.contains("not-cut"),
        "{out:?}"
    );
    assert!(cut_after < CUT_WITHIN, "cut after {cut_after:?}");
    // And no new session under it: the engineer's next login runs nothing on the target.
    let marker = sshd.tmp.path().join("after-withdrawal");
    let mut again = login(&alice);
    again.command = Some(format!("touch {}", marker.display()));
    let out = again.run(&gw);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(!marker.exists(), "a command ran under a withdrawn plan");
}

// Issue 12: a plan rejected while a session runs under it ends the session.
#[test]
fn a_plan_rejected_while_in_use_ends_its_session() {
    let (gw, alice, _sshd) = setup();
    let (out, cut_after, _, _, ended) = cut_by(&gw, &alice, |gw| {
        gw.sql("UPDATE plans SET status = 'rejected'");
    });
    assert_cut(&out, cut_after, "作業計画が却下", "plan was rejected");
    assert_eq!(ended["detail"]["reason"], "rejected", "{ended}");
}

/// The logged-in connections without a session, as `session list --live --json
/// --with-connections` gives them.
fn logins_without_session(gw: &Gateway) -> Vec<Value> {
    let out = gw.cli_ok(&["--json", "session", "list", "--live", "--with-connections"]);
    let all: Value = serde_json::from_str(&out).expect("session list --json");
    all["connections"].as_array().cloned().unwrap_or_default()
}

// Issue 12: an engineer logged in without a plan and without a channel is visible to the
// operator and can be killed from another shell.
#[test]
fn a_planless_login_without_a_channel_is_listed_and_killed() {
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.start();
    let mut master = login(&alice).master(&gw);
    let listed = wait_for("the login listed", Duration::from_secs(10), || {
        let logins = logins_without_session(&gw);
        (logins.len() == 1).then(|| logins[0].clone())
    });
    assert_eq!(listed["engineer"], "alice", "{listed}");
    let id = listed["id"].as_str().unwrap().to_owned();
    let text = gw.cli_ok(&["session", "list", "--live"]);
    assert!(
        text.contains(&id)
            && text.contains("logged in, no channel")
            && text.contains("ログイン済み（チャネルなし）"),
        "{text}"
    );
    assert!(live_sessions(&gw).is_empty(), "no session yet");

    let t0 = Instant::now();
    let killed = gw.cli_as(
        "olga",
        &["session", "kill", &id, "--reason", "left logged in"],
    );
    fumidai_e2e::gateway::assert_success(&["session", "kill"], &killed);
    let (_, stderr) = poll(CUT_WITHIN, || master.exited())
        .unwrap_or_else(|| panic!("the login stayed after the kill\n{}", gw.log()));
    eprintln!("kill → login gone {:?}", t0.elapsed());
    assert!(stderr.contains("operator closed"), "{stderr}");
    let request = gw.wait_audit("session.killed", &id);
    assert_eq!(
        request["detail"]["state"], "logged_in_no_channel",
        "{request}"
    );
    assert_eq!(request["detail"]["reason"], "left logged in", "{request}");
    let closed = gw.wait_audit("connection.closed", &id);
    assert_eq!(closed["detail"]["reason"], "killed", "{closed}");
    wait_for("the login forgotten", Duration::from_secs(5), || {
        logins_without_session(&gw).is_empty().then_some(())
    });
}

// Issue 12: keepalives keep no login alive — a login that opens no channel is closed after
// the login grace, however often its client sends keepalives.
#[test]
fn a_login_without_a_channel_closes_after_the_login_grace_despite_keepalives() {
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.set_config("login_grace = \"1m\"", "login_grace = \"5s\"");
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let t0 = Instant::now();
    let mut master = login(&alice).master_with(&gw, &["-o", "ServerAliveInterval=1"]);
    let (_, stderr) = poll(Duration::from_secs(15), || master.exited())
        .unwrap_or_else(|| panic!("the channel-less login stayed\n{}", gw.log()));
    let after = t0.elapsed();
    eprintln!("channel-less login closed after {after:?}");
    assert!(
        after >= Duration::from_secs(4),
        "closed too early: {after:?}"
    );
    assert!(stderr.contains("login grace"), "{stderr}");
    let closed = gw.wait_audit_kind("connection.closed");
    assert_eq!(closed["detail"]["reason"], "no_channel", "{closed}");
    assert!(logins_without_session(&gw).is_empty());
}

// Issue 12: the same for a login through the target menu (user name without a target,
// the target chosen by number): no channel, closed after the login grace.
#[test]
fn a_menu_login_without_a_channel_closes_after_the_login_grace() {
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.set_config("login_grace = \"1m\"", "login_grace = \"5s\"");
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let mut menu = login(&alice);
    menu.user = "alice".to_owned();
    menu.menu_answers = vec!["1".to_owned()];
    let t0 = Instant::now();
    let mut master = menu.master_with(&gw, &["-o", "ServerAliveInterval=1"]);
    let (_, stderr) = poll(Duration::from_secs(15), || master.exited())
        .unwrap_or_else(|| panic!("the channel-less menu login stayed\n{}", gw.log()));
    let after = t0.elapsed();
    assert!(
        after >= Duration::from_secs(4),
        "closed too early: {after:?}"
    );
    assert!(stderr.contains("login grace"), "{stderr}");
    let closed = gw.wait_audit_kind("connection.closed");
    assert_eq!(closed["detail"]["reason"], "no_channel", "{closed}");
    assert!(logins_without_session(&gw).is_empty());
}

// Issue 12: keepalives are not activity — a session whose channels have closed is cut
// idle although its ControlMaster sends keepalives every second.
#[test]
fn keepalives_do_not_keep_a_session_from_its_idle_time_out() {
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.set_config("idle_timeout = \"15m\"", "idle_timeout = \"4s\"");
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let mut master = login(&alice).master_with(&gw, &["-o", "ServerAliveInterval=1"]);
    let out = master.run("ssh", &["fumidai-gateway", "echo once"]);
    assert_eq!(out.code, 0, "{out:?}");
    let t0 = Instant::now();
    let id = live_sessions(&gw)
        .first()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .expect("the session stays while the master does");
    let ended = gw.wait_audit("session.ended", &id);
    let after = t0.elapsed();
    eprintln!("session with keepalives cut idle after {after:?}");
    assert_eq!(ended["detail"]["reason"], "idle", "{ended}");
    assert!(after < Duration::from_secs(10), "{after:?}");
    poll(CUT_WITHIN, || master.exited()).expect("the master stayed after the idle cut");
}

// Issue 12: `session kill --block` also withdraws the engineer from the plan — they can't
// come back under it (a killed engineer was back 30 s later).
#[test]
fn a_kill_with_block_keeps_the_engineer_from_coming_back_under_the_plan() {
    let (gw, alice, sshd) = setup();
    let mut first = login(&alice);
    first.command = Some("echo started; sleep 60; echo not-cut".to_owned());
    let (out, killed) = std::thread::scope(|s| {
        let running = s.spawn(|| first.run(&gw));
        let id = wait_for("a live session", Duration::from_secs(30), || {
            live_sessions(&gw)
                .first()
                .map(|l| l["id"].as_str().unwrap().to_owned())
        });
        let killed = gw.cli_as(
            "olga",
            &["session", "kill", &id, "--block", "--reason", "misuse"],
        );
        (running.join().unwrap(), (id, killed))
    });
    let (id, killed) = killed;
    fumidai_e2e::gateway::assert_success(&["session", "kill", "--block"], &killed);
    assert!(!out.stdout.contains("not-cut"), "{out:?}");
    assert_eq!(
        gw.wait_audit("session.ended", &id)["detail"]["reason"],
        "killed"
    );
    let plan = gw.wait_audit_kind("plan.engineer_blocked");
    assert_eq!(plan["detail"]["engineer"], "alice", "{plan}");
    assert_eq!(plan["detail"]["reason"], "misuse", "{plan}");

    // Back with a fresh code (a code logs in once): refused, nothing runs on the target.
    let used = first.code.clone();
    let again = wait_for("the next TOTP step", Duration::from_secs(35), || {
        let next = login(&alice);
        (next.code != used).then_some(next)
    });
    let marker = sshd.tmp.path().join("back");
    let mut again = again;
    again.command = Some(format!("touch {}; echo back", marker.display()));
    let back = again.run(&gw);
    assert_ne!(back.code, 0, "{back:?}");
    assert!(!back.stdout.contains("back\n"), "{back:?}");
    assert!(
        !marker.exists(),
        "the blocked engineer ran a command on the target"
    );
    let denied = gw.wait_audit("session.denied", "db01");
    assert_eq!(denied["detail"]["reason"], "no_plan", "{denied}");
}
