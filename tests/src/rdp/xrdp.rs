//! A private xrdp 0.9 + xrdp-sesman pair on loopback ports the OS picks, with the Xorg
//! backend (xorgxrdp), killed with its sessions in `Drop`.
//!
//! # How instances are kept apart
//!
//! - Configuration: copies of `/etc/xrdp/xrdp.ini` and `sesman.ini` in a temporary
//!   directory, with ports, log files, certificate and session script changed
//!   (`xrdp -n -c FILE`, `xrdp-sesman -n -c FILE`; `-n` means no fork, no pid file).
//! - **xrdp finds sesman's port in the compiled-in `/etc/xrdp/sesman.ini`**, not in the
//!   file given with `-c` (`xrdp_mm_get_sesman_port`, xrdp 0.9.21), so on a shared machine
//!   there could be only one sesman port. Both daemons therefore run in a private mount
//!   namespace (`unshare --mount`; xrdp joins sesman's with `nsenter`) in which our
//!   `sesman.ini` is bind-mounted over `/etc/xrdp/sesman.ini`, and a directory of ours over
//!   `/run/xrdp`. The latter holds the compiled-in pid-file path (xrdp and sesman refuse
//!   to start when `/run/xrdp/*.pid` exists, even with `-n`) and the socket directory
//!   (`/run/xrdp/sockdir`: xorgxrdp's and chansrv's per-display sockets). Sessions inherit
//!   the namespace. So every test can have its own instance; no `OnceLock` sharing needed.
//!   The namespace also delimits the instance in `Drop`: every process in it is ended,
//!   including a session sesman forked for a login still under way, whose parent may be
//!   gone before it is (a process-tree walk missed those).
//! - Displays: sesman picks the first free display from `X11DisplayOffset` on, judging by
//!   `/tmp/.X11-unix/X<n>` and `/tmp/.X<n>-lock` (shared, as they must be). Each instance
//!   starts from its own offset in 100..600, away from [`Display`](super::Display)'s Xvfb
//!   numbers (0 up), so concurrent instances do not race for one display.
//! - Certificate: each instance generates its own self-signed RSA certificate (CN and
//!   SAN `localhost`/`127.0.0.1`) instead of the machine's `/etc/xrdp/cert.pem`, so a test
//!   can pin it, or start a second instance to play a target whose certificate changed.
//!
//! # The session
//!
//! `DefaultWindowManager` is a script in the temporary directory (`EnableUserWindowManager`
//! off, so nothing in the shared home directory matters) that runs one maximised `xterm`
//! and no window manager: core font `fixed` (built into the X server), cursor not blinking
//! (`+bc`), prompt `$ `, no history file. Its text starts at (3, 3) (a 1-pixel window
//! border, xterm's 2-pixel internal border) in 6x13 cells. Without a window manager the
//! remote X server's focus follows the pointer; the maximised xterm is under it wherever
//! it is, so typed text always lands there. Two screenshots of an idle session are
//! identical.
//!
//! Sessions outlive their connection (`KillDisconnected=false`, the installed default):
//! connecting again as the same user reconnects to the same desktop, as on a real target.
//!
//! # What xrdp does (0.9.21, observed)
//!
//! - No NLA: it selects TLS (`Security protocol: configured [SSL|RDP], requested
//!   [SSL|HYBRID|RDP], selected [SSL]`); `xfreerdp /sec:nla` fails with
//!   `ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED` (exit 133). Test with `/sec:tls`.
//! - A wrong password does **not** end the connection: xrdp logs `login failed for user
//!   USER` (sesman: `pam_authenticate failed` and `AUTHFAIL: user=USER`) about 3 s later
//!   (PAM's fail delay) and shows its own "Connection Log" dialog inside the still-open
//!   connection; xfreerdp stays connected (its log reaches `CONNECTION_STATE_ACTIVE`
//!   either way). The oracle is [`Xrdp::log`], not xfreerdp's exit.
//! - A right password: `login successful for user USER on display N`, then sesman starts
//!   Xorg, chansrv and the session script (`Session started successfully`).
//! - Timings here (2 cores): `Xrdp::start` about 0.35 s (mostly the RSA key); xfreerdp
//!   connected about 1.4 s after it starts, the first desktop (Xorg + xterm) drawn and
//!   still about 2.3 s after; `Drop` about 0.05 s.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rustix::process::Signal;
use tempfile::TempDir;

use super::fingerprint::Sha256Fingerprint;
use super::procs;
use super::target_user::{TargetUser, target_user};
use crate::tools::{poll, require, run_with_timeout};

