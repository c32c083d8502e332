//! FreeRDP 2.11's X11 client, `xfreerdp`, on a [`Display`], its log captured, killed in
//! `Drop`.
//!
//! # How it is run
//!
//! - Under `stdbuf -oL -eL`: FreeRDP's console log writes TRACE/DEBUG/INFO to **stdout**
//!   and WARN and above to stderr (winpr `ConsoleAppender.c`); stdout to a file is block
//!   buffered, so without `stdbuf` the INFO lines arrive late or are lost when the process
//!   is killed. Both streams go to one file.
//! - `/log-level:INFO /log-filters:com.freerdp.core.connection:DEBUG`: INFO everywhere
//!   plus the connection state machine, whose `CONNECTION_STATE_FINALIZATION -->
//!   CONNECTION_STATE_ACTIVE` line is the "connected" signal. (Plain DEBUG logs every PDU.)
//! - `HOME` and `XDG_CONFIG_HOME` in a temporary directory: FreeRDP keeps accepted
//!   certificates in `~/.config/freerdp/known_hosts2`; a shared one would make one test's
//!   answer another test's state.
//! - Standard input `/dev/null`: when a certificate is neither pinned nor ignored FreeRDP
//!   asks `Do you trust the above certificate? (Y/T/N)`; reading fails at once and the
//!   connection is refused instead of hanging.
//!
//! # What it reports (FreeRDP 2.11.7, observed)
//!
//! | situation | log | exit code |
//! |---|---|---|
//! | connected | `… CONNECTION_STATE_FINALIZATION --> CONNECTION_STATE_ACTIVE`, then `Local framebuffer format` | — (runs) |
//! | session logged off on the server (xterm exited) | `ERRINFO_LOGOFF_BY_USER` | 12 (the error-info code 0x0C passed through) |
//! | xrdp's connection process terminated (`SIGTERM`) | `ERRINFO_LOGOFF_BY_USER` | 12 |
//! | server vanished (connection killed, EOF) | `ERRCONNECT_CONNECT_TRANSPORT_FAILED`, `Network disconnect!` | 131 (`XF_EXIT_CONN_FAILED`) |
//! | nothing listening | `ERRCONNECT_CONNECT_TRANSPORT_FAILED` | 147 |
//! | certificate fingerprint mismatch (pinned) | `certificate not trusted, aborting.`, `ERRCONNECT_TLS_CONNECT_FAILED` | 143 |
//! | `/sec:nla` against xrdp (no NLA) | `ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED` | 133 |
//! | wrong password, NLA server that answers with an NTSTATUS (Windows; the prototype's IronRDP acceptor) | `ERRCONNECT_LOGON_FAILURE` (prototype notes) | 134 (`XF_EXIT_LOGON_FAILURE`, by FreeRDP's source; not yet observed here) |
//! | wrong password, NLA server that just closes (`freerdp-shadow-cli /sec:nla`) | `ERRCONNECT_CONNECT_TRANSPORT_FAILED` (after one retry) | 147 |
//! | wrong password, TLS to xrdp | nothing: xrdp shows its login dialog, the client stays connected | — (runs) |
//! | killed by `SIGTERM` | `Caught signal 'Terminated'` and a backtrace | signal |
//!
//! `/cert:fingerprint:sha256:` must be given in colon form (`aa:bb:…`); plain hex is
//! silently not a match ([`Sha256Fingerprint::colon_hex`]).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use super::display::{Display, Window, window_of_pid, x_command};
use super::fingerprint::Sha256Fingerprint;
use crate::tools::{poll, require};

/// xfreerdp's exit codes seen in these tests (`client/X11/xfreerdp.h`, FreeRDP 2.11).
pub mod exit_code {
    /// Ended normally (the user closed the window).
    pub const SUCCESS: i32 = 0;
    /// `ERRINFO_LOGOFF_BY_USER` (0x0C) passed through: the session was logged off.
    pub const LOGOFF_BY_USER: i32 = 12;
    /// `XF_EXIT_CONN_FAILED`: any error without a code of its own, e.g. the server
    /// vanishing mid-session.
    pub const CONN_FAILED: i32 = 131;
    /// `XF_EXIT_AUTH_FAILURE`.
    pub const AUTH_FAILURE: i32 = 132;
    /// `XF_EXIT_NEGO_FAILURE`: no common security protocol.
    pub const NEGO_FAILURE: i32 = 133;
    /// `XF_EXIT_LOGON_FAILURE`: the NLA server refused the credentials.
    pub const LOGON_FAILURE: i32 = 134;
    /// `XF_EXIT_TLS_CONNECT_FAILED`: includes an untrusted certificate.
    pub const TLS_CONNECT_FAILED: i32 = 143;
    /// `XF_EXIT_CONNECT_TRANSPORT_FAILED`: connection refused or closed during set-up.
    pub const CONNECT_TRANSPORT_FAILED: i32 = 147;
}

