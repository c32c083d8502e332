//! The alert's formats (RFC 5424, the webhook's request, the mail) as tables, and delivery
//! against real local sockets: a UDP socket, a TCP listener answering HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::TimeZone;
use secrecy::SecretString;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

use super::dispatch::{DeliveryError, Sink};
use super::settings::{Facility, Retry, SyslogSettings, SyslogTarget, WebhookSettings};
use super::*;

fn login(s: &str) -> Login {
    s.parse().unwrap()
}

fn target(s: &str) -> TargetName {
    s.parse().unwrap()
}

fn mismatch() -> Alert {
    let mut alert = Alert::host_key_mismatch(
        &login("alice"),
        &target("db01"),
        PlanId::generate(),
        "SHA256:presented",
        "SHA256:pinned",
    );
    alert.at = Utc.with_ymd_and_hms(2026, 11, 3, 1, 2, 3).unwrap();
    alert
}

#[test]
fn kinds_have_distinct_names_and_default_severities() {
    let names: std::collections::HashSet<_> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(names.len(), AlertKind::ALL.len());
    let table = [
        (AlertKind::EmergencyAccess, Severity::Critical, 2),
        (AlertKind::HostKeyMismatch, Severity::Critical, 2),
        (AlertKind::HighSeverityFinding, Severity::Error, 3),
        (AlertKind::LockOut, Severity::Warning, 4),
        (AlertKind::SessionKilled, Severity::Warning, 4),
        (AlertKind::ReportReady, Severity::Notice, 5),
        (AlertKind::TotpReset, Severity::Warning, 4),
    ];
    for (kind, severity, code) in table {
        assert_eq!(kind.default_severity(), severity, "{kind}");
        assert_eq!(severity.syslog_code(), code, "{kind}");
        // The JSON name is the stable name.
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
}

#[test]
fn every_constructor_fills_its_subject_and_both_languages() {
    let session = SessionId::generate();
    let plan = PlanId::generate();
    let alice = login("alice");
    let db01 = target("db01");
    let alerts = [
        Alert::emergency_access(&alice, &db01, "outage"),
        Alert::lock_out(
            &alice,
            Some("192.0.2.7:4000".parse().unwrap()),
            Some(Utc::now()),
        ),
        Alert::host_key_mismatch(&alice, &db01, plan, "a", "b"),
        Alert::session_killed(session, &alice, &db01, plan, "cli:root", "suspicious"),
        Alert::high_severity_finding(session, "rm -rf /var/lib/pgsql"),
        Alert::report_ready(plan, "/reports/plan.pdf"),
    ];
    for (alert, kind) in alerts.iter().zip(AlertKind::ALL) {
        assert_eq!(alert.kind, kind);
        assert!(!alert.summary.ja.is_empty() && !alert.summary.en.is_empty());
        assert!(!alert.summary.ja.is_ascii(), "{}", alert.summary.ja);
        assert!(alert.summary.en.is_ascii(), "{}", alert.summary.en);
        assert!(alert.detail.is_object(), "{kind}");
    }
    let killed = &alerts[3];
    assert_eq!(killed.subject.session, Some(session));
    assert_eq!(killed.subject.plan, Some(plan));
    assert_eq!(killed.subject.engineer.as_ref(), Some(&alice));
    assert_eq!(killed.subject.target.as_ref(), Some(&db01));
    assert_eq!(killed.detail["requested_by"], "cli:root");
}

#[test]
fn the_json_document_has_schema_subject_summary_and_detail() {
    let alert = mismatch().with_detail(serde_json::json!({ "extra": 1 }));
    let doc = alert.to_json("gw01");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["source"], "fumidai");
    assert_eq!(doc["gateway"], "gw01");
    assert_eq!(doc["id"], alert.id.to_string());
    assert_eq!(doc["kind"], "host_key_mismatch");
    assert_eq!(doc["severity"], "critical");
    assert_eq!(doc["at"], "2026-11-03T01:02:03.000Z");
    assert_eq!(doc["subject"]["engineer"], "alice");
    assert_eq!(doc["subject"]["target"], "db01");
    assert!(doc["subject"].get("session").is_none(), "{doc}");
    assert!(doc["summary"]["ja"].as_str().unwrap().contains("ホスト鍵"));
    assert!(doc["summary"]["en"].as_str().unwrap().contains("Host key"));
    assert_eq!(doc["detail"]["presented"], "SHA256:presented");
    assert_eq!(doc["detail"]["extra"], 1, "with_detail merges");
}

