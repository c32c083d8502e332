//! `fumidai review` (R-14-8) and `fumidai compliance` on a real data directory: a dormant
//! engineer, a certificate about to expire, the compliance document with its statuses and
//! the audit head verified now.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use fumidai_e2e::Gateway;
use serde_json::Value;

const PASSWORD: &str = "Hinoki-Sawa-2290";

/// Vendor `acme`; engineer `alice` with the usual 90-day certificate; engineer `bob` whose
/// only certificate expires in 10 days; operator `olga` and planning manager `mana`.
fn scene() -> (Gateway, String) {
    let gw = Gateway::init();
    gw.add_vendor("acme", &["--allow-from", "127.0.0.0/8"]);
    gw.add_engineer("alice", "acme", PASSWORD);
    let args = [
        "engineer",
        "add",
        "bob",
        "--vendor",
        "acme",
        "--password-stdin",
    ];
    let out = gw.cli_stdin(&args, &format!("{PASSWORD}\n"));
    fumidai_e2e::gateway::assert_success(&args, &out);
    let bob = gw.issue_cert_with("bob", &["--days", "10"], &[]);
    gw.add_operator("olga", "operator");
    gw.add_operator("mana", "manager");
    (gw, bob.serial)
}

fn json(gw: &Gateway, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&gw.cli_ok(&all)).expect("json")
}

fn listed(review: &Value, kind: &str) -> Vec<String> {
    review["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["kind"] == kind)
        .map(|i| i["subject"].as_str().expect("subject").to_owned())
        .collect()
}

#[test]
fn review_lists_dormant_engineers_expiring_certificates_and_idle_vendors() {
    let (gw, bob_serial) = scene();

    // Defaults (90/30/365 days): fresh accounts are not dormant; bob's certificate is
    // listed, alice's (90 days) is not.
    let review = json(&gw, &["review"]);
    assert_eq!(review["dormant_days"], 90);
    assert!(listed(&review, "dormant_engineer").is_empty(), "{review}");
    assert_eq!(listed(&review, "expiring_certificate"), [bob_serial]);
    assert!(listed(&review, "idle_vendor").is_empty());
    assert!(listed(&review, "operator_without_totp").is_empty());
    let item = &review["items"][0];
    assert!(item["detail"].as_str().unwrap().contains("bob"), "{item}");

    // Rule: never logged in and created at least N days ago. With 0, everyone who never
    // logged in counts; operators log in at the console and are not listed.
    let review = json(
        &gw,
        &["review", "--dormant-days", "0", "--vendor-days", "0"],
    );
    assert_eq!(listed(&review, "dormant_engineer"), ["alice", "bob"]);
    let detail = review["items"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("never logged in"), "{detail}");
    assert_eq!(listed(&review, "idle_vendor"), ["acme"]);

    // A renewed certificate takes bob off the list; --cert-days widens the window.
    gw.issue_cert("bob");
    let review = json(&gw, &["review"]);
    assert!(
        listed(&review, "expiring_certificate").is_empty(),
        "{review}"
    );
    let review = json(&gw, &["review", "--cert-days", "100"]);
    assert_eq!(listed(&review, "expiring_certificate").len(), 3, "{review}");

    let text = gw.cli_ok(&["review", "--dormant-days", "0"]);
    assert!(text.contains("アカウント棚卸し / account review"), "{text}");
    assert!(text.contains("長期未使用の保守要員アカウント"), "{text}");
    assert!(text.contains("一度もログインしていません"), "{text}");
    assert!(text.contains("二要素認証のない運用担当者 / operators without TOTP (0)"));
    assert!(
        text.contains("全アカウントは作成時にTOTPが設定されます"),
        "{text}"
    );
}

fn requirement<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["requirements"]
        .as_array()
        .expect("requirements")
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

#[test]
fn compliance_gives_statuses_evidence_and_the_audit_head() {
    let (gw, _) = scene();
    let doc = json(&gw, &["compliance"]);

    // The chain verified now, with the same head `audit verify` names.
    let verified = json(&gw, &["audit", "verify"]);
    assert_eq!(doc["audit"]["verification"]["status"], "intact");
    assert_eq!(doc["audit"]["verification"]["head"], verified["head"]);
    assert_eq!(doc["audit"]["head_seq"], verified["records"]);
    assert_eq!(requirement(&doc, "R-17-2")["status"], "met");

    for (id, status) in [
        ("R-13-6", "met"),
        ("R-10.2-2FA", "met"),
        ("R-14.1.1-JUMP", "manual"),
        // bob's certificate expires within 30 days.
        ("R-14-8", "partial"),
        // No clamd configured.
        ("R-10-6", "partial"),
        ("R-10.2-PATH", "met"),
        ("R-10.2-TIMEOUT", "met"),
        ("R-8.2-SBOM", "not_met"),
    ] {
        assert_eq!(requirement(&doc, id)["status"], status, "{id}");
    }
    let tls = requirement(&doc, "R-13-6");
    assert!(
        tls["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["label"] == "[tls] allow_tls12" && e["value"] == false),
        "{tls}"
    );
    let engineers = &requirement(&doc, "R-10.2-PRIV")["evidence"][0];
    assert_eq!(engineers["value"], 2, "{engineers}");
    let summary = &doc["summary"];
    let total: u64 = ["met", "partial", "manual", "not_met"]
        .iter()
        .map(|k| summary[k].as_u64().unwrap())
        .sum();
    assert_eq!(
        total as usize,
        doc["requirements"].as_array().unwrap().len()
    );

    let text = gw.cli_ok(&["compliance"]);
    assert!(
        text.contains("fumidai 適合状況 / compliance evidence"),
        "{text}"
    );
    assert!(text.contains("監査証跡 / audit chain: 検証済み"), "{text}");
    assert!(text.contains(verified["head"].as_str().unwrap()));
    assert!(text.contains("[適合 / met] R-13-6"), "{text}");
    assert!(
        text.contains("[要確認 / manual check] R-14.1.1-JUMP"),
        "{text}"
    );

    // The verdict follows the configuration.
    gw.set_config("allow_tls12 = false", "allow_tls12 = true");
    let doc = json(&gw, &["compliance"]);
    assert_eq!(requirement(&doc, "R-13-6")["status"], "partial");
    assert!(
        requirement(&doc, "R-13-6")["note"]
            .as_str()
            .unwrap()
            .contains("TLS 1.2")
    );
}
