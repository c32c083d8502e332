//! A real ClamAV `clamd` on a Unix socket in a temporary directory, killed in `Drop`.
//!
//! No signature database can be downloaded here, so it loads one signature of its own:
//! [`Clamd::SIGNATURE`], a body signature matching [`Clamd::MARKER`] anywhere in a file.
//! clamd reports it as `Fumidai.Test.Marker.UNOFFICIAL` (unsigned databases get that
//! suffix). It runs as root (tests do) with `AlertExceedsMax yes`, as fumidai requires of
//! a production clamd, and with [`Clamd::STREAM_MAX_LENGTH`] as its stream, file and scan
//! limits.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::tools::poll;

/// A running clamd.
pub struct Clamd {
    /// Its files: config, database, log, socket, spool.
    pub tmp: TempDir,
    /// Its `LocalSocket`: give it to `[transfers] clamd_socket`.
    pub socket: PathBuf,
    child: Child,
}

impl Clamd {
    /// Bytes that make a file "infected" for this clamd.
    pub const MARKER: &'static [u8] = b"FUMIDAI-TEST-MALWARE-MARKER";
    /// The name of the signature matching [`Self::MARKER`].
    pub const SIGNATURE: &'static str = "Fumidai.Test.Marker";
    /// `StreamMaxLength`, `MaxFileSize` and `MaxScanSize`, in bytes.
    pub const STREAM_MAX_LENGTH: u64 = 32 << 20;

    /// Starts clamd with the default test configuration.
    pub fn start() -> Self {
        Self::start_with("")
    }

    /// Starts clamd with extra clamd.conf lines. They come first, and clamd keeps the
    /// first value of an option, so they override the defaults (e.g. `MaxFileSize 1M`,
    /// `TCPSocket 3310`).
    pub fn start_with(extra: &str) -> Self {
        let clamd = clamd_path();
        assert!(
            clamd.exists(),
            "{} is not installed; run .ci/run (it installs clamav-daemon)",
            clamd.display()
        );
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let db = dir.join("db");
        std::fs::create_dir(&db).expect("database directory");
        // Format `Name:TargetType:Offset:HexSignature`; target 0 = any file, `*` = anywhere.
        let hex = Self::MARKER.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
        std::fs::write(
            db.join("fumidai-test.ndb"),
            format!("{}:0:*:{hex}\n", Self::SIGNATURE),
        )
        .expect("signature file");
        let socket = dir.join("clamd.sock");
        let config = dir.join("clamd.conf");
        let max = Self::STREAM_MAX_LENGTH;
        std::fs::write(
            &config,
            format!(
                "{extra}\nLocalSocket {sock}\nFixStaleSocket yes\nForeground yes\nUser root\n\
                 DatabaseDirectory {db}\nTemporaryDirectory {d}\nLogFile {d}/clamd.log\n\
                 LogTime yes\nLogVerbose yes\nPidFile {d}/clamd.pid\n\
                 StreamMaxLength {max}\nMaxFileSize {max}\nMaxScanSize {max}\n\
                 AlertExceedsMax yes\nSelfCheck 3600\n",
                sock = socket.display(),
                db = db.display(),
                d = dir.display(),
            ),
        )
        .expect("clamd.conf");
        let out = std::fs::File::create(dir.join("clamd.out")).expect("clamd.out");
        let mut child = Command::new(clamd)
            .arg("--config-file")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("clone"))
            .stderr(out)
            .spawn()
            .expect("spawn clamd");
        // The socket appears once the database is loaded.
        let up = poll(Duration::from_secs(30), || {
            if child.try_wait().ok().flatten().is_some() {
                return Some(false);
            }
            std::os::unix::net::UnixStream::connect(&socket)
                .ok()
                .map(|_| true)
        });
        let clamd = Self { tmp, socket, child };
        assert_eq!(up, Some(true), "clamd did not start:\n{}", clamd.log());
        clamd
    }

    /// clamd's output and log so far.
    pub fn log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.path(name)).unwrap_or_default();
        format!("{}{}", read("clamd.out"), read("clamd.log"))
    }

    /// Stops clamd with SIGSTOP: its socket still accepts, but nothing answers (a hung
    /// clamd). [`Self::resume`] undoes it.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Continues a paused clamd.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} clamd");
    }

    /// Kills clamd now (e.g. to see the gateway fail closed); `Drop` is then a no-op.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        self.kill();
    }
}

fn clamd_path() -> PathBuf {
    ["/usr/sbin/clamd", "/usr/bin/clamd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| Path::exists(p))
        .unwrap_or_else(|| "/usr/sbin/clamd".into())
}
