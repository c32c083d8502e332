//! A real SMTP server, Python's `aiosmtpd` (Debian package `python3-aiosmtpd`), on a
//! loopback port the OS picks, killed in `Drop`.
//!
//! A small script runs aiosmtpd's `SMTP` protocol with a handler that writes every
//! message it accepts to `mail/NNNNN.json`: the envelope (sender, recipients), whether it
//! came over TLS, and the subject, `To` and body as Python's `email` package decodes them
//! (RFC 2047 words, quoted-printable or base64, charsets), so the tests read the mail as a
//! mail client would without a MIME decoder of their own. With a certificate it offers
//! STARTTLS and *requires* it: a client that doesn't upgrade can't send.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::tools::{poll, wait_for};

/// The interpreter that sees Debian's `python3-aiosmtpd` (a `python3` earlier on `PATH`,
/// such as pyenv's, does not).
const PYTHON: &str = "/usr/bin/python3";

/// Runs aiosmtpd: `smtpd.py DIR [CERT KEY]`. Writes the port to `DIR/port` once listening.
const SCRIPT: &str = r#"
import asyncio, email, email.policy, json, os, ssl, sys
from aiosmtpd.smtp import SMTP

directory = sys.argv[1]
mail_dir = os.path.join(directory, "mail")
os.makedirs(mail_dir, exist_ok=True)
tls = None
if len(sys.argv) > 3:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(sys.argv[2], sys.argv[3])

def publish(name, text):
    tmp = os.path.join(directory, name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.rename(tmp, os.path.join(directory, name))

class Handler:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        ssl_object = session.ssl.get("ssl_object") if session.ssl else None
        Handler.count += 1
        publish(os.path.join("mail", "%05d.json" % Handler.count), json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": ssl_object.version() if ssl_object else None,
            "from": str(message["from"]),
            "to": str(message["to"]),
            "subject": str(message["subject"]),
            "body": message.get_content(),
        }, ensure_ascii=False))
        return "250 Message accepted for delivery"

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Handler(), hostname="smtp.test", tls_context=tls, require_starttls=tls is not None),
        "127.0.0.1", 0)
    publish("port", str(server.sockets[0].getsockname()[1]))
    await server.serve_forever()

asyncio.run(main())
"#;

/// A running aiosmtpd.
pub struct Smtpd {
    /// The script, the port file, the log and `mail/`.
    pub tmp: TempDir,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    child: Child,
}

impl Smtpd {
    /// A relay without TLS.
    pub fn start() -> Self {
        Self::spawn(None)
    }

    /// A relay that requires STARTTLS with this certificate and key (PEM files).
    pub fn start_starttls(cert: &Path, key: &Path) -> Self {
        Self::spawn(Some((cert, key)))
    }

    fn spawn(tls: Option<(&Path, &Path)>) -> Self {
        let found = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "aiosmtpd is not installed for {PYTHON}; run .ci/run (it installs python3-aiosmtpd)"
        );
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let script = dir.join("smtpd.py");
        std::fs::write(&script, SCRIPT).expect("smtpd.py");
        let log = std::fs::File::create(dir.join("smtpd.log")).expect("smtpd.log");
        let mut cmd = Command::new(PYTHON);
        cmd.arg(&script).arg(dir);
        if let Some((cert, key)) = tls {
            cmd.arg(cert).arg(key);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone"))
            .stderr(log)
            .spawn()
            .expect("spawn aiosmtpd");
        let port_file = dir.join("port");
        let port = poll(Duration::from_secs(30), || {
            if child.try_wait().ok().flatten().is_some() {
                return Some(None);
            }
            let text = std::fs::read_to_string(&port_file).ok()?;
            Some(text.trim().parse::<u16>().ok())
        })
        .flatten();
        let log = std::fs::read_to_string(dir.join("smtpd.log")).unwrap_or_default();
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("aiosmtpd did not start:\n{log}");
        };
        Self { tmp, port, child }
    }

    /// Every mail accepted so far, in order.
    pub fn mails(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.tmp.path().join("mail"))
            .map(|dir| {
                dir.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).expect("read a mail");
                serde_json::from_str(&text).expect("a mail's JSON")
            })
            .collect()
    }

    /// The first mail whose subject or body contains `needle`, waiting up to `timeout`.
    pub fn wait_mail(&self, needle: &str, timeout: Duration) -> Value {
        wait_for(&format!("a mail with {needle}"), timeout, || {
            self.mails().into_iter().find(|m| {
                [&m["subject"], &m["body"]]
                    .iter()
                    .any(|v| v.as_str().is_some_and(|s| s.contains(needle)))
            })
        })
    }

    /// aiosmtpd's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("smtpd.log")).unwrap_or_default()
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
