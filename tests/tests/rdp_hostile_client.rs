//! RDP carries nothing unjudged (issue 11, reproduction 9; R-10-6, R-10.2-TERM, R-10-3):
//! what a vendor's client asks of the target beyond the desktop, and input frames a stock
//! client never sends, tried against real xrdp through `fumidai connect rdp`, with the
//! target's state and the audit trail checked afterwards.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::path::Path;
use std::time::Duration;

use fumidai_e2e::rdp::{
    Display, Injection, PatchedClient, Security, Xfreerdp, XfreerdpConfig, Xrdp, target_user,
    wait_xterm_desktop,
};
use fumidai_e2e::tools::{poll, wait_for};
use fumidai_e2e::{Engineer, Gateway, RdpTunnel};
use serde_json::Value;

const SECS: fn(u64) -> Duration = Duration::from_secs;
const PASSWORD: &str = "Crimson-Harbor-Sail-91";

/// A gateway with engineer `alice` of `acme`, operator `olga`, the xrdp target `win01`,
/// and a plan for alice on win01 now that allows no transfer.
fn scene(xrdp: &Xrdp) -> (Gateway, Engineer) {
    let mut gw = Gateway::init();
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
    gw.plan("alice", "win01", -5, 60, Some("olga"));
    (gw, alice)
}

/// The one live session's ID.
fn live_session(gw: &Gateway) -> String {
    wait_for("a live session", SECS(10), || {
        let live: Vec<Value> =
            serde_json::from_str(&gw.cli_ok(&["--json", "session", "list", "--live"])).unwrap();
        live.first().map(|s| s["id"].as_str().unwrap().to_owned())
    })
}

/// Session `id`'s record once it has ended.
fn ended(gw: &Gateway, id: &str) -> Value {
    wait_for(&format!("session {id} to end"), SECS(20), || {
        let all: Vec<Value> =
            serde_json::from_str(&gw.cli_ok(&["--json", "session", "list"])).unwrap();
        all.into_iter()
            .find(|s| s["id"] == id && !s["ended_at"].is_null())
    })
}

/// Processes named `name` running as the target account.
fn target_processes(name: &str) -> Vec<u32> {
    let uid = std::fs::metadata(format!("/home/{}", target_user().name))
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let owner = std::fs::metadata(format!("/proc/{pid}"))
                .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
                .ok();
            comm.trim() == name && owner == Some(uid)
        })
        .collect()
}

// Reproduction 9: `/shell:` made xrdp start that program as the target account instead of
// the desktop, unrecorded. Now the target gets its desktop and the request is audited.
#[test]
fn an_alternate_shell_and_working_directory_are_blanked_and_audited() {
    let xrdp = Xrdp::start();
    let (gw, alice) = scene(&xrdp);
    let before = target_processes("xeyes");
    let tunnel = RdpTunnel::open(&gw, &alice, "win01").expect("a credential");
    let display = Display::start();
    let config = tunnel
        .config(&tunnel.user(), &tunnel.password())
        .arg("/shell:/usr/bin/xeyes")
        .arg("/shell-dir:/tmp");
    let mut xf = Xfreerdp::start(&display, &config);
    let window = xf.wait_connected(SECS(20));
    // The target started its desktop (the session script's xterm), not the program.
    wait_xterm_desktop(&display, window);
    assert_eq!(
        target_processes("xeyes"),
        before,
        "the target ran the client's program"
    );
    let id = live_session(&gw);
    let record = gw.wait_audit("rdp.client_info_rewritten", "win01");
    let detail = &record["detail"];
    assert_eq!(detail["session_id"], id.as_str(), "{record}");
    assert_eq!(detail["alternate_shell"], "/usr/bin/xeyes", "{record}");
    assert_eq!(detail["work_dir"], "/tmp", "{record}");
    assert_eq!(detail["outcome"], "blanked", "{record}");
    assert_eq!(record["actor"], "person:alice", "{record}");
    drop(xf);
    assert_eq!(ended(&gw, &id)["end_reason"], "normal");
}

