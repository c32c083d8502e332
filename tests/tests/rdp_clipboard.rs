//! The RDP clipboard carries nothing unjudged (issue 11, deliverable 6; R-10-6): cliprdr
//! PDUs a stock client never sends, injected into a real session between xfreerdp and
//! xrdp through `fumidai connect rdp`, with the audit trail, the session and what the
//! gateway answered checked afterwards.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::path::Path;
use std::time::Duration;

use fumidai_e2e::rdp::patched_client::cliprdr;
use fumidai_e2e::rdp::{
    Display, Injection, PatchedClient, Security, Xfreerdp, XfreerdpConfig, Xrdp, wait_xterm_desktop,
};
use fumidai_e2e::tools::{poll, wait_for};
use fumidai_e2e::{Engineer, Gateway, RdpTunnel};
use serde_json::Value;

const SECS: fn(u64) -> Duration = Duration::from_secs;
const PASSWORD: &str = "Crimson-Harbor-Sail-91";

/// CB_MONITOR_READY: the target's first cliprdr PDU, which the gateway passes on.
const MONITOR_READY: u16 = 0x0001;

/// A gateway with engineer `alice` of `acme`, operator `olga`, the xrdp target `win01`,
/// and a plan for alice on win01 now allowing upload and download (the clipboard is kept
/// only then).
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
    gw.plan_allowing(
        "alice",
        "win01",
        -5,
        60,
        Some("olga"),
        &["upload", "download"],
    );
    (gw, alice)
}

/// xfreerdp with the clipboard through a [`PatchedClient`] in front of `engineer`'s
/// tunnel, connected, the target's desktop drawn.
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
    .security(Security::Nla)
    .clipboard();
    let mut xf = Xfreerdp::start(&display, &config);
    let window = xf.wait_connected(SECS(20));
    wait_xterm_desktop(&display, window);
    (tunnel, relay, xf, display)
}

/// The one live session's ID.
fn live_session(gw: &Gateway) -> String {
    wait_for("a live session", SECS(10), || {
        let live: Vec<Value> =
            serde_json::from_str(&gw.cli_ok(&["--json", "session", "list", "--live"])).unwrap();
        live.first().map(|s| s["id"].as_str().unwrap().to_owned())
    })
}

/// Whether session `id` is still live.
fn is_live(gw: &Gateway, id: &str) -> bool {
    let live: Vec<Value> =
        serde_json::from_str(&gw.cli_ok(&["--json", "session", "list", "--live"])).unwrap();
    live.iter().any(|s| s["id"] == id)
}

/// A file name under /tmp no other test uses.
fn fresh(what: &str) -> String {
    format!("/tmp/fumidai-{what}-{}", uuid::Uuid::new_v4().simple())
}

/// The clipboard violations on record for session `id`.
fn violations(gw: &Gateway, id: &str) -> Vec<Value> {
    gw.audits("transfer.protocol_violation", "win01")
        .into_iter()
        .filter(|r| r["detail"]["session_id"] == id)
        .collect()
}

/// Waits until the target's clipboard has spoken to the client through the gateway: the
/// channel is up at both ends and the relay reads it.
fn wait_clipboard_ready(relay: &PatchedClient) {
    wait_for("the target's Monitor Ready", SECS(20), || {
        relay
            .clipboard_received()
            .iter()
            .any(|chunk| cliprdr::msg_type(chunk) == Some(MONITOR_READY))
            .then_some(())
    });
}

// A File Contents Response is the answer to a receiver's request; one the client sends
// unasked is how a patched client would push bytes at the target's clipboard file reader.
// The gateway withholds it and puts the attempt on record; the session goes on.
#[test]
fn an_unsolicited_file_contents_response_from_the_client_is_withheld_and_audited() {
    let xrdp = Xrdp::start();
    let (gw, alice) = scene(&xrdp);
    let (_tunnel, relay, _xf, _display) = patched_session(&gw, &alice);
    let id = live_session(&gw);
    wait_clipboard_ready(&relay);
    assert!(
        violations(&gw, &id).is_empty(),
        "{:?}\nreceived: {:02x?}",
        violations(&gw, &id),
        relay.clipboard_received()
    );
    let answered_before = relay.clipboard_received().len();

    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0";
    relay.send_clipboard(&cliprdr::file_contents_response(0x4242, elf));

    let record = wait_for("the clipboard violation on record", SECS(20), || {
        violations(&gw, &id).into_iter().next()
    });
    let detail = &record["detail"];
    assert_eq!(
        detail["reason"], "clipboard_unexpected_response",
        "{record}"
    );
    assert_eq!(detail["protocol"], "rdp", "{record}");
    assert_eq!(detail["via"], "clipboard", "{record}");
    assert_eq!(detail["from"], "client", "{record}");
    assert_eq!(record["actor"], "person:alice", "{record}");
    // No file went anywhere: nothing is on record as a transfer.
    let transfers: Vec<Value> = gw
        .audits("transfer", "win01")
        .into_iter()
        .filter(|r| r["detail"]["session_id"] == id.as_str())
        .collect();
    assert!(transfers.is_empty(), "{transfers:?}");

    // The session goes on: still live, and input still reaches the target.
    assert!(is_live(&gw, &id), "the session ended");
    let typed = fresh("after-clip");
    relay.type_text(&format!("touch {typed}\n"), Injection::Valid);
    wait_for(&format!("{typed} on the target"), SECS(10), || {
        Path::new(&typed).exists().then_some(())
    });
    assert!(is_live(&gw, &id), "the session ended");
    // The gateway answered nothing on the clipboard for it (a response needs no answer).
    let answered: Vec<Option<u16>> = relay.clipboard_received()[answered_before..]
        .iter()
        .map(|c| cliprdr::msg_type(c))
        .collect();
    assert!(
        !answered.contains(&Some(cliprdr::FILE_CONTENTS_REQUEST))
            && !answered.contains(&Some(cliprdr::FILE_CONTENTS_RESPONSE)),
        "{answered:?}"
    );
    // Only one violation for one PDU.
    assert!(
        poll(SECS(1), || (violations(&gw, &id).len() > 1).then_some(())).is_none(),
        "{:?}",
        violations(&gw, &id)
    );
    let _ = std::fs::remove_file(&typed);
}
