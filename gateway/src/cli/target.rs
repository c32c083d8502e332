//! `fumidai target add|list|remove`: the servers engineers reach, the credential fumidai
//! logs in with (sealed under `master.key`, never printed, R-10.2-PRIV), and the host key
//! pinned at registration (R-13-9/10).

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use fumidai_core::ops::account_enrolment::Admin;
use fumidai_core::ops::target_admin::{self, Access, TargetSpec};
use policy::ids::TargetName;
use policy::target::{self, CertFingerprint, HostKey, SshAddress, Tag, TargetAuth, TargetPin};
use secrecy::SecretBox;
use serde::Serialize;
use store::Target;
use zeroize::Zeroizing;

use super::context::{Context, cli_actor};
use super::output::Output;

/// Largest key or host key file read: real ones are a few KiB.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// `fumidai target …`
#[derive(Debug, clap::Subcommand)]
pub enum TargetCommand {
    /// Register a target server: where it listens, how fumidai logs in, its host key.
    Add(Box<AddArgs>),
    /// Change a target in place: address, login, credential or pinned host key (a
    /// reinstalled server, a rotated password). Its name and history stay; audited as
    /// `target.updated`.
    Update(Box<super::target_update::UpdateArgs>),
    /// List registered targets with their host key fingerprints.
    List,
    /// Remove a target. Its name stays in plans, sessions and the audit trail and is never
    /// reused; its stored credential is erased.
    Remove {
        /// The target's name.
        name: TargetName,
    },
}

/// `fumidai target add`.
#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("credential")
        .required(true)
        .args(["key_file", "password_stdin", "auth"])
))]
#[command(group(
    clap::ArgGroup::new("endpoint")
        .required(true)
        .args(["address", "rdp"])
))]
pub struct AddArgs {
    /// Short name, typed after ':' in the SSH user name (lowercase letters, digits, '.',
    /// '_', '-').
    pub name: TargetName,
    /// Where the target's SSH server listens (port 22 if none is given).
    #[arg(long = "ssh", value_name = "HOST:PORT")]
    pub address: Option<SshAddress>,
    /// Where the target's RDP server listens (port 3389 if none is given): a Windows
    /// server or xrdp. Needs --password-stdin and --cert-sha256.
    #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["host_key", "host_key_file", "key_file", "auth"])]
    pub rdp: Option<String>,
    /// The RDP server's TLS certificate, pinned: its SHA-256 fingerprint (`openssl x509
    /// -in cert.pem -noout -fingerprint -sha256`, or Windows' certificate thumbprint
    /// view). A different certificate at connection is refused and alerted.
    #[arg(long, value_name = "HEX", requires = "rdp")]
    pub cert_sha256: Option<CertFingerprint>,
    /// The account fumidai logs in as on the target.
    #[arg(long, value_name = "USER")]
    pub login: String,
    /// Log in with this OpenSSH private key (unencrypted; it is sealed under master.key).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Log in with a password read from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// `cert`: log in with a short-lived certificate fumidai signs per session (the target
    /// trusts fumidai's SSH CA; nothing is stored).
    #[arg(long, value_enum)]
    pub auth: Option<CertAuth>,
    /// The target's host key, "TYPE BASE64" as in its /etc/ssh/ssh_host_*_key.pub.
    #[arg(long, value_name = "\"TYPE BASE64\"")]
    pub host_key: Option<String>,
    /// Read the host key from a .pub file or from `ssh-keyscan` output.
    #[arg(long, value_name = "FILE")]
    pub host_key_file: Option<PathBuf>,
    /// A label, e.g. personal-data (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<Tag>,
    /// The login is a factory account (root, Administrator, admin) on purpose: why. Without
    /// it such a login is refused (R-10.1-NODEFAULT); the reason is stored and audited, and
    /// `fumidai compliance` lists the target.
    #[arg(long, value_name = "REASON")]
    pub allow_shared_admin: Option<String>,
    /// Act as this operator (authenticated now: password and code come before any
    /// password on stdin) instead of the console's OS user.
    #[arg(long = "as", value_name = "LOGIN")]
    pub by: Option<policy::ids::Login>,
}

/// The one value `--auth` takes: the other kinds follow from `--key-file` or
/// `--password-stdin`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CertAuth {
    /// A per-session certificate signed by fumidai's SSH CA.
    Cert,
}

/// A target as shown: the record and its host key fingerprint.
#[derive(Debug, Serialize)]
struct TargetView {
    #[serde(flatten)]
    target: Target,
    /// `SHA256:…`, as `ssh-keygen -l` and OpenSSH's first-connection prompt print it; for
    /// RDP targets the certificate's `sha256:hex`.
    host_key_fingerprint: String,
}

