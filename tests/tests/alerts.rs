//! Alerts reach a webhook, syslog and the planning manager's mailbox (R-17.1-ALERT), from a
//! real `fumidai serve`: a changed target host key, a lock-out and a killed session; and a
//! dead webhook holds up no login.
//!
//! The receivers are real sockets on 127.0.0.1 in this process: a TCP listener answering
//! HTTP/1.1, a UDP socket, and a minimal SMTP responder.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use fumidai_e2e::tools::{oathtool_code, wait_for};
use fumidai_e2e::{Engineer, Gateway, SshLogin, Sshd};
use serde_json::Value;

const PASSWORD: &str = "Kaede-Hashira-7731";
const SECRET: &str = "webhook-shared-secret-7731";
const WAIT: Duration = Duration::from_secs(30);

/// A webhook receiver: every request, as head lines and body, answered `204`.
struct Webhook {
    url: String,
    requests: mpsc::Receiver<(Vec<String>, Vec<u8>)>,
}

impl Webhook {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks/fumidai", listener.local_addr().unwrap());
        let (tx, requests) = mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut head = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 {
                        break;
                    }
                    let line = line.trim_end().to_owned();
                    if line.is_empty() {
                        break;
                    }
                    head.push(line);
                }
                let len: usize = head
                    .iter()
                    .find_map(|h| h.strip_prefix("Content-Length: "))
                    .map_or(0, |n| n.parse().unwrap());
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                conn.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
                if tx.send((head, body)).is_err() {
                    return;
                }
            }
        });
        Self { url, requests }
    }

    /// The next request whose alert is of `kind`, with its head.
    fn next(&self, kind: &str) -> (Vec<String>, Value) {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (head, body) = self
                .requests
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {kind} alert at the webhook"));
            // The signature covers the exact body bytes.
            let signature = fumidai_gateway::alerts::webhook::signature(SECRET.as_bytes(), &body);
            assert!(
                head.contains(&format!("X-Fumidai-Signature: {signature}")),
                "{head:?}"
            );
            let alert: Value = serde_json::from_slice(&body).unwrap();
            if alert["kind"] == kind {
                return (head, alert);
            }
        }
    }
}

/// A syslog collector on UDP.
struct Syslog {
    socket: UdpSocket,
}

impl Syslog {
    fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(WAIT)).unwrap();
        Self { socket }
    }

    fn target(&self) -> String {
        format!("udp://{}", self.socket.local_addr().unwrap())
    }

    /// The next message whose MSGID is `kind`.
    fn next(&self, kind: &str) -> String {
        let mut buf = vec![0u8; 65536];
        loop {
            let n = self
                .socket
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("no {kind} alert at syslog: {e}"));
            let message = String::from_utf8(buf[..n].to_vec()).unwrap();
            if message.split(' ').nth(5) == Some(kind) {
                return message;
            }
        }
    }
}

/// A minimal SMTP server: takes every mail, hands over its DATA.
struct Smtp {
    port: u16,
    mails: mpsc::Receiver<String>,
}

impl Smtp {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, mails) = mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let tx = tx.clone();
                std::thread::spawn(move || smtp_session(conn, &tx));
            }
        });
        Self { port, mails }
    }

    /// The next mail whose DATA holds `needle`.
    fn next(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mail = self
                .mails
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no mail with {needle}"));
            if decoded(&mail).contains(needle) {
                return mail;
            }
        }
    }
}

fn smtp_session(conn: TcpStream, mails: &mpsc::Sender<String>) {
    let mut out = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    out.write_all(b"220 smtp.test ESMTP\r\n").unwrap();
    let mut envelope = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 smtp.test\r\n",
            "MAIL" | "RCPT" => {
                envelope.push(line.trim_end().to_owned());
                b"250 OK\r\n"
            }
            "DATA" => {
                out.write_all(b"354 go ahead\r\n").unwrap();
                let mut data = envelope.join("\n");
                data.push('\n');
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == ".\r\n" {
                        break;
                    }
                    data.push_str(&line);
                }
                let _ = mails.send(data);
                envelope.clear();
                b"250 queued\r\n"
            }
            "QUIT" => {
                let _ = out.write_all(b"221 bye\r\n");
                return;
            }
            _ => b"250 OK\r\n",
        };
        if out.write_all(answer).is_err() {
            return;
        }
    }
}

