//! Locating and running the programs the tests drive.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Variables cargo sets for the package under test (not the user's cargo settings).
fn is_package_variable(key: &str) -> bool {
    const PREFIXES: [&str; 5] = [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
        "CARGO_PRIMARY_PACKAGE",
    ];
    key == "OUT_DIR" || key == "CARGO_TARGET_TMPDIR" || PREFIXES.iter().any(|p| key.starts_with(p))
}

/// The `fumidai` binary, built once per test process; `$FUMIDAI_BIN` when set (the
/// benchmarks point it at the release build).
pub fn fumidai_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("FUMIDAI_BIN") {
            return PathBuf::from(bin);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--quiet", "--bin", "fumidai"])
            .current_dir(workspace_root());
        // Cargo set the package's variables for this test process. ring's build script
        // tracks CARGO_MANIFEST_DIR, CARGO_PKG_NAME, CARGO_PKG_VERSION_* and OUT_DIR, so
        // passing them on made this build and the one that built the tests invalidate
        // each other: ring, rustls, russh and the gateway were recompiled on every run.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if is_package_variable(&key) {
                build.env_remove(key.as_ref());
            }
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "cargo build --bin fumidai failed");
        // Tests run from target/<profile>/deps; the binary sits in target/<profile>.
        let exe = std::env::current_exe().expect("current exe");
        let profile_dir = exe.parent().and_then(|p| p.parent()).expect("target dir");
        let bin = profile_dir.join("fumidai");
        assert!(bin.exists(), "{} missing after build", bin.display());
        bin
    })
    .clone()
}

/// The workspace root (this crate's parent).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// Fails the test with a clear message when a peer program is missing.
pub fn require(program: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "{program} is not installed; run .ci/run (it installs the test peers)"
    );
}

/// The current TOTP code for a base32 secret, from oathtool: an independent
/// implementation of RFC 6238.
pub fn oathtool_code(secret: &str) -> String {
    require("oathtool");
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret])
        .output()
        .expect("run oathtool");
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// The TOTP code of a base32 secret for the time step holding `unix_secs`, from oathtool.
pub fn oathtool_code_at(secret: &str, unix_secs: u64) -> String {
    require("oathtool");
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret, "-N", &format!("@{unix_secs}")])
        .output()
        .expect("run oathtool");
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// Runs a command to completion with a deadline, killing it when it overruns. Its output
/// is read while it runs, so it may print more than a pipe holds (a screenshot is MBs).
pub fn run_with_timeout(cmd: Command, timeout: Duration) -> Output {
    run_with_timeout_stdin(cmd, Stdio::null(), timeout)
}

/// [`run_with_timeout`] with `stdin` as the command's standard input.
pub fn run_with_timeout_stdin(mut cmd: Command, stdin: Stdio, timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // As with `wait_with_output`, a grandchild still holding the pipes delays these.
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    let Some(status) = status else {
        let head = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(4096)]).into_owned();
        panic!(
            "{cmd:?} did not finish within {timeout:?}\nstdout: {}\nstderr: {}",
            head(&stdout),
            head(&stderr)
        );
    };
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Polls `f` until it returns `Some` or the deadline passes.
pub fn wait_for<T>(what: &str, timeout: Duration, f: impl FnMut() -> Option<T>) -> T {
    poll(timeout, f).unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

/// Polls `f` until it returns `Some`, or `None` once the deadline passes.
pub fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}
