//! The data directory: where `fumidai init` puts the configuration, the database, the keys
//! and the certificates, and where every other command finds them.
//!
//! Secret files are written with mode 0600 and `create_new`, so an existing key is never
//! overwritten; the directory itself is 0700.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The files of a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

macro_rules! file {
    ($(#[$doc:meta])* $fn:ident, $name:literal) => {
        $(#[$doc])*
        pub fn $fn(&self) -> PathBuf {
            self.root.join($name)
        }
    };
}

impl DataDir {
    /// The data directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    file!(
        /// `fumidai.toml`.
        config, "fumidai.toml");
    file!(
        /// The default SQLite database.
        database, "fumidai.db");
    file!(
        /// Key that seals secrets at rest (TOTP seeds, target credentials).
        master_key, "master.key");
    file!(
        /// fumidai's CA certificate, handed to vendors to pin.
        ca_cert, "ca.crt");
    file!(
        /// The CA's private key.
        ca_key, "ca.key");
    file!(
        /// The front door's certificate.
        server_cert, "server.crt");
    file!(
        /// The front door's private key.
        server_key, "server.key");
    file!(
        /// The SSH service's host key (OpenSSH format).
        ssh_host_key, "ssh_host_ed25519_key");
    file!(
        /// fumidai's SSH user CA (Ed25519, OpenSSH format), which signs the per-session
        /// certificates for targets registered with `--auth cert`. Not the TLS CA.
        ssh_ca_key, "ssh_user_ca_ed25519_key");
    file!(
        /// The gateway's Ed25519 key that signs recordings and reports (PKCS#8 PEM).
        signing_key, "signing.key");
    file!(
        /// Its public half, for auditors.
        signing_public_key, "signing.pub");
    file!(
        /// Session recordings.
        recordings, "recordings");
    file!(
        /// This gateway node's identity (a UUID, made by the first `serve`): stored with
        /// each session, so that after a crash the node ends its own sessions only. A data
        /// directory copied to make another node must not keep it.
        node_id, "node.id");

    /// Resolves a `sqlite://` URL whose path is relative against this directory; other URLs
    /// are returned unchanged.
    pub fn resolve_database_url(&self, url: &str) -> String {
        match url.strip_prefix("sqlite://") {
            Some(path) if !path.starts_with('/') => {
                format!("sqlite://{}", self.root.join(path).display())
            }
            _ => url.to_owned(),
        }
    }

    /// Whether the directory exists and holds anything.
    pub fn is_populated(&self) -> std::io::Result<bool> {
        match fs::read_dir(&self.root) {
            Ok(mut entries) => Ok(entries.next().is_some()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Creates `dir` (and parents) and sets it to mode 0700.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// Writes a new secret file with mode 0600; fails if it exists.
pub fn write_secret(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_new(path, contents, 0o600)
}

/// Writes a new public file with mode 0644; fails if it exists.
pub fn write_public(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_new(path, contents, 0o644)
}

fn write_new(path: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

/// Reads a secret file, refusing one that others can read: a key left world-readable is a
/// key that may have leaked.
pub fn read_secret(path: &Path) -> std::io::Result<zeroize::Zeroizing<Vec<u8>>> {
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "{} is accessible to other users (mode {:o}); run chmod 600 on it",
                path.display(),
                mode & 0o777
            ),
        ));
    }
    fs::read(path).map(zeroize::Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        write_secret(&p, b"one").unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(write_secret(&p, b"two").is_err());
        assert_eq!(read_secret(&p).unwrap().as_slice(), b"one");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_secret(&p).is_err());
    }

    #[test]
    fn relative_sqlite_urls_resolve_inside_the_data_dir() {
        let d = DataDir::new("/var/lib/fumidai");
        assert_eq!(
            d.resolve_database_url("sqlite://fumidai.db"),
            "sqlite:///var/lib/fumidai/fumidai.db"
        );
        assert_eq!(
            d.resolve_database_url("sqlite:///srv/x.db"),
            "sqlite:///srv/x.db"
        );
        assert_eq!(d.resolve_database_url("postgres://h/db"), "postgres://h/db");
    }
}
