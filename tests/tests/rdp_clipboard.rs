//! The RDP clipboard carries nothing unjudged (issue 11, deliverable 6; R-10-6): cliprdr
//! PDUs a stock client never sends, injected into a real session between xfreerdp and
//! xrdp through `fumidai connect rdp`, with the audit trail, the session and what the
//! gateway answered checked afterwards; and a real paste of a file from the client's X
//! clipboard into the target's (stock xfreerdp, `xclip` on both displays, xrdp-chansrv's
//! FUSE mount of the clipboard's files).
//!
//! Needs, beyond the rest of the RDP suite: `xclip`, and `fuse` (the setuid `fusermount`
//! that lets xrdp-chansrv, running as the target account, mount `~/thinclient_drives`;
//! without it the channel server offers no file to paste). On Debian 12:
//! `apt-get install xclip fuse`.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fumidai_e2e::rdp::patched_client::cliprdr;
use fumidai_e2e::rdp::{
    Display, Injection, PatchedClient, Security, Xfreerdp, XfreerdpConfig, Xrdp, target_user,
    wait_xterm_desktop,
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
    // xrdp 0.9.21's channel server logs nothing of the cliprdr PDUs it receives, even at
    // DEBUG, so the target can't witness that the response never reached it; the gateway's
    // record and its silence towards the client are what is checked.
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

/// `xclip` holding a file on a display's clipboard as `text/uri-list`, the way a file
/// manager's copy offers it; killed by PID when dropped.
struct ClipboardOwner(Child);

impl ClipboardOwner {
    fn copy_file(display: &Display, file: &Path) -> Self {
        let uri = format!("file://{}\n", file.display());
        let list = file.with_extension("uri");
        std::fs::write(&list, uri).unwrap();
        let child = display
            .command("xclip")
            .args([
                "-quiet",
                "-selection",
                "clipboard",
                "-t",
                "text/uri-list",
                "-i",
            ])
            .arg(&list)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("xclip (apt install xclip)");
        Self(child)
    }
}

impl Drop for ClipboardOwner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The PID of the channel server of the xrdp session on display `n` (its FUSE mount for
/// the clipboard's files lives in that session's mount namespace): sesman starts it beside
/// that display's Xorg.
fn chansrv_of(n: u32) -> u32 {
    let pids = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .collect::<Vec<_>>()
    };
    let parent = |pid: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (_, after) = stat.rsplit_once(") ")?;
        after.split(' ').nth(1)?.parse::<u32>().ok()
    };
    let display = format!(":{n}");
    wait_for("the session's xrdp-chansrv", SECS(10), || {
        let xorg = pids().into_iter().find(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let mut args = cmdline.split(|&b| b == 0);
            args.next().is_some_and(|a| a.ends_with(b"Xorg"))
                && args.next() == Some(display.as_bytes())
        })?;
        let session = parent(xorg)?;
        pids().into_iter().find(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            comm.trim() == "xrdp-chansrv" && parent(*pid) == Some(session)
        })
    })
}

/// Runs `script` as the target account on the session's display, in the session's mount
/// namespace, as a program there pasting would; bounded by `timeout`.
fn on_target(chansrv: u32, n: u32, script: &str) -> std::process::Output {
    let user = &target_user().name;
    let mut cmd = Command::new("timeout");
    cmd.args([
        "20",
        "nsenter",
        "-t",
        &chansrv.to_string(),
        "-m",
        "runuser",
        "-u",
    ])
    .arg(user)
    .args(["--", "env"])
    .arg(format!("DISPLAY=:{n}"))
    .arg(format!("XAUTHORITY=/home/{user}/.Xauthority"))
    .args(["sh", "-c", script]);
    fumidai_e2e::tools::run_with_timeout(cmd, SECS(30))
}

/// Pastes on the target what the client's clipboard holds, as a file manager would: asks
/// the clipboard for `text/uri-list` (xrdp's channel server answers with a path in its
/// FUSE mount once the gateway has passed the client's file list) and copies that file to
/// `to`. Returns whether the copy succeeded.
fn paste_on_target(chansrv: u32, n: u32, name: &str, to: &str) -> bool {
    let uri = wait_for(
        &format!("{name} on the target's clipboard"),
        SECS(20),
        || {
            let out = on_target(chansrv, n, "xclip -selection clipboard -t text/uri-list -o");
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.lines()
                .find(|l| l.ends_with(&format!("/{name}")))
                .map(str::to_owned)
        },
    );
    let path = uri.strip_prefix("file://").expect("a file URI");
    on_target(chansrv, n, &format!("cp '{path}' '{to}'"))
        .status
        .success()
}

