//! Authority that binds (issue 12): hospital-side people act in their own name at the
//! console, authenticated with password + TOTP (R-14-1, R-14-4); engineers attest their
//! data deletion with their own credentials over SSH (R-10-1); accounts, vendors and plans
//! have a life cycle that logins and admission obey (R-14-8, §14.2, §10.2); a lost TOTP
//! device has an audited, alerted break-glass (R-14-3). Each test tries the attack first
//! and checks the store (audit trail, account state) afterwards.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use fumidai_e2e::gateway::assert_success;
use fumidai_e2e::tools::oathtool_code;
use fumidai_e2e::{Gateway, SshLogin, Sshd};
use serde_json::Value;

const PASSWORD: &str = "Kaede-Hashira-7731";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn plan_status(gw: &Gateway, id: &str) -> String {
    let plan: Value = serde_json::from_str(&gw.cli_ok(&["--json", "plan", "show", id])).unwrap();
    plan["status"].as_str().unwrap().to_owned()
}

#[test]
fn a_wrong_totp_at_the_console_is_refused_counted_and_locks_the_approver_out() {
    let sshd = Sshd::start();
    let gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_target("db01", &sshd);
    let id = gw.plan("alice", "db01", -5, 60, None);

    // No credentials at all: nothing is decided.
    let out = gw.cli(&["plan", "approve", &id, "--as", "olga"]);
    assert!(!out.status.success());
    // The right password with wrong codes, five times: each refused and counted.
    for attempt in 1..=5 {
        let out = gw.cli_as_wrong_code("olga", &["plan", "approve", &id]);
        assert!(!out.status.success(), "attempt {attempt} succeeded");
        assert!(
            stderr(&out).contains("authentication failed"),
            "{}",
            stderr(&out)
        );
    }
    let failures = gw.audits("login.failure", "olga");
    assert_eq!(failures.len(), 5, "{failures:?}");
    for f in &failures {
        assert_eq!(f["detail"]["reason"], "wrong_code", "{f}");
        assert_eq!(f["detail"]["protocol"], "console", "{f}");
        assert_eq!(f["detail"]["counted"], true, "{f}");
    }
    assert_eq!(gw.audits("account.locked", "olga").len(), 1);
    let operators = gw.cli_ok(&["operator", "list"]);
    assert!(operators.contains("locked until"), "{operators}");
    // Locked: the right code is refused too, and the plan is still undecided.
    let out = gw.cli_as("olga", &["plan", "approve", &id]);
    assert!(!out.status.success());
    assert_eq!(plan_status(&gw, &id), "submitted");
    assert!(gw.audits("plan.approved", &id).is_empty());
    assert!(gw.cli_ok(&["audit", "verify"]).contains("intact"));
}

