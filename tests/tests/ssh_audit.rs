//! `ssh-audit` finds nothing to fail in the SSH service's algorithms (no SHA-1, no CBC, no
//! DSA), reached through `fumidai connect --listen`, under each `[ssh] crypto_profile`
//! (R-13-4): `cryptrec` offers AES-GCM and AES-CTR, `modern` adds ChaCha20-Poly1305.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fumidai_e2e::Gateway;
use fumidai_e2e::tools::{fumidai_bin, require, run_with_timeout, wait_for};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn ssh_audit_finds_no_failures_in_the_cryptrec_profile() {
    let offered = audit(None);
    assert!(
        offered.iter().any(|l| l.contains("aes256-ctr")),
        "{offered:?}"
    );
    assert!(
        offered.iter().any(|l| l.contains("aes128-gcm")),
        "{offered:?}"
    );
    assert!(
        !offered.iter().any(|l| l.contains("chacha20")),
        "{offered:?}"
    );
}

#[test]
fn ssh_audit_finds_no_failures_in_the_modern_profile() {
    let offered = audit(Some("modern"));
    assert!(
        offered.iter().any(|l| l.contains("chacha20-poly1305")),
        "{offered:?}"
    );
    assert!(
        offered.iter().any(|l| l.contains("aes256-ctr")),
        "{offered:?}"
    );
}

/// Runs ssh-audit against a gateway with `profile` (the default when `None`); asserts no
/// failure and nothing weak; returns the offered-algorithm lines.
fn audit(profile: Option<&str>) -> Vec<String> {
    require("ssh-audit");
    let mut gw = Gateway::init();
    if let Some(profile) = profile {
        gw.set_config(
            "crypto_profile = \"cryptrec\"",
            &format!("crypto_profile = \"{profile}\""),
        );
    }
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", "Kaede-Hashira-7731");
    gw.start();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let forwarder = Kill(
        Command::new(fumidai_bin())
            .args(["connect", &gw.front_door(), "--listen", &listen])
            .arg("--cert")
            .arg(&alice.certs.crt)
            .arg("--key")
            .arg(&alice.certs.key)
            .arg("--ca")
            .arg(&alice.certs.ca)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("forwarder", Duration::from_secs(10), || {
        std::net::TcpStream::connect(&listen).ok()
    });
    let mut cmd = Command::new("ssh-audit");
    cmd.args(["-n", "-p", &port.to_string(), "127.0.0.1"]);
    let out = run_with_timeout(cmd, Duration::from_secs(60));
    drop(forwarder);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("ssh-ed25519"),
        "ssh-audit did not reach the service:\n{report}"
    );
    let failures: Vec<&str> = report.lines().filter(|l| l.contains("[fail]")).collect();
    assert!(
        failures.is_empty(),
        "ssh-audit failures:\n{}\n\nfull report:\n{report}",
        failures.join("\n")
    );
    let offered: Vec<&str> = report
        .lines()
        .filter(|l| {
            ["(kex)", "(key)", "(enc)", "(mac)"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    assert!(!offered.is_empty(), "{report}");
    for weak in [
        "-cbc",
        "hmac-sha1",
        "ssh-dss",
        "ssh-rsa ",
        "diffie-hellman-group1",
        "-sha1",
    ] {
        assert!(
            !offered.iter().any(|l| l.contains(weak)),
            "{weak} offered:\n{report}"
        );
    }
    offered.iter().map(|l| (*l).to_owned()).collect()
}