/// The security protocol xfreerdp insists on (`/sec:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// CredSSP (NLA) over TLS.
    Nla,
    /// TLS, credentials in the Client Info PDU.
    Tls,
    /// Standard RDP security (RC4).
    Rdp,
}

/// How xfreerdp checks the server's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertCheck {
    /// Accept only this certificate (`/cert:fingerprint:sha256:…`).
    Fingerprint(Sha256Fingerprint),
    /// Accept any certificate (`/cert:ignore`).
    DangerIgnore,
}

/// What to connect to and how.
#[derive(Clone, Debug)]
pub struct XfreerdpConfig {
    server: SocketAddr,
    user: String,
    password: String,
    security: Security,
    cert: CertCheck,
    size: (u32, u32),
    extra: Vec<String>,
}

impl XfreerdpConfig {
    /// `/v:SERVER /u:USER /p:PASSWORD`, TLS, the certificate pinned to `fingerprint`,
    /// 1024x768.
    pub fn new(
        server: SocketAddr,
        user: &str,
        password: &str,
        fingerprint: Sha256Fingerprint,
    ) -> Self {
        Self {
            server,
            user: user.to_owned(),
            password: password.to_owned(),
            security: Security::Tls,
            cert: CertCheck::Fingerprint(fingerprint),
            size: (1024, 768),
            extra: Vec::new(),
        }
    }

    /// Sets `/sec:`.
    pub fn security(mut self, security: Security) -> Self {
        self.security = security;
        self
    }

    /// Sets the certificate check.
    pub fn cert(mut self, cert: CertCheck) -> Self {
        self.cert = cert;
        self
    }

    /// Sets `/size:WxH`.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// Adds `+clipboard`.
    pub fn clipboard(self) -> Self {
        self.arg("+clipboard")
    }

    /// Adds `/drive:NAME,PATH`.
    pub fn drive(self, name: &str, path: &Path) -> Self {
        let arg = format!("/drive:{name},{}", path.display());
        self.arg(&arg)
    }

    /// Adds any other argument.
    pub fn arg(mut self, arg: &str) -> Self {
        self.extra.push(arg.to_owned());
        self
    }

    /// The command-line arguments.
    pub fn args(&self) -> Vec<String> {
        let sec = match self.security {
            Security::Nla => "nla",
            Security::Tls => "tls",
            Security::Rdp => "rdp",
        };
        let cert = match self.cert {
            CertCheck::Fingerprint(fp) => format!("/cert:fingerprint:sha256:{}", fp.colon_hex()),
            CertCheck::DangerIgnore => "/cert:ignore".to_owned(),
        };
        let mut args = vec![
            format!("/v:{}:{}", self.server.ip(), self.server.port()),
            format!("/u:{}", self.user),
            format!("/p:{}", self.password),
            format!("/sec:{sec}"),
            cert,
            format!("/size:{}x{}", self.size.0, self.size.1),
            "/log-level:INFO".to_owned(),
            "/log-filters:com.freerdp.core.connection:DEBUG".to_owned(),
        ];
        args.extend(self.extra.iter().cloned());
        args
    }
}

/// A running (or finished) xfreerdp.
pub struct Xfreerdp {
    /// `HOME` and the log.
    tmp: TempDir,
    display: String,
    child: Child,
    status: Option<ExitStatus>,
}

/// How xfreerdp ended.
#[derive(Clone, Debug)]
pub struct XfreerdpExit {
    /// Its exit code, `None` when a signal ended it.
    pub code: Option<i32>,
    /// Everything it logged.
    pub log: String,
}

impl XfreerdpExit {
    /// The FreeRDP error names in the log ([`freerdp_errors`]).
    pub fn errors(&self) -> Vec<String> {
        freerdp_errors(&self.log)
    }
}

impl Xfreerdp {
    /// The log line that says the connection is established.
    pub const CONNECTED: &'static str = "CONNECTION_STATE_FINALIZATION --> CONNECTION_STATE_ACTIVE";

    /// Starts xfreerdp on `display`.
    pub fn start(display: &Display, config: &XfreerdpConfig) -> Self {
        require("xfreerdp");
        require("stdbuf");
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = std::fs::File::create(tmp.path().join("xfreerdp.log")).expect("log");
        let mut cmd = x_command(&display.name(), "stdbuf");
        cmd.args(["-oL", "-eL", "xfreerdp"])
            .args(config.args())
            .env("HOME", tmp.path())
            .env("XDG_CONFIG_HOME", tmp.path().join("config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone"))
            .stderr(log);
        let child = cmd.spawn().expect("spawn xfreerdp");
        Self {
            tmp,
            display: display.name(),
            child,
            status: None,
        }
    }

