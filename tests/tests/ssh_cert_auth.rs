//! Targets registered with `--auth cert` trust fumidai's SSH user CA and nothing else of
//! it: each session logs in with a fresh key and a certificate whose key ID names the
//! engineer and the session, so the target's own log says who was in (R-10.1-NODEFAULT),
//! valid only until the plan's window ends.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use fumidai_e2e::{Engineer, Gateway, SshLogin, Sshd};
use serde_json::Value;

const PASSWORD: &str = "Sugi-Kodama-4418";

/// An initialised gateway, its CA's public key written where sshd will read it, and
/// engineer alice with operator olga.
fn gateway() -> (Gateway, Engineer, PathBuf) {
    let gw = Gateway::init();
    let line = gw.cli_ok(&["ssh-ca", "pubkey"]);
    let ca_file = gw.tmp.path().join("fumidai_user_ca.pub");
    std::fs::write(&ca_file, &line).expect("write the CA line");
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    (gw, alice, ca_file)
}

/// `fumidai target add NAME … --auth cert`, logging in as root.
fn add_cert_target(gw: &Gateway, name: &str, sshd: &Sshd) {
    let addr = sshd.addr.to_string();
    gw.cli_ok(&[
        "target",
        "add",
        name,
        "--ssh",
        &addr,
        "--login",
        "root",
        "--allow-shared-admin",
        fumidai_e2e::SHARED_ADMIN_REASON,
        "--auth",
        "cert",
        "--host-key",
        &sshd.host_key,
    ]);
}

fn exec(gw: &Gateway, alice: &Engineer, command: &str) -> fumidai_e2e::SshOutcome {
    let mut login = SshLogin::engineer(alice);
    login.user = "alice:db01".to_owned();
    login.command = Some(command.to_owned());
    login.run(gw)
}

#[test]
fn the_targets_own_log_names_the_engineer_and_the_session() {
    let (mut gw, alice, ca_file) = gateway();
    let sshd = Sshd::start_with(&format!("TrustedUserCAKeys {}", ca_file.display()));
    add_cert_target(&gw, "db01", &sshd);
    let plan = gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();

    let out = exec(&gw, &alice, "echo hello-from-target; id -un");
    assert_eq!(out.code, 0, "{out:?}\n{}\n{}", gw.log(), sshd.log());
    assert_eq!(out.stdout, "hello-from-target\nroot\n");

    let started = gw.wait_audit_kind("session.started");
    let session_id = started["subject"].as_str().expect("session id").to_owned();
    assert_eq!(started["detail"]["plan_id"], plan.as_str(), "{started}");
    let key_id = format!("alice/{session_id}");

    // sshd (LogLevel VERBOSE) names the certificate's key ID, serial and CA.
    let log = sshd.log();
    let accepted = log
        .lines()
        .find(|l| l.contains("Accepted publickey for root") && l.contains("CERT"))
        .unwrap_or_else(|| panic!("no certificate login in the target's log:\n{log}"));
    assert!(accepted.contains(&format!("ID {key_id} ")), "{accepted}");
    let serial = word_after(accepted, "(serial")
        .trim_end_matches(')')
        .to_owned();
    let ca_fingerprint = ca_fingerprint(&gw);
    assert!(
        accepted.contains(&ca_fingerprint),
        "{accepted}\n{ca_fingerprint}"
    );

    // The gateway's log says the same, and that the certificate ends with the window.
    let gw_log = gw.log();
    let signed = gw_log
        .lines()
        .find(|l| l.contains("signed a session certificate"))
        .unwrap_or_else(|| panic!("no certificate in the gateway's log:\n{gw_log}"));
    assert!(signed.contains(&key_id), "{signed}");
    assert_eq!(field(signed, "serial"), serial, "{signed}\n{accepted}");
    assert_eq!(
        field(signed, "principal").trim_matches('"'),
        "root",
        "{signed}"
    );
    let plan_end = unix_seconds(plan_field(&gw, &plan, "ends_at").as_str().unwrap());
    assert_eq!(
        field(signed, "valid_before"),
        plan_end.to_string(),
        "{signed}"
    );
    let valid_after: i64 = field(signed, "valid_after").parse().unwrap();
    let now = unix_seconds("now");
    assert!(
        (now - 120..=now - 60).contains(&valid_after),
        "valid from a minute before signing: {signed}"
    );

    // Another engineer of the same vendor logs in to the same account: the target's log
    // tells the two apart (a TOTP code is accepted once, hence a second person).
    let bob = gw.add_engineer("bob", "acme", PASSWORD);
    gw.plan("bob", "db01", -5, 60, Some("olga"));
    let mut login = SshLogin::engineer(&bob);
    login.user = "bob:db01".to_owned();
    login.command = Some("true".to_owned());
    let again = login.run(&gw);
    assert_eq!(again.code, 0, "{again:?}");
    let accepted: Vec<(String, String)> = sshd
        .log()
        .lines()
        .filter(|l| l.contains("Accepted publickey for root"))
        .map(|l| {
            (
                word_after(l, "ID").to_owned(),
                word_after(l, "(serial").to_owned(),
            )
        })
        .collect();
    assert_eq!(accepted.len(), 2, "{}", sshd.log());
    assert_eq!(accepted[0].0, key_id);
    assert!(accepted[1].0.starts_with("bob/"), "{accepted:?}");
    assert_ne!(accepted[0].1, accepted[1].1, "a serial per certificate");
}