/// A mail with its headers unfolded, their RFC 2047 encoded words decoded in place, and
/// its base64 body decoded after it, for searching.
fn decoded(mail: &str) -> String {
    let (head, body) = mail.split_once("\r\n\r\n").unwrap_or((mail, ""));
    let mut rest = head.replace("\r\n ", " ");
    let mut text = String::new();
    // Encoded words: =?utf-8?b?…?=
    while let Some(start) = rest.find("=?utf-8?b?") {
        text.push_str(&rest[..start]);
        let after = &rest[start + 10..];
        let Some(end) = after.find("?=") else { break };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&after[..end])
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&bytes));
        rest = after[end + 2..].to_owned();
    }
    text.push_str(&rest);
    text.push_str("\n\n");
    if head.contains("Content-Transfer-Encoding: quoted-printable") {
        text.push_str(&quoted_printable(body));
    } else if head.contains("Content-Transfer-Encoding: base64") {
        let joined: String = body.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&joined)
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&bytes));
    } else {
        text.push_str(body);
    }
    text
}

/// Decodes a quoted-printable body (RFC 2045 §6.7).
fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = joined.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16));
        if let (b'=', Some(Ok(b))) = (bytes[i], hex) {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Adds `lines` to `[alerts]` in the gateway's configuration.
fn configure_alerts(gw: &Gateway, lines: &str) {
    gw.set_config("[alerts]\n", &format!("[alerts]\n{lines}\n"));
}

/// Writes the webhook secret where `webhook_secret_file = "webhook-secret"` finds it.
fn write_secret(gw: &Gateway) {
    let path = gw.data.join("webhook-secret");
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn exec(gw: &Gateway, alice: &Engineer, command: &str) -> fumidai_e2e::SshOutcome {
    let mut login = SshLogin::engineer(alice);
    login.user = "alice:db01".to_owned();
    login.command = Some(command.to_owned());
    login.run(gw)
}

fn fail_five_logins(gw: &Gateway, alice: &Engineer) {
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
}

#[test]
fn a_host_key_mismatch_and_a_lock_out_reach_the_webhook_syslog_and_the_mail() {
    let sshd = Sshd::start();
    let impostor = Sshd::start();
    let (webhook, syslog, smtp) = (Webhook::start(), Syslog::start(), Smtp::start());
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_target_with_host_key("db01", &impostor, &sshd.host_key);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    write_secret(&gw);
    gw.set_config("smtp_tls = \"starttls\"", "smtp_tls = \"none\"");
    gw.set_config(
        "syslog_facility = \"authpriv\"",
        "syslog_facility = \"auth\"",
    );
    configure_alerts(
        &gw,
        &format!(
            "webhook_url = \"{}\"\nwebhook_secret_file = \"webhook-secret\"\n\
             syslog = \"{}\"\n\
             smtp_host = \"127.0.0.1\"\nsmtp_port = {}\n\
             mail_from = \"fumidai <fumidai@gw.example.jp>\"\n\
             mail_to = [\"Planning Manager <pm@hospital.example.jp>\"]",
            webhook.url,
            syslog.target(),
            smtp.port
        ),
    );
    gw.start();

    let out = exec(&gw, &alice, "echo should-not-run");
    assert!(!out.stdout.contains("should-not-run"), "{out:?}");
    assert!(out.stdout.contains("host key"), "{out:?}");

    let (head, alert) = webhook.next("host_key_mismatch");
    assert_eq!(head[0], "POST /hooks/fumidai HTTP/1.1");
    assert!(head.contains(&"Content-Type: application/json; charset=utf-8".to_owned()));
    assert_eq!(alert["version"], 1, "{alert}");
    assert_eq!(alert["severity"], "critical", "{alert}");
    assert_eq!(alert["subject"]["engineer"], "alice", "{alert}");
    assert_eq!(alert["subject"]["target"], "db01", "{alert}");
    assert!(alert["subject"]["plan"].is_string(), "{alert}");
    assert_eq!(
        alert["detail"]["presented"],
        impostor.host_key.as_str(),
        "{alert}"
    );
    assert!(
        alert["summary"]["ja"]
            .as_str()
            .unwrap()
            .contains("ホスト鍵"),
        "{alert}"
    );
    let id = alert["id"].as_str().unwrap();
    assert!(
        head.contains(&format!("X-Fumidai-Alert-Id: {id}")),
        "{head:?}"
    );

    // RFC 5424: auth (4) × 8 + critical (2).
    let message = syslog.next("host_key_mismatch");
    assert!(message.starts_with("<34>1 "), "{message}");
    let sd = format!(
        "[fumidai@32473 kind=\"host_key_mismatch\" severity=\"critical\" id=\"{id}\" engineer=\"alice\""
    );
    assert!(message.contains(&sd), "{message}");
    assert!(
        message.contains("target=\"db01\"] \u{feff}Host key mismatch"),
        "{message}"
    );
    let fields: Vec<&str> = message.splitn(7, ' ').collect();
    assert_eq!(fields[3], "fumidai", "{message}");

    let mail = smtp.next(id);
    assert!(mail.contains("RCPT TO:<pm@hospital.example.jp>"), "{mail}");
    let text = decoded(&mail);
    assert!(
        text.contains("【緊急】ホスト鍵不一致 / [CRITICAL] Host key mismatch (db01)"),
        "{text}"
    );
    assert!(
        text.contains("中間者攻撃") && text.contains("man-in-the-middle"),
        "{text}"
    );

    // Five wrong passwords lock alice out: one more alert, everywhere.
    fail_five_logins(&gw, &alice);
    gw.wait_audit("account.locked", "alice");
    let (_, alert) = webhook.next("lock_out");
    assert_eq!(alert["severity"], "warning", "{alert}");
    assert_eq!(alert["subject"]["engineer"], "alice", "{alert}");
    assert!(alert["detail"]["locked_until"].is_string(), "{alert}");
    assert!(
        alert["detail"]["client_addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    let message = syslog.next("lock_out");
    assert!(message.starts_with("<36>1 "), "{message}");
    assert!(message.contains("engineer=\"alice\""), "{message}");
    smtp.next(alert["id"].as_str().unwrap());
    assert!(gw.log().contains("alert delivered"), "{}", gw.log());
}

#[test]
fn a_killed_session_raises_an_alert_with_who_asked_and_why() {
    let webhook = Webhook::start();
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    let plan = gw.plan("alice", "db01", -5, 60, Some("olga"));
    write_secret(&gw);
    configure_alerts(
        &gw,
        &format!(
            "webhook_url = \"{}\"\nwebhook_secret_file = \"webhook-secret\"",
            webhook.url
        ),
    );
    gw.start();
    std::thread::scope(|s| {
        let engineer = s.spawn(|| exec(&gw, &alice, "echo started; sleep 60"));
        let id = wait_for("a live session", WAIT, || {
            let out = gw.cli_ok(&["--json", "session", "list", "--live"]);
            let live: Vec<Value> = serde_json::from_str(&out).unwrap();
            (live.len() == 1).then(|| live[0]["id"].as_str().unwrap().to_owned())
        });
        gw.cli_ok(&[
            "session",
            "kill",
            &id,
            "--reason",
            "suspicious / 不審な操作",
        ]);
        let out = engineer.join().unwrap();
        assert_eq!(out.stdout, "started\n", "{out:?}");
        let (_, alert) = webhook.next("session_killed");
        assert_eq!(alert["subject"]["session"], id.as_str(), "{alert}");
        assert_eq!(alert["subject"]["plan"], plan.as_str(), "{alert}");
        assert_eq!(alert["subject"]["engineer"], "alice", "{alert}");
        assert_eq!(
            alert["detail"]["reason"], "suspicious / 不審な操作",
            "{alert}"
        );
        assert!(
            alert["detail"]["requested_by"]
                .as_str()
                .unwrap()
                .starts_with("cli:"),
            "{alert}"
        );
    });
}

#[test]
fn a_dead_webhook_holds_up_no_login_and_is_retried() {
    // A port nobody listens on: every delivery is refused.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    configure_alerts(&gw, &format!("webhook_url = \"{dead}\""));
    gw.start();

    // The logins that lock alice out, and the one refused for the lock, all complete.
    fail_five_logins(&gw, &alice);
    gw.wait_audit("account.locked", "alice");
    let out = SshLogin::new(
        &alice.login,
        &alice.certs,
        PASSWORD,
        &oathtool_code(&alice.totp_secret),
    )
    .run(&gw);
    assert!(!out.authenticated(), "{out:?}");
    // Logged at once, then retried in the background.
    assert!(gw.log().contains("ALERT: Lock-out: alice"), "{}", gw.log());
    wait_for("a retried delivery", WAIT, || {
        gw.log()
            .contains("alert delivery failed; retrying")
            .then_some(())
    });
    let log = gw.log();
    let retry = log
        .lines()
        .find(|l| l.contains("alert delivery failed; retrying"))
        .unwrap();
    assert!(
        retry.contains("kind=\"lock_out\"") || retry.contains("kind=lock_out"),
        "{retry}"
    );
    assert!(
        retry.contains("sink=webhook") || retry.contains("webhook"),
        "{retry}"
    );
    // And another engineer can still log in meanwhile.
    let bob = gw.add_engineer("bob", "acme", "Tsubaki-Mori-4417");
    let out = SshLogin::engineer(&bob).run(&gw);
    assert!(out.authenticated(), "{out:?}\n{}", gw.log());
}