#[test]
fn rfc5424_header_structured_data_and_message() {
    let alert = mismatch();
    let line = syslog::format(&alert, Facility::Authpriv, "gw01", 4242);
    let plan = alert.subject.plan.unwrap();
    let expected_head = format!(
        "<82>1 2026-11-03T01:02:03.000000Z gw01 fumidai 4242 host_key_mismatch \
         [fumidai@32473 kind=\"host_key_mismatch\" severity=\"critical\" id=\"{}\" \
         engineer=\"alice\" plan=\"{plan}\" target=\"db01\"] \u{feff}Host key mismatch: ",
        alert.id
    );
    assert!(line.starts_with(&expected_head), "{line}\n{expected_head}");
    assert!(line.contains(" / ホスト鍵不一致"), "{line}");
    assert!(!line.contains('\n'));

    // PRI = facility × 8 + severity.
    let cases = [
        (Facility::Auth, Severity::Critical, "<34>1 "),
        (Facility::Authpriv, Severity::Warning, "<84>1 "),
        (Facility::Local7, Severity::Notice, "<189>1 "),
        (Facility::User, Severity::Error, "<11>1 "),
    ];
    for (facility, severity, pri) in cases {
        let line = syslog::format(&alert.clone().with_severity(severity), facility, "h", 1);
        assert!(line.starts_with(pri), "{facility:?} {severity:?}: {line}");
    }
    // No host name: the NILVALUE; spaces can't break the header.
    let line = syslog::format(&alert, Facility::Auth, "", 1);
    assert!(line.contains("Z - fumidai 1 "), "{line}");
    let line = syslog::format(&alert, Facility::Auth, "a b", 1);
    assert!(line.contains("Z ab fumidai 1 "), "{line}");
}

