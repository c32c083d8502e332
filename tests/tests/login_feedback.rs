//! Login feedback and self-lockout (issue 13): a refused login says so in both languages,
//! the same words whatever failed; empty answers (what `scp` without a terminal sends)
//! never lock an account while real wrong passwords still do; an operator lifts a lock
//! with `engineer|operator unlock`, audited; `review` and `engineer list` show locks in
//! JST to the second. Each test tries to break the rule first, with stock OpenSSH and the
//! `fumidai` command, and checks the store (audit trail, `--json` listings) afterwards.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::time::{Duration, Instant};

use fumidai_e2e::pty::Pty;
use fumidai_e2e::putty::Putty;
use fumidai_e2e::tools::oathtool_code;
use fumidai_e2e::{Engineer, Gateway, SshLogin, SshOutcome};
use serde_json::Value;

const PASSWORD: &str = "Kaede-Hashira-7731";

/// The gateway's minimum time for a refusal (`ssh::config::AUTH_REJECTION_TIME`).
const REJECTION_TIME: Duration = Duration::from_millis(1500);

/// The English words after a refusal (OpenSSH prints instructions on stderr at INFO).
const TOLD_EN: &str = "Login failed: the password or the verification code was wrong.";
/// The Japanese words, heading the next password prompt.
const TOLD_JA: &str = "ログインできませんでした。パスワードまたは確認コードが違います。";
/// After the connection's last allowed attempt.
const TOLD_LAST: &str = "No more attempts on this connection.";

fn gateway_with_alice() -> (Gateway, Engineer) {
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.start();
    (gw, alice)
}

/// `alice` through stock ssh at the default log level, so the instructions show, with
/// `rounds` password + code rounds on the connection.
fn attempt(alice: &Engineer, password: &str, code: &str, rounds: u32) -> SshLogin {
    let mut login = SshLogin::new(&alice.login, &alice.certs, password, code);
    login.log_level = "INFO";
    login.password_prompts = rounds;
    login
}

