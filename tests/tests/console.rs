//! Where the operator console serves (issue 15 §1, R-13-5): plain HTTP on a loopback
//! `ui_listen`; HTTPS with the certificate `init` issued from fumidai's CA when
//! `ui_tls_cert`/`ui_tls_key` are set (checked with `curl` pinning fumidai's CA); and no
//! start at all on a non-loopback address without a certificate.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::process::Command;

use fumidai_e2e::Gateway;
use fumidai_e2e::tools::{fumidai_bin, require};

fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn init_issues_the_console_certificate_and_serve_speaks_https_with_it() {
    require("curl");
    let mut gw = Gateway::init();
    assert!(gw.data.join("ui.crt").exists());
    let config = std::fs::read_to_string(gw.data.join("fumidai.toml")).unwrap();
    assert!(config.contains("# ui_tls_cert = \"ui.crt\""), "{config}");
    gw.set_config("# ui_tls_cert = \"ui.crt\"", "ui_tls_cert = \"ui.crt\"");
    gw.set_config("# ui_tls_key = \"ui.key\"", "ui_tls_key = \"ui.key\"");
    gw.start();
    let port = gw.ui_addr.unwrap().port();
    let ca = gw.data.join("ca.crt");
    let ca = ca.to_str().unwrap();
    let url = format!("https://localhost:{port}/healthz");
    let resolve = format!("localhost:{port}:127.0.0.1");
    // Trusted through fumidai's CA, for the name it was issued for.
    let (ok, out) = curl(&["--cacert", ca, "--resolve", &resolve, &url]);
    assert!(ok, "{out}");
    assert_eq!(out, "ok\n");
    // The sign-in page, with HSTS and the strict CSP.
    let (ok, out) = curl(&[
        "-i",
        "--cacert",
        ca,
        "--resolve",
        &resolve,
        &format!("https://localhost:{port}/login"),
    ]);
    assert!(ok, "{out}");
    let lower = out.to_lowercase();
    assert!(
        lower.contains("strict-transport-security: max-age="),
        "{out}"
    );
    assert!(
        lower.contains("content-security-policy: default-src 'none'"),
        "{out}"
    );
    assert!(out.contains("運用コンソールへのログイン"), "{out}");
    // Plain HTTP on the same port gets nothing.
    let (ok, _) = curl(&[&format!("http://127.0.0.1:{port}/healthz")]);
    assert!(!ok, "plain HTTP answered on the HTTPS console");
    // /metrics: only to loopback; curl is on loopback.
    let (ok, out) = curl(&[
        "--cacert",
        ca,
        "--resolve",
        &resolve,
        &format!("https://localhost:{port}/metrics"),
    ]);
    assert!(ok && out.contains("fumidai_"), "{out}");
    let started = gw.wait_audit_kind("gateway.started");
    assert_eq!(started["detail"]["ui_https"], true);
}

#[test]
fn plain_http_on_loopback_only() {
    let mut gw = Gateway::init();
    gw.start();
    let port = gw.ui_addr.unwrap().port();
    let (ok, out) = curl(&[&format!("http://127.0.0.1:{port}/healthz")]);
    assert!(ok, "{out}");
    gw.stop();

    // Off loopback without a certificate: no start, and a bilingual reason.
    gw.set_config("ui_listen = \"127.0.0.1:0\"", "ui_listen = \"0.0.0.0:0\"");
    let out = Command::new(fumidai_bin())
        .arg("--data-dir")
        .arg(&gw.data)
        .arg("serve")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not loopback"), "{stderr}");
    assert!(stderr.contains("ループバック以外"), "{stderr}");
}

#[test]
fn init_off_loopback_configures_https() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = Command::new(fumidai_bin())
        .arg("--data-dir")
        .arg(&data)
        .args([
            "init",
            "--listen",
            "127.0.0.1:0",
            "--ui-listen",
            "0.0.0.0:0",
            "--ui-server-name",
            "console.hospital.example.jp",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("https://console.hospital.example.jp:0/"),
        "{printed}"
    );
    let config = std::fs::read_to_string(data.join("fumidai.toml")).unwrap();
    assert!(config.contains("\nui_tls_cert = \"ui.crt\""), "{config}");
    assert!(config.contains("\nui_tls_key = \"ui.key\""), "{config}");
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(data.join("ui.crt"))
        .output()
        .unwrap();
    let san = String::from_utf8_lossy(&out.stdout);
    assert!(san.contains("DNS:console.hospital.example.jp"), "{san}");
}