impl From<Target> for TargetView {
    fn from(target: Target) -> Self {
        let host_key_fingerprint = target.pin.fingerprint();
        Self {
            target,
            host_key_fingerprint,
        }
    }
}

/// Runs `fumidai target …`.
pub(crate) async fn run(ctx: &Context, cmd: TargetCommand, out: Output) -> anyhow::Result<()> {
    match cmd {
        TargetCommand::Add(args) => add(ctx, *args, out).await,
        TargetCommand::Update(args) => super::target_update::update(ctx, *args, out).await,
        TargetCommand::List => {
            let targets: Vec<TargetView> = ctx
                .store
                .targets()
                .await?
                .into_iter()
                .map(TargetView::from)
                .collect();
            out.print(&targets, |ts| {
                ts.iter().map(|t| format!("{}\n", line(t))).collect()
            })
        }
        TargetCommand::Remove { name } => {
            let removed =
                target_admin::remove(ctx.store.as_ref(), Admin::Host(cli_actor()), &name).await?;
            out.print(&TargetView::from(removed), |t| {
                format!(
                    "target {} removed; its stored credential is erased\n\
                     接続先 {} を削除しました（保管していた認証情報は消去済み）",
                    t.target.name, t.target.name
                )
            })
        }
    }
}

async fn add(ctx: &Context, args: AddArgs, out: Output) -> anyhow::Result<()> {
    // A console bootstrap action unless `--as` names an operator (authenticated first).
    let person = match &args.by {
        Some(login) => Some(
            super::person::authenticate(ctx, login, policy::authority::Action::ManageAccounts)
                .await?,
        ),
        None => None,
    };
    let admin = match &person {
        Some(person) => Admin::Person(person),
        None => Admin::Host(cli_actor()),
    };
    if args.rdp.is_some() {
        return add_rdp(ctx, args, admin, out).await;
    }
    target::check_target_login(&args.login)?;
    let address = args
        .address
        .clone()
        .context("give the target's SSH address with --ssh HOST:PORT")?;
    let host_key = host_key_from(args.host_key.as_deref(), args.host_key_file.as_deref())?
        .context("give the target's host key with --host-key or --host-key-file")?;
    let (auth, credential) = match (&args.key_file, args.password_stdin, args.auth) {
        (Some(path), _, _) => (TargetAuth::Key, Some(read_private_key(path)?)),
        (None, true, _) => (TargetAuth::Password, Some(read_password_line()?)),
        (None, false, Some(CertAuth::Cert)) => (TargetAuth::Cert, None),
        (None, false, None) => {
            bail!("say how fumidai logs in: --key-file FILE, --password-stdin or --auth cert")
        }
    };
    let spec = TargetSpec {
        name: args.name,
        address,
        login: args.login,
        access: Access::Ssh {
            host_key: host_key.clone(),
            auth,
            credential,
        },
        tags: args.tags,
        shared_admin_reason: args.allow_shared_admin,
    };
    let added = target_admin::register(ctx.store.as_ref(), admin, spec).await?;
    out.print(&TargetView::from(added), |t| {
        format!(
            "target {name} added: {login}@{address}, auth {auth}\n\
             pinned host key {kind} {fp}\n\
             Compare the fingerprint with `ssh-keygen -lf /etc/ssh/ssh_host_{short}_key.pub` run on the target itself.\n\
             フィンガープリントを接続先サーバ上で確認してください。",
            name = t.target.name,
            login = t.target.login,
            address = t.target.address,
            auth = t.target.auth,
            kind = host_key.key_type(),
            fp = t.host_key_fingerprint,
            short = short_kind(&host_key),
        )
    })
}

