//! RDP through fumidai, end to end with real peers: xrdp (Xorg backend) as the target, a
//! stock `xfreerdp /sec:nla` on Xvfb as the vendor's client, `fumidai connect rdp` as the
//! vendor's tunnel, xdotool as the engineer's hands and xwd as the witness's eyes
//! (issue 5; R-10.2-CRYPTO, R-10.2-PRIV, R-10.2-TERM, R-10.2-TIMEOUT, R-10-3, R-17-2).

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::time::{Duration, Instant};

use fumidai_e2e::rdp::{
    Display, SHADOW_USER, Sha256Fingerprint, ShadowServer, Xfreerdp, Xrdp, compare,
    wait_xterm_desktop,
};
use fumidai_e2e::{Engineer, Gateway, RdpTunnel};
use serde_json::Value;

const SECS: fn(u64) -> Duration = Duration::from_secs;
/// The engineer's password in these tests.
const PASSWORD: &str = "Crimson-Harbor-Sail-91";

/// A gateway with vendor `acme`, engineer `alice`, operator `olga`, and the xrdp target
/// registered as `win01` (its certificate pinned, its password sealed), started.
fn scene(xrdp: &Xrdp) -> (Gateway, Engineer) {
    scene_with(xrdp, &[])
}

/// [`scene`] with `fumidai.toml` edits (from, to) made before the gateway starts.
fn scene_with(xrdp: &Xrdp, config: &[(&str, &str)]) -> (Gateway, Engineer) {
    let mut gw = Gateway::init();
    for (from, to) in config {
        gw.set_config(from, to);
    }
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_rdp_target(
        "win01",
        &xrdp.address().to_string(),
        xrdp.user(),
        xrdp.password(),
        &xrdp.fingerprint().hex(),
    );
    gw.start();
    (gw, alice)
}

/// Another engineer of `acme` with a plan for win01 now (each login claims its TOTP step,
/// so a test that needs several credentials within one step uses several engineers).
fn another_engineer(gw: &Gateway, login: &str) -> Engineer {
    let engineer = gw.add_engineer(login, "acme", PASSWORD);
    gw.plan(login, "win01", -5, 60, Some("olga"));
    engineer
}

/// xfreerdp through the tunnel with the tunnel's single-use credential (or `password`).
fn client(display: &Display, tunnel: &RdpTunnel, password: &str) -> Xfreerdp {
    Xfreerdp::start(display, &tunnel.config(&tunnel.user(), password))
}

/// xfreerdp ended refused by NLA, as Windows refuses a wrong password.
fn assert_logon_failure(client: &mut Xfreerdp) {
    let exit = client.wait_exit(SECS(20));
    assert!(
        exit.errors()
            .iter()
            .any(|e| e == "ERRCONNECT_LOGON_FAILURE"),
        "{}",
        exit.log
    );
}

/// The sessions in the store, newest last.
fn sessions(gw: &Gateway) -> Vec<Value> {
    serde_json::from_str(&gw.cli_ok(&["--json", "session", "list"])).unwrap()
}

