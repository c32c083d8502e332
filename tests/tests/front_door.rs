//! The mutual-TLS front door refuses what it must, at the handshake (R-13-6, R-13-12,
//! R-10.2-CRYPTO), tried with real TLS clients.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use fumidai_e2e::tools::{require, run_with_timeout};
use fumidai_e2e::{CertFiles, Gateway, SshLogin};

const PASSWORD: &str = "Kaede-Hashira-7731";

/// Runs `openssl s_client` against the front door and returns (exit code, stdout, stderr).
/// A client that gets through reads the SSH banner.
fn s_client(gw: &Gateway, args: &[&str]) -> (bool, String, String) {
    require("openssl");
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &gw.front_door(),
        "-servername",
        "localhost",
    ])
    .args(args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn openssl");
    // Keep stdin open briefly so the banner can arrive, then close it to end s_client.
    let mut stdin = child.stdin.take().expect("stdin");
    let _ = stdin.write_all(b"SSH-2.0-probe\r\n");
    std::thread::sleep(Duration::from_millis(300));
    drop(stdin);
    let out = child.wait_with_output().expect("openssl output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (stdout.contains("SSH-2.0-"), stdout, stderr)
}

fn cert_args(c: &CertFiles) -> Vec<String> {
    vec![
        "-cert".into(),
        c.crt.display().to_string(),
        "-key".into(),
        c.key.display().to_string(),
        "-CAfile".into(),
        c.ca.display().to_string(),
    ]
}

fn gateway() -> (Gateway, CertFiles) {
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.start();
    (gw, alice.certs)
}

#[test]
fn a_valid_certificate_reaches_the_ssh_service_over_tls13() {
    let (gw, certs) = gateway();
    let args = cert_args(&certs);
    let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
    a.push("-tls1_3");
    let (through, stdout, stderr) = s_client(&gw, &a);
    assert!(
        through,
        "stdout: {stdout}\nstderr: {stderr}\nlog: {}",
        gw.log()
    );
    assert!(stdout.contains("TLSv1.3"), "{stdout}");
}

#[test]
fn no_client_certificate_is_refused() {
    let (gw, certs) = gateway();
    let ca = certs.ca.display().to_string();
    let (through, stdout, stderr) = s_client(&gw, &["-tls1_3", "-CAfile", &ca]);
    assert!(!through, "got through without a certificate: {stdout}");
    assert!(
        stderr.contains("alert") || stdout.contains("alert"),
        "{stdout}\n{stderr}"
    );
}

#[test]
fn tls12_is_refused_by_default() {
    let (gw, certs) = gateway();
    let args = cert_args(&certs);
    let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
    a.push("-tls1_2");
    let (through, stdout, stderr) = s_client(&gw, &a);
    assert!(!through, "TLS 1.2 got through: {stdout}");
    assert!(
        stderr.contains("alert protocol version") || stderr.contains("version"),
        "{stderr}"
    );
}

#[test]
fn tls12_when_allowed_offers_only_ecdhe_aead_suites() {
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.set_config("allow_tls12 = false", "allow_tls12 = true");
    gw.start();
    let args = cert_args(&alice.certs);
    let base: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut good = base.clone();
    good.extend(["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"]);
    let (through, stdout, _) = s_client(&gw, &good);
    assert!(through, "{stdout}");
    for weak in [
        "ECDHE-ECDSA-AES128-SHA256",
        "ECDHE-ECDSA-AES256-SHA",
        "AES128-GCM-SHA256",
    ] {
        let mut bad = base.clone();
        bad.extend(["-tls1_2", "-cipher", weak]);
        let (through, stdout, _) = s_client(&gw, &bad);
        assert!(!through, "{weak} accepted: {stdout}");
    }
}

#[test]
fn a_revoked_certificate_is_refused_at_the_next_handshake_without_restart() {
    let (gw, certs) = gateway();
    let args = cert_args(&certs);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(
        s_client(&gw, &a).0,
        "valid certificate refused before revocation"
    );
    gw.cli_ok(&["cert", "revoke", "alice", "--reason", "laptop lost"]);
    let (through, stdout, stderr) = s_client(&gw, &a);
    assert!(!through, "revoked certificate got through: {stdout}");
    assert!(
        stderr.contains("alert") || stdout.contains("alert"),
        "{stderr}"
    );
    assert!(
        gw.log().contains("Revoked") || gw.log().contains("revoked"),
        "{}",
        gw.log()
    );
    let listed = gw.cli_ok(&["cert", "list"]);
    assert!(listed.contains("revoked"), "{listed}");
}

#[test]
fn an_expired_certificate_is_refused() {
    require("faketime");
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    // Issued a year ago for 30 days, with the gateway's own CA.
    let expired = gw.issue_cert_with("alice", &["--days", "30"], &["faketime", "-f", "-365d"]);
    gw.start();
    let args = cert_args(&expired);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (through, stdout, _) = s_client(&gw, &a);
    assert!(!through, "expired certificate got through: {stdout}");
    assert!(
        gw.log().contains("Expired") || gw.log().contains("expired"),
        "{}",
        gw.log()
    );
    // The same person with a current certificate still gets in.
    let out = SshLogin::engineer(&alice).run(&gw);
    assert!(out.authenticated(), "{out:?}");
}

#[test]
fn a_certificate_from_another_ca_is_refused() {
    let (gw, _) = gateway();
    // A second gateway's CA issues a look-alike certificate for the same login.
    let other = Gateway::init();
    other.add_vendor("acme", &[]);
    let forged = other.add_engineer("alice", "acme", PASSWORD);
    let mut args = cert_args(&forged.certs);
    // Trust the real gateway, present the foreign certificate.
    let real_ca = gw.data.join("ca.crt").display().to_string();
    args[5] = real_ca;
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (through, stdout, _) = s_client(&gw, &a);
    assert!(!through, "foreign certificate got through: {stdout}");
}

#[test]
fn http_alpn_is_refused_with_a_logged_reason_and_rdp_reaches_the_rdp_service() {
    let (gw, certs) = gateway();
    let args = cert_args(&certs);
    let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
    a.extend(["-alpn", "h2"]);
    let (through, stdout, _) = s_client(&gw, &a);
    assert!(!through, "h2 reached a service: {stdout}");
    let refused = gw.wait_audit("connection.refused", "alice");
    assert_eq!(refused["detail"]["reason"], "http_not_offered", "{refused}");

    // ALPN `rdp` goes to the RDP service, which wants an X.224 request, not SSH.
    let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
    a.extend(["-alpn", "rdp"]);
    let (through, stdout, _) = s_client(&gw, &a);
    assert!(!through, "rdp reached the SSH service: {stdout}");
    fumidai_e2e::wait_for("the RDP service's refusal", Duration::from_secs(10), || {
        gw.log().contains("RDP connection refused").then_some(())
    });
}

#[test]
fn the_gateway_is_verified_against_the_pinned_ca() {
    let (gw, _) = gateway();
    // Alice's files from another installation: its CA doesn't sign this gateway.
    let other = Gateway::init();
    other.add_vendor("acme", &[]);
    let stranger = other.add_engineer("alice", "acme", PASSWORD);
    let mut cmd = Command::new(fumidai_e2e::tools::fumidai_bin());
    cmd.args(["connect", &gw.front_door()])
        .arg("--cert")
        .arg(&stranger.certs.crt)
        .arg("--key")
        .arg(&stranger.certs.key)
        .arg("--ca")
        .arg(&stranger.certs.ca);
    let out = run_with_timeout(cmd, Duration::from_secs(20));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
}

/// Whether the gateway closes `stream` (EOF or reset) within `within`.
fn closed_within(stream: &mut std::net::TcpStream, within: Duration) -> bool {
    use std::io::Read;
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0_u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn a_silent_client_is_dropped_after_the_handshake_timeout() {
    let mut gw = Gateway::init();
    gw.set_config("handshake_timeout = \"10s\"", "handshake_timeout = \"1s\"");
    gw.start();
    let mut silent = std::net::TcpStream::connect(gw.addr.unwrap()).unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(8)),
        "silent client kept open"
    );
}

#[test]
fn connections_over_the_unauthenticated_cap_are_closed_at_once_and_slots_come_back() {
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.set_config("max_unauthenticated = 1024", "max_unauthenticated = 2");
    gw.start();
    let held: Vec<_> = (0..2)
        .map(|_| std::net::TcpStream::connect(gw.addr.unwrap()).unwrap())
        .collect();
    // Let the gateway accept both before the third arrives.
    std::thread::sleep(Duration::from_millis(300));
    let mut over = std::net::TcpStream::connect(gw.addr.unwrap()).unwrap();
    assert!(
        closed_within(&mut over, Duration::from_secs(3)),
        "third connection not closed"
    );
    drop(held);
    // Freed slots admit a real login again.
    let out = fumidai_e2e::tools::poll(Duration::from_secs(10), || {
        let out = SshLogin::engineer(&alice).run(&gw);
        out.authenticated().then_some(out)
    });
    assert!(
        out.is_some(),
        "no login after the held connections closed\n{}",
        gw.log()
    );
}
