//! `fumidai init`: a new data directory with everything the gateway needs, or nothing.
//!
//! Files are written into a staging directory and moved into place at the end; a failure
//! half-way removes what was written, so no half-initialised data directory is left
//! behind. An existing, non-empty data directory is never touched.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
use serde::Serialize;
use serde_json::json;
use store::{AuditEvent, AuditKind, MasterKey};

use super::context::cli_actor;
use super::output::Output;
use fumidai_core::config::{self, Config};
use fumidai_core::datadir::{self, DataDir};
use fumidai_pki::Ca;
use fumidai_ssh::host_key;
use fumidai_ssh::ssh_ca::SshCa;

/// Validity of the front door's own certificate, in days.
const SERVER_CERT_DAYS: u32 = 825;

/// The operator console's HTTPS certificate and key, in the data directory.
const UI_CERT: &str = "ui.crt";
const UI_KEY: &str = "ui.key";

/// `fumidai init` options.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Vendor-facing mutual-TLS address.
    #[arg(long, default_value = "0.0.0.0:8443")]
    listen: SocketAddr,
    /// Internal address of the operator console, /healthz and /metrics (keep it off the
    /// vendor side). Off loopback, the console speaks HTTPS with `ui.crt`.
    #[arg(long, default_value = "127.0.0.1:9443")]
    ui_listen: SocketAddr,
    /// DNS name (or IP) hospital staff use to open the console; its HTTPS certificate
    /// (`ui.crt`, from fumidai's CA) is issued for it ("localhost" also covers 127.0.0.1).
    #[arg(long, default_value = "localhost")]
    ui_server_name: String,
    /// DNS name (or IP) vendors use to reach the gateway; the front door's certificate is
    /// issued for it ("localhost" also covers 127.0.0.1 and ::1).
    #[arg(long, default_value = "localhost")]
    server_name: String,
    /// Database: sqlite://PATH (relative to the data directory) or postgres://…
    #[arg(long, default_value = "sqlite://fumidai.db")]
    database_url: String,
    /// Organisation named in the CA's certificate and, as `[auth] totp_issuer`, in the
    /// engineers' authenticator apps (the hospital's name, e.g. "○○病院").
    #[arg(long, default_value = "fumidai")]
    org: String,
}

#[derive(Debug, Serialize)]
struct Initialised {
    data_dir: PathBuf,
    ca_certificate: PathBuf,
    ca_sha256: String,
    server_names: Vec<String>,
    ssh_host_key: String,
    /// The line for targets' `TrustedUserCAKeys` (`fumidai ssh-ca pubkey` prints it again).
    ssh_ca_public_key: String,
    signing_public_key: String,
    database: String,
    /// Where hospital staff open the operator console.
    console_url: String,
}