#[test]
fn a_target_that_does_not_trust_fumidais_ca_refuses_the_session() {
    let (mut gw, alice, _ca_file) = gateway();
    // Trusts another gateway's CA, not ours.
    let other = Gateway::init();
    let other_line = other.cli_ok(&["ssh-ca", "pubkey"]);
    let other_file = gw.tmp.path().join("other_ca.pub");
    std::fs::write(&other_file, other_line).unwrap();
    let sshd = Sshd::start_with(&format!("TrustedUserCAKeys {}", other_file.display()));
    add_cert_target(&gw, "db01", &sshd);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();

    let out = exec(&gw, &alice, "echo should-not-run");
    assert!(!out.stdout.contains("should-not-run"), "{out:?}");
    assert!(out.stdout.contains("db01"), "the engineer is told: {out:?}");
    assert!(!sshd.log().contains("Accepted publickey"), "{}", sshd.log());
    let denied = gw.wait_audit("session.denied", "db01");
    assert_eq!(denied["detail"]["reason"], "target_unreachable", "{denied}");
    assert!(
        gw.log().contains("refused fumidai's SSH certificate"),
        "the operator's log says why: {}",
        gw.log()
    );
}

#[test]
fn the_certificate_names_only_the_registered_login_as_principal() {
    // The target lets root in only with a certificate for principal "dba-team": fumidai's
    // names "root" alone, so it is refused — no wildcard, no extra principals.
    let (mut gw, alice, ca_file) = gateway();
    let principals = gw.tmp.path().join("principals");
    std::fs::write(&principals, "dba-team\n").unwrap();
    let sshd = Sshd::start_with(&format!(
        "TrustedUserCAKeys {}\nAuthorizedPrincipalsFile {}",
        ca_file.display(),
        principals.display()
    ));
    add_cert_target(&gw, "db01", &sshd);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();

    let out = exec(&gw, &alice, "echo should-not-run");
    assert!(!out.stdout.contains("should-not-run"), "{out:?}");
    let log = sshd.log();
    assert!(!log.contains("Accepted publickey"), "{log}");
    assert!(log.contains("authorized principal"), "{log}");
    assert!(
        log.contains("Failed publickey for root") && log.contains(" ID alice/"),
        "sshd saw (and refused) the engineer's certificate: {log}"
    );
    let denied = gw.wait_audit("session.denied", "db01");
    assert_eq!(denied["detail"]["reason"], "target_unreachable", "{denied}");
}

#[test]
fn a_data_dir_from_before_the_ssh_ca_gets_its_key_on_first_use() {
    let (gw, _alice, _ca_file) = gateway();
    let key = gw.data.join("ssh_user_ca_ed25519_key");
    assert_eq!(mode(&key), 0o600);
    let first = gw.cli_ok(&["ssh-ca", "pubkey"]);
    assert!(
        first.starts_with("ssh-ed25519 AAAA") && first.trim_end().ends_with(" fumidai-ssh-ca"),
        "{first}"
    );
    assert_eq!(gw.cli_ok(&["ssh-ca", "pubkey"]), first, "stable");

    // As if initialised by an older fumidai: no SSH CA key yet.
    std::fs::remove_file(&key).unwrap();
    let created = gw.cli(&["ssh-ca", "pubkey"]);
    assert!(created.status.success(), "{created:?}");
    assert!(
        String::from_utf8_lossy(&created.stderr).contains("created the SSH user CA key"),
        "{created:?}"
    );
    assert_eq!(mode(&key), 0o600);
    let second = String::from_utf8(created.stdout).unwrap();
    assert_ne!(second, first, "a new key");
    assert_eq!(
        gw.cli_ok(&["ssh-ca", "pubkey"]),
        second,
        "kept, not regenerated"
    );

    // `serve` creates it too.
    let mut gw = gw;
    std::fs::remove_file(&key).unwrap();
    gw.start();
    assert_eq!(mode(&key), 0o600);
    assert!(
        gw.log().contains("created the SSH user CA key"),
        "{}",
        gw.log()
    );

    // A key others can read is refused, not used.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = gw.cli(&["ssh-ca", "pubkey"]);
    assert!(!refused.status.success(), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("chmod 600"),
        "{refused:?}"
    );

    // --json adds the fingerprint sshd logs.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let json: Value = serde_json::from_str(&gw.cli_ok(&["--json", "ssh-ca", "pubkey"])).unwrap();
    assert!(
        json["fingerprint"].as_str().unwrap().starts_with("SHA256:"),
        "{json}"
    );
}

/// The CA's fingerprint, as sshd prints it.
fn ca_fingerprint(gw: &Gateway) -> String {
    let json: Value = serde_json::from_str(&gw.cli_ok(&["--json", "ssh-ca", "pubkey"])).unwrap();
    json["fingerprint"].as_str().unwrap().to_owned()
}

/// A field of the plan as `plan list --json` shows it.
fn plan_field(gw: &Gateway, plan: &str, name: &str) -> Value {
    let plans: Value = serde_json::from_str(&gw.cli_ok(&["--json", "plan", "list"])).unwrap();
    plans
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == plan)
        .unwrap_or_else(|| panic!("plan {plan} not listed: {plans}"))[name]
        .clone()
}

/// Seconds since the epoch of a time `date -d` understands.
fn unix_seconds(time: &str) -> i64 {
    let out = Command::new("date")
        .args(["-u", "-d", time, "+%s"])
        .output()
        .expect("date");
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("date -d {time}"))
}

/// The word after `marker` in a log line.
fn word_after<'a>(line: &'a str, marker: &str) -> &'a str {
    let (_, rest) = line
        .split_once(&format!("{marker} "))
        .unwrap_or_else(|| panic!("{marker} not in {line}"));
    rest.split_whitespace().next().unwrap_or_default()
}

/// `key=value` from a tracing text line.
fn field(line: &str, key: &str) -> String {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key}= not in {line}"))
        .to_owned()
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
