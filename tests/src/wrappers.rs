//! The TLS leg made by something other than `fumidai connect` as a ProxyCommand: `fumidai
//! connect --listen` (a local port, for tools without a ProxyCommand) and stunnel in client
//! mode with the engineer's certificate (Debian's `stunnel4`; the same configuration works
//! on Windows, for PuTTY, WinSCP and Tera Term users without fumidai's binary).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::gateway::{CertFiles, Gateway};
use crate::tools::{fumidai_bin, require, wait_for};

/// A local forwarder to the gateway's front door, killed on drop.
pub struct Forwarder {
    /// The local port clients connect to.
    pub port: u16,
    child: Child,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn wait_listening(port: u16) {
    wait_for(
        &format!("a listener on 127.0.0.1:{port}"),
        Duration::from_secs(20),
        || std::net::TcpStream::connect(("127.0.0.1", port)).ok(),
    );
}

/// `fumidai connect FRONT_DOOR --listen 127.0.0.1:PORT` with `certs`.
pub fn fumidai_listen(gw: &Gateway, certs: &CertFiles) -> Forwarder {
    let port = free_port();
    let child = Command::new(fumidai_bin())
        .args(["connect", &gw.front_door(), "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--cert")
        .arg(&certs.crt)
        .arg("--key")
        .arg(&certs.key)
        .arg("--ca")
        .arg(&certs.ca)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("fumidai connect --listen");
    wait_listening(port);
    Forwarder {
        port,
        child,
        _dir: None,
    }
}

/// The stunnel client configuration a vendor uses (README, "Without fumidai's binary").
pub fn stunnel_config(front_door: &str, port: u16, certs: &CertFiles, server_name: &str) -> String {
    format!(
        "foreground = yes\n\
         pid =\n\
         [fumidai]\n\
         client = yes\n\
         accept = 127.0.0.1:{port}\n\
         connect = {front_door}\n\
         sni = {server_name}\n\
         cert = {crt}\n\
         key = {key}\n\
         CAfile = {ca}\n\
         verifyChain = yes\n\
         checkHost = {server_name}\n\
         sslVersionMin = TLSv1.3\n",
        crt = certs.crt.display(),
        key = certs.key.display(),
        ca = certs.ca.display(),
    )
}

/// stunnel in client mode in front of the gateway, with `certs`, killed on drop.
pub fn stunnel(gw: &Gateway, certs: &CertFiles) -> Forwarder {
    require("stunnel4");
    let port = free_port();
    let dir = tempfile::tempdir_in(gw.tmp.path()).expect("tempdir");
    let conf = dir.path().join("fumidai.conf");
    std::fs::write(
        &conf,
        stunnel_config(&gw.front_door(), port, certs, "localhost"),
    )
    .expect("write stunnel.conf");
    let log = dir.path().join("stunnel.log");
    let child = Command::new("stunnel4")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("stunnel4");
    wait_listening(port);
    Forwarder {
        port,
        child,
        _dir: Some(dir),
    }
}

/// The gateway's public host key line (`ssh-ed25519 AAAA…`).
pub fn gateway_public_key(gw: &Gateway) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(gw.data.join("ssh_host_ed25519_key"))
        .output()
        .expect("ssh-keygen -y");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A `known_hosts` file naming the gateway as `[127.0.0.1]:PORT`.
pub fn known_hosts(gw: &Gateway, dir: &Path, port: u16) -> std::path::PathBuf {
    let path = dir.join(format!("known_hosts-{port}"));
    std::fs::write(
        &path,
        format!("[127.0.0.1]:{port} {}\n", gateway_public_key(gw)),
    )
    .expect("write known_hosts");
    path
}