/// Runs `fumidai init`.
pub(crate) async fn run(root: &Path, args: InitArgs, out: Output) -> anyhow::Result<()> {
    let dir = DataDir::new(root);
    if dir
        .is_populated()
        .with_context(|| format!("cannot read {}", root.display()))?
    {
        bail!(
            "{} already exists and is not empty; refusing to touch it (choose another --data-dir)",
            root.display()
        );
    }
    let mut config = Config::default();
    config.gateway.listen = args.listen;
    config.auth.totp_issuer = args.org.clone();
    config.gateway.ui_listen = args.ui_listen;
    config.gateway.server_name.clone_from(&args.server_name);
    // R-13-5: off loopback the console must speak HTTPS; on loopback its certificate is
    // there for whoever turns HTTPS on (or a reverse proxy terminates TLS instead).
    if !args.ui_listen.ip().is_loopback() {
        config.gateway.ui_tls_cert = Some(PathBuf::from(UI_CERT));
        config.gateway.ui_tls_key = Some(PathBuf::from(UI_KEY));
    }
    config.database.url.clone_from(&args.database_url);

    // Stage inside the data directory and move the files up at the end: works when the
    // directory was pre-created (systemd's StateDirectory=) and the parent isn't writable.
    let created_root = !root.exists();
    datadir::create_private_dir(root)
        .with_context(|| format!("cannot create {}", root.display()))?;
    let undo = || {
        if created_root {
            let _ = std::fs::remove_dir_all(root);
        } else if let Ok(entries) = std::fs::read_dir(root) {
            for entry in entries.flatten() {
                let p = entry.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
    };
    let staging = root.join(".init-staging");
    let staged = DataDir::new(&staging);
    let summary = match write_files(&staged, &config, &args)
        .and_then(|s| move_up(&staging, root).map(|()| s))
    {
        Ok(summary) => summary,
        Err(error) => {
            undo();
            return Err(error);
        }
    };

    // The database last, once the files are in place; on failure the new directory goes.
    let url = dir.resolve_database_url(&config.database.url);
    if let Err(error) = create_database(&dir, &url, &summary).await {
        undo();
        return Err(error);
    }
    let summary = Initialised {
        data_dir: root.to_owned(),
        ca_certificate: dir.ca_cert(),
        database: redact_url(&config.database.url),
        ..summary
    };
    out.print(&summary, |s| {
        format!(
            "Initialised {dir}\n\
             \n  CA certificate   {ca} (SHA-256 {fp})\n  server names     {names}\n  console          {console}\n  SSH host key     {hk}\n  SSH user CA      {sshca}\n  database         {db}\n\
             \nNext / 次の手順:\n  \
             fumidai --data-dir {dir} operator add LOGIN --role operator|manager|auditor --password-stdin   (the hospital's people: each acts as themselves with --as LOGIN)\n  \
             fumidai --data-dir {dir} vendor add VENDOR --allow-from CIDR\n  \
             fumidai --data-dir {dir} engineer add LOGIN --vendor VENDOR --password-stdin --as OPERATOR\n  \
             fumidai --data-dir {dir} cert issue LOGIN --out DIR\n  \
             fumidai --data-dir {dir} target add NAME --ssh HOST:22 --login USER --host-key \"$(ssh-keyscan HOST)\" --password-stdin\n  \
             fumidai --data-dir {dir} plan submit --file PLAN.toml --as OPERATOR   (approved by another person: plan approve ID --as MANAGER)\n  \
             fumidai --data-dir {dir} serve",
            dir = s.data_dir.display(),
            ca = s.ca_certificate.display(),
            fp = s.ca_sha256,
            names = s.server_names.join(", "),
            console = s.console_url,
            hk = s.ssh_host_key,
            sshca = s.ssh_ca_public_key,
            db = s.database,
        )
    })
}

fn write_files(dir: &DataDir, config: &Config, args: &InitArgs) -> anyhow::Result<Initialised> {
    datadir::create_private_dir(dir.root())?;
    datadir::write_public(&dir.config(), config::commented_template(config).as_bytes())?;

    let master = MasterKey::generate();
    datadir::write_secret(&dir.master_key(), master.expose_bytes())?;

    let ca = Ca::generate(&args.org).context("cannot create the CA")?;
    datadir::write_public(&dir.ca_cert(), ca.cert_pem().as_bytes())?;
    datadir::write_secret(&dir.ca_key(), ca.key_pem().as_bytes())?;

    let server_names = server_names(&args.server_name);
    let server = ca
        .issue_server(&server_names, SERVER_CERT_DAYS)
        .context("cannot issue the server certificate")?;
    datadir::write_public(&dir.server_cert(), server.cert_pem.as_bytes())?;
    datadir::write_secret(&dir.server_key(), server.key_pem.as_bytes())?;

    // The operator console's own certificate (issue 15), for the name staff type.
    let ui_names = self::server_names(&args.ui_server_name);
    let ui = ca
        .issue_server(&ui_names, SERVER_CERT_DAYS)
        .context("cannot issue the console's certificate")?;
    datadir::write_public(&dir.root().join(UI_CERT), ui.cert_pem.as_bytes())?;
    datadir::write_secret(&dir.root().join(UI_KEY), ui.key_pem.as_bytes())?;

    let host_key = host_key::generate().context("cannot generate the SSH host key")?;
    host_key::write(&dir.ssh_host_key(), &host_key).context("cannot write the SSH host key")?;
    let ssh_host_key =
        host_key::public_openssh(&host_key).context("cannot encode the SSH host key")?;

    // Targets registered with `--auth cert` trust this key, and nothing else of fumidai's.
    let ssh_ca = SshCa::generate().context("cannot generate the SSH user CA key")?;
    ssh_ca
        .write(&dir.ssh_ca_key())
        .context("cannot write the SSH user CA key")?;
    let ssh_ca_public_key = ssh_ca
        .public_line()
        .context("cannot encode the SSH user CA key")?;

    let signing = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let signing_pem = signing
        .to_pkcs8_pem(LineEnding::LF)
        .context("cannot encode the signing key")?;
    datadir::write_secret(&dir.signing_key(), signing_pem.as_bytes())?;
    let signing_public = signing
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .context("cannot encode the signing key")?;
    datadir::write_public(&dir.signing_public_key(), signing_public.as_bytes())?;

    datadir::create_private_dir(&dir.recordings())?;
    Ok(Initialised {
        data_dir: dir.root().to_owned(),
        ca_certificate: dir.ca_cert(),
        ca_sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(ca.cert_der())),
        server_names,
        ssh_host_key,
        ssh_ca_public_key,
        signing_public_key: signing_public,
        database: String::new(),
        console_url: console_url(args),
    })
}

async fn create_database(dir: &DataDir, url: &str, summary: &Initialised) -> anyhow::Result<()> {
    let key_bytes = datadir::read_secret(&dir.master_key())?;
    let master = MasterKey::from_bytes(&key_bytes).context("master key has the wrong length")?;
    let store = store::open(url, master)
        .await
        .context("cannot create the database")?;
    let event = AuditEvent::new(
        AuditKind::Initialised,
        cli_actor(),
        dir.root().display().to_string(),
    )
    .with_detail(json!({
        "server_names": summary.server_names,
        "ca_sha256": summary.ca_sha256,
        "ssh_host_key": summary.ssh_host_key,
        "ssh_ca_public_key": summary.ssh_ca_public_key,
        "signing_public_key": summary.signing_public_key,
    }));
    store
        .append_audit(event)
        .await
        .context("cannot write the first audit record")?;
    Ok(())
}

/// The names the server certificate covers. `localhost` also gets the loopback addresses,
/// so the demo works with `127.0.0.1` too.
fn server_names(name: &str) -> Vec<String> {
    let mut names = vec![name.to_owned()];
    if name == "localhost" {
        names.extend(["127.0.0.1".to_owned(), "::1".to_owned()]);
    }
    names
}

/// The console's address as staff type it: HTTPS off loopback (with `ui.crt`), plain
/// HTTP on loopback. A port of 0 (tests) is printed as such; `serve` logs the real one.
fn console_url(args: &InitArgs) -> String {
    let scheme = if args.ui_listen.ip().is_loopback() {
        "http"
    } else {
        "https"
    };
    let host = if args.ui_listen.ip().is_loopback() {
        args.ui_listen.ip().to_string()
    } else {
        args.ui_server_name.clone()
    };
    format!("{scheme}://{host}:{}/", args.ui_listen.port())
}

/// Moves every entry of `staging` into `root`, then removes `staging`.
fn move_up(staging: &Path, root: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(staging)? {
        let entry = entry?;
        std::fs::rename(entry.path(), root.join(entry.file_name()))?;
    }
    std::fs::remove_dir(staging)?;
    Ok(())
}

/// Hides a password in a database URL before printing it.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = url.get(scheme + 3..at).unwrap_or_default();
            match creds.split_once(':') {
                Some((user, _)) => format!(
                    "{}{user}:***{}",
                    url.get(..scheme + 3).unwrap_or_default(),
                    url.get(at..).unwrap_or_default()
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://fumidai:s3cret@db:5432/f"),
            "postgres://fumidai:***@db:5432/f"
        );
        assert_eq!(
            redact_url("postgres://fumidai@db/f"),
            "postgres://fumidai@db/f"
        );
        assert_eq!(redact_url("sqlite://fumidai.db"), "sqlite://fumidai.db");
    }

    #[test]
    fn localhost_covers_loopback() {
        assert_eq!(server_names("localhost"), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(server_names("gw.example.jp"), ["gw.example.jp"]);
    }
}
