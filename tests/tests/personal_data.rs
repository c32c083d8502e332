//! Personal data is prevented, not only reported (R-10-2, §7 ②, §7.1, issue 12): a
//! `personal-data` target is reached only under a plan declaring personal-data access, and
//! a plan letting such data leave describes the take-out and is approved by a planning
//! manager, never by an operator.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use fumidai_e2e::{Gateway, SHARED_ADMIN_REASON, SshLogin, Sshd};
use serde_json::Value;

const PASSWORD: &str = "Kaede-Hashira-7731";

/// Registers `sshd` as `emr01`, tagged personal-data.
fn add_personal_target(gw: &Gateway, sshd: &Sshd) {
    let (addr, key) = (sshd.addr.to_string(), sshd.client_key.display().to_string());
    gw.cli_ok(&[
        "target",
        "add",
        "emr01",
        "--ssh",
        &addr,
        "--login",
        "root",
        "--allow-shared-admin",
        SHARED_ADMIN_REASON,
        "--key-file",
        &key,
        "--host-key",
        &sshd.host_key,
        "--tag",
        "personal-data",
    ]);
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn plan(gw: &Gateway, id: &str) -> Value {
    serde_json::from_str(&gw.cli_ok(&["--json", "plan", "show", id])).unwrap()
}

#[test]
fn a_personal_data_target_is_refused_under_an_undeclared_plan() {
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_target("db01", &sshd);

    // The CLI refuses an undeclared plan naming a personal-data target outright.
    add_personal_target(&gw, &sshd);
    let submitter = gw.ensure_submitter();
    let undeclared = gw.cli_as(
        submitter,
        &[
            "plan",
            "submit",
            "--engineer",
            "alice",
            "--target",
            "emr01",
            "--start",
            "2030-01-01T09:00:00+09:00",
            "--end",
            "2030-01-01T12:00:00+09:00",
            "--purpose",
            "patching",
        ],
    );
    assert!(!undeclared.status.success());
    assert!(
        stderr(&undeclared).contains("holds personal data"),
        "{}",
        stderr(&undeclared)
    );

    // A plan approved for db01 before db01 was tagged (or carried over from before this
    // rule): python3's sqlite3 tags it afterwards, as a later re-classification would.
    let id = gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.sql("UPDATE targets SET tags = '[\"personal-data\"]' WHERE name = 'db01'");
    gw.start();

    let marker = sshd.tmp.path().join("read-patients");
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".into();
    login.command = Some(format!("touch {}", marker.display()));
    let out = login.run(&gw);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("個人情報"), "{out:?}");
    assert!(out.stdout.contains("personal data"), "{out:?}");
    assert!(
        !marker.exists(),
        "the command ran on the personal-data target"
    );
    let denied = gw.wait_audit("session.denied", "db01");
    assert_eq!(
        denied["detail"]["reason"], "personal_data_undeclared",
        "{denied:#}"
    );
    assert_eq!(denied["actor"], "person:alice");
    assert!(gw.audits("session.started", &id).is_empty());
    assert_eq!(
        plan(&gw, &id)["status"],
        "approved",
        "the plan was not used"
    );
}

#[test]
fn a_personal_data_take_out_is_approved_by_a_manager_not_an_operator() {
    let sshd = Sshd::start();
    let gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_operator("mana", "manager");
    add_personal_target(&gw, &sshd);
    let declared = [
        "--allow",
        "download",
        "--personal-data",
        "患者索引の照合 / patient index reconciliation",
        "--data-deletion",
        "抽出ファイルを消去 / shred the extract",
    ];
    // Download of personal data without the take-out's particulars: refused at submission.
    let mut args = vec![
        "plan",
        "submit",
        "--engineer",
        "alice",
        "--target",
        "emr01",
        "--start",
        "2030-01-01T09:00:00+09:00",
        "--end",
        "2030-01-01T12:00:00+09:00",
        "--purpose",
        "index export",
    ];
    args.extend(declared);
    let out = gw.cli_as(gw.ensure_submitter(), &args);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("take-out"), "{}", stderr(&out));

    let mut extra: Vec<&str> = declared.to_vec();
    extra.extend([
        "--take-out-purpose",
        "監査への提出 / hand to the auditor",
        "--take-out-count",
        "120",
        "--take-out-items",
        "患者ID・氏名 / patient ID, name",
        "--take-out-storage",
        "暗号化USBを金庫で保管 / encrypted USB stick in the safe",
    ]);
    let id = gw.plan_with_args("alice", "emr01", 60, 120, None, &extra);

    // The attack: an operator approves the take-out.
    let out = gw.cli_as("olga", &["plan", "approve", &id]);
    assert!(
        !out.status.success(),
        "an operator approved a personal-data take-out"
    );
    assert!(
        stderr(&out).contains("planning manager"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("企画管理者"), "{}", stderr(&out));
    let stored = plan(&gw, &id);
    assert_eq!(
        (stored["status"].as_str(), &stored["decided_by"]),
        (Some("submitted"), &Value::Null)
    );
    assert!(gw.audits("plan.approved", &id).is_empty());

    // The planning manager may.
    gw.approve(&id, "mana");
    let stored = plan(&gw, &id);
    assert_eq!(
        (stored["status"].as_str(), stored["decided_by"].as_str()),
        (Some("approved"), Some("mana"))
    );
    assert_eq!(stored["take_out"]["item_count"], 120, "{stored:#}");
    let approved = gw.wait_audit("plan.approved", &id);
    assert_eq!(approved["detail"]["decided_by"], "mana");
    let shown = gw.cli_ok(&["plan", "show", &id]);
    for line in [
        "持出し take-out: 監査への提出",
        "件数 items counted: 120",
        "保存環境 storage:",
    ] {
        assert!(shown.contains(line), "{line} not in:\n{shown}");
    }
    let submitted = gw.wait_audit("plan.submitted", &id);
    assert_eq!(
        submitted["detail"]["take_out"]["storage"],
        "暗号化USBを金庫で保管 / encrypted USB stick in the safe"
    );
}