/// xfreerdp through a [`PatchedClient`] in front of `engineer`'s tunnel, connected, the target's
/// desktop drawn.
fn patched_session(
    gw: &Gateway,
    engineer: &Engineer,
) -> (RdpTunnel, PatchedClient, Xfreerdp, Display) {
    let tunnel = RdpTunnel::open(gw, engineer, "win01").expect("a credential");
    let relay = PatchedClient::start(
        tunnel.address().parse().unwrap(),
        &gw.data.join("server.crt"),
        &gw.data.join("server.key"),
    );
    let display = Display::start();
    let config = XfreerdpConfig::new(
        relay.address(),
        &tunnel.user(),
        &tunnel.password(),
        tunnel.pin(),
    )
    .security(Security::Nla);
    let mut xf = Xfreerdp::start(&display, &config);
    let window = xf.wait_connected(SECS(20));
    wait_xterm_desktop(&display, window);
    (tunnel, relay, xf, display)
}

/// A file name under /tmp no other test uses.
fn fresh(what: &str) -> String {
    format!("/tmp/fumidai-{what}-{}", uuid::Uuid::new_v4().simple())
}

fn exists(path: &str) -> bool {
    Path::new(path).exists()
}

// Reproduction 9: slow-path input that IronRDP can't decode (so neither the recording's
// keystroke timeline nor the report sees it) but xrdp reads leniently ran `touch` on the
// target. Now the first such frame ends the session with a reason, on record, and never
// reaches the target.
#[test]
fn input_frames_a_stock_client_never_sends_end_the_session_unforwarded_and_audited() {
    let xrdp = Xrdp::start();
    let (gw, alice) = scene(&xrdp);
    // Each login claims its TOTP step: one engineer per session.
    let bob = gw.add_engineer("bob", "acme", PASSWORD);
    gw.plan("bob", "win01", -5, 60, Some("olga"));
    for (engineer, injection, reason) in [
        (
            &alice,
            Injection::ShareControlVersion0,
            "undecodable_slow_path_input",
        ),
        (
            &bob,
            Injection::UnknownEventAppended,
            "undecodable_slow_path_input",
        ),
    ] {
        let (_tunnel, relay, mut xf, _display) = patched_session(&gw, engineer);
        let id = live_session(&gw);
        // The relay's own valid input reaches the target: the path is real.
        let typed = fresh("typed");
        relay.type_text(&format!("touch {typed}\n"), Injection::Valid);
        wait_for(&format!("{typed} on the target"), SECS(10), || {
            exists(&typed).then_some(())
        });
        // The same, as a patched client shapes it.
        let hidden = fresh("hidden");
        let frame = relay.type_text(&format!("touch {hidden}\n"), injection);
        let session = ended(&gw, &id);
        assert_eq!(session["end_reason"], "error", "{injection:?}: {session}");
        let cut = gw
            .audits("rdp.protocol_violation", "win01")
            .into_iter()
            .find(|r| r["detail"]["session_id"] == id.as_str())
            .unwrap_or_else(|| panic!("{injection:?}: no violation on record"));
        assert_eq!(cut["detail"]["reason"], reason, "{cut}");
        assert_eq!(
            cut["actor"],
            format!("person:{}", engineer.login).as_str(),
            "{cut}"
        );
        // Never forwarded: had it been, xrdp would have run it within the time the valid
        // line took; give it twice that.
        assert!(
            poll(SECS(2), || exists(&hidden).then_some(())).is_none(),
            "{injection:?}: the hidden command ran on the target"
        );
        // The client was told the session ended.
        let exit = xf.wait_exit(SECS(10));
        assert!(exit.code.is_some(), "{}", exit.log);
        // The frame is in the recording as the client sent it, and the valid line is in
        // the keystroke timeline.
        let keys = gw.cli_ok(&["play", &id, "--keys"]);
        assert!(keys.contains(&format!("touch {typed}")), "{keys}");
        assert!(
            recording_holds(&gw, &id, &frame),
            "{injection:?}: the refused frame is not in the recording"
        );
        let _ = std::fs::remove_file(&typed);
    }
}

/// Whether session `id`'s recording holds `frame` byte for byte.
fn recording_holds(gw: &Gateway, id: &str, frame: &[u8]) -> bool {
    let name = format!("{id}.rdp");
    let file = walk(&gw.data)
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == name.as_str()))
        .expect("the session's recording");
    let bytes = std::fs::read(file).unwrap();
    bytes.windows(frame.len()).any(|w| w == frame)
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
