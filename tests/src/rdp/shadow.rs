//! A target that requires NLA: FreeRDP's shadow server (`freerdp-shadow-cli /sec:nla`)
//! sharing an Xvfb, its one account in WinPR's SAM file. It stands in for a Windows server
//! with "Network Level Authentication" (no Windows can run here): CredSSP/NTLM server side,
//! refusing everything else.
//!
//! WinPR reads the SAM file from the fixed path `/etc/winpr/SAM`, so this harness writes
//! that file (root only); use one shadow server per test process.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::Display;
use super::fingerprint::Sha256Fingerprint;
use crate::tools::require;

/// The account the shadow server accepts.
pub const SHADOW_USER: &str = "fumidai-nla";

/// A running shadow server, killed on drop.
pub struct ShadowServer {
    child: Child,
    _display: Display,
    home: tempfile::TempDir,
    addr: SocketAddr,
    password: String,
    fingerprint: Sha256Fingerprint,
}

impl ShadowServer {
    /// Starts it with a fresh random password for [`SHADOW_USER`].
    pub fn start() -> Self {
        require("freerdp-shadow-cli");
        require("winpr-hash");
        let password = format!("Nla-{}-9x", std::process::id());
        let sam = Command::new("winpr-hash")
            .args(["-u", SHADOW_USER, "-p", &password, "-f", "sam"])
            .output()
            .expect("winpr-hash");
        assert!(sam.status.success(), "winpr-hash failed");
        std::fs::create_dir_all("/etc/winpr").expect("/etc/winpr");
        std::fs::write("/etc/winpr/SAM", &sam.stdout).expect("write /etc/winpr/SAM");
        let home = tempfile::tempdir().expect("home");
        let cert = home.path().join(".config/freerdp/shadow/shadow.crt");
        let mut failures = String::new();
        // A port picked free may be taken again by a parallel test before the server binds
        // it, and a display may not answer: try another of each.
        let (child, display, addr) = (0..3)
            .find_map(|attempt| {
                let display = Display::start_with_size(1024, 768);
                let (mut child, addr) = spawn(&display, home.path(), attempt);
                let deadline = std::time::Instant::now() + Duration::from_secs(30);
                loop {
                    if let Ok(Some(status)) = child.try_wait() {
                        failures.push_str(&format!("attempt {attempt}: exited {status}\n"));
                        break;
                    }
                    if cert.exists() && std::net::TcpStream::connect(addr).is_ok() {
                        return Some((child, display, addr));
                    }
                    if std::time::Instant::now() > deadline {
                        failures.push_str(&format!("attempt {attempt}: not listening in 30 s\n"));
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                for log in [
                    format!("shadow-{attempt}.log"),
                    format!("shadow-{attempt}.err"),
                ] {
                    failures.push_str(
                        &std::fs::read_to_string(home.path().join(log)).unwrap_or_default(),
                    );
                }
                None
            })
            .unwrap_or_else(|| panic!("the shadow server did not start:\n{failures}"));
        let fingerprint = Sha256Fingerprint::of_pem(&read(&cert));
        Self {
            child,
            _display: display,
            home,
            addr,
            password,
            fingerprint,
        }
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// The account's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Its TLS certificate's fingerprint.
    pub fn fingerprint(&self) -> Sha256Fingerprint {
        self.fingerprint
    }

    /// Its data directory (certificate and key).
    pub fn home(&self) -> &Path {
        self.home.path()
    }
}

/// Starts `freerdp-shadow-cli /sec:nla` on a free loopback port, its output line-buffered
/// into `HOME/shadow-N.{log,err}`.
fn spawn(display: &Display, home: &Path, attempt: u32) -> (Child, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let log = |ext: &str| {
        std::fs::File::create(home.join(format!("shadow-{attempt}.{ext}"))).expect("log file")
    };
    // The display's own command environment (DISPLAY set, no stray XAUTHORITY), as for
    // xdotool and xwd.
    let child = display
        .command("stdbuf")
        .args(["-oL", "-eL", "freerdp-shadow-cli"])
        .arg(format!("/port:{port}"))
        .args(["/bind-address:127.0.0.1", "/sec:nla"])
        .env("HOME", home)
        .stdin(Stdio::null())
        .stdout(log("log"))
        .stderr(log("err"))
        .spawn()
        .expect("start freerdp-shadow-cli");
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Drop for ShadowServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
