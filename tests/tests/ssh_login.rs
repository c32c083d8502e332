//! Stock OpenSSH through the front door with password + TOTP (R-10.2-2FA, R-14-5,
//! R-14-6(6), R-10.2-PRIV), each security rule with a test that tries to break it.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use fumidai_e2e::ssh::Proxy;
use fumidai_e2e::tools::oathtool_code;
use fumidai_e2e::{Engineer, Gateway, SshLogin};

const PASSWORD: &str = "Kaede-Hashira-7731";

fn gateway_with_alice() -> (Gateway, Engineer) {
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.start();
    (gw, alice)
}

fn login(alice: &Engineer, password: &str, code: &str) -> SshLogin {
    SshLogin::new(&alice.login, &alice.certs, password, code)
}

/// Reason recorded for the latest failure of `login`.
fn last_failure_reason(gw: &Gateway, login: &str) -> String {
    let record = gw.wait_audit("login.failure", login);
    record["detail"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn right_password_and_code_log_in_and_say_who_you_are() {
    let (gw, alice) = gateway_with_alice();
    let out = login(&alice, PASSWORD, &oathtool_code(&alice.totp_secret)).run(&gw);
    assert!(out.authenticated(), "{out:?}\n{}", gw.log());
    assert!(out.stdout.contains("alice"), "{out:?}");
    assert!(out.stdout.contains("acme"), "{out:?}");
    // Both prompts, in both languages.
    assert_eq!(out.prompts.len(), 2, "{:?}", out.prompts);
    assert!(
        out.prompts[0].contains("Password") && out.prompts[0].contains("パスワード"),
        "{:?}",
        out.prompts
    );
    assert!(
        out.prompts[1].contains("code") && out.prompts[1].contains("確認コード"),
        "{:?}",
        out.prompts
    );
    let success = gw.wait_audit("login.success", "alice");
    assert_eq!(success["detail"]["protocol"], "ssh");
}

#[test]
fn engineer_colon_target_is_parsed_and_explained() {
    let (gw, alice) = gateway_with_alice();
    let mut attempt = login(&alice, PASSWORD, &oathtool_code(&alice.totp_secret));
    attempt.user = "alice:db01".into();
    let out = attempt.run(&gw);
    assert!(out.authenticated(), "{out:?}");
    // The target part is taken: with no plan naming alice, admission says so.
    assert!(
        out.stdout.contains("no work plan names you") && out.stdout.contains("作業計画"),
        "{out:?}"
    );
    let denied = gw.wait_audit("session.denied", "db01");
    assert_eq!(denied["detail"]["reason"], "no_plan", "{denied}");
}

#[test]
fn openssl_s_client_works_as_proxy_command() {
    let (gw, alice) = gateway_with_alice();
    let mut attempt = login(&alice, PASSWORD, &oathtool_code(&alice.totp_secret));
    attempt.proxy = Proxy::OpensslSClient;
    let out = attempt.run(&gw);
    assert!(out.authenticated(), "{out:?}\n{}", gw.log());
    assert!(out.stdout.contains("alice"), "{out:?}");
}

#[test]
fn wrong_password_is_refused() {
    let (gw, alice) = gateway_with_alice();
    let out = login(
        &alice,
        "Kaede-Hashira-7732",
        &oathtool_code(&alice.totp_secret),
    )
    .run(&gw);
    assert!(!out.authenticated(), "{out:?}");
    assert_eq!(last_failure_reason(&gw, "alice"), "wrong_password");
}

#[test]
fn wrong_code_is_refused() {
    let (gw, alice) = gateway_with_alice();
    let right = oathtool_code(&alice.totp_secret);
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    let out = login(&alice, PASSWORD, &wrong).run(&gw);
    assert!(!out.authenticated(), "{out:?}");
    assert_eq!(last_failure_reason(&gw, "alice"), "wrong_code");
}

#[test]
fn a_code_is_accepted_once_only() {
    let (gw, alice) = gateway_with_alice();
    let code = oathtool_code(&alice.totp_secret);
    assert!(login(&alice, PASSWORD, &code).run(&gw).authenticated());
    let again = login(&alice, PASSWORD, &code).run(&gw);
    assert!(!again.authenticated(), "replayed code accepted: {again:?}");
    // Within the ±1 step window the replay is named as such.
    let reason = last_failure_reason(&gw, "alice");
    assert!(
        reason == "replayed_code" || reason == "wrong_code",
        "{reason}"
    );
}

#[test]
fn five_failures_lock_the_account_even_for_the_right_credentials() {
    let (gw, alice) = gateway_with_alice();
    for _ in 0..5 {
        let out = login(
            &alice,
            "Not-The-Password-1",
            &oathtool_code(&alice.totp_secret),
        )
        .run(&gw);
        assert!(!out.authenticated());
    }
    let locked = gw.wait_audit("account.locked", "alice");
    assert!(locked["detail"]["locked_until"].is_string(), "{locked}");
    let out = login(&alice, PASSWORD, &oathtool_code(&alice.totp_secret)).run(&gw);
    assert!(!out.authenticated(), "locked account let in: {out:?}");
    assert_eq!(last_failure_reason(&gw, "alice"), "locked_out");
    // The operator sees the lock in the ledger.
    let listed = gw.cli_ok(&["engineer", "list"]);
    assert!(listed.contains("locked until"), "{listed}");
}

#[test]
fn another_engineers_certificate_is_refused_even_with_the_right_password() {
    let (gw, alice) = gateway_with_alice();
    let bob = gw.add_engineer("bob", "acme", "Tsubaki-Mori-4417");
    // Bob's device, Alice's name and secrets.
    let out = SshLogin::new(
        "alice",
        &bob.certs,
        PASSWORD,
        &oathtool_code(&alice.totp_secret),
    )
    .run(&gw);
    assert!(!out.authenticated(), "{out:?}");
    assert_eq!(last_failure_reason(&gw, "alice"), "certificate_mismatch");
}

#[test]
fn unknown_user_wrong_password_and_wrong_code_look_identical() {
    let (gw, alice) = gateway_with_alice();
    let code = oathtool_code(&alice.totp_secret);
    let wrong_pw = login(&alice, "Wrong-Password-123", &code).run(&gw);
    let wrong_code = login(&alice, PASSWORD, "000000").run(&gw);
    let unknown = SshLogin::new("mallory", &alice.certs, PASSWORD, &code).run(&gw);
    for out in [&wrong_pw, &wrong_code, &unknown] {
        assert!(!out.authenticated(), "{out:?}");
        assert_eq!(out.code, wrong_pw.code);
        // ssh names the user it tried; apart from that, not a byte may differ.
        assert_eq!(
            out.stderr.replace("mallory@", "alice@"),
            wrong_pw.stderr,
            "failures must look the same to the client"
        );
        assert_eq!(
            out.prompts.len(),
            2,
            "the same two prompts every time: {:?}",
            out.prompts
        );
    }
}

#[test]
fn source_address_outside_the_vendors_allow_list_is_refused() {
    let mut gw = Gateway::init();
    gw.add_vendor("faraway", &["--allow-from", "192.0.2.0/24"]);
    // A vendor without a list keeps the gate at accept open, so the per-vendor check after
    // the handshake is what refuses (when every vendor has a list, see `floods.rs`).
    gw.add_vendor("anywhere", &[]);
    let carol = gw.add_engineer("carol", "faraway", "Hinoki-Sawa-2290");
    gw.start();
    let out = SshLogin::engineer(&carol).run(&gw);
    assert!(!out.authenticated(), "{out:?}");
    let refused = gw.wait_audit("connection.refused", "carol");
    assert_eq!(refused["detail"]["reason"], "source_not_allowed");
}

#[test]
fn an_operator_account_is_no_maintenance_path() {
    let (gw, _) = gateway_with_alice();
    let args = [
        "--json",
        "operator",
        "add",
        "olga",
        "--role",
        "operator",
        "--password-stdin",
    ];
    let out = gw.cli_stdin(&args, "Hinoki-Sawa-2290\n");
    fumidai_e2e::gateway::assert_success(&args, &out);
    let enrolled: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = enrolled["totp_secret"].as_str().unwrap();
    let certs = gw.issue_cert("olga");
    let out = SshLogin::new("olga", &certs, "Hinoki-Sawa-2290", &oathtool_code(secret)).run(&gw);
    assert!(!out.authenticated(), "{out:?}");
    assert_eq!(last_failure_reason(&gw, "olga"), "kind_not_admitted");
}
