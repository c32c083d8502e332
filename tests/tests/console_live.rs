//! The console's Live page in a real browser (issue 15 §3 "Live", R-10.2-REVIEW): Debian's
//! headless Chromium through `chromedriver` against a real `fumidai serve`, with a real
//! engineer's `ssh` on a pseudo-terminal through the front door to a real `sshd`.
//!
//! A live SSH session appears in the list; an operator watches it (what the engineer types
//! shows in the page's terminal, under the strict Content-Security-Policy, over a
//! same-origin WebSocket); a `<script>`, an HTML tag, an OSC 52 clipboard write and a
//! bracketed paste the engineer prints do nothing in the page (no dialog, no element, the
//! text shown as terminal text); keys pressed in the page reach nobody; the operator kills
//! the session from the page with a reason and the engineer's `ssh` ends telling why; the
//! watch and the kill are on record with the operator as actor. Screenshots in Japanese
//! and English under `$CARGO_TARGET_DIR/console-screenshots/live-*.png`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::path::Path;
use std::time::Duration;

use fumidai_e2e::gateway::OPERATOR_PASSWORD;
use fumidai_e2e::tools::{poll, require, wait_for};
use fumidai_e2e::webdriver::{Browser, screenshot_dir};
use fumidai_e2e::{Gateway, SshLogin};
use serde_json::json;

const PASSWORD: &str = "Kaede-Hashira-7731";
const STEP: Duration = Duration::from_secs(30);

fn shot(browser: &Browser, name: &str) {
    let path = screenshot_dir().join(format!("{name}.png"));
    browser.screenshot(&path);
    assert!(Path::new(&path).exists());
}

/// Waits until the page's text contains `needle`.
fn wait_text(browser: &Browser, needle: &str) -> String {
    let found = poll(Duration::from_secs(15), || {
        let text = browser.text();
        text.contains(needle).then_some(text)
    });
    found.unwrap_or_else(|| {
        shot(browser, "live-failed");
        panic!(
            "no {needle:?} on {} within 15 s; the page says:\n{}",
            browser.url(),
            browser.text()
        )
    })
}