#[test]
fn rfc5424_param_values_are_escaped_and_long_messages_cut_at_a_character() {
    assert_eq!(syslog::param_value(r#"a"b\c]d"#), r#"a\"b\\c\]d"#);
    assert_eq!(syslog::param_value("a\nb"), "a b");
    let long = Alert::high_severity_finding(SessionId::generate(), &"鍵".repeat(5000));
    let line = syslog::format(&long, Facility::Auth, "h", 1);
    assert!(line.len() <= syslog::MAX_MESSAGE, "{}", line.len());
    assert!(line.len() > syslog::MAX_MESSAGE - 4);
}

fn webhook_settings(url: &str, secret: Option<&str>) -> WebhookSettings {
    WebhookSettings {
        url: url.parse().unwrap(),
        secret: secret.map(SecretString::from),
        timeout: Duration::from_secs(5),
        tls: webhook::client_config(rustls::RootCertStore::empty()).unwrap(),
    }
}

/// Head lines and body of an HTTP request.
fn split_request(request: &[u8]) -> (Vec<String>, Vec<u8>) {
    let text = String::from_utf8(request.to_vec()).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (
        head.split("\r\n").map(str::to_owned).collect(),
        body.as_bytes().to_vec(),
    )
}

#[test]
fn the_webhook_request_is_a_signed_json_post() {
    let hook = webhook::Webhook::new(
        webhook_settings(
            "http://alerts.example.jp:8080/hooks/fumidai?x=1",
            Some("s3cret"),
        ),
        "gw01".to_owned(),
    );
    let alert = mismatch();
    let (head, body) = split_request(&hook.request(&alert));
    assert_eq!(head[0], "POST /hooks/fumidai?x=1 HTTP/1.1");
    assert!(
        head.contains(&"Host: alerts.example.jp:8080".to_owned()),
        "{head:?}"
    );
    assert!(
        head.contains(&format!("Content-Length: {}", body.len())),
        "{head:?}"
    );
    assert!(head.contains(&"Content-Type: application/json; charset=utf-8".to_owned()));
    assert!(head.contains(&format!("X-Fumidai-Alert-Id: {}", alert.id)));
    let signature = format!(
        "X-Fumidai-Signature: {}",
        webhook::signature(b"s3cret", &body)
    );
    assert!(head.contains(&signature), "{head:?}");
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc, alert.to_json("gw01"));

    // No secret, no signature; default ports are left out of Host.
    let hook = webhook::Webhook::new(
        webhook_settings("https://h.example.jp", None),
        "gw01".into(),
    );
    let (head, _) = split_request(&hook.request(&alert));
    assert_eq!(head[0], "POST / HTTP/1.1");
    assert!(head.contains(&"Host: h.example.jp".to_owned()), "{head:?}");
    assert!(!head.iter().any(|h| h.starts_with("X-Fumidai-Signature")));
    let hook = webhook::Webhook::new(webhook_settings("http://[::1]:9/x", None), "gw01".into());
    let (head, _) = split_request(&hook.request(&alert));
    assert!(head.contains(&"Host: [::1]:9".to_owned()), "{head:?}");
}

#[test]
fn the_signature_is_hmac_sha256_in_hex() {
    // RFC 4231, test case 2.
    assert_eq!(
        webhook::signature(b"Jefe", b"what do ya want for nothing?"),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn response_status_lines() {
    let cases: [(&[u8], Option<u16>); 6] = [
        (b"HTTP/1.1 204 No Content\r\n\r\n", Some(204)),
        (b"HTTP/1.0 500 Oops\r\nX: y\r\n\r\n", Some(500)),
        (b"HTTP/1.1 200\r\n\r\n", Some(200)),
        (b"SSH-2.0-OpenSSH\r\n", None),
        (b"HTTP/1.1 2000 OK\r\n", None),
        (b"", None),
    ];
    for (head, code) in cases {
        assert_eq!(
            webhook::status_code(head),
            code,
            "{:?}",
            String::from_utf8_lossy(head)
        );
    }
}

#[test]
fn webhook_urls_and_syslog_targets_parse() {
    let url: settings::WebhookUrl = "https://a.example.jp/x".parse().unwrap();
    assert!(url.tls && url.port == 443 && url.host == "a.example.jp" && url.path == "/x");
    let url: settings::WebhookUrl = "http://127.0.0.1:9000".parse().unwrap();
    assert!(!url.tls && url.port == 9000 && url.path == "/");
    for bad in ["ftp://x/", "https://user:pw@x/", "not a url", "/relative"] {
        assert!(bad.parse::<settings::WebhookUrl>().is_err(), "{bad}");
    }
    let cases = [
        ("udp://127.0.0.1:5514", "udp://127.0.0.1:5514"),
        ("udp://logs.example.jp", "udp://logs.example.jp:514"),
        ("udp://[::1]:514", "udp://[::1]:514"),
        ("unix:/dev/log", "unix:/dev/log"),
    ];
    for (text, shown) in cases {
        let parsed: SyslogTarget = text.parse().unwrap();
        assert_eq!(parsed.to_string(), shown);
        assert_eq!(shown.parse::<SyslogTarget>().unwrap(), parsed);
    }
    for bad in [
        "127.0.0.1:514",
        "unix:dev/log",
        "udp://",
        "udp://h:port",
        "tcp://h:1",
    ] {
        assert!(bad.parse::<SyslogTarget>().is_err(), "{bad}");
    }
}

#[test]
fn backoff_doubles_up_to_the_maximum() {
    let retry = Retry::default();
    let waits: Vec<u64> = (1..=7).map(|n| retry.delay_after(n).as_secs()).collect();
    assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
}

#[test]
fn the_mail_is_japanese_then_english() {
    let alert = mismatch();
    let subject = email::subject(&alert);
    assert_eq!(
        subject,
        "[fumidai] 【緊急】ホスト鍵不一致 / [CRITICAL] Host key mismatch (db01)"
    );
    let body = email::body(&alert, "gw01");
    let ja = body.find("ホスト鍵不一致:").unwrap();
    let en = body.find("Host key mismatch:").unwrap();
    assert!(ja < en, "{body}");
    assert!(body.contains("2026-11-03 10:02 JST"), "{body}");
    assert!(body.contains(&alert.id.to_string()));
    assert!(
        body.contains("\"presented\": \"SHA256:presented\""),
        "{body}"
    );
}

/// Accepts one HTTP request on a real socket, answers `status`, and hands the request over.
async fn http_receiver(status: u16) -> (String, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = conn.read(&mut buf).await.unwrap();
                request.extend_from_slice(&buf[..n]);
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .unwrap()
                        .parse()
                        .unwrap();
                    if request.len() >= end + 4 + len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
            conn.write_all(answer.as_bytes()).await.unwrap();
            tx.send(request).await.unwrap();
        }
    });
    (url, rx)
}