fn timed(login: &SshLogin, gw: &Gateway) -> (SshOutcome, Duration) {
    let started = Instant::now();
    let out = login.run(gw);
    (out, started.elapsed())
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn failure_reasons(gw: &Gateway, login: &str) -> Vec<(String, bool)> {
    gw.audits("login.failure", login)
        .iter()
        .map(|r| {
            (
                r["detail"]["reason"].as_str().unwrap().to_owned(),
                r["detail"]["counted"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// `LIST --json`'s entry for `login`.
fn listed(gw: &Gateway, list: &str, login: &str) -> Value {
    let all: Value = serde_json::from_str(&gw.cli_ok(&["--json", list, "list"])).unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .find(|a| a["login"] == login)
        .unwrap_or_else(|| panic!("{login} not in {list} list: {all}"))
        .clone()
}

fn instant(json: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(json.as_str().unwrap_or_else(|| panic!("{json}")))
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// The lock's end as `list` should print it: JST, to the second.
fn jst_seconds(json: &Value) -> String {
    fumidai_policy::jst::format_seconds(instant(json))
}

/// Locks `alice` with five real wrong passwords, one per connection.
fn lock_with_wrong_passwords(gw: &Gateway, alice: &Engineer) {
    for _ in 0..5 {
        let out = SshLogin::new(
            &alice.login,
            &alice.certs,
            "Not-The-Password-1",
            &oathtool_code(&alice.totp_secret),
        )
        .run(gw);
        assert!(!out.authenticated(), "{out:?}");
    }
    gw.wait_audit("account.locked", &alice.login);
}

#[test]
fn a_replayed_code_and_a_wrong_password_are_told_alike_in_both_languages() {
    let (gw, alice) = gateway_with_alice();
    // Log in, exit, and log in again (scp) within the same 30 s step: the demo's own path.
    let code = oathtool_code(&alice.totp_secret);
    let first = attempt(&alice, PASSWORD, &code, 1).run(&gw);
    assert!(first.authenticated(), "{first:?}\n{}", gw.log());
    // The first round says nothing of a failure.
    assert!(!first.stderr.contains(TOLD_EN), "{}", first.stderr);
    assert!(!first.prompts.join("\n").contains(TOLD_JA), "{first:?}");

    let (replayed, replayed_time) = timed(&attempt(&alice, PASSWORD, &code, 2), &gw);
    let (wrong, wrong_time) = timed(&attempt(&alice, "Kaede-Hashira-7732", &code, 2), &gw);
    let reasons = failure_reasons(&gw, "alice");
    assert_eq!(
        reasons[0],
        ("replayed_code".to_owned(), true),
        "{reasons:?}"
    );
    assert_eq!(
        reasons[2],
        ("wrong_password".to_owned(), true),
        "{reasons:?}"
    );
    for out in [&replayed, &wrong] {
        assert!(!out.authenticated(), "{out:?}");
        // Told after the first refusal: English on stderr, Japanese above the prompt.
        assert!(out.stderr.contains(TOLD_EN), "{}", out.stderr);
        assert!(
            out.stderr.contains(
                "A code works only once: if you have just used it, wait for the next one."
            ),
            "{}",
            out.stderr
        );
        let prompts = out.prompts.join("\n");
        assert!(prompts.contains(TOLD_JA), "{prompts}");
        assert!(
            prompts.contains("次のコードに変わるまで待ってください"),
            "{prompts}"
        );
        // No octal escapes: non-ASCII goes only where OpenSSH shows it as it is.
        assert!(!out.stderr.contains("\\3"), "{}", out.stderr);
    }
    // Not a byte differs between the causes, and both took the refusal time twice.
    assert_eq!(replayed.stderr, wrong.stderr);
    assert_eq!(replayed.prompts, wrong.prompts);
    for elapsed in [replayed_time, wrong_time] {
        assert!(elapsed >= 2 * REJECTION_TIME, "{elapsed:?}");
    }

    // An unknown login and a wrong code read the same too (the user name aside).
    let unknown = SshLogin {
        user: "mallory".into(),
        ..attempt(&alice, PASSWORD, &gw.fresh_code("alice"), 2)
    }
    .run(&gw);
    let wrong_code = attempt(&alice, PASSWORD, "000000", 2).run(&gw);
    assert_eq!(unknown.stderr.replace("mallory@", "alice@"), wrong.stderr);
    assert_eq!(wrong_code.stderr, wrong.stderr);
    let unknown_prompts: Vec<String> = unknown
        .prompts
        .iter()
        .map(|p| p.replace("(mallory@", "(alice@"))
        .collect();
    assert_eq!(unknown_prompts, wrong.prompts);
}

#[test]
fn an_engineer_at_a_terminal_reads_why_and_gets_in_at_the_next_try() {
    let (gw, alice) = gateway_with_alice();
    let step = Duration::from_secs(30);
    let login = attempt(&alice, "", "", 2);
    let (mut term, _work) = login.interactive(&gw, 24, 120);
    term.expect("Password / パスワード: ", step);
    term.type_text("Kaede-Hashira-7732\r");
    term.expect("確認コード: ", step);
    term.type_text(&format!("{}\r", oathtool_code(&alice.totp_secret)));
    // The engineer's terminal: the English, then the Japanese right above the prompt.
    term.expect(TOLD_EN, step);
    term.expect("if you have just used it, wait for the next one.", step);
    term.expect(TOLD_JA, step);
    term.expect("次のコードに変わるまで待ってください。", step);
    term.expect("Password / パスワード: ", step);
    term.type_text(&format!("{PASSWORD}\r"));
    term.expect("確認コード: ", step);
    term.type_text(&format!("{}\r", gw.fresh_code("alice")));
    term.expect("ログインしました / logged in", step);
    term.wait(step);
    assert!(!term.screen().contains("\\3"), "{}", term.screen());
    let reasons = failure_reasons(&gw, "alice");
    assert_eq!(reasons, [("wrong_password".to_owned(), true)]);
    gw.wait_audit("login.success", "alice");
}

#[test]
fn the_last_attempt_on_a_connection_is_told_before_permission_denied() {
    let (gw, alice) = gateway_with_alice();
    // OpenSSH's default: three rounds, as many as the gateway allows.
    let out = attempt(&alice, "Kaede-Hashira-7732", "000000", 3).run(&gw);
    assert!(!out.authenticated(), "{out:?}");
    assert_eq!(out.stderr.matches(TOLD_EN).count(), 3, "{}", out.stderr);
    let last = out.stderr.find(TOLD_LAST).expect("the last refusal told");
    let denied = out.stderr.find("Permission denied").expect("denied");
    assert!(last < denied, "{}", out.stderr);
    // The notice round was no attempt: three failures recorded, not four.
    assert_eq!(failure_reasons(&gw, "alice").len(), 3);
}

#[test]
fn plink_shows_every_refusal_and_the_last_one_too() {
    let (gw, alice) = gateway_with_alice();
    let step = Duration::from_secs(30);
    let plink = Putty::new(&gw, "plink", "alice", &alice.certs).args(&["fumidai-gateway", "id"]);
    let mut term = Pty::spawn(&plink.command(&gw), 24, 200);
    for round in 0..3 {
        term.expect("Password / パスワード: ", step);
        term.type_text("Kaede-Hashira-7732\r");
        term.expect("確認コード: ", step);
        term.type_text("000000\r");
        term.expect(TOLD_EN, step);
        if round < 2 {
            term.expect(TOLD_JA, step);
        }
    }
    // The round without prompts: PuTTY shows its words and answers it.
    term.expect(TOLD_LAST, step);
    let status = term.wait(step);
    assert!(!status.success(), "{}", term.screen());
    assert_eq!(failure_reasons(&gw, "alice").len(), 3);
}

#[test]
fn empty_answers_from_a_client_without_a_terminal_never_lock_the_account() {
    let (gw, alice) = gateway_with_alice();
    // An askpass that prints nothing: what ssh, scp and git send without a terminal.
    // Three runs of three rounds each; two such runs locked the account before.
    let silent = attempt(&alice, "", "", 3);
    let mut runs = Vec::new();
    for run in 0..3 {
        let started = Instant::now();
        let out = if run == 0 {
            silent.run_tool(&gw, "scp", &["gw:/etc/hostname", "/dev/null"])
        } else {
            silent.run(&gw)
        };
        runs.push((out, started.elapsed()));
    }
    assert!(
        gw.audits("account.locked", "alice").is_empty(),
        "empty answers locked alice: {:?}",
        failure_reasons(&gw, "alice")
    );
    assert_eq!(
        listed(&gw, "engineer", "alice")["locked_until"],
        Value::Null
    );
    for (run, (out, elapsed)) in runs.iter().enumerate() {
        assert!(!out.authenticated(), "{out:?}");
        // Refused without work, but no sooner than any refusal (three of them).
        assert!(*elapsed >= 3 * REJECTION_TIME, "run {run}: {elapsed:?}");
        assert!(out.stderr.contains(TOLD_LAST), "{}", out.stderr);
    }
    let reasons = failure_reasons(&gw, "alice");
    assert_eq!(reasons.len(), 9, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .all(|r| *r == ("empty_answer".to_owned(), false)),
        "{reasons:?}"
    );

    // The right credentials still get in.
    let out = SshLogin::engineer(&alice).run(&gw);
    assert!(out.authenticated(), "empty answers locked alice: {out:?}");

    // A real wrong password still counts: five lock, even against the right credentials.
    lock_with_wrong_passwords(&gw, &alice);
    let entry = listed(&gw, "engineer", "alice");
    assert!(entry["locked_until"].is_string(), "{entry}");
    let out = SshLogin::new(
        &alice.login,
        &alice.certs,
        PASSWORD,
        &gw.fresh_code("alice"),
    )
    .run(&gw);
    assert!(!out.authenticated(), "locked account let in: {out:?}");
    let last = gw.wait_audit("login.failure", "alice");
    assert_eq!(last["detail"]["reason"], "locked_out");
}

#[test]
fn an_operator_unlocks_an_engineer_and_review_lists_the_lock_and_the_unlock() {
    let (gw, alice) = gateway_with_alice();
    gw.add_operator("olga", "operator");
    gw.add_operator("audrey", "auditor");
    lock_with_wrong_passwords(&gw, &alice);

    // The ledger shows the lock in JST, to the second.
    let until = listed(&gw, "engineer", "alice")["locked_until"].clone();
    let expected = format!("locked until {}", jst_seconds(&until));
    let list = gw.cli_ok(&["engineer", "list"]);
    assert!(list.contains(&expected), "{expected:?} not in {list}");
    assert!(!list.contains("UTC") && !list.contains("+00:00"), "{list}");
    // The review lists it, in text and JSON.
    let review = gw.cli_ok(&["review"]);
    assert!(
        review.contains("ロック中のアカウント / locked accounts (1)"),
        "{review}"
    );
    assert!(review.contains("engineer unlock alice"), "{review}");
    let json: Value = serde_json::from_str(&gw.cli_ok(&["--json", "review"])).unwrap();
    assert_eq!(json["locked"][0]["login"], "alice", "{json}");
    assert_eq!(instant(&json["locked"][0]["locked_until"]), instant(&until));

    // Attacks first: an auditor authenticates and still may not.
    let out = gw.cli_as("audrey", &["engineer", "unlock", "alice"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("auditor account can read"),
        "{}",
        stderr(&out)
    );
    // An engineer is no console actor at all.
    let out = gw.cli_stdin(
        &["engineer", "unlock", "alice", "--as", "alice"],
        &format!("{PASSWORD}\n{}\n", oathtool_code(&alice.totp_secret)),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("authentication failed"),
        "{}",
        stderr(&out)
    );
    // An operator with a wrong code: refused, and counted against the operator.
    let out = gw.cli_as_wrong_code("olga", &["engineer", "unlock", "alice"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("authentication failed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        failure_reasons(&gw, "olga"),
        [("wrong_code".to_owned(), true)]
    );
    // None of that lifted anything.
    assert!(gw.audits("account.unlocked", "alice").is_empty());
    assert_eq!(listed(&gw, "engineer", "alice")["locked_until"], until);
    let out = SshLogin::engineer(&alice).run(&gw);
    assert!(!out.authenticated(), "{out:?}");

    // The operator, authenticated: lifted, and audited in her name.
    let out = gw.cli_as_ok("olga", &["--json", "engineer", "unlock", "alice"]);
    let account: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(account["locked_until"], Value::Null, "{account}");
    let unlocked = gw.wait_audit("account.unlocked", "alice");
    assert_eq!(unlocked["actor"], "person:olga", "{unlocked}");
    assert_eq!(
        instant(&unlocked["detail"]["locked_until"]),
        instant(&until)
    );
    assert_eq!(
        listed(&gw, "engineer", "alice")["locked_until"],
        Value::Null
    );
    assert!(!gw.cli_ok(&["engineer", "list"]).contains("locked until"));
    let out = SshLogin::new(
        &alice.login,
        &alice.certs,
        PASSWORD,
        &gw.fresh_code("alice"),
    )
    .run(&gw);
    assert!(out.authenticated(), "{out:?}\n{}", gw.log());

    // Nothing to unlock, or nobody: refused in both languages before any code is asked
    // for (no login record), and nothing recorded.
    let olga_logins = gw.audits("login.success", "olga").len();
    for (args, words) in [
        (
            ["engineer", "unlock", "alice"],
            ["is not locked", "ロックされていない"],
        ),
        (
            ["engineer", "unlock", "nobody"],
            ["no engineer account", "作業者アカウントはありません"],
        ),
        (
            ["engineer", "unlock", "olga"],
            ["no engineer account", "作業者アカウントはありません"],
        ),
    ] {
        let mut all = args.to_vec();
        all.extend(["--as", "olga"]);
        let out = gw.cli(&all);
        assert!(!out.status.success(), "{args:?}");
        for w in words {
            assert!(stderr(&out).contains(w), "{args:?}: {}", stderr(&out));
        }
    }
    assert_eq!(gw.audits("login.success", "olga").len(), olga_logins);
    assert_eq!(gw.audits("account.unlocked", "alice").len(), 1);

    // The review: no lock left, the unlock among the period's changes.
    let json: Value = serde_json::from_str(&gw.cli_ok(&["--json", "review"])).unwrap();
    assert_eq!(json["locked"], serde_json::json!([]), "{json}");
    let changes = json["changes"].as_array().unwrap();
    assert!(
        changes.iter().any(|c| c["kind"] == "account.unlocked"
            && c["subject"] == "alice"
            && c["actor"] == "person:olga"),
        "{json}"
    );
    let review = gw.cli_ok(&["review"]);
    assert!(
        review.contains("locked accounts (0)") && review.contains("account.unlocked"),
        "{review}"
    );
    assert!(gw.cli_ok(&["audit", "verify"]).contains("intact"));
}

#[test]
fn a_locked_operator_is_unlocked_by_another_operator() {
    let gw = Gateway::init();
    gw.add_operator("olga", "operator");
    gw.add_operator("mika", "manager");
    // Five wrong codes at the console lock olga.
    for _ in 0..5 {
        let out = gw.cli_as_wrong_code("olga", &["vendor", "add", "acme"]);
        assert!(!out.status.success());
    }
    gw.wait_audit("account.locked", "olga");
    let until = listed(&gw, "operator", "olga")["locked_until"].clone();
    let list = gw.cli_ok(&["operator", "list"]);
    assert!(
        list.contains(&format!("locked until {}", jst_seconds(&until))),
        "{list}"
    );
    // Locked, olga can't even lift her own lock.
    let out = gw.cli_as("olga", &["operator", "unlock", "olga"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("authentication failed"),
        "{}",
        stderr(&out)
    );
    // Not through the engineers' command either.
    let out = gw.cli(&["engineer", "unlock", "olga", "--as", "mika"]);
    assert!(
        stderr(&out).contains("no engineer account"),
        "{}",
        stderr(&out)
    );
    gw.cli_as_ok("mika", &["operator", "unlock", "olga"]);
    let unlocked = gw.wait_audit("account.unlocked", "olga");
    assert_eq!(unlocked["actor"], "person:mika", "{unlocked}");
    assert_eq!(listed(&gw, "operator", "olga")["locked_until"], Value::Null);
    // Olga acts again.
    gw.cli_as_ok("olga", &["vendor", "add", "acme"]);
}
