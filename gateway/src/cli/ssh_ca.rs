//! `fumidai ssh-ca pubkey`: the line a target's sshd needs in its `TrustedUserCAKeys` file
//! to accept the per-session certificates fumidai signs for `--auth cert` targets.
//!
//! A data directory created before the SSH CA existed gets its key here, or at the next
//! `serve`, whichever comes first (mode 0600, never overwritten).

use std::path::Path;

use anyhow::{Context as _, bail};
use serde::Serialize;
use tracing::info;

use super::output::Output;
use fumidai_core::datadir::DataDir;
use fumidai_ssh::ssh_ca::SshCa;

/// `fumidai ssh-ca …`
#[derive(Debug, clap::Subcommand)]
pub enum SshCaCommand {
    /// Print the SSH user CA's public key, for the target's sshd_config `TrustedUserCAKeys`.
    Pubkey,
}

#[derive(Debug, Serialize)]
struct PublicKey {
    /// `ssh-ed25519 AAAA… fumidai-ssh-ca`.
    public_key: String,
    /// `SHA256:…`, as sshd logs it when it accepts a certificate.
    fingerprint: String,
}

/// Runs `fumidai ssh-ca …`.
pub(crate) fn run(root: &Path, cmd: SshCaCommand, out: Output) -> anyhow::Result<()> {
    match cmd {
        SshCaCommand::Pubkey => {
            let dir = DataDir::new(root);
            if !dir.config().exists() {
                bail!(
                    "{} is not a fumidai data directory (no fumidai.toml); create one with `fumidai init --data-dir {}`",
                    root.display(),
                    root.display()
                );
            }
            let path = dir.ssh_ca_key();
            let (ca, created) = SshCa::load_or_create(&path).with_context(|| {
                format!("cannot load or create the SSH CA key {}", path.display())
            })?;
            if created {
                eprintln!(
                    "fumidai: created the SSH user CA key {} ({})",
                    path.display(),
                    ca.fingerprint()
                );
            }
            let key = PublicKey {
                public_key: ca.public_line()?,
                fingerprint: ca.fingerprint().to_string(),
            };
            // Text output is the bare line, so `fumidai ssh-ca pubkey > FILE` is the file.
            out.print(&key, |k| k.public_key.clone())
        }
    }
}

/// Loads the data directory's SSH CA for `serve`, creating it (and logging so) when the
/// directory predates it.
pub(crate) fn load_or_create(dir: &DataDir) -> anyhow::Result<SshCa> {
    let path = dir.ssh_ca_key();
    let (ca, created) = SshCa::load_or_create(&path)
        .with_context(|| format!("cannot load or create the SSH CA key {}", path.display()))?;
    if created {
        info!(path = %path.display(), fingerprint = %ca.fingerprint(), "created the SSH user CA key");
    }
    Ok(ca)
}