#[tokio::test]
async fn the_webhook_delivers_to_a_real_listener_and_classifies_answers() {
    let alert = mismatch();
    let (url, mut rx) = http_receiver(204).await;
    let hook = webhook::Webhook::new(webhook_settings(&url, Some("k")), "gw01".into());
    hook.deliver(&alert).await.unwrap();
    let (head, body) = split_request(&rx.recv().await.unwrap());
    assert_eq!(head[0], "POST /hook HTTP/1.1");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["kind"],
        "host_key_mismatch"
    );

    for (status, transient) in [
        (500, true),
        (503, true),
        (429, true),
        (401, false),
        (404, false),
    ] {
        let (url, _rx) = http_receiver(status).await;
        let hook = webhook::Webhook::new(webhook_settings(&url, None), "gw01".into());
        let err = hook.deliver(&alert).await.unwrap_err();
        assert_eq!(
            matches!(err, DeliveryError::Transient(_)),
            transient,
            "{status}: {err}"
        );
    }

    // Nobody listening: a transient failure, retried later.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let hook = webhook::Webhook::new(webhook_settings(&url, None), "gw01".into());
    assert!(matches!(
        hook.deliver(&alert).await,
        Err(DeliveryError::Transient(_))
    ));
}

#[tokio::test]
async fn a_webhook_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    let mut settings = webhook_settings(&url, None);
    settings.timeout = Duration::from_millis(200);
    let hook = webhook::Webhook::new(settings, "gw01".into());
    let err = hook.deliver(&mismatch()).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Transient(ref m) if m.contains("no answer")),
        "{err}"
    );
}

#[tokio::test]
async fn syslog_sends_one_datagram_to_a_real_udp_socket() {
    let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = receiver.local_addr().unwrap().port();
    let sink = syslog::Syslog::new(
        SyslogSettings {
            target: format!("udp://127.0.0.1:{port}").parse().unwrap(),
            facility: Facility::Auth,
        },
        "gw01".into(),
    );
    let alert = Alert::lock_out(
        &login("alice"),
        Some("192.0.2.7:4000".parse().unwrap()),
        None,
    );
    sink.deliver(&alert).await.unwrap();
    let mut buf = vec![0u8; 65536];
    let n = receiver.recv(&mut buf).await.unwrap();
    let line = String::from_utf8(buf[..n].to_vec()).unwrap();
    assert!(line.starts_with("<36>1 "), "{line}");
    assert!(
        line.contains(" fumidai ") && line.contains(" lock_out [fumidai@32473 kind=\"lock_out\""),
        "{line}"
    );
    assert!(line.contains("engineer=\"alice\""), "{line}");
}

#[tokio::test]
async fn syslog_sends_to_a_unix_datagram_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let receiver = tokio::net::UnixDatagram::bind(&path).unwrap();
    let sink = syslog::Syslog::new(
        SyslogSettings {
            target: SyslogTarget::Unix(path),
            facility: Facility::Authpriv,
        },
        "gw01".into(),
    );
    sink.deliver(&mismatch()).await.unwrap();
    let mut buf = vec![0u8; 65536];
    let n = receiver.recv(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"<82>1 "));
}

/// A sink that fails `failures` times, then records deliveries.
struct Flaky {
    failures: AtomicU32,
    permanent: bool,
    delivered: mpsc::UnboundedSender<Uuid>,
}

#[async_trait]
impl Sink for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }

    async fn deliver(&self, alert: &Alert) -> Result<(), DeliveryError> {
        if self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Err(if self.permanent {
                DeliveryError::Permanent("no".into())
            } else {
                DeliveryError::Transient("later".into())
            });
        }
        self.delivered.send(alert.id).unwrap();
        Ok(())
    }
}

fn flaky(failures: u32, permanent: bool) -> (Arc<dyn Sink>, mpsc::UnboundedReceiver<Uuid>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let sink = Flaky {
        failures: AtomicU32::new(failures),
        permanent,
        delivered: tx,
    };
    (Arc::new(sink), rx)
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_with_backoff() {
    let (sink, mut delivered) = flaky(4, false);
    let alerts = Alerts::with_sinks(vec![sink], Retry::default());
    let alert = mismatch();
    let id = alert.id;
    let started = tokio::time::Instant::now();
    alerts.raise(alert);
    assert_eq!(delivered.recv().await, Some(id));
    // Four waits: 1 + 2 + 4 + 8 seconds of (paused, auto-advanced) time.
    assert_eq!(started.elapsed().as_secs(), 15);
}

#[tokio::test(start_paused = true)]
async fn retries_end_after_the_last_attempt_and_at_a_permanent_failure() {
    let (sink, mut delivered) = flaky(5, false);
    let alerts = Alerts::with_sinks(vec![sink], Retry::default());
    alerts.raise(mismatch());
    // Five failures use up the attempts: the next alert is the next delivered.
    let next = mismatch();
    let next_id = next.id;
    alerts.raise(next);
    assert_eq!(delivered.recv().await, Some(next_id));

    let (sink, mut delivered) = flaky(1, true);
    let alerts = Alerts::with_sinks(vec![sink], Retry::default());
    let started = tokio::time::Instant::now();
    alerts.raise(mismatch());
    let next = mismatch();
    let next_id = next.id;
    alerts.raise(next);
    assert_eq!(delivered.recv().await, Some(next_id));
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "a permanent failure is not retried"
    );
}

