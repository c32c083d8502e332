//! The operator console in a real browser (issue 15): Debian's headless Chromium, driven
//! through `chromedriver`, against a real `fumidai serve`. An operator signs in with
//! password + TOTP (codes from `oathtool`), sees the dashboard, approves a plan another
//! operator submitted, and is refused on their own (four eyes, R-14-4). Every page is
//! photographed in Japanese and in English under `$CARGO_TARGET_DIR/console-screenshots/`.

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
use fumidai_e2e::{Gateway, Sshd};
use serde_json::Value;

/// Submits a plan for alice on db01 as `submitter` (authenticated), returning its ID.
fn plan_as(gw: &Gateway, submitter: &str, purpose: &str) -> String {
    let now = chrono::Utc::now();
    let start = (now + chrono::Duration::minutes(10))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let end = (now + chrono::Duration::hours(2))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let out = gw.cli_as_ok(
        submitter,
        &[
            "--json",
            "plan",
            "submit",
            "--engineer",
            "alice",
            "--target",
            "db01",
            "--start",
            &start,
            "--end",
            &end,
            "--purpose",
            purpose,
            "--step",
            "systemctl restart pacs / PACS の再起動",
        ],
    );
    let plan: Value = serde_json::from_str(&out).unwrap();
    plan["id"].as_str().unwrap().to_owned()
}

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
        shot(browser, "failed");
        panic!(
            "no {needle:?} on {} within 15 s; the page says:\n{}",
            browser.url(),
            browser.text()
        )
    })
}

#[test]
fn an_operator_signs_in_approves_anothers_plan_and_is_refused_on_their_own() {
    require("oathtool");
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    gw.add_engineer("alice", "acme", "Kiri-Sawa-8812");
    gw.add_target("db01", &sshd);
    gw.add_operator("olga", "operator");
    gw.ensure_submitter();
    let theirs = plan_as(
        &gw,
        "sasaki",
        "月次パッチ適用 <script>alert('xss')</script>",
    );
    let own = plan_as(&gw, "olga", "olga の計画 / olga's own plan");
    gw.start();
    let base = format!("http://{}", gw.ui_addr.unwrap());

    let browser = Browser::start();
    // Signed out: the console sends the browser to the sign-in page.
    browser.goto(&format!("{base}/"));
    assert!(browser.url().ends_with("/login"), "{}", browser.url());
    wait_text(&browser, "運用コンソールへのログイン");
    shot(&browser, "01-login-ja");

    // Sign in with password + a code from oathtool.
    let code = gw.fresh_code("olga");
    browser.type_into("input[name=login]", "olga");
    browser.type_into("input[name=password]", OPERATOR_PASSWORD);
    browser.type_into("input[name=code]", &code);
    browser.click("button[type=submit].primary");
    let dashboard = wait_text(&browser, "承認待ちの作業計画");
    assert!(browser.url().ends_with('/'), "{}", browser.url());
    assert!(dashboard.contains("olga"), "{dashboard}");
    assert!(dashboard.contains("監査証跡"), "{dashboard}");
    assert!(dashboard.contains("改ざんなし"), "{dashboard}");
    // The plan text is shown as text, not run.
    assert!(
        dashboard.contains("<script>alert('xss')</script>"),
        "{dashboard}"
    );
    assert!(!browser.source().contains("<script>alert"));
    shot(&browser, "02-dashboard-ja");

    browser.goto(&format!("{base}/plans"));
    wait_text(&browser, "作業計画一覧");
    shot(&browser, "03-plans-ja");

    // Approve sasaki's plan with a fresh code.
    browser.goto(&format!("{base}/plans/{theirs}"));
    wait_text(&browser, "承認する");
    shot(&browser, "04-plan-ja");
    let code = gw.fresh_code("olga");
    browser.type_into("#approve input[name=code]", &code);
    browser.click("#approve button");
    let page = wait_text(&browser, "承認しました");
    assert!(page.contains("承認済み"), "{page}");
    shot(&browser, "05-plan-approved-ja");
    let approved = gw.wait_audit("plan.approved", &theirs);
    assert_eq!(approved["actor"], "person:olga");

    // Her own plan: refused, with policy's reason; it stays submitted.
    browser.goto(&format!("{base}/plans/{own}"));
    wait_text(&browser, "承認する");
    let code = gw.fresh_code("olga");
    browser.type_into("#approve input[name=code]", &code);
    browser.click("#approve button");
    let refused = wait_for("the refusal", Duration::from_secs(15), || {
        let text = browser.text();
        (text.contains("申請中") && browser.source().contains("class=\"refusal\"")).then_some(text)
    });
    shot(&browser, "06-plan-refused-ja");
    assert!(gw.audits("plan.approved", &own).is_empty(), "{refused}");

    // The same pages in English.
    browser.click("a.lang");
    wait_text(&browser, "Work plan");
    shot(&browser, "07-plan-en");
    browser.goto(&format!("{base}/"));
    wait_text(&browser, "Plans awaiting approval");
    shot(&browser, "08-dashboard-en");
    browser.goto(&format!("{base}/plans"));
    wait_text(&browser, "Work plans");
    shot(&browser, "09-plans-en");
    browser.goto(&format!("{base}/plans/{theirs}"));
    wait_text(&browser, "approved");
    shot(&browser, "10-plan-approved-en");

    // Sign out: back to the sign-in page, in English now; the session is over.
    browser.click(".who button");
    wait_text(&browser, "Sign in to the operator console");
    shot(&browser, "11-login-en");
    browser.goto(&format!("{base}/plans"));
    assert!(browser.url().ends_with("/login"), "{}", browser.url());
    gw.wait_audit("console.signed_out", "olga");
}