/// Waits until session `id` has ended and returns its record.
fn wait_ended(gw: &Gateway, id: &str) -> Value {
    for _ in 0..100 {
        if let Some(s) = sessions(gw).into_iter().find(|s| s["id"] == id)
            && !s["ended_at"].is_null()
        {
            return s;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("session {id} did not end; log:\n{}", gw.log());
}

/// The one live session's ID.
fn live_session(gw: &Gateway) -> String {
    for _ in 0..100 {
        let live: Vec<Value> =
            serde_json::from_str(&gw.cli_ok(&["--json", "session", "list", "--live"])).unwrap();
        if let Some(first) = live.first() {
            return first["id"].as_str().unwrap().to_owned();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no live session; log:\n{}", gw.log());
}

#[test]
fn an_rdp_session_logs_in_with_the_target_credential_and_is_recorded_and_replayable() {
    let xrdp = Xrdp::start();
    let (gw, alice) = scene(&xrdp);
    gw.plan("alice", "win01", -5, 60, Some("olga"));
    let tunnel = RdpTunnel::open(&gw, &alice, "win01").expect("a credential");
    let display = Display::start();
    let mut xf = client(&display, &tunnel, &tunnel.password());
    let window = xf.wait_connected(SECS(20));
    // The target logged in its own account: the vendor's single-use name never reached it.
    xrdp.wait_log(
        &format!("login successful for user {}", xrdp.user()),
        SECS(10),
    );
    assert!(!xrdp.log().contains(&tunnel.user()), "{}", xrdp.log());
    wait_xterm_desktop(&display, window);

    display.focus(window);
    display.type_text("echo fumidai-rdp-42", Duration::from_millis(40));
    display.key("Return");
    let shown = display.wait_stable(window, Duration::from_millis(600), SECS(10));
    let id = live_session(&gw);
    drop(xf);
    let ended = wait_ended(&gw, &id);
    assert_eq!(ended["end_reason"], "normal", "{ended}");

    // The keystroke timeline has what was typed.
    let keys = gw.cli_ok(&["play", &id, "--keys"]);
    assert!(keys.contains("echo fumidai-rdp-42"), "{keys}");

    // The replay's last frame is what the engineer saw, pixel for pixel.
    let frames = tempfile::tempdir().unwrap();
    gw.cli_ok(&["play", &id, "--png-dir", frames.path().to_str().unwrap()]);
    let mut pngs: Vec<_> = std::fs::read_dir(frames.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pngs.sort();
    let last = image::open(pngs.last().expect("frames")).unwrap().to_rgb8();
    let diff = compare(&last, &shown);
    assert!(diff.is_same(), "replay differs from the screen: {diff:?}");

    // The recording is sealed in the audit chain; a changed byte is caught.
    let verify = gw.cli(&["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let file = find_recording(&gw, &id);
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    let verify = gw.cli(&["audit", "verify"]);
    assert!(
        !verify.status.success(),
        "a tampered RDP recording passed audit verify"
    );
    let said = String::from_utf8_lossy(&verify.stdout).to_string()
        + &String::from_utf8_lossy(&verify.stderr);
    assert!(said.contains(&id), "{said}");
}

/// The session's `.rdp` recording file under the data directory.
fn find_recording(gw: &Gateway, id: &str) -> std::path::PathBuf {
    let name = format!("{id}.rdp");
    let mut stack = vec![gw.data.join("recordings")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == name.as_str()) {
                return path;
            }
        }
    }
    panic!("no recording {name}");
}

#[test]
fn wrong_and_reused_single_use_credentials_are_refused_with_logon_failure() {
    let xrdp = Xrdp::start();
    let (gw, alice) = scene(&xrdp);
    gw.plan("alice", "win01", -5, 60, Some("olga"));
    let tunnel = RdpTunnel::open(&gw, &alice, "win01").expect("a credential");
    let display = Display::start();

    // A wrong password for the ticket: refused, and the ticket is gone with it.
    let mut wrong = client(&display, &tunnel, "not-the-ticket-password");
    assert_logon_failure(&mut wrong);
    let mut reused = client(&display, &tunnel, &tunnel.password());
    assert_logon_failure(&mut reused);

    // A fresh ticket works once; the same ticket again is refused.
    let bob = another_engineer(&gw, "bob");
    let tunnel = RdpTunnel::open(&gw, &bob, "win01").expect("a second credential");
    let mut first = client(&display, &tunnel, &tunnel.password());
    first.wait_connected(SECS(20));
    drop(first);
    let mut again = client(&display, &tunnel, &tunnel.password());
    assert_logon_failure(&mut again);
    assert!(!xrdp.log().contains("fdt-"), "{}", xrdp.log());
}

#[test]
fn no_credential_without_a_plan_for_that_target_and_window() {
    let xrdp = Xrdp::start();
    let (gw, alice) = scene(&xrdp);
    // No plan at all.
    let refused = RdpTunnel::open(&gw, &alice, "win01")
        .err()
        .expect("refused");
    assert_ne!(refused.code, Some(0), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("plan") || refused.stderr.contains("計画"),
        "{}",
        refused.stderr
    );
    // A plan whose window has not begun.
    let bob = gw.add_engineer("bob", "acme", PASSWORD);
    gw.plan("bob", "win01", 30, 90, Some("olga"));
    let refused = RdpTunnel::open(&gw, &bob, "win01").err().expect("refused");
    assert_ne!(refused.code, Some(0), "{}", refused.stderr);
    // A plan for win01 is no credential for another target.
    let carol = another_engineer(&gw, "carol");
    let other = RdpTunnel::open(&gw, &carol, "win02")
        .err()
        .expect("refused");
    assert_ne!(other.code, Some(0), "{}", other.stderr);
    // The ticket is issued for the planned target only, and the issue is audited without
    // its password.
    let dave = another_engineer(&gw, "dave");
    let tunnel = RdpTunnel::open(&gw, &dave, "win01").expect("a credential");
    let issued = gw.wait_audit("rdp.credential_issued", "win01");
    assert_eq!(issued["detail"]["user"], tunnel.user());
    assert!(
        !issued.to_string().contains(&tunnel.password()),
        "the password is never audited"
    );
}

#[test]
fn an_operator_kill_and_the_idle_time_out_end_rdp_sessions_with_their_reasons() {
    let xrdp = Xrdp::start();
    let (gw, alice) = scene_with(
        &xrdp,
        &[("idle_timeout = \"15m\"", "idle_timeout = \"6s\"")],
    );
    gw.plan("alice", "win01", -5, 60, Some("olga"));
    let display = Display::start();

    // Killed by an operator.
    let tunnel = RdpTunnel::open(&gw, &alice, "win01").expect("a credential");
    let mut xf = client(&display, &tunnel, &tunnel.password());
    xf.wait_connected(SECS(20));
    let id = live_session(&gw);
    gw.cli_as_ok(
        gw.ensure_submitter(),
        &["session", "kill", &id, "--reason", "test"],
    );
    assert_eq!(wait_ended(&gw, &id)["end_reason"], "killed");
    // The client is told why (FreeRDP names the Set Error Info; mstsc shows it).
    let exit = xf.wait_exit(SECS(10));
    assert!(
        exit.log.contains("ERRINFO_RPC_INITIATED_DISCONNECT"),
        "{}",
        exit.log
    );

    // Idle: nothing typed for the time-out.
    let bob = another_engineer(&gw, "bob");
    let tunnel = RdpTunnel::open(&gw, &bob, "win01").expect("a credential");
    let mut xf = client(&display, &tunnel, &tunnel.password());
    xf.wait_connected(SECS(20));
    let idle = live_session(&gw);
    // Issue 12: fumidai can't log the killed session's desktop off; bob's session may have
    // resumed it, and says so (the report reads this record as a finding).
    let resumed = gw.wait_audit_kind("rdp.desktop_may_resume");
    assert_eq!(resumed["detail"]["session_id"], idle.as_str(), "{resumed}");
    assert_eq!(
        resumed["detail"]["previous_session_id"],
        id.as_str(),
        "{resumed}"
    );
    assert_eq!(resumed["detail"]["previous_engineer"], "alice", "{resumed}");
    assert_eq!(resumed["detail"]["previous_end"], "killed", "{resumed}");
    assert_eq!(
        gw.audit_tail(500)
            .iter()
            .filter(|r| r["kind"] == "rdp.desktop_may_resume")
            .count(),
        1,
        "the first session on win01 resumed nothing"
    );
    assert_eq!(wait_ended(&gw, &idle)["end_reason"], "idle");
    let exit = xf.wait_exit(SECS(10));
    assert!(exit.log.contains("ERRINFO_IDLE_TIMEOUT"), "{}", exit.log);
    // The recording says so too, for whoever replays bob's session without the report.
    let listed: serde_json::Value =
        serde_json::from_str(&gw.cli_ok(&["--json", "play", &idle, "--list"])).unwrap();
    assert_eq!(
        listed[0]["may_resume"]["session_id"],
        id.as_str(),
        "{listed}"
    );
    assert_eq!(listed[0]["may_resume"]["engineer"], "alice", "{listed}");
    assert_eq!(listed[0]["may_resume"]["end"], "killed", "{listed}");
    let first: serde_json::Value =
        serde_json::from_str(&gw.cli_ok(&["--json", "play", &id, "--list"])).unwrap();
    assert!(first[0]["may_resume"].is_null(), "{first}");
}

/// What xrdp's channel server logged for the session on display `display` since `since`
/// (`[YYYYMMDD-HH:MM:SS]`, the log's own clock).
fn chansrv_log(display: u32, since: &str) -> String {
    let home = format!("/home/{}", fumidai_e2e::rdp::target_user().name);
    let path = format!("{home}/.local/share/xrdp/xrdp-chansrv.{display}.log");
    std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.get(1..18).is_some_and(|t| t >= since))
        .collect::<Vec<_>>()
        .join("\n")
}

fn log_clock_now() -> String {
    let out = std::process::Command::new("date")
        .arg("+%Y%m%d-%H:%M:%S")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Connects with clipboard and a drive redirected, as a vendor's client may ask, and
/// returns what the target's channel server saw.
fn target_channels(gw: &Gateway, engineer: &Engineer, xrdp: &Xrdp) -> String {
    let tunnel = RdpTunnel::open(gw, engineer, "win01").expect("a credential");
    let display = Display::start();
    let share = tempfile::tempdir().unwrap();
    let config = tunnel
        .config(&tunnel.user(), &tunnel.password())
        .clipboard()
        .drive("vendor", share.path());
    let since = log_clock_now();
    let mut xf = Xfreerdp::start(&display, &config);
    let window = xf.wait_connected(SECS(20));
    wait_xterm_desktop(&display, window);
    std::thread::sleep(Duration::from_secs(2));
    let shown = xrdp.session_display().expect("a session display");
    chansrv_log(shown, &since)
}

#[test]
fn clipboard_and_drive_reach_the_target_only_when_the_plan_allows_transfers_both_ways() {
    let xrdp = Xrdp::start();
    let (gw, alice) = scene(&xrdp);
    // R-10.2-TERM: a plan without transfers: the client asks, the target never hears of it.
    gw.plan("alice", "win01", -5, 60, Some("olga"));
    let seen = target_channels(&gw, &alice, &xrdp);
    assert!(
        !seen.contains("clipboard_init"),
        "clipboard reached the target:\n{seen}"
    );
    assert!(!seen.contains("sound"), "sound reached the target:\n{seen}");

    // A plan allowing upload and download: both channels pass.
    let bob = gw.add_engineer("bob", "acme", PASSWORD);
    gw.plan_allowing(
        "bob",
        "win01",
        -5,
        60,
        Some("olga"),
        &["upload", "download"],
    );
    let seen = target_channels(&gw, &bob, &xrdp);
    assert!(
        seen.contains("clipboard_init"),
        "no clipboard at the target:\n{seen}"
    );
    println!("target channel server log with transfers allowed:\n{seen}");
}

#[test]
fn a_target_presenting_another_certificate_is_refused_and_alerted() {
    let xrdp = Xrdp::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_rdp_target(
        "win01",
        &xrdp.address().to_string(),
        xrdp.user(),
        xrdp.password(),
        &Sha256Fingerprint::wrong().hex(),
    );
    gw.start();
    gw.plan("alice", "win01", -5, 60, Some("olga"));
    let tunnel = RdpTunnel::open(&gw, &alice, "win01").expect("a credential");
    let display = Display::start();
    let mut xf = client(&display, &tunnel, &tunnel.password());
    let exit = xf.wait_exit(SECS(20));
    assert!(!exit.log.contains(Xfreerdp::CONNECTED), "{}", exit.log);
    let mismatch = gw.wait_audit("host_key.mismatch", "win01");
    assert_eq!(mismatch["detail"]["protocol"], "rdp", "{mismatch}");
    assert_eq!(
        mismatch["detail"]["presented"],
        format!("sha256:{}", xrdp.fingerprint().hex()),
        "{mismatch}"
    );
    assert!(
        gw.log().contains("host_key_mismatch") || gw.log().contains("host key"),
        "{}",
        gw.log()
    );
    assert!(sessions(&gw).is_empty(), "no session was started");
}

/// A gateway whose `win02` is FreeRDP's shadow server requiring NLA (a Windows target with
/// Network Level Authentication), its password in the vault as `password`.
fn nla_scene(shadow: &ShadowServer, password: &str) -> (Gateway, Engineer) {
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_rdp_target(
        "win02",
        &shadow.address().to_string(),
        SHADOW_USER,
        password,
        &shadow.fingerprint().hex(),
    );
    gw.start();
    gw.plan("alice", "win02", -5, 60, Some("olga"));
    (gw, alice)
}

#[test]
fn a_target_requiring_nla_gets_credssp_with_its_own_credential() {
    let shadow = ShadowServer::start();
    let display = Display::start();

    // The right password in the vault: CredSSP towards the target succeeds, the vendor's
    // client reaches the shared desktop.
    let (gw, alice) = nla_scene(&shadow, shadow.password());
    let tunnel = RdpTunnel::open(&gw, &alice, "win02").expect("a credential");
    let mut xf = client(&display, &tunnel, &tunnel.password());
    xf.wait_connected(SECS(30));
    let id = live_session(&gw);
    drop(xf);
    assert_eq!(wait_ended(&gw, &id)["end_reason"], "normal");

    // A wrong password in the vault: the target refuses NLA and no session is started.
    let (gw, alice) = nla_scene(&shadow, "Not-The-Password-1");
    let tunnel = RdpTunnel::open(&gw, &alice, "win02").expect("a credential");
    let mut xf = client(&display, &tunnel, &tunnel.password());
    let exit = xf.wait_exit(SECS(30));
    assert!(!exit.log.contains(Xfreerdp::CONNECTED), "{}", exit.log);
    assert!(
        sessions(&gw).is_empty(),
        "no session without the target's NLA"
    );
    assert!(
        gw.log().contains("NLA towards the target failed"),
        "{}",
        gw.log()
    );
}

// R-10-5, R-14-8: a risky command typed into an RDP session is a finding of the
// reconciliation report; other typing (a password typed at a prompt, say) stays in the
// sealed recording and out of the report.
#[test]
fn a_risky_command_typed_over_rdp_is_a_finding_and_other_typing_stays_out_of_the_report() {
    let xrdp = Xrdp::start();
    let (gw, alice) = scene(&xrdp);
    let now = chrono::Utc::now();
    let window_end = Instant::now() + Duration::from_secs(25);
    let rfc =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let out = gw.cli_as_ok(
        gw.ensure_submitter(),
        &[
            "--json",
            "plan",
            "submit",
            "--engineer",
            "alice",
            "--target",
            "win01",
            "--start",
            &rfc(now - chrono::Duration::minutes(5)),
            "--end",
            &rfc(now + chrono::Duration::seconds(25)),
            "--purpose",
            "画面の確認",
        ],
    );
    let plan: Value = serde_json::from_str(&out).unwrap();
    let plan = plan["id"].as_str().unwrap().to_owned();
    gw.approve(&plan, "olga");

    let tunnel = RdpTunnel::open(&gw, &alice, "win01").expect("a credential");
    let display = Display::start();
    let mut xf = client(&display, &tunnel, &tunnel.password());
    let window = xf.wait_connected(SECS(20));
    wait_xterm_desktop(&display, window);
    display.focus(window);
    display.type_text("useradd tmpadmin", Duration::from_millis(40));
    display.key("Return");
    display.type_text("Secret-Typed-42", Duration::from_millis(40));
    display.key("Return");
    display.wait_stable(window, Duration::from_millis(500), SECS(10));
    let id = live_session(&gw);
    drop(xf);
    wait_ended(&gw, &id);

    std::thread::sleep(window_end.saturating_duration_since(Instant::now()) + SECS(1));
    let json: Value = fumidai_e2e::wait_for("the report", SECS(30), || {
        let out = gw.cli(&["report", &plan, "--format", "json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    });
    let findings = json["report"]["findings"].as_array().unwrap();
    let finding = findings
        .iter()
        .find(|f| {
            f["kind"] == "risky_command_not_covered"
                && f["subject"]
                    .as_str()
                    .is_some_and(|s| s.contains("useradd tmpadmin"))
        })
        .unwrap_or_else(|| panic!("no finding for useradd: {findings:#?}"));
    assert_eq!(finding["session"], id.as_str(), "{finding:#}");
    assert_eq!(finding["requirement"], "R-14-8", "{finding:#}");
    let text = json.to_string();
    assert!(
        !text.contains("Secret-Typed-42"),
        "other typing reached the report: {text}"
    );
    // It is in the recording, for whoever reviews it there.
    let keys = gw.cli_ok(&["play", &id, "--keys"]);
    assert!(keys.contains("Secret-Typed-42"), "{keys}");
}

// R-10.2-PRIV: a single-use credential is bound to the engineer it was issued to; another
// engineer's device can't use it, even with the right password.
#[test]
fn a_credential_is_refused_through_another_engineers_tunnel() {
    let xrdp = Xrdp::start();
    let (gw, alice) = scene(&xrdp);
    gw.plan("alice", "win01", -5, 60, Some("olga"));
    let bob = another_engineer(&gw, "bob");
    let alices = RdpTunnel::open(&gw, &alice, "win01").expect("alice's credential");
    let bobs = RdpTunnel::open(&gw, &bob, "win01").expect("bob's credential");
    let display = Display::start();
    // Bob's tunnel (his certificate) with Alice's single-use name and password.
    let config = bobs.config(&alices.user(), &alices.password());
    let mut xf = Xfreerdp::start(&display, &config);
    let exit = xf.wait_exit(SECS(20));
    assert!(!exit.log.contains(Xfreerdp::CONNECTED), "{}", exit.log);
    let denied = gw.wait_audit("session.denied", "win01");
    assert_eq!(
        denied["detail"]["reason"], "ticket_of_another_engineer",
        "{denied}"
    );
    assert!(
        sessions(&gw).is_empty(),
        "no session through another engineer's device"
    );
    assert!(!xrdp.log().contains("login successful"), "{}", xrdp.log());
    // Issue 12: refused without being used up — Alice's own tunnel still takes it.
    let mut own = client(&display, &alices, &alices.password());
    own.wait_connected(SECS(20));
    assert_eq!(sessions(&gw).len(), 1, "alice's own session");
}
