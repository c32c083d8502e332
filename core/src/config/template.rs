//! The commented `fumidai.toml` that `fumidai init` writes: every key, its value, and why.

use super::*;

/// The commented `fumidai.toml` that `fumidai init` writes.
pub fn commented_template(config: &Config) -> String {
    let c = config;
    let a = &c.alerts;
    format!(
        r#"# fumidai configuration. Every key is optional; the values shown are the defaults
# unless `fumidai init` was given others. Durations take units: "90s", "15m", "1h".

[gateway]
# The vendor-facing mutual-TLS front door: the only port vendors reach (R-13-5).
listen = "{listen}"
# Internal side: the operator console, /healthz and /metrics. Keep it off the vendor side.
ui_listen = "{ui_listen}"
# Name the front door's certificate was issued for (what vendors' clients check).
server_name = "{server_name}"
# The console's HTTPS certificate and key (PEM). Set both for HTTPS; unset, the console
# speaks plain HTTP, which serve allows only on a loopback ui_listen (reverse proxy).
{ui_tls_cert}
{ui_tls_key}

[database]
# sqlite://PATH (relative to this directory) for one box, postgres://... for several nodes.
url = "{db}"

[tls]
# TLS 1.3 only unless this is true; then TLS 1.2 with ECDHE + AEAD suites only (R-13-6).
allow_tls12 = {tls12}
# Clients that haven't finished the TLS handshake by then are dropped.
handshake_timeout = "{hs}"

[limits]
# Connections not yet logged in, at most; more are closed at once.
max_unauthenticated = {max_unauth}
# Time allowed from connect to completed login.
login_grace = "{grace}"
# A session with no input or output this long is cut (R-10.2-TIMEOUT, R-12-6).
idle_timeout = "{idle}"
# The longest a session may last, whatever its plan's window; "0s" switches this off.
max_session = "{max_session}"
# Engineers are warned this long before their session is cut at the window's end.
window_warning = "{window_warning}"
# Longest emergency session (user name ENGINEER:TARGET:emergency, R-10.1-APPROVE).
emergency_max = "{emergency_max}"

[auth]
# Consecutive failed logins that lock an account, and for how long (R-14-6(6)).
lockout_threshold = {threshold}
lockout_duration = "{lock}"
# The name authenticator apps show beside the TOTP entries: the hospital's name, so an
# engineer serving several hospitals tells them apart (a ':' is dropped).
totp_issuer = {issuer}

[certificates]
# Default validity of client certificates issued by `fumidai cert issue`, in days.
client_days = {days}

[transfers]
# Malware scanning of uploads (R-10-6) by ClamAV's clamd: its LocalSocket, or a loopback
# "IP:PORT" for its TCPSocket. Unset: uploads are not scanned. When set, `fumidai serve`
# won't start while clamd doesn't answer, and an upload is refused unless clamd calls it
# clean (fail closed).
{clamd_socket}
# How long clamd may take to take data, and to give its verdict once an upload ends
# (clamd scans then: a large file takes a while).
clamd_timeout = "{clamd_timeout}"
# Uploads larger than this (bytes) are refused while scanning is on. In clamd.conf set
# StreamMaxLength, MaxFileSize and MaxScanSize at least as large, and AlertExceedsMax yes
# (otherwise clamd answers "OK" for files over its limits without scanning them).
max_scan_size = {max_scan_size}
# Files copied over the RDP clipboard larger than this (bytes) are refused: the gateway
# holds each whole while it judges, scans and records it. Larger files go by SFTP.
clipboard_max_file = {clipboard_max_file}

[logging]
# "text" or "json"; filter like "info" or "fumidai_gateway=debug,info" (RUST_LOG overrides).
format = "{format}"
filter = "{filter}"

[report]
# The reconciliation report (R-10-5) checks commands against risk rules. To use the
# hospital's own (a TOML file in the shipped format, relative to the data directory; every
# rule's examples must hold, or serve refuses to start):
{risk_rules}

[alerts]
# Alerts (R-17.1-ALERT): emergency access, lock-outs, target host key mismatches, killed
# sessions, high-severity findings, reports ready. Every sink is optional; with none, alerts
# are only logged. Deliveries are retried (5 tries, 1 s to 30 s apart) in the background and
# never hold up a session or a login.
# Webhook: each alert POSTed as JSON. With a secret file (mode 600, first line), the body is
# signed: header X-Fumidai-Signature: sha256=<hex HMAC-SHA256(secret, body)>.
{webhook_url}
{webhook_secret_file}
webhook_timeout = "{webhook_timeout}"
# Syslog (RFC 5424): "udp://HOST:PORT" or "unix:/dev/log"; facility user, daemon, auth,
# authpriv or local0-local7.
{syslog}
syslog_facility = "{syslog_facility}"
# Mail to the planning managers through an SMTP relay. smtp_tls: "starttls" (required),
# "tls" or "none"; the port is 587, 465 or 25 accordingly unless smtp_port is set. The
# password lives in a file (mode 600), never in this file.
{smtp_host}
{smtp_port}
smtp_tls = "{smtp_tls}"
{smtp_user}
{smtp_password_file}
smtp_timeout = "{smtp_timeout}"
{mail_from}
{mail_to}
# CA certificates (PEM) trusted for https webhooks and SMTP TLS; unset: the system bundle.
{tls_ca_file}
"#,
        listen = c.gateway.listen,
        ui_listen = c.gateway.ui_listen,
        server_name = c.gateway.server_name,
        ui_tls_cert = setting(
            "ui_tls_cert",
            c.gateway
                .ui_tls_cert
                .as_ref()
                .map(|p| quoted(&p.display().to_string())),
            "\"ui.crt\"",
        ),
        ui_tls_key = setting(
            "ui_tls_key",
            c.gateway
                .ui_tls_key
                .as_ref()
                .map(|p| quoted(&p.display().to_string())),
            "\"ui.key\"",
        ),
        db = c.database.url,
        tls12 = c.tls.allow_tls12,
        hs = humantime::format_duration(c.tls.handshake_timeout),
        max_unauth = c.limits.max_unauthenticated,
        grace = humantime::format_duration(c.limits.login_grace),
        idle = humantime::format_duration(c.limits.idle_timeout),
        max_session = humantime::format_duration(c.limits.max_session),
        window_warning = humantime::format_duration(c.limits.window_warning),
        emergency_max = humantime::format_duration(c.limits.emergency_max),
        risk_rules = match &c.report.risk_rules {
            Some(path) => format!("risk_rules = {:?}", path.display().to_string()),
            None => "# risk_rules = \"risk-rules.toml\"".to_owned(),
        },
        threshold = c.auth.lockout_threshold,
        lock = humantime::format_duration(c.auth.lockout_duration),
        issuer = quoted(&c.auth.totp_issuer),
        days = c.certificates.client_days,
        clamd_socket = match &c.transfers.clamd_socket {
            Some(socket) => format!("clamd_socket = {:?}", socket.to_string()),
            None => "# clamd_socket = \"/run/clamav/clamd.ctl\"".to_owned(),
        },
        clamd_timeout = humantime::format_duration(c.transfers.clamd_timeout),
        max_scan_size = c.transfers.max_scan_size,
        clipboard_max_file = c.transfers.clipboard_max_file,
        format = match c.logging.format {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        },
        filter = c.logging.filter,
        webhook_url = setting(
            "webhook_url",
            a.webhook_url.as_ref().map(|u| quoted(&u.to_string())),
            "\"https://alerts.hospital.example.jp/hooks/fumidai\"",
        ),
        webhook_secret_file = setting(
            "webhook_secret_file",
            a.webhook_secret_file
                .as_ref()
                .map(|p| quoted(&p.display().to_string())),
            "\"/etc/fumidai/webhook-secret\"",
        ),
        webhook_timeout = humantime::format_duration(a.webhook_timeout),
        syslog = setting(
            "syslog",
            a.syslog.as_ref().map(|t| quoted(&t.to_string())),
            "\"udp://127.0.0.1:514\"",
        ),
        syslog_facility = a.syslog_facility.as_str(),
        smtp_host = setting(
            "smtp_host",
            a.smtp_host.as_deref().map(quoted),
            "\"mail.hospital.example.jp\"",
        ),
        smtp_port = setting("smtp_port", a.smtp_port.map(|p| p.to_string()), "587"),
        smtp_tls = a.smtp_tls.as_str(),
        smtp_user = setting(
            "smtp_user",
            a.smtp_user.as_deref().map(quoted),
            "\"fumidai\"",
        ),
        smtp_password_file = setting(
            "smtp_password_file",
            a.smtp_password_file
                .as_ref()
                .map(|p| quoted(&p.display().to_string())),
            "\"/etc/fumidai/smtp-password\"",
        ),
        smtp_timeout = humantime::format_duration(a.smtp_timeout),
        mail_from = setting(
            "mail_from",
            a.mail_from.as_ref().map(|m| quoted(&m.to_string())),
            "\"fumidai <fumidai@hospital.example.jp>\"",
        ),
        mail_to = setting(
            "mail_to",
            (!a.mail_to.is_empty()).then(|| {
                let list: Vec<String> = a.mail_to.iter().map(|m| quoted(&m.to_string())).collect();
                format!("[{}]", list.join(", "))
            }),
            "[\"planning-manager@hospital.example.jp\"]",
        ),
        tls_ca_file = setting(
            "tls_ca_file",
            a.tls_ca_file
                .as_ref()
                .map(|p| quoted(&p.display().to_string())),
            "\"/etc/fumidai/hospital-ca.crt\"",
        ),
    ) + &c.floods.template()
        + &c.ssh.template()
}

/// `key = value` when set, else the key commented out with an example.
fn setting(key: &str, value: Option<String>, example: &str) -> String {
    match value {
        Some(value) => format!("{key} = {value}"),
        None => format!("# {key} = {example}"),
    }
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
