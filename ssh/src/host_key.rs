//! The gateway's SSH host key: Ed25519, kept in OpenSSH format with mode 0600.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use rand::RngCore;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{Algorithm, PrivateKey};
use zeroize::Zeroizing;

use super::{Error, Result};

/// A fresh Ed25519 host key. Fails only if the operating system's random source does.
pub fn generate() -> Result<PrivateKey> {
    let mut seed = Zeroizing::new([0_u8; 32]);
    rand::rngs::OsRng
        .try_fill_bytes(seed.as_mut())
        .map_err(Error::Random)?;
    Ok(PrivateKey::from(Ed25519Keypair::from_seed(&seed)))
}

/// Writes `key` to a new file at `path` in OpenSSH format, readable by the owner only.
/// Refuses to overwrite: replacing a host key makes every vendor's client warn.
pub fn write(path: &Path, key: &PrivateKey) -> Result<()> {
    let pem = key
        .to_openssh(LineEnding::LF)
        .map_err(|source| Error::HostKeyFormat {
            path: path.to_owned(),
            source,
        })?;
    let io = |source| Error::HostKeyIo {
        path: path.to_owned(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(pem.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads a host key written by [`write`] (or `ssh-keygen -t ed25519`). Only unencrypted
/// Ed25519 keys are accepted, since the server offers `ssh-ed25519` only.
pub fn load(path: &Path) -> Result<PrivateKey> {
    let text =
        Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| Error::HostKeyIo {
                path: path.to_owned(),
                source,
            })?,
        );
    let key = PrivateKey::from_openssh(text.as_bytes()).map_err(|source| Error::HostKeyFormat {
        path: path.to_owned(),
        source,
    })?;
    if key.algorithm() != Algorithm::Ed25519 || key.is_encrypted() {
        return Err(Error::HostKeyNotEd25519 {
            path: path.to_owned(),
        });
    }
    Ok(key)
}

/// The public half as an OpenSSH line (`ssh-ed25519 AAAA…`), for `known_hosts`.
pub fn public_openssh(key: &PrivateKey) -> Result<String> {
    key.public_key()
        .to_openssh()
        .map_err(Error::HostKeyEncoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_owner_only_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ssh_host_ed25519_key");
        let key = generate().unwrap();
        write(&path, &key).unwrap();
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        assert!(
            public_openssh(&key)
                .unwrap()
                .starts_with("ssh-ed25519 AAAA")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // Never overwritten.
        assert!(matches!(
            write(&path, &generate().unwrap()),
            Err(Error::HostKeyIo { .. })
        ));
        assert_eq!(load(&path).unwrap().public_key(), key.public_key());
    }

    #[test]
    fn refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(load(&path), Err(Error::HostKeyFormat { .. })));
        assert!(matches!(
            load(&dir.path().join("missing")),
            Err(Error::HostKeyIo { .. })
        ));
    }
}
