//! `fumidai connect rdp TARGET GW --no-launch`, as a vendor's laptop runs it: the password
//! and the current TOTP code answered on standard input, the single-use credential and the
//! tunnel's local address read from its JSON line, the process (and so the tunnel) killed
//! on drop.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::gateway::{Engineer, Gateway};
use crate::rdp::{Security, Sha256Fingerprint, XfreerdpConfig};
use crate::tools::{fumidai_bin, oathtool_code};

/// A running tunnel with its credential.
pub struct RdpTunnel {
    child: Child,
    /// The JSON line `--no-launch` printed.
    pub info: Value,
}

/// What `connect rdp` said when it got no credential.
#[derive(Debug)]
pub struct TunnelRefused {
    /// Its exit code.
    pub code: Option<i32>,
    /// Its standard error.
    pub stderr: String,
}

impl RdpTunnel {
    /// Logs `engineer` in for `target` through `gw` and opens the tunnel.
    pub fn open(gw: &Gateway, engineer: &Engineer, target: &str) -> Result<Self, TunnelRefused> {
        Self::open_with(gw, engineer, target, &[])
    }

    /// As [`open`](Self::open), with extra arguments (e.g. `--emergency REASON`).
    pub fn open_with(
        gw: &Gateway,
        engineer: &Engineer,
        target: &str,
        extra: &[&str],
    ) -> Result<Self, TunnelRefused> {
        let code = oathtool_code(&engineer.totp_secret);
        let certs = &engineer.certs;
        let mut child = Command::new(fumidai_bin())
            .args(["connect", "rdp", target, &gw.front_door()])
            .arg("--cert")
            .arg(&certs.crt)
            .arg("--key")
            .arg(&certs.key)
            .arg("--ca")
            .arg(&certs.ca)
            .args(["--server-name", "localhost", "--no-launch"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start fumidai connect rdp");
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{}\n{code}", engineer.password).expect("answer the prompts");
        drop(stdin);
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        if read.is_err() || line.trim().is_empty() {
            let status = child.wait().ok();
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
            }
            return Err(TunnelRefused {
                code: status.and_then(|s| s.code()),
                stderr,
            });
        }
        let info: Value = serde_json::from_str(line.trim()).expect("connect rdp --no-launch JSON");
        Ok(Self { child, info })
    }

    /// The tunnel's local `HOST:PORT`.
    pub fn address(&self) -> String {
        self.field("listen")
    }

    /// The single-use user name.
    pub fn user(&self) -> String {
        self.field("user")
    }

    /// The single-use password.
    pub fn password(&self) -> String {
        self.field("password")
    }

    /// The gateway certificate's fingerprint, as the client pins it.
    pub fn pin(&self) -> Sha256Fingerprint {
        Sha256Fingerprint::from_hex(&self.field("cert_sha256"))
    }

    /// An `xfreerdp /sec:nla` configuration for the tunnel with `user` and `password`
    /// (the tunnel's own credential, or another to try), the gateway certificate pinned.
    pub fn config(&self, user: &str, password: &str) -> XfreerdpConfig {
        let address: SocketAddr = self.address().parse().expect("tunnel address");
        XfreerdpConfig::new(address, user, password, self.pin()).security(Security::Nla)
    }

    fn field(&self, name: &str) -> String {
        self.info[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {}", self.info))
            .to_owned()
    }
}

impl Drop for RdpTunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