/// A running xrdp and sesman.
pub struct Xrdp {
    /// Configuration, certificate, session script, logs, and the directory mounted over
    /// `/run/xrdp` in the daemons' namespace.
    tmp: TempDir,
    addr: SocketAddr,
    fingerprint: Sha256Fingerprint,
    user: &'static TargetUser,
    /// The daemons' private mount namespace: every process in it is this instance's, and
    /// `Drop` ends them all.
    namespace: String,
    sesman: Child,
    xrdp: Child,
}

impl Xrdp {
    /// Starts xrdp and sesman; returns once both accept connections.
    pub fn start() -> Self {
        for program in [
            "xrdp",
            "xrdp-sesman",
            "xterm",
            "openssl",
            "unshare",
            "nsenter",
        ] {
            require(program);
        }
        for file in [XORG, XORGXRDP_DRIVER] {
            assert!(
                Path::new(file).exists(),
                "{file} is missing; run .ci/run (it installs xorgxrdp)"
            );
        }
        let user = target_user();
        let tmp = tempfile::Builder::new()
            .prefix("fumidai-xrdp-")
            .permissions(std::fs::Permissions::from_mode(0o755))
            .tempdir()
            .expect("tempdir");
        let dir = tmp.path();
        make_certificate(dir);
        let fingerprint = Sha256Fingerprint::of_pem(
            &std::fs::read_to_string(dir.join("cert.pem")).expect("cert.pem"),
        );
        write_executable(&dir.join("session.sh"), SESSION_SCRIPT);
        std::fs::write(dir.join("bashrc"), BASHRC).expect("bashrc");
        let run = dir.join("run");
        std::fs::create_dir(&run).expect("run dir");
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        // The bind mount needs a mount point; a fresh machine without the xrdp service
        // running may not have one.
        std::fs::create_dir_all("/run/xrdp").expect("/run/xrdp");
        let offset = display_offset();
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let sesman_port = free_port();
            write_configs(dir, port, sesman_port, offset);
            match spawn_pair(dir, port, sesman_port) {
                Ok((namespace, sesman, xrdp)) => {
                    return Self {
                        tmp,
                        addr: SocketAddr::from(([127, 0, 0, 1], port)),
                        fingerprint,
                        user,
                        namespace,
                        sesman,
                        xrdp,
                    };
                }
                Err(log) => last_log = log,
            }
        }
        panic!("xrdp did not start:\n{last_log}");
    }

    /// Where xrdp listens.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// The target account's name.
    pub fn user(&self) -> &str {
        self.user.name
    }

    /// The target account's password.
    pub fn password(&self) -> &str {
        &self.user.password
    }

    /// SHA-256 of the DER certificate xrdp presents in the TLS handshake.
    pub fn fingerprint(&self) -> Sha256Fingerprint {
        self.fingerprint
    }

    /// The certificate xrdp presents (PEM).
    pub fn certificate(&self) -> PathBuf {
        self.tmp.path().join("cert.pem")
    }

    /// xrdp's and sesman's logs so far, one after the other.
    pub fn log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.tmp.path().join(name));
        let mut all = String::new();
        for name in ["xrdp.log", "xrdp.out", "sesman.log", "sesman.out"] {
            if let Ok(text) = read(name) {
                let _ = writeln!(all, "==== {name}\n{text}");
            }
        }
        all
    }

    /// Waits until xrdp's or sesman's log contains `needle`; panics with the logs after
    /// `timeout`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) {
        let found = poll(timeout, || self.log().contains(needle).then_some(()));
        assert!(
            found.is_some(),
            "xrdp did not log {needle:?} within {timeout:?}:\n{}",
            self.log()
        );
    }

    /// The X display of the session sesman started (the latest), if any.
    pub fn session_display(&self) -> Option<u32> {
        let log = std::fs::read_to_string(self.tmp.path().join("sesman.log")).ok()?;
        log.lines()
            .rev()
            .find_map(|l| {
                l.split_once("Starting session: ")?
                    .1
                    .split_once(", display :")
            })
            .and_then(|(_, rest)| rest.split(['.', ',']).next()?.parse().ok())
    }

    /// Kills xrdp's per-connection processes with `SIGKILL`: to a client the server
    /// vanishes without a word (TCP reset/EOF). The listener and the sessions stay.
    pub fn kill_connections(&self) {
        for pid in procs::descendants(self.xrdp.id()) {
            procs::signal(pid, Signal::KILL);
        }
    }
}

impl Drop for Xrdp {
    fn drop(&mut self) {
        let display = self.session_display();
        procs::terminate_namespace(
            &self.namespace,
            &mut [&mut self.sesman, &mut self.xrdp],
            GRACE,
        );
        // An X server killed with SIGKILL leaves its lock and socket; sesman would skip the
        // display, but others may not. Remove them once their owner is gone.
        if let Some(n) = display {
            remove_stale_x_files(n);
        }
    }
}

