//! The front door against a real peer: OpenSSL 3's `s_client` over loopback TCP, offering
//! what old clients offer (TLS 1.2, CBC suites). Skipped when `openssl` is not on PATH.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rustls::{CipherSuite, ProtocolVersion, ServerConfig};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::Revocations;
use super::test_support::{Fixture, fixture};

/// What a handshake with `s_client` gave: the server's view, and whether `s_client` was
/// happy (with its output, for failure messages).
struct Outcome {
    server: Result<(Option<ProtocolVersion>, Option<CipherSuite>), String>,
    client_ok: bool,
    output: String,
}

fn have_openssl() -> bool {
    let found = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok();
    if !found {
        eprintln!("skipped: openssl is not on PATH");
    }
    found
}

async fn s_client(f: &Fixture, server: Arc<ServerConfig>, extra: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("ca.pem"), f.ca.cert_pem()).unwrap();
    std::fs::write(path("alice.crt"), &f.alice.cert_pem).unwrap();
    std::fs::write(path("alice.key"), f.alice.key_pem.as_bytes()).unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(server);
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
        let (_, conn) = tls.get_ref();
        let seen = (
            conn.protocol_version(),
            conn.negotiated_cipher_suite().map(|s| s.suite()),
        );
        // s_client closes once its stdin (empty) is done; how it closes doesn't matter.
        let _ = tls.read_to_end(&mut Vec::new()).await;
        Ok(seen)
    });

    let mut cmd = tokio::process::Command::new("openssl");
    cmd.arg("s_client")
        .args(["-connect", &addr.to_string(), "-servername", "gw.test"])
        .args(["-verify_hostname", "gw.test", "-verify_return_error"])
        .arg("-CAfile")
        .arg(path("ca.pem"))
        .arg("-cert")
        .arg(path("alice.crt"))
        .arg("-key")
        .arg(path("alice.key"))
        .args(extra)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .unwrap()
        .unwrap();
    let server = tokio::time::timeout(Duration::from_secs(30), server_task)
        .await
        .unwrap()
        .unwrap();
    Outcome {
        server,
        client_ok: out.status.success(),
        output: String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr),
    }
}

#[tokio::test]
async fn openssl_tls13_client_is_accepted() {
    if !have_openssl() {
        return;
    }
    let f = fixture();
    let outcome = s_client(&f, f.server(false, Revocations::default()), &[]).await;
    let (version, _) = outcome.server.unwrap();
    assert_eq!(version, Some(ProtocolVersion::TLSv1_3));
    assert!(outcome.client_ok, "{}", outcome.output);
    assert!(
        outcome.output.contains("Verify return code: 0 (ok)"),
        "{}",
        outcome.output
    );
}

#[tokio::test]
async fn openssl_tls12_is_refused_by_default() {
    if !have_openssl() {
        return;
    }
    let f = fixture();
    let outcome = s_client(&f, f.server(false, Revocations::default()), &["-tls1_2"]).await;
    assert!(
        outcome.server.is_err(),
        "tls 1.2 accepted: {}",
        outcome.output
    );
    assert!(!outcome.client_ok, "{}", outcome.output);
}

#[tokio::test]
async fn openssl_tls12_ecdhe_gcm_is_accepted_when_allowed() {
    if !have_openssl() {
        return;
    }
    let f = fixture();
    let args = ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"];
    let outcome = s_client(&f, f.server(true, Revocations::default()), &args).await;
    let (version, suite) = outcome.server.unwrap();
    assert_eq!(version, Some(ProtocolVersion::TLSv1_2));
    assert_eq!(
        suite,
        Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
    );
    assert!(outcome.client_ok, "{}", outcome.output);
}

#[tokio::test]
async fn openssl_tls12_cbc_and_non_ecdhe_suites_are_refused_even_when_allowed() {
    if !have_openssl() {
        return;
    }
    let f = fixture();
    let weak = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:AES128-GCM-SHA256:AES256-SHA";
    let args = ["-tls1_2", "-cipher", weak];
    let outcome = s_client(&f, f.server(true, Revocations::default()), &args).await;
    assert!(
        outcome.server.is_err(),
        "weak suite accepted: {}",
        outcome.output
    );
    assert!(!outcome.client_ok, "{}", outcome.output);
}
