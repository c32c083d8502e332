//! `fumidai target update NAME …`: a target changed in place (issue 13). Before it, a
//! reinstalled server's new host key or a rotated password meant registering the target
//! under a new name (names are never reused) and rewriting every plan.

use std::path::PathBuf;

use anyhow::bail;
use fumidai_core::ops::OpError;
use fumidai_core::ops::account_enrolment::Admin;
use fumidai_core::ops::target_admin::{self, TargetChange};
use policy::ids::{Login, TargetName};
use policy::target::{self, SshAddress, TargetAuth};

use super::context::{Context, cli_actor};
use super::output::Output;
use super::target::{CertAuth, host_key_from, read_password_line, read_private_key};

/// `fumidai target update`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("credential").args(["key_file", "password_stdin", "auth"])))]
#[command(group(clap::ArgGroup::new("pinned").args(["host_key", "host_key_file"])))]
pub struct UpdateArgs {
    /// The target's name.
    pub name: TargetName,
    /// A new SSH address (port 22 if none is given).
    #[arg(long = "ssh", value_name = "HOST:PORT")]
    pub address: Option<SshAddress>,
    /// A new account for fumidai to log in as.
    #[arg(long, value_name = "USER")]
    pub login: Option<String>,
    /// Why the new login is a factory account (root, Administrator, admin), if it is.
    #[arg(long, value_name = "REASON", requires = "login")]
    pub allow_shared_admin: Option<String>,
    /// Log in with this OpenSSH private key from now on.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Log in with a password read from the first line of standard input from now on.
    #[arg(long)]
    pub password_stdin: bool,
    /// `cert`: log in with per-session certificates from now on.
    #[arg(long, value_enum)]
    pub auth: Option<CertAuth>,
    /// The new host key: "TYPE BASE64", or a line `ssh-keyscan` printed.
    #[arg(long, value_name = "\"TYPE BASE64\"")]
    pub host_key: Option<String>,
    /// Read the new host key from a .pub file or from `ssh-keyscan` output.
    #[arg(long, value_name = "FILE")]
    pub host_key_file: Option<PathBuf>,
    /// Act as this operator (authenticated now) instead of the console's OS user.
    #[arg(long = "as", value_name = "LOGIN")]
    pub by: Option<Login>,
}

/// Runs `fumidai target update`.
pub(super) async fn update(ctx: &Context, args: UpdateArgs, out: Output) -> anyhow::Result<()> {
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
    if ctx.store.target(&args.name).await?.is_none() {
        bail!(
            "no target {}; `fumidai target list` shows them / 接続先 {} は登録されていません",
            args.name,
            args.name
        );
    }
    let login = match &args.login {
        Some(login) => {
            target::check_target_login(login)?;
            target::shared_admin::check(login, args.allow_shared_admin.as_deref())?;
            Some((login.clone(), args.allow_shared_admin.clone()))
        }
        None => None,
    };
    let host_key = host_key_from(args.host_key.as_deref(), args.host_key_file.as_deref())?;
    let credential = match (&args.key_file, args.password_stdin, args.auth) {
        (Some(path), _, _) => Some((TargetAuth::Key, Some(read_private_key(path)?))),
        (None, true, _) => Some((TargetAuth::Password, Some(read_password_line()?))),
        (None, false, Some(CertAuth::Cert)) => Some((TargetAuth::Cert, None)),
        (None, false, None) => None,
    };
    let change = TargetChange {
        address: args.address.clone(),
        login,
        credential,
        host_key,
    };
    let updated = match target_admin::update(ctx.store.as_ref(), admin, &args.name, change).await {
        Err(OpError::NothingToChange) => bail!(
            "nothing to change: give --ssh, --login, --key-file/--password-stdin/--auth or \
             --host-key / 変更する項目を指定してください"
        ),
        other => other?,
    };
    out.print(&updated, |t| {
        format!(
            "target {} updated: {} as {}, host key {}\n接続先 {} を更新しました\n",
            t.name,
            t.address,
            t.login,
            t.pin.fingerprint(),
            t.name
        )
    })
}