/// How long processes get to exit after `SIGTERM` before `SIGKILL`.
const GRACE: Duration = Duration::from_secs(5);
const XORG: &str = "/usr/lib/xorg/Xorg";
const XORGXRDP_DRIVER: &str = "/usr/lib/xorg/modules/drivers/xrdpdev_drv.so";

/// The session: one maximised xterm, nothing animated (see the module docs). sesman runs
/// it by its absolute path, so `$0` locates `bashrc` beside it.
const SESSION_SCRIPT: &str = "#!/bin/sh\n\
# fumidai e2e: a plain, still desktop on which typed text appears.\n\
exec xterm +bc -maximized -fn fixed -xrm 'XTerm*cursorBlink: false' \\\n\
  -e bash --rcfile \"$(dirname \"$0\")/bashrc\" -i\n";

/// The session shell's start-up file. An interactive bash ignores `SIGTERM`; the trap
/// lets `Drop` end it before xterm, so that xterm, and not init, reaps it (init does not
/// reap in a container without one, and each session would leave a zombie).
const BASHRC: &str = "PS1='$ '\nunset HISTFILE\ntrap exit TERM\n";

/// A display offset for this instance: per process and per instance, in 100..600 (sesman
/// probes ports `59NN`, `60NN`, `62NN` as text, which stay valid up to display 655).
fn display_offset() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    100 + (std::process::id().wrapping_mul(7).wrapping_add(n * 10)) % 450
}

fn make_certificate(dir: &Path) {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
    ])
    .arg(dir.join("key.pem"))
    .arg("-out")
    .arg(dir.join("cert.pem"));
    let out = run_with_timeout(cmd, Duration::from_secs(30));
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::set_permissions(dir.join("key.pem"), std::fs::Permissions::from_mode(0o600))
        .expect("chmod key");
}

fn write_configs(dir: &Path, port: u16, sesman_port: u16, offset: u32) {
    let d = dir.display();
    let xrdp = std::fs::read_to_string("/etc/xrdp/xrdp.ini").expect("/etc/xrdp/xrdp.ini");
    let xrdp = [
        ("Globals", "port", format!("tcp://127.0.0.1:{port}")),
        ("Globals", "certificate", format!("{d}/cert.pem")),
        ("Globals", "key_file", format!("{d}/key.pem")),
        ("Logging", "LogFile", format!("{d}/xrdp.log")),
        ("Logging", "LogLevel", "INFO".into()),
        ("Logging", "EnableSyslog", "false".into()),
    ]
    .iter()
    .fold(xrdp, |text, (s, k, v)| set_ini(&text, s, k, v));
    std::fs::write(dir.join("xrdp.ini"), xrdp).expect("xrdp.ini");
    let sesman = std::fs::read_to_string("/etc/xrdp/sesman.ini").expect("/etc/xrdp/sesman.ini");
    let sesman = [
        ("Globals", "ListenAddress", "127.0.0.1".into()),
        ("Globals", "ListenPort", sesman_port.to_string()),
        ("Globals", "EnableUserWindowManager", "false".into()),
        ("Globals", "DefaultWindowManager", format!("{d}/session.sh")),
        ("Sessions", "X11DisplayOffset", offset.to_string()),
        ("Logging", "LogFile", format!("{d}/sesman.log")),
        ("Logging", "LogLevel", "INFO".into()),
        ("Logging", "EnableSyslog", "false".into()),
        ("ChansrvLogging", "EnableSyslog", "false".into()),
        // The channel server's log is the target-side witness of which virtual channels
        // (clipboard, drives) reached the session: `clipboard_init` is a DEBUG line.
        ("ChansrvLogging", "LogLevel", "DEBUG".into()),
    ]
    .iter()
    .fold(sesman, |text, (s, k, v)| set_ini(&text, s, k, v));
    std::fs::write(dir.join("sesman.ini"), sesman).expect("sesman.ini");
}

