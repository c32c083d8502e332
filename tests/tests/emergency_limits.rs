//! Emergency access has limits (R-11-1, issue 12): no emergency over a refused plan, only
//! on targets the vendor is contracted for, one open emergency per engineer, and the
//! emergency plan covers only the session that opened it. Answers to `:emergency` don't tell
//! an unknown target from one not contracted. Each test tries what a hostile engineer did,
//! and checks the refusal, the audit record and the target afterwards.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::path::Path;
use std::time::Duration;

use fumidai_e2e::tools::{oathtool_code, wait_for};
use fumidai_e2e::{Engineer, Gateway, SshLogin, SshOutcome, Sshd};
use serde_json::Value;

const PASSWORD: &str = "Kaede-Hashira-7731";

/// A gateway with vendor `acme` (emergencies allowed) contracted for db01 and db02,
/// engineers alice and carol, operator olga.
fn scene() -> (Gateway, Engineer, Engineer, Sshd) {
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &["--emergency"]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    let carol = gw.add_engineer("carol", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_target("db01", &sshd);
    gw.add_target("db02", &sshd);
    gw.cli_as_ok(
        "olga",
        &["vendor", "targets", "add", "acme", "db01", "db02"],
    );
    gw.start();
    (gw, alice, carol, sshd)
}

/// `engineer` logs in as `user` and runs `command`; an emergency reason is given when the
/// user name declares one. Waits for a TOTP code not used before by this engineer (a code
/// is accepted once), polling oathtool under a deadline.
fn run(
    gw: &Gateway,
    engineer: &Engineer,
    user: &str,
    command: &str,
    used: &mut Vec<String>,
) -> SshOutcome {
    let code = wait_for("a fresh TOTP code", Duration::from_secs(40), || {
        let code = oathtool_code(&engineer.totp_secret);
        (!used.contains(&code)).then_some(code)
    });
    used.push(code.clone());
    let mut login = SshLogin::engineer(engineer);
    login.code = code;
    login.user = user.to_owned();
    login.emergency_reason = "PACS が停止、至急復旧が必要".into();
    login.command = Some(command.to_owned());
    login.run(gw)
}

/// A command that leaves a mark on the target if it runs.
fn touch(dir: &Path, name: &str) -> String {
    format!("touch {}", dir.join(name).display())
}

fn plans(gw: &Gateway) -> Vec<Value> {
    serde_json::from_str(&gw.cli_ok(&["--json", "plan", "list"])).unwrap()
}

fn emergency_plans(gw: &Gateway, engineer: &str) -> Vec<Value> {
    plans(gw)
        .into_iter()
        .filter(|p| p["kind"] == "emergency" && p["engineers"][0] == engineer)
        .collect()
}

/// The audit records of `kind` whose actor is `engineer`.
fn by(gw: &Gateway, kind: &str, engineer: &str) -> Vec<Value> {
    let actor = format!("person:{engineer}");
    gw.audit_tail(10_000)
        .into_iter()
        .filter(|r| r["kind"] == kind && r["actor"] == actor.as_str())
        .collect()
}

/// The latest `session.denied` of `engineer`.
fn last_denial(gw: &Gateway, engineer: &str) -> Value {
    by(gw, "session.denied", engineer)
        .pop()
        .unwrap_or_else(|| panic!("no session.denied for {engineer}"))
}

#[test]
fn an_emergency_after_a_rejection_is_refused() {
    let (gw, alice, carol, sshd) = scene();
    let mark = sshd.tmp.path();
    let plan = gw.plan("alice", "db02", -5, 60, None);
    gw.cli_as_ok(
        "olga",
        &["plan", "reject", &plan, "--reason", "not this week"],
    );

    // The attack: the plan was rejected, so declare an emergency instead.
    let mut used = Vec::new();
    let out = run(
        &gw,
        &alice,
        "alice:db02:emergency",
        &touch(mark, "alice-ran"),
        &mut used,
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("24時間以内"), "{out:?}");
    assert!(
        out.stdout.contains(&plan),
        "the refused plan is named: {out:?}"
    );
    assert!(
        !mark.join("alice-ran").exists(),
        "the command ran on the target"
    );
    let denied = last_denial(&gw, "alice");
    assert_eq!(
        denied["detail"]["reason"], "emergency_after_refusal",
        "{denied:#}"
    );
    assert!(
        emergency_plans(&gw, "alice").is_empty(),
        "{:#?}",
        plans(&gw)
    );
    assert!(by(&gw, "plan.emergency", "alice").is_empty());

    // The bar is this engineer's and this target's: another engineer's emergency opens.
    let mut carols = Vec::new();
    let out = run(
        &gw,
        &carol,
        "carol:db02:emergency",
        &touch(mark, "carol-ran"),
        &mut carols,
    );
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert!(mark.join("carol-ran").exists());
}

#[test]
fn the_emergency_plan_closes_with_its_session_and_one_emergency_is_open_at_a_time() {
    let (gw, alice, _carol, sshd) = scene();
    let mark = sshd.tmp.path();
    let mut used = Vec::new();
    let out = run(
        &gw,
        &alice,
        "alice:db01:emergency",
        "echo emergency-ok",
        &mut used,
    );
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert_eq!(out.stdout, "emergency-ok\n");
    let opened = emergency_plans(&gw, "alice");
    assert_eq!(opened.len(), 1, "{opened:#?}");
    let plan = opened[0]["id"].as_str().unwrap().to_owned();

    // The session ended: its plan closed with it, on record.
    let closed = gw.wait_audit("plan.closed", &plan);
    assert_eq!(
        closed["detail"]["cause"], "emergency_session_ended",
        "{closed:#}"
    );
    let stored: Value =
        serde_json::from_str(&gw.cli_ok(&["--json", "plan", "show", &plan])).unwrap();
    assert_eq!(stored["status"], "closed", "{stored:#}");

    // The attack: a plain login afterwards, hoping to run under the emergency plan.
    let out = run(
        &gw,
        &alice,
        "alice:db01",
        &touch(mark, "plain-ran"),
        &mut used,
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        !mark.join("plain-ran").exists(),
        "a plain login ran under the emergency plan"
    );
    let denied = last_denial(&gw, "alice");
    assert_eq!(denied["detail"]["reason"], "no_plan", "{denied:#}");
    assert_eq!(
        by(&gw, "session.started", "alice").len(),
        1,
        "one session only ran"
    );

    // A second emergency while the first awaits its approval afterwards: refused.
    let out = run(
        &gw,
        &alice,
        "alice:db01:emergency",
        &touch(mark, "second-ran"),
        &mut used,
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("事後承認待ち"), "{out:?}");
    assert!(out.stdout.contains(&plan), "{out:?}");
    assert!(!mark.join("second-ran").exists());
    let denied = last_denial(&gw, "alice");
    assert_eq!(
        denied["detail"]["reason"], "emergency_pending",
        "{denied:#}"
    );
    assert_eq!(emergency_plans(&gw, "alice").len(), 1);

    // Approved afterwards: the next emergency may open.
    gw.approve(&plan, "olga");
    let out = run(
        &gw,
        &alice,
        "alice:db01:emergency",
        &touch(mark, "third-ran"),
        &mut used,
    );
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert!(mark.join("third-ran").exists());
    assert_eq!(emergency_plans(&gw, "alice").len(), 2);
}

#[test]
fn emergency_answers_do_not_tell_unknown_from_uncontracted_targets() {
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &["--emergency"]);
    gw.add_vendor("beta", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    let carol = gw.add_engineer("carol", "acme", PASSWORD);
    gw.add_target("db01", &sshd);
    gw.add_target("db03", &sshd);
    gw.add_operator("olga", "operator");
    // db03 is beta's, not acme's: acme has no contract for db01 or db03.
    gw.cli_as_ok("olga", &["vendor", "targets", "add", "beta", "db03"]);
    let listed = gw.cli_ok(&["vendor", "targets", "list", "beta"]);
    assert_eq!(listed, "db03\n");
    // The contract list decides where emergencies may open: changed in a person's name.
    let added = gw
        .audit_tail(100)
        .into_iter()
        .rfind(|r| r["kind"] == "vendor.target_added")
        .expect("vendor.target_added");
    assert_eq!(added["actor"], "person:olga", "{added}");
    assert!(
        !gw.cli(&["vendor", "targets", "add", "beta", "db01"])
            .status
            .success(),
        "a contract change without an authenticated operator"
    );
    gw.start();
    let mark = sshd.tmp.path();

    let (mut a, mut c) = (Vec::new(), Vec::new());
    let existing = run(
        &gw,
        &alice,
        "alice:db03:emergency",
        &touch(mark, "ran"),
        &mut a,
    );
    let unknown = run(
        &gw,
        &carol,
        "carol:ghost:emergency",
        &touch(mark, "ran"),
        &mut c,
    );
    for out in [&existing, &unknown] {
        assert_ne!(out.code, 0, "{out:?}");
        assert!(
            out.stdout.contains("緊急時アクセスの対象ではありません"),
            "{out:?}"
        );
    }
    assert!(!mark.join("ran").exists());
    // Same words, same exit, same audit shape.
    assert_eq!(existing.stdout, unknown.stdout);
    assert_eq!(existing.code, unknown.code);
    let (da, dc) = (last_denial(&gw, "alice"), last_denial(&gw, "carol"));
    let shape = |d: &Value| {
        let mut keys: Vec<String> = d["detail"].as_object().unwrap().keys().cloned().collect();
        keys.sort();
        (keys, d["detail"]["reason"].clone())
    };
    assert_eq!(shape(&da), shape(&dc), "{da:#}\n{dc:#}");
    assert_eq!(da["detail"]["reason"], "emergency_not_contracted");
    assert!(plans(&gw).is_empty(), "{:#?}", plans(&gw));
}
