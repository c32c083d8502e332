//! A real OpenSSH `sshd` on a loopback port as a maintenance target, with temporary host
//! keys, killed in `Drop`. It runs as root (tests do) and lets `root` in with the key it
//! generates, or with a user certificate signed by a CA it is told to trust.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::tools::{poll, require};

/// A running sshd.
pub struct Sshd {
    /// Its files: config, host key, client key, log.
    pub tmp: TempDir,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its host public key, `TYPE BASE64`, to pin.
    pub host_key: String,
    /// A private key `root` may log in with (OpenSSH format, no passphrase).
    pub client_key: PathBuf,
    child: Child,
}

impl Sshd {
    /// Starts sshd with the default test configuration.
    pub fn start() -> Self {
        Self::start_with("")
    }

    /// Starts sshd with extra configuration lines (e.g. `TrustedUserCAKeys FILE`).
    pub fn start_with(extra: &str) -> Self {
        require("sshd");
        require("ssh-keygen");
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        keygen(&dir.join("host_key"));
        let client_key = dir.join("client_key");
        keygen(&client_key);
        let authorized = std::fs::read_to_string(dir.join("client_key.pub")).expect("client pub");
        std::fs::write(dir.join("authorized_keys"), authorized).expect("authorized_keys");
        let host_key = std::fs::read_to_string(dir.join("host_key.pub")).expect("host pub");
        let host_key = host_key
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        for _ in 0..5 {
            let port = free_port();
            let config = dir.join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
                     AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
                     PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                     LogLevel VERBOSE\nSubsystem sftp internal-sftp\nAcceptEnv LANG LC_* TERM FUMIDAI_*\n{extra}\n",
                    d = dir.display()
                ),
            )
            .expect("sshd_config");
            let log = std::fs::File::create(dir.join("sshd.log")).expect("log");
            let mut child = Command::new(sshd_path())
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn sshd");
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let up = poll(Duration::from_secs(10), || {
                if child.try_wait().ok().flatten().is_some() {
                    return Some(false);
                }
                std::net::TcpStream::connect(addr).ok().map(|_| true)
            });
            if up == Some(true) {
                return Self {
                    tmp,
                    addr,
                    host_key,
                    client_key,
                    child,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "sshd did not start:\n{}",
            std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
        );
    }

    /// What sshd logged so far (its auth.log for this test).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "fumidai-test", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn sshd_path() -> PathBuf {
    ["/usr/sbin/sshd", "/usr/bin/sshd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| "sshd".into())
}
