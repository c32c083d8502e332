//! `fumidai cert issue|revoke|list`: client certificates for vendors' devices (R-13-6,
//! R-13-12, R-10.2-PATH). Revocation is checked at every handshake, so it takes effect on a
//! running gateway at once.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use chrono::Utc;
use policy::ids::Login;
use serde::Serialize;
use store::{CertSerial, CertificateRecord, RevokeSelector};

use super::context::{Context, cli_actor};
use super::output::Output;
use fumidai_core::datadir;
use fumidai_pki::{self as pki, Ca};

/// `fumidai cert …`
#[derive(Debug, clap::Subcommand)]
pub enum CertCommand {
    /// Issue a client certificate for a person's device: writes LOGIN.crt, LOGIN.key,
    /// ca.crt and LOGIN.p12 (for Windows and browsers) into DIR, with the hand-over bundle:
    /// ssh_config, known_hosts (the gateway's host key), stunnel.conf and connect.html
    /// (a one-page instruction in Japanese and English).
    Issue {
        /// Whose device (the certificate's CN).
        login: Login,
        /// Directory to write the files to (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Validity in days (default from the configuration, normally 90).
        #[arg(long)]
        days: Option<u32>,
    },
    /// Revoke every certificate of a login, or one certificate by serial.
    Revoke {
        /// A login, or a serial number in hex as `cert list` shows it.
        which: String,
        /// Why, for the audit trail.
        #[arg(long, default_value = "revoked by operator")]
        reason: String,
    },
    /// List issued certificates.
    List,
}

#[derive(Serialize)]
struct Issued {
    certificate: CertificateRecord,
    files: Vec<PathBuf>,
    /// Password protecting the .p12 bundle; hand it over separately from the file.
    p12_password: String,
}

/// Runs `fumidai cert …`.
pub(crate) async fn run(ctx: &Context, cmd: CertCommand, out: Output) -> anyhow::Result<()> {
    match cmd {
        CertCommand::Issue {
            login,
            out: dir,
            days,
        } => issue(ctx, login, &dir, days, out).await,
        CertCommand::Revoke { which, reason } => revoke(ctx, &which, &reason, out).await,
        CertCommand::List => {
            let certs = ctx.store.certificates().await?;
            out.print(&certs, |cs| {
                cs.iter()
                    .map(|c| {
                        format!(
                            "{}\t{}\t{}\t{}\n",
                            c.serial,
                            c.login,
                            c.not_after.format("%Y-%m-%d"),
                            status(c)
                        )
                    })
                    .collect()
            })
        }
    }
}