#[test]
fn the_submitter_cannot_approve_an_auditor_cannot_act_and_the_audit_names_the_person() {
    let sshd = Sshd::start();
    let gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_operator("audrey", "auditor");
    gw.add_target("db01", &sshd);
    // Submitted by the harness's operator, who then can't approve it.
    let id = gw.plan("alice", "db01", -5, 60, None);
    let submitter = gw.ensure_submitter();
    let out = gw.cli_as(submitter, &["plan", "approve", &id]);
    assert!(
        stderr(&out).contains("submitter may not decide"),
        "{}",
        stderr(&out)
    );
    // An auditor authenticates, and still can't approve, withdraw or kill.
    for args in [
        vec!["plan", "approve", id.as_str()],
        vec!["plan", "reject", id.as_str(), "--reason", "no"],
    ] {
        let out = gw.cli_as("audrey", &args);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("auditor account can read"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(plan_status(&gw, &id), "submitted");
    gw.approve(&id, "olga");
    let approved = gw.wait_audit("plan.approved", &id);
    assert_eq!(approved["actor"], "person:olga");
    let submitted = gw.wait_audit("plan.submitted", &id);
    assert_eq!(submitted["actor"], format!("person:{submitter}"));
}

#[test]
fn a_withdrawn_plan_admits_no_new_session() {
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_operator("audrey", "auditor");
    gw.add_target("db01", &sshd);
    let id = gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".into();
    login.command = Some("echo admitted".into());
    let out = login.run(&gw);
    assert_eq!(out.stdout.trim(), "admitted", "{out:?}");

    // An auditor can't withdraw it; an operator can, with a reason.
    let out = gw.cli_as("audrey", &["plan", "withdraw", &id, "--reason", "no"]);
    assert!(!out.status.success());
    let out = gw.cli_as(
        "olga",
        &[
            "plan",
            "withdraw",
            &id,
            "--reason",
            "契約終了 / contract ended",
        ],
    );
    assert_success(&["plan", "withdraw"], &out);
    assert_eq!(plan_status(&gw, &id), "withdrawn");
    let withdrawn = gw.wait_audit("plan.withdrawn", &id);
    assert_eq!(withdrawn["actor"], "person:olga");
    assert_eq!(withdrawn["detail"]["reason"], "契約終了 / contract ended");
    // Withdrawn once only.
    let again = gw.cli_as("olga", &["plan", "withdraw", &id, "--reason", "again"]);
    assert!(!again.status.success());

    // The next login is refused its session, and told why.
    login.code = gw.fresh_code("alice");
    let out = login.run(&gw);
    assert_ne!(out.stdout.trim(), "admitted", "{out:?}");
    assert!(
        out.stderr.contains("withdrawn") || out.stdout.contains("withdrawn"),
        "{out:?}"
    );
    let denied = gw.wait_audit("session.denied", "db01");
    assert_eq!(denied["detail"]["reason"], "withdrawn", "{denied}");
}

#[test]
fn disabled_engineers_disabled_vendors_and_ended_contracts_are_refused_at_login() {
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    for vendor in ["acme", "beta", "gamma"] {
        gw.add_vendor(vendor, &[]);
    }
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    let bob = gw.add_engineer("bob", "beta", PASSWORD);
    let carol = gw.add_engineer("carol", "gamma", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_target("db01", &sshd);
    gw.start();

    gw.cli_as_ok("olga", &["engineer", "disable", "alice"]);
    gw.cli_as_ok("olga", &["vendor", "disable", "beta"]);
    gw.cli_as_ok(
        "olga",
        &["vendor", "set", "gamma", "--contract-end", "2020-03-31"],
    );
    for (engineer, reason) in [
        (&alice, "unknown_account"),
        (&bob, "vendor_inactive"),
        (&carol, "vendor_inactive"),
    ] {
        let out = SshLogin::engineer(engineer).run(&gw);
        assert!(!out.authenticated(), "{}: {out:?}", engineer.login);
        let failure = gw.wait_audit("login.failure", &engineer.login);
        assert_eq!(failure["detail"]["reason"], reason, "{failure}");
        // Not the person's secrets: not counted towards a lock-out.
        assert_eq!(failure["detail"]["counted"], false, "{failure}");
    }
    assert_eq!(
        gw.wait_audit("account.disabled", "alice")["actor"],
        "person:olga"
    );
    let changed = gw.wait_audit("vendor.changed", "gamma");
    assert_eq!(
        changed["detail"]["contract_end"],
        "2020-03-31T15:00:00.000000Z"
    );
    // Enabled again (a refused login claimed no code): alice gets in.
    gw.cli_as_ok("olga", &["engineer", "enable", "alice"]);
    let out = SshLogin::engineer(&alice).run(&gw);
    assert!(out.authenticated(), "{out:?}");
    // The review lists what changed.
    let review = gw.cli_ok(&["review"]);
    assert!(
        review.contains("account.disabled") && review.contains("vendor.changed"),
        "{review}"
    );
}

#[test]
fn attestation_is_made_over_ssh_by_an_engineer_named_in_the_plan_only() {
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    let bob = gw.add_engineer("bob", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_target("db01", &sshd);
    gw.add_target("db02", &sshd);
    // bob has a plan of his own, so his login gets through to the command.
    gw.plan("bob", "db02", -5, 60, Some("olga"));
    // alice's plan has a data-deletion step to attest (a plan file).
    let plan_file = gw.tmp.path().join("plan.toml");
    let now = chrono::Utc::now();
    let rfc = |m: i64| (now + chrono::Duration::minutes(m)).to_rfc3339();
    std::fs::write(
        &plan_file,
        format!(
            "engineers = [\"alice\"]\ntargets = [\"db01\"]\nstart = \"{}\"\nend = \"{}\"\n\
             purpose = \"patient index check\"\npersonal_data = \"index check\"\n\
             data_deletion = \"rm the export in /tmp\"\n",
            rfc(-5),
            rfc(60)
        ),
    )
    .unwrap();
    let submitter = gw.ensure_submitter();
    let out = gw.cli_as_ok(
        submitter,
        &[
            "--json",
            "plan",
            "submit",
            "--file",
            plan_file.to_str().unwrap(),
        ],
    );
    let with_deletion = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    gw.approve(&with_deletion, "olga");
    gw.start();
    // The plan becomes active with a session.
    let mut work = SshLogin::engineer(&alice);
    work.user = "alice:db01".into();
    assert_eq!(work.run(&gw).code, 0);

    // bob isn't named in it: refused, and nothing is stored.
    let mut attempt = SshLogin::engineer(&bob);
    attempt.command = Some(format!("attest {with_deletion} \"deleted it\""));
    let out = attempt.run(&gw);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("no such plan names you"), "{out:?}");
    assert!(gw.audits("plan.attested", &with_deletion).is_empty());

    // alice, with her own credentials: attested, in her name.
    let mut attest = SshLogin::engineer(&alice);
    attest.code = gw.fresh_code("alice");
    attest.command = Some(format!(
        "attest {with_deletion} \"/tmp の抽出ファイルを削除\""
    ));
    let out = attest.run(&gw);
    assert_eq!(out.code, 0, "{out:?}");
    let attested = gw.wait_audit("plan.attested", &with_deletion);
    assert_eq!(attested["actor"], "person:alice");
    assert_eq!(
        attested["detail"]["attestation"],
        "/tmp の抽出ファイルを削除"
    );
}

#[test]
fn a_lost_totp_device_is_re_enrolled_by_an_operator_with_an_audited_note() {
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let mut alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_target("db01", &sshd);
    gw.start();
    // A note that says nothing is refused.
    let out = gw.cli_as("olga", &["engineer", "reset-totp", "alice", "--note", "ok"]);
    assert!(!out.status.success());
    let out = gw.cli_as_ok(
        "olga",
        &[
            "--json",
            "engineer",
            "reset-totp",
            "alice",
            "--note",
            "identity checked by call-back to the vendor's office",
        ],
    );
    let enrolled: Value = serde_json::from_str(&out).unwrap();
    let old = alice.totp_secret.clone();
    alice.totp_secret = enrolled["totp_secret"].as_str().unwrap().to_owned();
    assert_ne!(old, alice.totp_secret);
    let reset = gw.wait_audit("account.totp_reset", "alice");
    assert_eq!(reset["actor"], "person:olga");
    assert!(!reset.to_string().contains(&alice.totp_secret));
    // The old device's code no longer works; the new one does.
    let mut login = SshLogin::engineer(&alice);
    login.code = oathtool_code(&old);
    assert!(!login.run(&gw).authenticated());
    let out = SshLogin::engineer(&alice).run(&gw);
    assert!(out.authenticated(), "{out:?}");
}

#[test]
fn after_an_operator_reset_the_engineer_must_choose_a_new_password_before_any_session() {
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let mut alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_target("db01", &sshd);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    // The operator sets an initial password after checking who is asking (§14 ⑥(4)).
    let initial = "Sakura-Kawa-5521";
    let out = gw.cli_as_stdin(
        "olga",
        &[
            "engineer",
            "reset",
            "alice",
            "--note",
            "identity checked by video call with the vendor's manager",
        ],
        &format!("{initial}\n"),
    );
    assert_success(&["engineer", "reset"], &out);
    let reset = gw.wait_audit("account.password_reset", "alice");
    assert_eq!(reset["actor"], "person:olga");
    assert!(!reset.to_string().contains(initial));
    alice.password = initial.to_owned();

    // Keeping the operator's password is refused twice: the login fails, no session.
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".into();
    login.command = Some("echo admitted".into());
    let out = login.run(&gw);
    assert!(!out.authenticated(), "{out:?}");
    assert!(
        out.prompts.iter().any(|p| p.contains("New password")),
        "{:?}",
        out.prompts
    );
    assert!(gw.audits("session.started", "alice").is_empty());

    // A new password of her own: in, and the session runs.
    let chosen = "Momiji-Yama-8843";
    login.code = gw.fresh_code("alice");
    login.new_password = Some(chosen.to_owned());
    let out = login.run(&gw);
    assert_eq!(out.stdout.trim(), "admitted", "{out:?}");
    let changed = gw.wait_audit("account.password_changed", "alice");
    assert_eq!(changed["actor"], "person:alice");
    // From now on her own password, and no more change round.
    login.password = chosen.to_owned();
    login.new_password = None;
    login.code = gw.fresh_code("alice");
    let out = login.run(&gw);
    assert_eq!(out.stdout.trim(), "admitted", "{out:?}");
    assert!(
        !out.prompts.iter().any(|p| p.contains("New password")),
        "{:?}",
        out.prompts
    );

    // Any time later she asks for a change herself (`ssh alice@gw password`); her next
    // login asks for the new one first.
    let mut ask = SshLogin::engineer(&alice);
    ask.password = chosen.to_owned();
    ask.code = gw.fresh_code("alice");
    ask.command = Some("password".into());
    let out = ask.run(&gw);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        gw.wait_audit("account.password_change_requested", "alice")["actor"],
        "person:alice"
    );
    let third = "Tsubaki-Hara-6620";
    login.code = gw.fresh_code("alice");
    login.new_password = Some(third.to_owned());
    let out = login.run(&gw);
    assert_eq!(out.stdout.trim(), "admitted", "{out:?}");
    assert!(
        out.prompts.iter().any(|p| p.contains("New password")),
        "{:?}",
        out.prompts
    );
    assert_eq!(gw.audits("account.password_changed", "alice").len(), 2);
}

#[test]
fn a_new_engineer_replaces_the_operators_password_at_the_first_login() {
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    // The password the operator typed at `engineer add` (§14 ⑥(5)).
    let mut alice = gw.add_engineer_as_created("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_target("db01", &sshd);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    let listed = gw.cli_ok(&["engineer", "list"]);
    assert!(listed.contains("password to be changed"), "{listed}");
    gw.start();

    // Whoever knows the operator's password (the operator, or someone who read it over
    // their shoulder) can't use it: keeping it is refused, twice, and nothing runs.
    let marker = sshd.tmp.path().join("ran-with-the-operators-password");
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".into();
    login.command = Some(format!("touch {}", marker.display()));
    let out = login.run(&gw);
    assert!(!out.authenticated(), "{out:?}");
    assert!(
        out.prompts.iter().any(|p| p.contains("New password")),
        "{:?}",
        out.prompts
    );
    assert!(!marker.exists());
    assert!(gw.audits("session.started", "alice").is_empty());
    assert!(gw.audits("account.password_changed", "alice").is_empty());

    // Her own: in, on record as her act, and the operator's password is gone.
    let own = "Hagi-Tsuki-4402";
    login.code = gw.fresh_code("alice");
    login.new_password = Some(own.to_owned());
    let out = login.run(&gw);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(marker.exists());
    let changed = gw.wait_audit("account.password_changed", "alice");
    assert_eq!(changed["actor"], "person:alice");
    assert!(!changed.to_string().contains(own));
    let listed = gw.cli_ok(&["engineer", "list"]);
    assert!(!listed.contains("password to be changed"), "{listed}");

    let mut old = SshLogin::engineer(&alice);
    old.user = "alice:db01".into();
    old.code = gw.fresh_code("alice");
    assert!(!old.run(&gw).authenticated());
    alice.password = own.to_owned();
    let mut again = SshLogin::engineer(&alice);
    again.user = "alice:db01".into();
    again.code = gw.fresh_code("alice");
    again.command = Some("echo again".into());
    let out = again.run(&gw);
    assert_eq!(out.stdout.trim(), "again", "{out:?}");
    assert!(!out.prompts.iter().any(|p| p.contains("New password")));
}