/// Starts sesman in a new mount namespace and xrdp in the same one; returns the
/// namespace and both, or `Err(logs)` when either exits or does not listen in time.
fn spawn_pair(dir: &Path, port: u16, sesman_port: u16) -> Result<(String, Child, Child), String> {
    let out = |name: &str| std::fs::File::create(dir.join(name)).expect("log file");
    for name in ["xrdp.log", "sesman.log"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let sesman_out = out("sesman.out");
    let mut sesman = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(
            "mount --bind \"$1\"/sesman.ini /etc/xrdp/sesman.ini && \
             mount --bind \"$1\"/run /run/xrdp && \
             exec xrdp-sesman -n -c \"$1\"/sesman.ini",
        )
        .arg("sh")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(sesman_out.try_clone().expect("clone"))
        .stderr(sesman_out)
        .spawn()
        .expect("spawn xrdp-sesman");
    let logs = || {
        let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap_or_default();
        format!(
            "==== sesman.out\n{}==== sesman.log\n{}==== xrdp.out\n{}==== xrdp.log\n{}",
            read("sesman.out"),
            read("sesman.log"),
            read("xrdp.out"),
            read("xrdp.log")
        )
    };
    if !listening(&mut sesman, sesman_port) {
        procs::terminate(&mut sesman, GRACE);
        return Err(logs());
    }
    // Listening means the `mount`s ran and `sh` exec'd sesman: its namespace is the
    // instance's.
    let namespace = procs::mount_namespace(sesman.id()).expect("sesman's mount namespace");
    assert_ne!(
        procs::mount_namespace(std::process::id()),
        Some(namespace.clone()),
        "unshare did not give sesman a mount namespace of its own"
    );
    let xrdp_out = out("xrdp.out");
    let mut xrdp = Command::new("nsenter")
        .arg(format!("--target={}", sesman.id()))
        .args(["--mount", "xrdp", "-n", "-c"])
        .arg(dir.join("xrdp.ini"))
        .stdin(Stdio::null())
        .stdout(xrdp_out.try_clone().expect("clone"))
        .stderr(xrdp_out)
        .spawn()
        .expect("spawn xrdp");
    if !listening(&mut xrdp, port) {
        procs::terminate_namespace(&namespace, &mut [&mut sesman, &mut xrdp], GRACE);
        return Err(logs());
    }
    Ok((namespace, sesman, xrdp))
}

/// Polls until something accepts on `port` (sesman binds `::1` or `127.0.0.1` depending
/// on how it resolves `ListenAddress`, so both are tried) or `child` exits.
fn listening(child: &mut Child, port: u16) -> bool {
    let addrs = [
        SocketAddr::from(([127, 0, 0, 1], port)),
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
    ];
    let up = poll(Duration::from_secs(10), || {
        if child.try_wait().ok().flatten().is_some() {
            return Some(false);
        }
        addrs
            .iter()
            .any(|a| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_ok())
            .then_some(true)
    });
    up == Some(true)
}

/// Sets `key=value` in `[section]` of an ini text, replacing the key's line or adding it
/// at the end of the section.
fn set_ini(text: &str, section: &str, key: &str, value: &str) -> String {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut done = false;
    let header = format!("[{section}]");
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            if current == header && !done {
                out.push(format!("{key}={value}"));
                done = true;
            }
            current = trimmed.to_owned();
        } else if current == header
            && !done
            && trimmed
                .split_once('=')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        {
            out.push(format!("{key}={value}"));
            done = true;
            continue;
        }
        out.push(line.to_owned());
    }
    if !done {
        if current != header {
            out.push(header);
        }
        out.push(format!("{key}={value}"));
    }
    out.join("\n") + "\n"
}

fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Removes `/tmp/.X<n>-lock` and `/tmp/.X11-unix/X<n>` when the lock's owner is gone.
fn remove_stale_x_files(n: u32) {
    let lock = format!("/tmp/.X{n}-lock");
    let owner = std::fs::read_to_string(&lock)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok());
    if owner.is_some_and(|pid| !procs::alive(pid)) {
        let _ = std::fs::remove_file(&lock);
        let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{n}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_ini_replaces_in_the_right_section_only() {
        let text = "[Globals]\nport=3389\n[Xorg]\nport=-1\n";
        assert_eq!(
            set_ini(text, "Globals", "port", "tcp://127.0.0.1:1"),
            "[Globals]\nport=tcp://127.0.0.1:1\n[Xorg]\nport=-1\n"
        );
        assert_eq!(
            set_ini(text, "Xorg", "code", "20"),
            "[Globals]\nport=3389\n[Xorg]\nport=-1\ncode=20\n"
        );
        assert_eq!(
            set_ini(text, "Globals", "fork", "true"),
            "[Globals]\nport=3389\nfork=true\n[Xorg]\nport=-1\n"
        );
        assert!(
            set_ini(text, "Logging", "LogLevel", "INFO").ends_with("[Logging]\nLogLevel=INFO\n")
        );
    }

    #[test]
    fn display_offsets_stay_in_range() {
        for _ in 0..100 {
            let offset = display_offset();
            assert!((100..550).contains(&offset), "{offset}");
        }
    }
}