/// The `transfer` records of session `id` for a file named `name`.
fn transfers_of(gw: &Gateway, id: &str, name: &str) -> Vec<Value> {
    gw.audits("transfer", "win01")
        .into_iter()
        .filter(|r| r["detail"]["session_id"] == id && r["detail"]["path"] == name)
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// Deliverable 6: a file a vendor copies on their machine and pastes on the target goes
// over the clipboard channel only once the gateway has fetched it whole, judged it like an
// SFTP upload and put it on record; an executable named `.txt` never arrives. Stock
// xfreerdp and a real paste through xrdp's channel server (xclip, its FUSE mount).
#[test]
fn a_file_pasted_on_the_target_arrives_judged_and_on_record_and_an_elf_named_txt_does_not() {
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
        &xrdp.fingerprint().hex(),
    );
    gw.start();
    // A window that ends soon, so that its report can be read at the end.
    let now = chrono::Utc::now();
    let window = 60;
    let window_end = Instant::now() + SECS(window);
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
            &rfc(now + chrono::Duration::seconds(i64::try_from(window).unwrap())),
            "--purpose",
            "ログの確認",
            "--allow",
            "upload",
            "--allow",
            "download",
        ],
    );
    let plan: Value = serde_json::from_str(&out).unwrap();
    let plan = plan["id"].as_str().unwrap().to_owned();
    gw.approve(&plan, "olga");

    let tunnel = RdpTunnel::open(&gw, &alice, "win01").expect("a credential");
    let display = Display::start();
    let config = tunnel
        .config(&tunnel.user(), &tunnel.password())
        .clipboard();
    let mut xf = Xfreerdp::start(&display, &config);
    let shown = xf.wait_connected(SECS(20));
    wait_xterm_desktop(&display, shown);
    let id = live_session(&gw);
    let n = xrdp.session_display().expect("a session display");
    let chansrv = chansrv_of(n);
    let client_files = tempfile::tempdir().unwrap();

    // A text file: it arrives, on record with its size and SHA-256.
    let notes = b"2026-12-07 backup ok\nnothing else to report\n".to_vec();
    let source = client_files.path().join("notes.txt");
    std::fs::write(&source, &notes).unwrap();
    let owner = ClipboardOwner::copy_file(&display, &source);
    let pasted = fresh("pasted-notes");
    assert!(
        paste_on_target(chansrv, n, "notes.txt", &pasted),
        "the paste failed"
    );
    assert_eq!(std::fs::read(&pasted).unwrap(), notes);
    let record = wait_for("the transfer on record", SECS(10), || {
        transfers_of(&gw, &id, "notes.txt").into_iter().next()
    });
    let detail = &record["detail"];
    assert_eq!(detail["protocol"], "rdp", "{record}");
    assert_eq!(detail["via"], "clipboard", "{record}");
    assert_eq!(detail["direction"], "upload", "{record}");
    assert_eq!(detail["outcome"], "completed", "{record}");
    assert_eq!(detail["size"], notes.len(), "{record}");
    assert_eq!(detail["sha256"], sha256_hex(&notes).as_str(), "{record}");
    assert_eq!(record["actor"], "person:alice", "{record}");
    drop(owner);

    // An ELF named `.txt`, with no `executable` declared: none of it arrives.
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    elf.extend([0x42; 200]);
    let source = client_files.path().join("readme.txt");
    std::fs::write(&source, &elf).unwrap();
    let owner = ClipboardOwner::copy_file(&display, &source);
    let refused = fresh("pasted-elf");
    // xrdp's channel server reads a failed File Contents Response as the end of the
    // file: the copy may "succeed" with nothing in it.
    let copied = paste_on_target(chansrv, n, "readme.txt", &refused);
    let arrived = std::fs::read(&refused).unwrap_or_default();
    assert!(
        arrived.is_empty(),
        "{} bytes of the ELF arrived (the copy succeeded: {copied})",
        arrived.len()
    );
    let record = wait_for("the refusal on record", SECS(10), || {
        transfers_of(&gw, &id, "readme.txt").into_iter().next()
    });
    let detail = &record["detail"];
    assert_eq!(detail["direction"], "upload", "{record}");
    assert_eq!(detail["outcome"], "refused", "{record}");
    assert_eq!(detail["via"], "clipboard", "{record}");
    assert!(detail["reason"].is_string(), "{record}");
    drop(owner);
    drop(xf);

    // The plan's report (there is one once its window has ended) lists both.
    let until_end = window_end.saturating_duration_since(Instant::now());
    let json: Value = wait_for("the report", until_end + SECS(30), || {
        let out = gw.cli(&["report", &plan, "--format", "json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    });
    let text = json["report"].to_string();
    assert!(
        text.contains("notes.txt"),
        "the report misses the paste: {text}"
    );
    assert!(
        text.contains("readme.txt"),
        "the report misses the refusal: {text}"
    );
    for file in [&pasted, &refused] {
        let _ = std::fs::remove_file(file);
    }
}
