//! Alerts reach a webhook, syslog and the planning manager's mailbox (R-17.1-ALERT), from a
//! real `fumidai serve`: a changed target host key, a lock-out and a killed session; and a
//! dead webhook holds up no login.
//!
//! The webhook and syslog receivers are real sockets on 127.0.0.1 in this process (a TCP
//! listener answering HTTP/1.1, a UDP socket); the mail relay is Python's aiosmtpd
//! ([`Smtpd`]), plain or requiring STARTTLS with a certificate from a private CA.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fumidai_e2e::smtpd::Smtpd;
use fumidai_e2e::test_ca::TestCa;
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
            let signature = fumidai_core::alerts::webhook::signature(SECRET.as_bytes(), &body);
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
    let (webhook, syslog, smtp) = (Webhook::start(), Syslog::start(), Smtpd::start());
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_target_with_host_key("db01", &impostor, &sshd.host_key);
    let plan = gw.plan("alice", "db01", -5, 60, Some("olga"));
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

    // aiosmtpd got the mail for the planning manager: envelope and header.
    let mail = smtp.wait_mail(id, WAIT);
    assert_eq!(
        mail["rcpt_tos"],
        serde_json::json!(["pm@hospital.example.jp"]),
        "{mail}"
    );
    assert_eq!(mail["mail_from"], "fumidai@gw.example.jp", "{mail}");
    assert_eq!(
        mail["to"], "Planning Manager <pm@hospital.example.jp>",
        "{mail}"
    );
    assert_eq!(mail["tls"], Value::Null, "{mail}");
    assert_eq!(
        mail["subject"], "[fumidai] 【緊急】ホスト鍵不一致 / [CRITICAL] Host key mismatch (db01)",
        "{mail}"
    );
    let body = mail["body"].as_str().unwrap();
    assert!(
        body.contains("中間者攻撃") && body.contains("man-in-the-middle"),
        "{body}"
    );
    assert!(body.contains(&format!("Alert ID: {id}")), "{body}");
    assert!(body.contains(&format!("\"plan\": \"{plan}\"")), "{body}");

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
    let mail = smtp.wait_mail(alert["id"].as_str().unwrap(), WAIT);
    assert!(
        mail["subject"]
            .as_str()
            .unwrap()
            .contains("Account locked out (alice)"),
        "{mail}"
    );
    assert!(gw.log().contains("alert delivered"), "{}", gw.log());
}

#[test]
fn mail_goes_over_required_starttls_to_a_relay_certified_by_a_private_ca() {
    let sshd = Sshd::start();
    let impostor = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    // A TOTP code is accepted once per account: each phase's login is another engineer's.
    let engineers: Vec<Engineer> = ["alice", "bob", "carol"]
        .iter()
        .map(|login| gw.add_engineer(login, "acme", PASSWORD))
        .collect();
    gw.add_operator("olga", "operator");
    gw.add_target_with_host_key("db01", &impostor, &sshd.host_key);
    for e in &engineers {
        gw.plan(&e.login, "db01", -5, 60, Some("olga"));
    }
    // The hospital's relay has a certificate from the hospital's own CA; a second CA
    // stands for any other issuer.
    let hospital = TestCa::new(gw.tmp.path(), "hospital");
    let other = TestCa::new(gw.tmp.path(), "other");
    let (cert, key) = hospital.issue_server("relay");
    let relay = Smtpd::start_starttls(&cert, &key);
    let plain = Smtpd::start();
    let config = gw.data.join("fumidai.toml");
    let base = std::fs::read_to_string(&config).unwrap();
    // smtp_tls is left at its default, "starttls".
    let run = |gw: &mut Gateway, engineer: &Engineer, port: u16, ca: &TestCa| {
        gw.stop();
        let alerts = format!(
            "[alerts]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\n\
             tls_ca_file = \"{}\"\n\
             mail_from = \"fumidai@gw.example.jp\"\n\
             mail_to = [\"pm@hospital.example.jp\"]\n",
            ca.cert.display()
        );
        std::fs::write(&config, base.replace("[alerts]\n", &alerts)).unwrap();
        gw.start();
        let mut login = SshLogin::engineer(engineer);
        login.user = format!("{}:db01", engineer.login);
        login.command = Some("echo should-not-run".to_owned());
        let out = login.run(gw);
        assert!(out.stdout.contains("host key"), "{out:?}");
    };
    let failed = |gw: &Gateway| {
        wait_for("a failed mail delivery", WAIT, || {
            let log = gw.log();
            log.lines()
                .find(|l| l.contains("alert delivery failed; retrying"))
                .map(str::to_owned)
        })
    };

    // A certificate from a CA the gateway wasn't told to trust: nothing is sent.
    run(&mut gw, &engineers[0], relay.port, &other);
    let line = failed(&gw);
    assert!(
        line.contains("invalid peer certificate: UnknownIssuer"),
        "{line}"
    );
    // A relay that doesn't offer STARTTLS: the gateway doesn't fall back to plain text.
    run(&mut gw, &engineers[1], plain.port, &hospital);
    let line = failed(&gw);
    assert!(line.contains("STARTTLS is not supported"), "{line}");
    // The relay with the hospital CA's certificate takes the mail, over TLS.
    run(&mut gw, &engineers[2], relay.port, &hospital);
    let mail = relay.wait_mail("Host key mismatch (db01)", WAIT);
    assert!(
        mail["tls"].as_str().unwrap().starts_with("TLSv1."),
        "{mail}"
    );
    assert_eq!(
        mail["rcpt_tos"],
        serde_json::json!(["pm@hospital.example.jp"]),
        "{mail}"
    );
    wait_for("the delivery logged", WAIT, || {
        gw.log().contains("alert delivered").then_some(())
    });
    // Only that one: the refused attempts delivered nothing, here or in clear text.
    assert_eq!(relay.mails().len(), 1, "{}", relay.log());
    assert_eq!(plain.mails().len(), 0, "{}", plain.log());
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
        gw.cli_as_ok(
            gw.ensure_submitter(),
            &[
                "session",
                "kill",
                &id,
                "--reason",
                "suspicious / 不審な操作",
            ],
        );
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
        assert_eq!(
            alert["detail"]["requested_by"],
            format!("person:{}", gw.ensure_submitter()),
            "{alert}"
        );
    });
}

