//! The operator command line: init, configuration errors, secrets kept out of logs and
//! the database, the audit trail, health and metrics.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use fumidai_e2e::tools::wait_for;
use fumidai_e2e::{Gateway, SshLogin};

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.insert(p.display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    files
}

#[test]
fn init_creates_a_private_data_dir_and_refuses_to_run_twice() {
    use std::os::unix::fs::PermissionsExt;
    let gw = Gateway::init();
    for (file, mode) in [
        ("master.key", 0o600),
        ("ca.key", 0o600),
        ("server.key", 0o600),
        ("signing.key", 0o600),
        ("ssh_host_ed25519_key", 0o600),
    ] {
        let m = std::fs::metadata(gw.data.join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(m, mode, "{file}");
    }
    assert_eq!(
        std::fs::metadata(&gw.data).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let config = std::fs::read_to_string(gw.data.join("fumidai.toml")).unwrap();
    assert!(config.contains("# "), "the configuration is commented");
    // The CA is ECDSA P-256 and OpenSSL accepts it.
    let ca = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(gw.data.join("ca.crt"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ca.stdout);
    assert!(
        text.contains("prime256v1") || text.contains("P-256"),
        "{text}"
    );

    let before = snapshot(&gw.data);
    let again = gw.cli(&["init"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(snapshot(&gw.data), before, "a refused init changed files");
}

#[test]
fn a_bad_configuration_names_the_key_and_the_line() {
    let gw = Gateway::init();
    let path = gw.data.join("fumidai.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("handshake_timeout"))
        .unwrap()
        + 1;
    std::fs::write(
        &path,
        text.replace(
            "handshake_timeout = \"10s\"",
            "handshake_timeout = \"ten seconds\"",
        ),
    )
    .unwrap();
    let out = gw.cli(&["serve"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("handshake_timeout"), "{err}");
    assert!(
        err.contains(&format!("fumidai.toml:{line}:")),
        "line {line} not named: {err}"
    );

    std::fs::write(&path, text.replace("[tls]", "[tls]\nalow_tls12 = true")).unwrap();
    let err = String::from_utf8_lossy(&gw.cli(&["vendor", "list"]).stderr).into_owned();
    assert!(err.contains("alow_tls12"), "{err}");
}

#[test]
fn weak_passwords_are_refused_and_nothing_is_created() {
    let gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    for (pw, why) in [
        ("short1", "8"),
        ("password123", "guess"),
        ("dave-Daikon-2026x", "login"),
        ("Kaede-Hashira", "digits"),
    ] {
        let out = gw.cli_stdin(
            &[
                "engineer",
                "add",
                "dave",
                "--vendor",
                "acme",
                "--password-stdin",
            ],
            &format!("{pw}\n"),
        );
        assert!(!out.status.success(), "{pw} accepted");
        let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert!(err.contains(why), "{pw}: {err}");
    }
    assert!(!gw.cli_ok(&["engineer", "list"]).contains("dave"));
    // An engineer needs a registered vendor.
    let out = gw.cli_stdin(
        &[
            "engineer",
            "add",
            "erin",
            "--vendor",
            "nobody",
            "--password-stdin",
        ],
        "Kaede-Hashira-7731\n",
    );
    assert!(!out.status.success());
}

#[test]
fn secrets_never_reach_the_logs_or_the_database_in_clear() {
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let password = "Sazanka-Kawa-5583";
    let alice = gw.add_engineer("alice", "acme", password);
    gw.start_with_env(&[("RUST_LOG", "debug")]);
    let wrong = "Wrong-Sazanka-9914";
    assert!(
        !SshLogin::new("alice", &alice.certs, wrong, "123456")
            .run(&gw)
            .authenticated()
    );
    assert!(SshLogin::engineer(&alice).run(&gw).authenticated());
    gw.wait_audit("login.success", "alice");
    let log = gw.log();
    assert!(log.contains("alice"), "the log is being captured: {log}");
    for secret in [password, wrong, alice.totp_secret.as_str()] {
        assert!(!log.contains(secret), "log contains a secret ({secret})");
    }
    let db = std::fs::read(gw.data.join("fumidai.db")).unwrap();
    let mut wal = std::fs::read(gw.data.join("fumidai.db-wal")).unwrap_or_default();
    wal.extend(db);
    for secret in [password.as_bytes(), alice.totp_secret.as_bytes()] {
        assert!(
            !wal.windows(secret.len()).any(|w| w == secret),
            "database holds a secret in clear"
        );
    }
}

#[test]
fn the_audit_trail_records_changes_and_verifies() {
    let gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", "Kaede-Hashira-7731");
    gw.cli_ok(&["cert", "revoke", &alice.certs.serial]);
    let kinds: Vec<String> = gw
        .audit_tail(100)
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in [
        "gateway.initialised",
        "vendor.added",
        "account.added",
        "certificate.issued",
        "certificate.revoked",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
    let verified = gw.cli_ok(&["audit", "verify"]);
    assert!(verified.contains("intact"), "{verified}");
    let text = gw.cli_ok(&["audit", "tail", "-n", "3"]);
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn health_and_metrics_are_served_on_the_internal_address() {
    let mut gw = Gateway::init();
    gw.start();
    let ui = gw.ui_addr.unwrap();
    let get = |path: &str| -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(ui).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    };
    assert!(get("/healthz").starts_with("HTTP/1.1 200"));
    // A connection attempt shows up in the metrics.
    let _ = std::net::TcpStream::connect(gw.addr.unwrap());
    let metrics = wait_for("metrics", Duration::from_secs(10), || {
        let m = get("/metrics");
        m.contains("fumidai_front_door_connections_total")
            .then_some(m)
    });
    assert!(
        metrics.contains("fumidai_front_door_unauthenticated"),
        "{metrics}"
    );
    let started = gw.audits("gateway.started", &gw.front_door());
    assert_eq!(started.len(), 1);
    assert!(
        !gw.audits(
            "config.loaded",
            &gw.data.join("fumidai.toml").display().to_string()
        )
        .is_empty()
    );
}

#[test]
fn the_hospitals_name_is_the_totp_issuer_and_init_lists_every_first_step() {
    let gw = Gateway::init_with(&["--org", "みなと病院"]);
    let config = std::fs::read_to_string(gw.data.join("fumidai.toml")).unwrap();
    assert!(config.contains("totp_issuer = \"みなと病院\""), "{config}");
    gw.add_vendor("acme", &[]);
    let out = gw.cli_stdin(
        &[
            "--json",
            "engineer",
            "add",
            "dave",
            "--vendor",
            "acme",
            "--password-stdin",
        ],
        "Kaede-Hashira-7731\n",
    );
    assert!(out.status.success(), "{out:?}");
    let enrolled: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let uri = enrolled["otpauth_uri"].as_str().unwrap();
    // Percent-encoded UTF-8 of the hospital's name, in the label and the issuer parameter.
    let encoded = "%E3%81%BF%E3%81%AA%E3%81%A8%E7%97%85%E9%99%A2";
    assert!(uri.contains(&format!("issuer={encoded}")), "{uri}");
    assert!(!uri.contains("issuer=fumidai"), "{uri}");

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let out = std::process::Command::new(fumidai_e2e::tools::fumidai_bin())
        .arg("--data-dir")
        .arg(&data)
        .args([
            "init",
            "--listen",
            "127.0.0.1:0",
            "--ui-listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    for step in [
        "operator add",
        "vendor add",
        "engineer add",
        "cert issue",
        "target add",
        "plan submit",
        "serve",
    ] {
        assert!(said.contains(step), "{step} missing from:\n{said}");
    }
}