/// What the page's terminal shows now (xterm.js's rows, as text).
fn terminal(browser: &Browser) -> String {
    browser
        .execute(
            "const rows = document.querySelector('#terminal .xterm-rows'); \
             return rows ? rows.innerText.replace(/\\u00a0/g, ' ') : '';",
            json!([]),
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits until the page's terminal shows `needle`.
fn wait_terminal(browser: &Browser, needle: &str) -> String {
    poll(Duration::from_secs(10), || {
        let shown = terminal(browser);
        shown.contains(needle).then_some(shown)
    })
    .unwrap_or_else(|| {
        shot(browser, "live-failed");
        panic!(
            "the watched terminal did not show {needle:?}; it shows:\n{}",
            terminal(browser)
        )
    })
}

#[test]
fn an_operator_watches_a_live_session_read_only_and_kills_it_from_the_page() {
    require("oathtool");
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    let plan = gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let base = format!("http://{}", gw.ui_addr.unwrap());

    // The engineer's interactive session, as they would type it.
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".to_owned();
    login.command = None;
    let (mut term, _work) = login.interactive(&gw, 24, 80);
    login.answer_prompts(&mut term);
    term.expect("# ", STEP);
    term.type_text("echo ready-$((40+2))\r");
    term.expect("ready-42", STEP);
    let session = wait_for("the live session", STEP, || {
        let out = gw.cli_ok(&["--json", "session", "list", "--live"]);
        let live: serde_json::Value = serde_json::from_str(&out).unwrap();
        live.as_array()
            .and_then(|l| l.first())
            .and_then(|s| s["id"].as_str().map(str::to_owned))
    });

    // The operator signs in and finds it in the list.
    let browser = Browser::start();
    browser.goto(&format!("{base}/login"));
    wait_text(&browser, "運用コンソールへのログイン");
    browser.type_into("input[name=login]", "olga");
    browser.type_into("input[name=password]", OPERATOR_PASSWORD);
    browser.type_into("input[name=code]", &gw.fresh_code("olga"));
    browser.click("button[type=submit].primary");
    wait_text(&browser, "承認待ちの作業計画");
    browser.click("nav.main a[href='/live']");
    let list = wait_text(&browser, "接続中のセッション");
    assert!(list.contains("alice") && list.contains("db01"), "{list}");
    assert!(
        list.contains("無操作時間") && list.contains("JST"),
        "{list}"
    );
    shot(&browser, "live-01-list-ja");

    // Watch: the screen as it is, then what the engineer types, under a second behind.
    browser.click(&format!("#session-{session} a.watch"));
    wait_text(&browser, "ライブ表示中");
    wait_terminal(&browser, "ready-42");
    term.type_text("echo WATCHED-$((6*7))\r");
    term.expect("WATCHED-42", STEP);
    let t0 = std::time::Instant::now();
    wait_terminal(&browser, "WATCHED-42");
    let behind = t0.elapsed();
    eprintln!(
        "the page showed the engineer's line {behind:?} after their terminal (WebDriver polls included)"
    );
    assert!(
        behind < Duration::from_secs(2),
        "the watcher was {behind:?} behind"
    );

    // Hostile output: a script, an HTML tag, an OSC 52 clipboard write, a bracketed paste.
    term.type_text(
        "printf '<script>alert(1)</script><img src=x onerror=alert(2)>\\n\\033]52;c;ZXZpbA==\\a\\033[?2004h\\033[200~pasted\\033[201~\\033[?2004l\\nhostile-done\\n'\r",
    );
    term.expect("hostile-done", STEP);
    let shown = wait_terminal(&browser, "hostile-done");
    assert!(
        shown.contains("<script>alert(1)</script><img src=x onerror=alert(2)>"),
        "shown as text: {shown}"
    );
    assert_eq!(browser.alert_text(), None, "a dialog opened");
    let dom = browser.execute(
        "return { imgs: document.images.length, \
                  scripts: Array.from(document.scripts).map(s => s.src), \
                  csp: document.getElementById('terminal').getAttribute('data-csp-violations') || '' };",
        json!([]),
    );
    assert_eq!(dom["imgs"], 0, "{dom}");
    let scripts = dom["scripts"].as_array().unwrap();
    assert_eq!(scripts.len(), 2, "only xterm.js and live-watch.js: {dom}");
    assert!(
        scripts
            .iter()
            .all(|s| s.as_str().unwrap().contains("/assets/")),
        "{dom}"
    );
    // The policy refused no script and no connection (the WebSocket is same-origin).
    let refused = dom["csp"].as_str().unwrap();
    eprintln!("the policy refused on the watch page: {refused:?}");
    assert!(
        !refused.contains("script-src") && !refused.contains("connect-src"),
        "{refused}"
    );
    shot(&browser, "live-02-watch-ja");

    // Keys pressed in the page reach nobody: the watch stays up, the engineer sees nothing.
    browser.click("#terminal");
    browser.keys("typed-in-browser\r");
    term.type_text("echo after-$((1+1))\r");
    term.expect("after-2", STEP);
    wait_terminal(&browser, "after-2");
    assert!(
        !term.screen().contains("typed-in-browser"),
        "{}",
        term.screen()
    );
    assert!(browser.text().contains("ライブ表示中"));
    let started = gw.wait_audit("session.watch_started", &session);
    assert_eq!(started["actor"], "person:olga", "{started}");

    // English.
    browser.click("a.lang");
    wait_text(&browser, "Watching (read-only)");
    wait_text(&browser, "live (read-only");
    wait_terminal(&browser, "after-2");
    shot(&browser, "live-03-watch-en");
    browser.goto(&format!("{base}/live"));
    wait_text(&browser, "Live sessions");
    shot(&browser, "live-04-list-en");
    browser.click("a.lang");
    wait_text(&browser, "接続中のセッション");

    // Kill from the watch page, with a reason: no code asked.
    browser.click(&format!("#session-{session} a.watch"));
    wait_text(&browser, "ライブ表示中");
    browser.type_into(
        "form.kill input[name=reason]",
        "不審な操作のため停止 / suspicious",
    );
    browser.click("form.kill button");
    let t0 = std::time::Instant::now();
    wait_text(&browser, "強制終了を要求しました");
    let status = term.wait(STEP);
    let took = t0.elapsed();
    assert!(!status.success(), "{}", term.screen());
    assert!(
        took < Duration::from_secs(5),
        "ssh ended {took:?} after the kill"
    );
    let screen = term.screen();
    assert!(
        screen.contains("運用担当者がセッションを終了しました")
            && screen.contains("An operator has ended the session"),
        "the engineer is told why: {screen}"
    );
    shot(&browser, "live-05-killed-ja");
    let killed = gw.wait_audit("session.killed", &session);
    assert_eq!(killed["actor"], "person:olga", "{killed}");
    assert_eq!(
        killed["detail"]["reason"],
        "不審な操作のため停止 / suspicious"
    );
    assert_eq!(
        gw.wait_audit("session.ended", &session)["detail"]["reason"],
        "killed"
    );
    // Each view of the watch page was a watch (Japanese, English, Japanese again); each
    // ended when its page was left (the kill's form leaves the last one) or the session
    // ended.
    let ended = wait_for("three watch ends", STEP, || {
        let ends = gw.audits("session.watch_ended", &session);
        (ends.len() == 3).then_some(ends)
    });
    assert_eq!(gw.audits("session.watch_started", &session).len(), 3);
    assert!(
        ended.iter().all(|e| matches!(
            e["detail"]["why"].as_str(),
            Some("closed" | "session_ended")
        )),
        "{ended:?}"
    );
    assert!(
        ended.iter().all(|e| e["actor"] == "person:olga"),
        "{ended:?}"
    );
    browser.goto(&format!("{base}/live"));
    wait_text(&browser, "接続中のセッションはありません");
    shot(&browser, "live-06-none-ja");

    // The reconciliation report lists each watch: who, from when, to when (R-10.2-REVIEW).
    let report = fumidai_e2e::plan_report::report_after_window(&gw, &plan);
    let watched = report["sessions"][0]["watched_by"].as_array().unwrap();
    assert_eq!(watched.len(), 3, "{report}");
    assert!(
        watched
            .iter()
            .all(|w| w["by"] == "olga" && w["from"].is_string() && w["to"].is_string()),
        "{watched:?}"
    );
}
