//! The Linux account the tests log in to over RDP: `fumidai-rdp`, created once per
//! machine and shared by every [`Xrdp`](super::Xrdp).
//!
//! A user per test would need `useradd`/`userdel` around every test (they fail while
//! another process holds the `/etc/passwd` lock) and would leave accounts behind whenever
//! a test process is killed. One account is enough: each `Xrdp` has its own sesman, so two
//! tests never share a session, only the home directory (`.Xauthority`, which `xauth`
//! locks, and one `.xorgxrdp.N.log` per display).
//!
//! Its password is random, made on first use and kept in [`PASSWORD_FILE`] (root only).
//! Each test process sets it again with `chpasswd` (same value, so concurrent test
//! processes do not disturb each other), which also repairs a password changed by hand.
//! An exclusive lock on [`LOCK_FILE`] serialises this between processes.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The account's name.
pub const USER: &str = "fumidai-rdp";
/// Where its password is kept between test processes.
pub const PASSWORD_FILE: &str = "/var/lib/fumidai-e2e/rdp-target.password";
/// Serialises account set-up between concurrent test processes.
pub const LOCK_FILE: &str = "/var/lib/fumidai-e2e/rdp-target.lock";

/// The RDP target account.
#[derive(Debug)]
pub struct TargetUser {
    /// Its login name.
    pub name: &'static str,
    /// Its password (a test secret: random per machine, never a real one).
    pub password: String,
}

/// The target account, set up on first use in this process.
pub fn target_user() -> &'static TargetUser {
    static USER_ONCE: OnceLock<TargetUser> = OnceLock::new();
    USER_ONCE.get_or_init(set_up)
}

fn set_up() -> TargetUser {
    std::fs::create_dir_all("/var/lib/fumidai-e2e").expect("create /var/lib/fumidai-e2e");
    let lock = File::create(LOCK_FILE).expect("open lock file");
    lock.lock().expect("lock the target account");
    if !user_exists() {
        run(Command::new("useradd").args(["-m", "-s", "/bin/bash", USER]));
    }
    let password = stored_password().unwrap_or_else(|| {
        let fresh = random_password();
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(PASSWORD_FILE)
            .expect("write the password file");
        file.write_all(fresh.as_bytes()).expect("write password");
        fresh
    });
    let _ = std::fs::set_permissions(PASSWORD_FILE, std::fs::Permissions::from_mode(0o600));
    let mut chpasswd = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chpasswd");
    chpasswd
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{USER}:{password}\n").as_bytes())
        .expect("feed chpasswd");
    let out = chpasswd.wait_with_output().expect("chpasswd");
    assert!(
        out.status.success(),
        "chpasswd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(lock);
    TargetUser {
        name: USER,
        password,
    }
}

fn user_exists() -> bool {
    Command::new("id")
        .args(["-u", USER])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn stored_password() -> Option<String> {
    let text = std::fs::read_to_string(PASSWORD_FILE).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn random_password() -> String {
    let mut bytes = [0u8; 12];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("Rdp-{hex}")
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