async fn issue(
    ctx: &Context,
    login: Login,
    dir: &Path,
    days: Option<u32>,
    out: Output,
) -> anyhow::Result<()> {
    if ctx.store.account(&login).await?.is_none() {
        bail!(
            "no account {login}; create it first with `fumidai engineer add` or `fumidai operator add`"
        );
    }
    let days = days.unwrap_or(ctx.config.certificates.client_days);
    if days == 0 || days > 825 {
        bail!("--days must be between 1 and 825");
    }
    let ca_cert =
        std::fs::read_to_string(ctx.dir.ca_cert()).context("cannot read the CA certificate")?;
    let ca_key = datadir::read_secret(&ctx.dir.ca_key()).context("cannot read the CA key")?;
    let ca_key = std::str::from_utf8(&ca_key).context("the CA key is not PEM")?;
    let ca = Ca::from_pem(&ca_cert, ca_key).context("cannot load the CA")?;
    let issued = ca
        .issue_client(&login, days)
        .context("cannot issue the certificate")?;
    let p12_password = random_password();
    let p12 = pki::pkcs12(&issued, &ca_cert, login.as_str(), &p12_password)
        .context("cannot build the .p12 bundle")?;

    datadir::create_private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let files = [
        (
            dir.join(format!("{login}.crt")),
            issued.cert_pem.as_bytes().to_vec(),
            false,
        ),
        (
            dir.join(format!("{login}.key")),
            issued.key_pem.as_bytes().to_vec(),
            true,
        ),
        (dir.join("ca.crt"), ca_cert.as_bytes().to_vec(), false),
        (dir.join(format!("{login}.p12")), p12, true),
    ]
    .into_iter()
    .chain(
        handover_files(ctx, &login, &ca, issued.not_after)?
            .into_iter()
            .map(|(name, text)| (dir.join(name), text.into_bytes(), false)),
    )
    .collect::<Vec<_>>();
    for (path, _, _) in &files {
        if path.exists() {
            bail!(
                "{} already exists; choose another --out directory",
                path.display()
            );
        }
    }
    // Recorded before the files are written: a certificate that exists is always on record.
    let certificate = ctx
        .store
        .add_certificate(issued.to_new_certificate(&login), &cli_actor())
        .await?;
    for (path, contents, secret) in &files {
        let write = if *secret {
            datadir::write_secret
        } else {
            datadir::write_public
        };
        write(path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let issued = Issued {
        certificate,
        files: files.into_iter().map(|(p, _, _)| p).collect(),
        p12_password,
    };
    out.print(&issued, |i| {
        format!(
            "certificate {serial} issued to {login}, valid until {until}\n{files}\n.p12 password: {pw}\n\
             Hand these to the engineer over a trusted channel; the key never leaves their device.",
            serial = i.certificate.serial,
            login = i.certificate.login,
            until = i.certificate.not_after.format("%Y-%m-%d %H:%M UTC"),
            files = i.files.iter().map(|p| format!("  {}", p.display())).collect::<Vec<_>>().join("\n"),
            pw = i.p12_password,
        )
    })
}

/// The hand-over bundle's files (`handover`), for `login`'s certificate valid until
/// `not_after`.
fn handover_files(
    ctx: &Context,
    login: &Login,
    ca: &Ca,
    not_after: chrono::DateTime<Utc>,
) -> anyhow::Result<Vec<(String, String)>> {
    let host_key = fumidai_ssh::host_key::load(&ctx.dir.ssh_host_key())
        .context("cannot read the SSH host key")?;
    let public = host_key.public_key();
    let host_key_line = public
        .to_openssh()
        .context("cannot write the SSH host key")?;
    let fingerprint = public.fingerprint(russh::keys::HashAlg::Sha256).to_string();
    let ca_sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(ca.cert_der()));
    let gateway = &ctx.config.gateway;
    let front_door = format!("{}:{}", gateway.server_name, gateway.listen.port());
    let valid_until = policy::jst::format(not_after);
    Ok(super::handover::files(&super::handover::Facts {
        login: login.as_str(),
        front_door: &front_door,
        server_name: &gateway.server_name,
        host_key: &host_key_line,
        host_key_fingerprint: &fingerprint,
        ca_sha256: &ca_sha256,
        valid_until: &valid_until,
    }))
}

async fn revoke(ctx: &Context, which: &str, reason: &str, out: Output) -> anyhow::Result<()> {
    let selector = match which.parse::<Login>() {
        Ok(login) if ctx.store.account(&login).await?.is_some() => RevokeSelector::Login(login),
        _ => match CertSerial::parse(which) {
            Some(serial) => RevokeSelector::Serial(serial),
            None => bail!("{which:?} is neither a known login nor a certificate serial"),
        },
    };
    let revoked = ctx
        .store
        .revoke_certificates(&selector, reason, &cli_actor())
        .await?;
    if revoked.is_empty() {
        bail!("no unrevoked certificate matches {which:?}");
    }
    out.print(&revoked, |rs| {
        rs.iter()
            .map(|c| format!("revoked {} ({})\n", c.serial, c.login))
            .collect()
    })
}

fn status(c: &CertificateRecord) -> &'static str {
    if c.revoked_at.is_some() {
        "revoked"
    } else if c.not_after < Utc::now() {
        "expired"
    } else {
        "valid"
    }
}

/// 20 characters from an unambiguous alphabet (~100 bits).
fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY346789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| {
            ALPHABET
                .get(rng.gen_range(0..ALPHABET.len()))
                .map_or('x', |b| char::from(*b))
        })
        .collect()
}