/// `target add NAME --rdp HOST:PORT --login USER --password-stdin --cert-sha256 HEX`.
async fn add_rdp(
    ctx: &Context,
    args: AddArgs,
    admin: Admin<'_>,
    out: Output,
) -> anyhow::Result<()> {
    target::check_rdp_login(&args.login)?;
    target::shared_admin::check(&args.login, args.allow_shared_admin.as_deref())?;
    let address = args.rdp.as_deref().unwrap_or_default();
    let address = SshAddress::parse_with_default_port(address, 3389).context("--rdp")?;
    let Some(certificate) = args.cert_sha256 else {
        bail!(
            "pin the RDP server's certificate with --cert-sha256 HEX (fumidai never connects \
             to an RDP server whose certificate it has not pinned)"
        );
    };
    if !args.password_stdin {
        bail!("give the RDP account's password on standard input with --password-stdin");
    }
    let password = read_password_line()?;
    let spec = TargetSpec {
        name: args.name,
        address,
        login: args.login,
        access: Access::Rdp {
            certificate,
            password,
        },
        tags: args.tags,
        shared_admin_reason: args.allow_shared_admin,
    };
    let added = target_admin::register(ctx.store.as_ref(), admin, spec).await?;
    out.print(&TargetView::from(added), |t| {
        format!(
            "target {name} added: RDP {login}@{address}\n\
             pinned certificate {fp}\n\
             Compare it with the certificate the server itself shows (e.g. `openssl x509 -in /etc/xrdp/cert.pem -noout -fingerprint -sha256`).\n\
             証明書のフィンガープリントを接続先サーバ上で確認してください。",
            name = t.target.name,
            login = t.target.login,
            address = t.target.address,
            fp = t.host_key_fingerprint,
        )
    })
}

/// One line of `target list`.
fn line(t: &TargetView) -> String {
    let tags: Vec<&str> = t.target.tags.iter().map(Tag::as_str).collect();
    format!(
        "{}\t{}\t{}\t{}\t{}\t{} ({})",
        t.target.name,
        t.target.address,
        t.target.login,
        t.target.auth,
        if tags.is_empty() {
            "-".to_owned()
        } else {
            tags.join(",")
        },
        t.host_key_fingerprint,
        match &t.target.pin {
            TargetPin::SshHostKey(key) => key.key_type().as_str(),
            TargetPin::RdpCertificate(_) => "rdp certificate",
        },
    )
}

/// The file name part OpenSSH uses for a host key type (`ssh_host_ed25519_key.pub`).
fn short_kind(key: &HostKey) -> &'static str {
    use policy::target::HostKeyType;
    match key.key_type() {
        HostKeyType::Ed25519 => "ed25519",
        HostKeyType::EcdsaP256 | HostKeyType::EcdsaP384 | HostKeyType::EcdsaP521 => "ecdsa",
        HostKeyType::Rsa => "rsa",
    }
}

/// Reads an OpenSSH private key and checks fumidai can use it: it parses, and it is not
/// encrypted (fumidai has no one to ask for a passphrase; `master.key` protects it instead).
/// The host key given as `--host-key` (a `.pub` line, or what `ssh-keyscan` printed) or
/// `--host-key-file`; `None` when neither was.
pub(super) fn host_key_from(
    line: Option<&str>,
    file: Option<&Path>,
) -> anyhow::Result<Option<HostKey>> {
    Ok(match (line, file) {
        (Some(line), _) => Some(HostKey::parse_file(line).context("--host-key")?),
        (None, Some(path)) => {
            let text = read_small(path)?;
            let text = String::from_utf8(text.to_vec())
                .with_context(|| format!("{} is not a text file", path.display()))?;
            Some(
                HostKey::parse_file(&text)
                    .with_context(|| format!("--host-key-file {}", path.display()))?,
            )
        }
        (None, None) => None,
    })
}

pub(super) fn read_private_key(path: &Path) -> anyhow::Result<SecretBox<Vec<u8>>> {
    let bytes = read_small(path)?;
    let text = std::str::from_utf8(&bytes)
        .ok()
        .with_context(|| format!("{} is not an OpenSSH private key", path.display()))?;
    match russh::keys::decode_secret_key(text, None) {
        Ok(_) => {}
        Err(russh::keys::Error::KeyIsEncrypted) => bail!(
            "{} is encrypted with a passphrase; give fumidai an unencrypted copy \
             (`ssh-keygen -p -N '' -f COPY`), which it seals under master.key — then delete the copy",
            path.display()
        ),
        Err(_) => bail!(
            "{} is not a private key fumidai can use (expected an OpenSSH, PKCS#8 or PEM private key)",
            path.display()
        ),
    }
    Ok(SecretBox::new(Box::new(bytes.to_vec())))
}

/// A file of at most [`MAX_FILE_BYTES`], in a buffer zeroized on drop (it may be a key).
pub(super) fn read_small(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_FILE_BYTES) {
        bail!("{} is too large to be a key", path.display());
    }
    Ok(bytes)
}

/// The first line of standard input, without its line ending. Never echoed or logged.
pub(super) fn read_password_line() -> anyhow::Result<SecretBox<Vec<u8>>> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!(
            "no password on standard input (pipe it in: `printf '%s\\n' \"$PW\" | fumidai target add … --password-stdin`)"
        );
    }
    Ok(SecretBox::new(Box::new(password.as_bytes().to_vec())))
}
