//! The reconciliation report in the operator console, in a real browser (issue 15): the
//! planning manager finds the report waiting, reads the sealed document in the page, and
//! confirms it with a finding and a fresh code (R-10-5); the confirmation is on record in
//! her name; the audit trail shows it and verifies. Photographed in Japanese and English under
//! `$CARGO_TARGET_DIR/console-screenshots/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use fumidai_e2e::gateway::OPERATOR_PASSWORD;
use fumidai_e2e::tools::{poll, require};
use fumidai_e2e::webdriver::{Browser, screenshot_dir};
use fumidai_e2e::{Gateway, Sshd};
use serde_json::Value;

fn shot(browser: &Browser, name: &str) {
    let path = screenshot_dir().join(format!("{name}.png"));
    browser.screenshot(&path);
    assert!(Path::new(&path).exists());
}

fn wait_text(browser: &Browser, needle: &str) -> String {
    poll(Duration::from_secs(15), || {
        let text = browser.text();
        text.contains(needle).then_some(text)
    })
    .unwrap_or_else(|| {
        shot(browser, "failed-reports");
        panic!("no {needle:?} on {}:\n{}", browser.url(), browser.text())
    })
}

/// RFC 3339 for now + `secs`.
fn at(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[test]
fn the_planning_manager_reads_and_confirms_a_sealed_report_in_the_console() {
    require("oathtool");
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    gw.add_engineer("alice", "acme", "Kiri-Sawa-8812");
    gw.add_target("db01", &sshd);
    gw.add_operator("olga", "operator");
    gw.add_operator("mori", "manager");
    let submitter = gw.ensure_submitter();
    // A window that closes in a few seconds: its report is due then.
    let window_end = Instant::now() + Duration::from_secs(12);
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
            &at(-300),
            "--end",
            &at(12),
            "--purpose",
            "PACS の月次点検 <script>alert('xss')</script>",
        ],
    );
    let plan: Value = serde_json::from_str(&out).unwrap();
    let id = plan["id"].as_str().unwrap().to_owned();
    gw.approve(&id, "olga");
    std::thread::sleep(
        window_end.saturating_duration_since(Instant::now()) + Duration::from_secs(1),
    );
    gw.cli_ok(&["report", &id]);
    gw.start();
    let base = format!("http://{}", gw.ui_addr.unwrap());

    let browser = Browser::start();
    browser.goto(&format!("{base}/login"));
    wait_text(&browser, "運用コンソールへのログイン");
    browser.type_into("input[name=login]", "mori");
    browser.type_into("input[name=password]", OPERATOR_PASSWORD);
    browser.type_into("input[name=code]", &gw.fresh_code("mori"));
    browser.click("button[type=submit].primary");
    wait_text(&browser, "確認待ちの報告書");

    browser.goto(&format!("{base}/reports"));
    let list = wait_text(&browser, "企画管理者の確認待ち");
    assert!(list.contains("PACS の月次点検"), "{list}");
    shot(&browser, "20-reports-ja");

    browser.goto(&format!("{base}/reports/{id}"));
    let page = wait_text(&browser, "封印を確認済み");
    assert!(page.contains("確認する"), "{page}");
    assert!(!browser.source().contains("<script>alert"));
    shot(&browser, "21-report-ja");

    browser.type_into("#confirm textarea[name=finding]", "作業内容に問題なし");
    browser.type_into("#confirm input[name=code]", &gw.fresh_code("mori"));
    browser.click("#confirm button");
    let done = wait_text(&browser, "報告書を確認しました");
    assert!(done.contains("確認済み"), "{done}");
    shot(&browser, "22-report-confirmed-ja");
    let confirmed = gw.wait_audit("report.confirmed", &id);
    assert_eq!(confirmed["actor"], "person:mori");

    // The print view: the sealed document alone (A4).
    browser.goto(&format!("{base}/reports/{id}/document?lang=ja"));
    wait_text(&browser, "作業報告書");
    shot(&browser, "23-report-print-ja");

    browser.goto(&format!("{base}/lang?to=en&back=/reports/{id}"));
    wait_text(&browser, "Reconciliation report");
    shot(&browser, "24-report-en");
    browser.goto(&format!("{base}/reports"));
    wait_text(&browser, "Confirmed (latest)");
    shot(&browser, "25-reports-en");

    // The audit trail: the confirmation on record, filtered by kind; verified now.
    browser.goto(&format!("{base}/audit?kind=report.confirmed"));
    let audit = wait_text(&browser, "Audit trail");
    assert!(audit.contains("person:mori"), "{audit}");
    shot(&browser, "26-audit-en");
    browser.click("#verify button");
    wait_text(&browser, "all intact");
    shot(&browser, "27-audit-verified-en");
    browser.goto(&format!("{base}/lang?to=ja&back=/audit"));
    wait_text(&browser, "監査証跡（アクセスログ）");
    shot(&browser, "28-audit-ja");

    // The compliance evidence and the account review, as `fumidai compliance|review`.
    browser.goto(&format!("{base}/compliance"));
    let compliance = wait_text(&browser, "ガイドラインへの適合状況");
    assert!(compliance.contains("R-10"), "{compliance}");
    shot(&browser, "29-compliance-ja");
    browser.goto(&format!("{base}/review"));
    wait_text(&browser, "アカウント棚卸し");
    shot(&browser, "30-review-ja");
    browser.goto(&format!("{base}/lang?to=en&back=/compliance"));
    wait_text(&browser, "Compliance with the guideline");
    shot(&browser, "31-compliance-en");

    // The ID ledger and one account's page, in English then Japanese.
    browser.goto(&format!("{base}/admin/accounts"));
    let ledger = wait_text(&browser, "ID ledger");
    assert!(
        ledger.contains("alice") && ledger.contains("mori"),
        "{ledger}"
    );
    shot(&browser, "32-accounts-en");
    browser.goto(&format!("{base}/lang?to=ja&back=/admin/accounts/alice"));
    wait_text(&browser, "TOTP を再登録する");
    shot(&browser, "33-account-ja");
}