/// A sink that never finishes a delivery.
struct Stuck;

#[async_trait]
impl Sink for Stuck {
    fn name(&self) -> &'static str {
        "stuck"
    }

    async fn deliver(&self, _alert: &Alert) -> Result<(), DeliveryError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn raise_never_blocks_even_when_a_sink_is_stuck_and_its_queue_full() {
    let (sink, mut delivered) = flaky(0, false);
    let alerts = Alerts::with_sinks(vec![Arc::new(Stuck), sink], Retry::default());
    let clone = alerts.clone();
    let count = dispatch::QUEUE + 50;
    // On a plain thread, outside the runtime: raise needs no runtime and never waits.
    let raised = std::thread::spawn(move || {
        for _ in 0..count {
            clone.raise(mismatch());
        }
    });
    raised.join().unwrap();
    // The healthy sink still gets every alert its queue could hold, the stuck one didn't
    // hold it up.
    let mut got = 0;
    while got < dispatch::QUEUE {
        delivered.recv().await.unwrap();
        got += 1;
    }
    // And with nothing configured, raising only logs.
    Alerts::log_only().raise(mismatch());
}

// A command that raises alerts and exits (`fumidai report`) waits for them: `settle`
// returns once every delivery is done, says which failed, and gives up at its deadline.
#[tokio::test(start_paused = true)]
async fn settle_waits_for_the_deliveries_up_to_a_deadline() {
    let (good, mut delivered) = flaky(2, false);
    let (bad, _never) = flaky(1, true);
    let alerts = Alerts::with_sinks(vec![good, bad], Retry::default());
    assert_eq!(
        alerts.settle(Duration::ZERO).await,
        dispatch::Deliveries::default()
    );
    let started = tokio::time::Instant::now();
    alerts.raise(mismatch());
    let settled = alerts.clone().settle(Duration::from_secs(60)).await;
    assert_eq!(
        settled,
        dispatch::Deliveries {
            pending: 0,
            delivered: 1,
            failed: 1
        }
    );
    // Two retries of the good sink: 1 + 2 seconds.
    assert_eq!(started.elapsed().as_secs(), 3);
    assert!(delivered.try_recv().is_ok());

    let alerts = Alerts::with_sinks(vec![Arc::new(Stuck)], Retry::default());
    alerts.raise(mismatch());
    let started = tokio::time::Instant::now();
    let settled = alerts.settle(Duration::from_secs(30)).await;
    assert_eq!(settled.pending, 1);
    assert_eq!(started.elapsed().as_secs(), 30);
}

#[test]
fn settings_read_the_secret_files_and_name_the_key_when_one_is_missing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let text = "[alerts]\nwebhook_url = \"http://127.0.0.1:9/\"\n\
                webhook_secret_file = \"secret\"\nsyslog = \"udp://127.0.0.1:514\"\n";
    let config = crate::config::Config::parse(std::path::Path::new("t.toml"), text).unwrap();
    let err = settings::Settings::load(&config.alerts, dir.path()).unwrap_err();
    assert!(err.to_string().contains("webhook_secret_file"), "{err}");

    let path = dir.path().join("secret");
    std::fs::write(&path, "k3y\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = settings::Settings::load(&config.alerts, dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("chmod 600"),
        "a readable secret is refused: {err}"
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let loaded = settings::Settings::load(&config.alerts, dir.path()).unwrap();
    let webhook = loaded.webhook.unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(webhook.secret.unwrap().expose_secret(), "k3y");
    assert!(loaded.syslog.is_some() && loaded.email.is_none());
    let debug = format!(
        "{:?}",
        settings::Settings::load(&config.alerts, dir.path()).unwrap()
    );
    assert!(!debug.contains("k3y"), "{debug}");

    // Nothing configured: nothing read, nothing sent.
    let none = settings::Settings::load(&Default::default(), dir.path()).unwrap();
    assert!(none.webhook.is_none() && none.syslog.is_none() && none.email.is_none());
}
