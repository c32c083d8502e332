//! The user name `engineer` alone: after password and code, a menu of the targets
//! admissible now, answered by number or name (R-7-12: still no plan, no session).

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use fumidai_e2e::{Engineer, Gateway, SshLogin, SshOutcome, Sshd};

const PASSWORD: &str = "Kaede-Hashira-7731";

fn setup() -> (Gateway, Engineer, Sshd) {
    Gateway::with_alice_and_db01(PASSWORD)
}

/// `ssh alice@gw COMMAND`, answering the menu with `answers`.
fn run(gw: &Gateway, alice: &Engineer, answers: &[&str], command: &str) -> SshOutcome {
    let mut login = SshLogin::engineer(alice);
    login.user = "alice".to_owned();
    login.command = Some(command.to_owned());
    login.menu_answers = answers.iter().map(|a| (*a).to_owned()).collect();
    login.run(gw)
}

/// How many times the menu was shown.
fn menus_shown(out: &SshOutcome) -> usize {
    out.prompts
        .iter()
        .filter(|p| p.contains("Choose a target by number"))
        .count()
}

#[test]
fn picking_by_number_reaches_the_target() {
    let (mut gw, alice, _sshd) = setup();
    let plan = gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let out = run(&gw, &alice, &["1"], "echo hello-via-menu");
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert_eq!(out.stdout, "hello-via-menu\n", "{out:?}");
    assert_eq!(menus_shown(&out), 1, "{:?}", out.prompts);
    let prompts = out.prompts.join("\n");
    assert!(
        prompts.contains("接続先を番号で選んでください"),
        "{prompts}"
    );
    assert!(
        prompts.contains(&format!("1) db01  (計画 plan {plan}, 終了 ends ")),
        "{prompts}"
    );
    assert!(prompts.contains(" JST)"), "{prompts}");
    let started = gw.wait_audit_kind("session.started");
    assert_eq!(started["detail"]["target"], "db01", "{started}");
    assert_eq!(started["detail"]["plan_id"], plan.as_str(), "{started}");
}

#[test]
fn picking_by_name_after_one_wrong_answer_reaches_that_target() {
    let (mut gw, alice, sshd) = setup();
    gw.add_target("web01", &sshd);
    // Registered and in no plan: never offered.
    gw.add_target("secret01", &sshd);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    let web = gw.plan("alice", "web01", -5, 90, Some("olga"));
    gw.start();
    let out = run(&gw, &alice, &["7", "web01"], "echo on-web01");
    assert_eq!(out.stdout, "on-web01\n", "{out:?}\n{}", gw.log());
    assert_eq!(menus_shown(&out), 2, "one more try: {:?}", out.prompts);
    let prompts = out.prompts.join("\n");
    assert!(
        prompts.contains("1) db01") && prompts.contains("2) web01"),
        "{prompts}"
    );
    assert!(!prompts.contains("secret01"), "{prompts}");
    assert!(prompts.contains("one more try"), "{prompts}");
    let started = gw.wait_audit_kind("session.started");
    assert_eq!(started["detail"]["target"], "web01", "{started}");
    assert_eq!(started["detail"]["plan_id"], web.as_str(), "{started}");
    // A wrong answer is not a failed login.
    assert!(gw.audits("login.failure", "alice").is_empty());
}

#[test]
fn a_target_not_on_the_menu_cannot_be_named() {
    let (mut gw, alice, sshd) = setup();
    gw.add_target("web01", &sshd);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let out = run(&gw, &alice, &["web01", "web01"], "echo should-not-run");
    assert!(out.authenticated(), "{out:?}");
    assert_ne!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("should-not-run"), "{out:?}");
    assert!(
        out.stdout.contains("no target from the list was chosen")
            && out.stdout.contains("選ばれなかった"),
        "{out:?}"
    );
    assert_eq!(menus_shown(&out), 2, "{:?}", out.prompts);
    let denied = gw.wait_audit("session.denied", "alice");
    assert_eq!(denied["detail"]["reason"], "no_target_chosen", "{denied}");
    assert!(
        gw.audit_tail(1000)
            .iter()
            .all(|r| r["kind"] != "session.started"),
        "a session started"
    );
    assert!(gw.audits("login.failure", "alice").is_empty());
}

#[test]
fn with_nothing_admissible_no_menu_is_shown_and_the_reasons_are() {
    let (mut gw, alice, sshd) = setup();
    gw.add_target("web01", &sshd);
    gw.plan("alice", "db01", 120, 180, Some("olga"));
    gw.plan("alice", "web01", -5, 60, None);
    gw.start();
    let out = run(&gw, &alice, &["1"], "echo should-not-run");
    assert!(out.authenticated(), "{out:?}");
    assert!(!out.stdout.contains("should-not-run"), "{out:?}");
    assert_eq!(menus_shown(&out), 0, "{:?}", out.prompts);
    assert_eq!(
        out.prompts.len(),
        2,
        "password and code only: {:?}",
        out.prompts
    );
    for needle in [
        "logged in",
        "acme",
        "現在接続できる接続先はありません",
        "no target is available to you now",
        "db01: 作業時間帯は",
        "your work window starts at",
        "JST",
        "web01: 作業計画はまだ承認されていません / your work plan is not approved yet",
    ] {
        assert!(out.stdout.contains(needle), "{needle:?} missing: {out:?}");
    }
    let denied = gw.wait_audit("session.denied", "alice");
    assert_eq!(
        denied["detail"]["reason"], "no_admissible_target",
        "{denied}"
    );
    assert_eq!(
        denied["detail"]["targets"][0]["reason"], "window_not_started",
        "{denied}"
    );
}
