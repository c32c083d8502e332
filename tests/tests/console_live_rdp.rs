//! The console's Live page for an RDP session in a real browser (issue 15 §3 "Live"): xrdp
//! as the target, a stock `xfreerdp` on Xvfb through `fumidai connect rdp`, Debian's
//! headless Chromium at the console. The operator watches the desktop (pictures decoded
//! from what the relay records, a few a second) and sees what the engineer's client shows,
//! pixel for pixel; then kills the session from the page, and the client is told an
//! administrator disconnected it. Screenshot: `live-07-rdp-ja.png`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::time::Duration;

use base64::Engine as _;
use fumidai_e2e::gateway::OPERATOR_PASSWORD;
use fumidai_e2e::rdp::{Display, Xfreerdp, Xrdp, compare, wait_xterm_desktop};
use fumidai_e2e::tools::{poll, require, wait_for};
use fumidai_e2e::webdriver::{Browser, screenshot_dir};
use fumidai_e2e::{Gateway, RdpTunnel};
use serde_json::json;

const PASSWORD: &str = "Crimson-Harbor-Sail-91";
const SECS: fn(u64) -> Duration = Duration::from_secs;

/// The picture the watch page shows now, decoded.
fn shown_picture(browser: &Browser) -> Option<image::RgbImage> {
    let src = browser.execute(
        "const img = document.getElementById('desktop'); return img ? img.src : '';",
        json!([]),
    );
    let png = src.as_str()?.strip_prefix("data:image/png;base64,")?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(png).ok()?;
    Some(image::load_from_memory(&bytes).ok()?.to_rgb8())
}

#[test]
fn an_operator_watches_an_rdp_desktop_and_kills_it_from_the_page() {
    require("oathtool");
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
    gw.plan("alice", "win01", -5, 60, Some("olga"));
    let base = format!("http://{}", gw.ui_addr.unwrap());

    // The engineer's desktop, with something typed on it.
    let tunnel = RdpTunnel::open(&gw, &alice, "win01").expect("a credential");
    let display = Display::start();
    let mut xf = Xfreerdp::start(&display, &tunnel.config(&tunnel.user(), &tunnel.password()));
    let window = xf.wait_connected(SECS(20));
    wait_xterm_desktop(&display, window);
    let session = wait_for("the live session", SECS(20), || {
        let out = gw.cli_ok(&["--json", "session", "list", "--live"]);
        let live: serde_json::Value = serde_json::from_str(&out).unwrap();
        live.as_array()
            .and_then(|l| l.first())
            .and_then(|s| s["id"].as_str().map(str::to_owned))
    });

    // The operator watches it.
    let browser = Browser::start();
    browser.goto(&format!("{base}/login"));
    browser.type_into("input[name=login]", "olga");
    browser.type_into("input[name=password]", OPERATOR_PASSWORD);
    browser.type_into("input[name=code]", &gw.fresh_code("olga"));
    browser.click("button[type=submit].primary");
    poll(SECS(15), || {
        browser.text().contains("承認待ちの作業計画").then_some(())
    })
    .expect("the dashboard");
    browser.goto(&format!("{base}/live/{session}/watch"));
    poll(SECS(15), || {
        browser.text().contains("ライブ表示中").then_some(())
    })
    .unwrap_or_else(|| panic!("{}", browser.text()));

    display.focus(window);
    display.type_text("echo fumidai-live-rdp", Duration::from_millis(40));
    display.key("Return");
    let on_client = display.wait_stable(window, Duration::from_millis(600), SECS(10));
    // What the operator sees becomes what the engineer's client shows, pixel for pixel.
    let same = poll(SECS(10), || {
        let picture = shown_picture(&browser)?;
        compare(&picture, &on_client).is_same().then_some(())
    });
    if same.is_none() {
        browser.screenshot(&screenshot_dir().join("live-failed-rdp.png"));
        let picture = shown_picture(&browser);
        panic!(
            "the watched desktop differs from the client's: {:?}",
            picture.map(|p| compare(&p, &on_client))
        );
    }
    let dom = browser.execute(
        "return { imgs: document.images.length, scripts: document.scripts.length };",
        json!([]),
    );
    assert_eq!(
        dom,
        json!({ "imgs": 1, "scripts": 1 }),
        "only live-watch.js, one picture"
    );
    browser.screenshot(&screenshot_dir().join("live-07-rdp-ja.png"));
    let started = gw.wait_audit("session.watch_started", &session);
    assert_eq!(started["actor"], "person:olga", "{started}");

    // Kill from the page: the client is told an administrator disconnected it.
    browser.type_into(
        "form.kill input[name=reason]",
        "RDP 停止テスト / RDP kill test",
    );
    browser.click("form.kill button");
    poll(SECS(15), || {
        browser
            .text()
            .contains("強制終了を要求しました")
            .then_some(())
    })
    .expect("the kill's notice");
    let exit = xf.wait_exit(SECS(10));
    assert!(
        exit.log.contains("ERRINFO_RPC_INITIATED_DISCONNECT"),
        "{}",
        exit.log
    );
    assert_eq!(
        gw.wait_audit("session.ended", &session)["detail"]["reason"],
        "killed"
    );
    let killed = gw.wait_audit("session.killed", &session);
    assert_eq!(killed["actor"], "person:olga", "{killed}");
    wait_for("the watch's end", SECS(10), || {
        (!gw.audits("session.watch_ended", &session).is_empty()).then_some(())
    });
}