    /// Its process id (`stdbuf` execs xfreerdp, so this is xfreerdp's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("xfreerdp.log")).unwrap_or_default()
    }

    /// The FreeRDP error names logged so far ([`freerdp_errors`]).
    pub fn errors(&self) -> Vec<String> {
        freerdp_errors(&self.log())
    }

    /// Whether it has exited; its exit once it has.
    pub fn try_exit(&mut self) -> Option<XfreerdpExit> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status.map(|status| XfreerdpExit {
            code: status.code(),
            log: self.log(),
        })
    }

    /// Waits until the connection is established (log line [`Self::CONNECTED`]) and its
    /// window is mapped; returns the window. Panics with the log if xfreerdp exits first
    /// or `timeout` passes. Against xrdp this is reached with a wrong password too (xrdp's
    /// login dialog is a connected session).
    pub fn wait_connected(&mut self, timeout: Duration) -> Window {
        let found = poll(timeout, || {
            if self.try_exit().is_some() {
                return Some(None);
            }
            if !self.log().contains(Self::CONNECTED) {
                return None;
            }
            window_of_pid(&self.display, self.pid()).map(Some)
        });
        match found {
            Some(Some(window)) => window,
            Some(None) => panic!(
                "xfreerdp exited ({:?}) before connecting:\n{}",
                self.status,
                self.log()
            ),
            None => panic!(
                "xfreerdp did not connect within {timeout:?}:\n{}",
                self.log()
            ),
        }
    }

    /// Waits for its log to contain `needle`; panics with the log after `timeout`.
    pub fn wait_log(&mut self, needle: &str, timeout: Duration) {
        let found = poll(timeout, || self.log().contains(needle).then_some(()));
        assert!(
            found.is_some(),
            "xfreerdp did not log {needle:?} within {timeout:?}:\n{}",
            self.log()
        );
    }

    /// Waits for it to exit; panics (and kills it) after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> XfreerdpExit {
        poll(timeout, || self.try_exit()).unwrap_or_else(|| {
            let _ = self.child.kill();
            panic!("xfreerdp did not exit within {timeout:?}:\n{}", self.log())
        })
    }
}

impl Drop for Xfreerdp {
    fn drop(&mut self) {
        // SIGKILL: xfreerdp keeps no state worth a clean exit, and SIGTERM only makes it
        // print a backtrace.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// FreeRDP's error names (`ERRCONNECT_…`, `ERRINFO_…`) in `log`, each once, in order of
/// first appearance.
pub fn freerdp_errors(log: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for prefix in ["ERRCONNECT_", "ERRINFO_"] {
        let mut rest = log;
        while let Some(at) = rest.find(prefix) {
            let tail = rest.get(at..).unwrap_or_default();
            let len = tail
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(tail.len());
            let name = tail.get(..len).unwrap_or_default();
            if name.len() > prefix.len() && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
            rest = tail.get(len..).unwrap_or_default();
        }
    }
    let position = |n: &String| log.find(n.as_str()).unwrap_or(usize::MAX);
    names.sort_by_key(position);
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_from_a_real_log() {
        let log = "\
[08:56:10:532] [24512:24517] [ERROR][com.freerdp.crypto] - certificate not trusted, aborting.
[08:56:10:532] [24512:24517] [ERROR][com.freerdp.core] - transport_connect_tls:freerdp_set_last_error_ex ERRCONNECT_TLS_CONNECT_FAILED [0x00020008]
[08:55:59:602] [24042:24046] [INFO][com.freerdp.core] - ERRINFO_LOGOFF_BY_USER (0x0000000C):The disconnection was initiated by the user logging off their session on the server.
[08:55:59:602] [24042:24046] [ERROR][com.freerdp.core] - rdp_set_error_info:freerdp_set_last_error_ex ERRINFO_LOGOFF_BY_USER [0x0001000C]
";
        assert_eq!(
            freerdp_errors(log),
            ["ERRCONNECT_TLS_CONNECT_FAILED", "ERRINFO_LOGOFF_BY_USER"]
        );
        assert!(freerdp_errors("all good").is_empty());
        assert!(freerdp_errors("ERRCONNECT_ alone").is_empty());
    }

    #[test]
    fn arguments() {
        let fp = Sha256Fingerprint::of_der(b"abc");
        let config = XfreerdpConfig::new("127.0.0.1:3389".parse().unwrap(), "u", "p", fp)
            .size(800, 600)
            .clipboard()
            .drive("share", Path::new("/tmp/x"));
        let args = config.args();
        assert_eq!(args[0], "/v:127.0.0.1:3389");
        assert!(args.contains(&"/sec:tls".to_owned()));
        assert!(args.contains(&format!("/cert:fingerprint:sha256:{}", fp.colon_hex())));
        assert!(args.contains(&"/size:800x600".to_owned()));
        assert!(args.ends_with(&["+clipboard".to_owned(), "/drive:share,/tmp/x".to_owned()]));
        let ignore = XfreerdpConfig::new("127.0.0.1:1".parse().unwrap(), "u", "p", fp)
            .security(Security::Nla)
            .cert(CertCheck::DangerIgnore);
        assert!(ignore.args().contains(&"/cert:ignore".to_owned()));
        assert!(ignore.args().contains(&"/sec:nla".to_owned()));
    }
}
