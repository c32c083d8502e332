//! Debian's headless Chromium driven through `chromedriver` over WebDriver (W3C), for the
//! operator console's end-to-end tests: plain HTTP/1.1 with JSON to the driver on a
//! loopback port, a handful of commands (navigate, find, type, click, read, screenshot),
//! killed by PID on drop.
//!
//! Chromium is kept off every network but loopback: background services, component
//! updates and sync are off, and every host name resolves nowhere but 127.0.0.1.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::tools::{poll, require};

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A `chromedriver` process with one headless Chromium session.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `chromedriver` on a free loopback port and a headless Chromium session.
    pub fn start() -> Self {
        require("chromedriver");
        require("chromium");
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("port").port()
        };
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut browser = Self {
            driver,
            port,
            session: String::new(),
            _profile: profile,
        };
        let up = poll(Duration::from_secs(20), || {
            browser
                .call("GET", "/status", None)
                .ok()
                .filter(|v| v["value"]["ready"] == true)
        });
        assert!(up.is_some(), "chromedriver did not come up on {port}");
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,1400".to_owned(),
            "--lang=ja".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-default-apps".to_owned(),
            "--disable-domain-reliability".to_owned(),
            "--disable-features=OptimizationHints,MediaRouter,Translate".to_owned(),
            // Nothing outside this machine: every name resolves nowhere but loopback.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"
                .to_owned(),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let created = browser
            .call(
                "POST",
                "/session",
                Some(json!({
                    "capabilities": {"alwaysMatch": {
                        "browserName": "chrome",
                        "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
                    }}
                })),
            )
            .expect("new WebDriver session");
        browser.session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        browser
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "url", json!({ "url": url }));
    }

    /// Runs `script` (a function body; `return` gives the value) in the page, without
    /// arguments ([`execute`](Self::execute) takes them).
    pub fn eval(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "execute/sync",
            json!({ "script": script, "args": [] }),
        )["value"]
            .clone()
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.cmd_get("url")["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's HTML as the browser holds it now.
    pub fn source(&self) -> String {
        self.cmd_get("source")["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's visible text; empty while a page is loading (no body yet).
    pub fn text(&self) -> String {
        let found = self.call(
            "POST",
            &format!("/session/{}/element", self.session),
            Some(json!({ "using": "css selector", "value": "body" })),
        );
        let Some(body) = found
            .ok()
            .and_then(|v| v["value"][ELEMENT].as_str().map(str::to_owned))
        else {
            return String::new();
        };
        self.call(
            "GET",
            &format!("/session/{}/element/{body}/text", self.session),
            None,
        )
        .ok()
        .and_then(|v| v["value"].as_str().map(str::to_owned))
        .unwrap_or_default()
    }

    /// The first element matching a CSS selector; fails the test when none does.
    pub fn find(&self, css: &str) -> String {
        let found = self.cmd(
            "POST",
            "element",
            json!({ "using": "css selector", "value": css }),
        );
        found["value"][ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    /// Types `text` into the element matching `css`.
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.cmd(
            "POST",
            &format!("element/{element}/value"),
            json!({ "text": text }),
        );
    }

    /// Clicks the element matching `css`.
    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.cmd("POST", &format!("element/{element}/click"), json!({}));
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page and returns its
    /// value. WebDriver runs it outside the page's Content-Security-Policy.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "execute/sync",
            json!({ "script": script, "args": args }),
        )["value"]
            .clone()
    }

    /// Presses the keys of `text` on whatever has the focus (W3C key actions), as a person
    /// typing on the keyboard.
    pub fn keys(&self, text: &str) {
        let mut actions = Vec::new();
        for c in text.chars() {
            actions.push(json!({ "type": "keyDown", "value": c.to_string() }));
            actions.push(json!({ "type": "keyUp", "value": c.to_string() }));
        }
        self.cmd(
            "POST",
            "actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] }),
        );
    }

    /// The text of an open `alert`/`confirm`/`prompt` dialog, if one is open.
    pub fn alert_text(&self) -> Option<String> {
        let v = self
            .call(
                "GET",
                &format!("/session/{}/alert/text", self.session),
                None,
            )
            .ok()?;
        v["value"].as_str().map(str::to_owned)
    }

    /// Saves a PNG of the viewport to `path`.
    pub fn screenshot(&self, path: &Path) {
        let shot = self.cmd_get("screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["value"].as_str().expect("screenshot data"))
            .expect("screenshot base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, png).expect("write screenshot");
    }

    fn cmd_get(&self, what: &str) -> Value {
        self.call("GET", &format!("/session/{}/{what}", self.session), None)
            .unwrap_or_else(|e| panic!("GET {what}: {e}"))
    }

    fn cmd(&self, method: &str, what: &str, body: Value) -> Value {
        let v = self
            .call(
                method,
                &format!("/session/{}/{what}", self.session),
                Some(body),
            )
            .unwrap_or_else(|e| panic!("{method} {what}: {e}"));
        assert!(
            v["value"].get("error").is_none(),
            "{method} {what}: {}",
            v["value"]
        );
        v
    }

    /// One WebDriver call: HTTP/1.1 with JSON on a connection of its own.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| e.to_string())?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
             Content-Length: {len}\r\n\r\n{body}",
            port = self.port,
            len = body.len()
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        // chromedriver keeps the connection open: read the head, then Content-Length bytes.
        let mut response = Vec::new();
        let mut byte = [0_u8; 1];
        while !response.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut byte).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!(
                    "connection closed in the head: {}",
                    String::from_utf8_lossy(&response)
                ));
            }
            response.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&response).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .ok_or_else(|| format!("no Content-Length: {head}"))?;
        let mut body = vec![0_u8; length];
        stream.read_exact(&mut body).map_err(|e| e.to_string())?;
        let json = String::from_utf8_lossy(&body);
        serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where the console's screenshots go: `$CARGO_TARGET_DIR/console-screenshots/`, else
/// the workspace's `target/console-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || crate::tools::workspace_root().join("target"),
        PathBuf::from,
    );
    target.join("console-screenshots")
}