// R-17.1-ALERT, R-10-5: a report produced on demand by `fumidai report` (no `serve`
// running) is alerted like one `serve` produced, before the command exits, and only once.
#[test]
fn a_report_the_cli_produced_is_alerted_once_before_it_exits() {
    let webhook = Webhook::start();
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    let window_end = Instant::now() + Duration::from_secs(15);
    let at = |secs: i64| {
        (chrono::Utc::now() + chrono::Duration::seconds(secs))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let plan_file = gw.tmp.path().join("plan.toml");
    std::fs::write(
        &plan_file,
        format!(
            "engineers = [\"alice\"]\ntargets = [\"db01\"]\nstart = \"{}\"\nend = \"{}\"\n\
             purpose = \"版数の確認\"\n",
            at(-300),
            at(15)
        ),
    )
    .unwrap();
    let out = gw.cli_as_ok(
        gw.ensure_submitter(),
        &[
            "--json",
            "plan",
            "submit",
            "--file",
            plan_file.to_str().unwrap(),
        ],
    );
    let plan = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    gw.approve(&plan, "olga");
    write_secret(&gw);
    configure_alerts(
        &gw,
        &format!(
            "webhook_url = \"{}\"\nwebhook_secret_file = \"webhook-secret\"",
            webhook.url
        ),
    );
    gw.start();
    // A database dump nobody planned: a high-severity finding (R-10-2).
    let out = exec(&gw, &alice, "pg_dump --version || true");
    assert_eq!(out.code, 0, "{out:?}");
    gw.wait_audit_kind("session.ended");
    // Only the CLI is left to produce the report.
    gw.stop();
    std::thread::sleep(
        window_end.saturating_duration_since(Instant::now()) + Duration::from_secs(1),
    );
    let report = gw.cli_ok(&["report", &plan]);
    assert!(report.contains("pg_dump"), "{report}");

    // Delivered by the time the command returned (give the receiving thread a moment to
    // hand the request over), in the order raised.
    let arrived = |webhook: &Webhook| -> Vec<Value> {
        let mut alerts = Vec::new();
        while let Ok((_, body)) = webhook.requests.recv_timeout(Duration::from_secs(1)) {
            alerts.push(serde_json::from_slice(&body).unwrap());
        }
        alerts
    };
    let alerts = arrived(&webhook);
    let kinds: Vec<&str> = alerts.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["report_ready", "high_severity_finding"],
        "{alerts:#?}"
    );
    assert_eq!(alerts[0]["subject"]["plan"], plan.as_str(), "{alerts:#?}");
    assert_eq!(alerts[0]["severity"], "notice", "{alerts:#?}");
    assert_eq!(alerts[1]["subject"]["plan"], plan.as_str(), "{alerts:#?}");
    assert_eq!(alerts[1]["detail"]["requirement"], "R-10-2", "{alerts:#?}");
    assert_eq!(alerts[1]["detail"]["severity"], "high", "{alerts:#?}");
    assert!(alerts[1]["subject"]["session"].is_string(), "{alerts:#?}");

    // Shown again, from the CLI or once `serve` runs again: nothing more is raised.
    gw.cli_ok(&["report", &plan, "--format", "json"]);
    gw.start();
    gw.cli_ok(&["report", &plan]);
    let again = arrived(&webhook);
    assert!(again.is_empty(), "{again:#?}");
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
