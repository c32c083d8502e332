//! `fumidai vendor|engineer|operator add|list`: the ID ledger (R-14-8), one account per
//! person (R-10.2-PRIV), passwords checked and hashed (R-14-6), TOTP enrolled (R-10.2-2FA).

use std::io::BufRead;

use anyhow::{Context as _, bail};
use ipnet::IpNet;
use policy::ids::{AccountKind, Login, OperatorRole, VendorName};
use policy::password;
use policy::totp::TotpSecret;
use qrcode::QrCode;
use qrcode::render::unicode;
use secrecy::SecretString;
use serde::Serialize;
use store::{Account, NewAccount, NewVendor, Vendor};

use super::context::{Context, cli_actor};
use super::output::Output;

/// Issuer shown in authenticator apps.
const TOTP_ISSUER: &str = "fumidai";

/// `fumidai vendor …`
#[derive(Debug, clap::Subcommand)]
pub enum VendorCommand {
    /// Register a vendor company.
    Add {
        /// Short name (lowercase letters, digits, '.', '_', '-').
        name: VendorName,
        /// Networks its engineers may connect from (repeatable, e.g. 203.0.113.0/24);
        /// none means any address (R-10.2-PATH).
        #[arg(long = "allow-from", value_name = "CIDR")]
        allow_from: Vec<IpNet>,
        /// Its engineers may declare emergency access, approved afterwards (事後承認).
        #[arg(long)]
        emergency: bool,
    },
    /// List vendors.
    List,
    /// The targets the vendor is contracted for: emergencies only there (R-11-1).
    #[command(subcommand)]
    Targets(super::vendor_targets::VendorTargetsCommand),
}

/// `fumidai engineer …`
#[derive(Debug, clap::Subcommand)]
pub enum EngineerCommand {
    /// Create an engineer account; prints the TOTP secret to enrol in an authenticator app.
    Add {
        /// Login; also the CN of the engineer's client certificate.
        login: Login,
        /// The engineer's vendor.
        #[arg(long)]
        vendor: VendorName,
        /// Full name, for reports.
        #[arg(long)]
        name: Option<String>,
        /// Read the initial password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List engineers.
    List,
}

/// `fumidai operator …`
#[derive(Debug, clap::Subcommand)]
pub enum OperatorCommand {
    /// Create an operator, planning manager or auditor account.
    Add {
        /// Login.
        login: Login,
        /// What the account may do.
        #[arg(long, default_value = "operator", value_parser = ["operator", "manager", "auditor"])]
        role: String,
        /// Full name, for reports.
        #[arg(long)]
        name: Option<String>,
        /// Read the initial password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List operators.
    List,
}

/// Runs `fumidai vendor …`.
pub(crate) async fn vendor(ctx: &Context, cmd: VendorCommand, out: Output) -> anyhow::Result<()> {
    match cmd {
        VendorCommand::Add {
            name,
            allow_from,
            emergency,
        } => {
            let vendor = ctx
                .store
                .add_vendor(
                    NewVendor {
                        name,
                        allow_from,
                        emergency_allowed: emergency,
                    },
                    &cli_actor(),
                )
                .await?;
            out.print(&vendor, |v| {
                format!("vendor {} added{}", v.name, allow_list_text(v))
            })
        }
        VendorCommand::List => {
            let vendors = ctx.store.vendors().await?;
            out.print(&vendors, |vs| {
                vs.iter()
                    .map(|v| format!("{}{}\n", v.name, allow_list_text(v)))
                    .collect()
            })
        }
        VendorCommand::Targets(cmd) => super::vendor_targets::run(ctx, cmd, out).await,
    }
}

fn allow_list_text(v: &Vendor) -> String {
    let nets: Vec<String> = v.allow_from.iter().map(ToString::to_string).collect();
    let from = if nets.is_empty() {
        "any address".to_owned()
    } else {
        nets.join(", ")
    };
    format!(
        " (from {from}{})",
        if v.emergency_allowed {
            "; emergency access allowed"
        } else {
            ""
        }
    )
}

/// Runs `fumidai engineer …`.
pub(crate) async fn engineer(
    ctx: &Context,
    cmd: EngineerCommand,
    out: Output,
) -> anyhow::Result<()> {
    match cmd {
        EngineerCommand::Add {
            login,
            vendor,
            name,
            password_stdin: _,
        } => {
            if ctx.store.vendor(&vendor).await?.is_none() {
                bail!(
                    "vendor {vendor} is not registered; add it first with `fumidai vendor add {vendor}`"
                );
            }
            let spec = AccountSpec {
                login,
                kind: AccountKind::Engineer,
                name,
                vendor: Some(vendor),
                role: None,
            };
            add_account(ctx, spec, out).await
        }
        EngineerCommand::List => list(ctx, AccountKind::Engineer, out).await,
    }
}

/// Runs `fumidai operator …`.
pub(crate) async fn operator(
    ctx: &Context,
    cmd: OperatorCommand,
    out: Output,
) -> anyhow::Result<()> {
    match cmd {
        OperatorCommand::Add {
            login,
            role,
            name,
            password_stdin: _,
        } => {
            let role: OperatorRole = role.parse()?;
            let spec = AccountSpec {
                login,
                kind: AccountKind::Operator,
                name,
                vendor: None,
                role: Some(role),
            };
            add_account(ctx, spec, out).await
        }
        OperatorCommand::List => list(ctx, AccountKind::Operator, out).await,
    }
}

struct AccountSpec {
    login: Login,
    kind: AccountKind,
    name: Option<String>,
    vendor: Option<VendorName>,
    role: Option<OperatorRole>,
}

#[derive(Serialize)]
struct Enrolled {
    account: Account,
    /// Base32, for typing into an authenticator app.
    totp_secret: String,
    /// For scanning.
    otpauth_uri: String,
}

async fn add_account(ctx: &Context, spec: AccountSpec, out: Output) -> anyhow::Result<()> {
    let password = read_password_line()?;
    let context: Vec<&str> = spec
        .name
        .iter()
        .flat_map(|n| n.split_whitespace())
        .collect();
    password::check_strength(spec.login.as_str(), &context, &password)?;
    let hash = tokio::task::spawn_blocking(move || password::hash(&password)).await??;
    let secret = TotpSecret::generate();
    let totp_secret = secret.to_base32();
    let otpauth_uri = secret.otpauth_uri(TOTP_ISSUER, spec.login.as_str());
    let new = NewAccount {
        login: spec.login,
        kind: spec.kind,
        display_name: spec.name,
        vendor: spec.vendor,
        role: spec.role,
        password_hash: hash,
        totp_secret: secret,
    };
    let account = ctx.store.add_account(new, &cli_actor()).await?;
    let enrolled = Enrolled {
        account,
        totp_secret,
        otpauth_uri,
    };
    out.print(&enrolled, |e| {
        let qr = QrCode::new(e.otpauth_uri.as_bytes())
            .map(|code| code.render::<unicode::Dense1x2>().quiet_zone(true).build())
            .unwrap_or_default();
        format!(
            "{kind} {login} added.\n\
             Enrol this secret in the person's authenticator app (Google Authenticator, Microsoft Authenticator, …)\n\
             認証アプリに次のシークレットを登録してください。この表示は一度きりです。\n\n\
             TOTP secret: {secret}\n{uri}\n\n{qr}",
            kind = e.account.kind.as_str(),
            login = e.account.login,
            secret = e.totp_secret,
            uri = e.otpauth_uri,
        )
    })
}

async fn list(ctx: &Context, kind: AccountKind, out: Output) -> anyhow::Result<()> {
    let accounts = ctx.store.accounts(Some(kind)).await?;
    out.print(&accounts, |accounts| {
        accounts
            .iter()
            .map(|a| {
                let of = a
                    .vendor
                    .as_ref()
                    .map(ToString::to_string)
                    .or_else(|| a.role.map(|r| r.to_string()))
                    .unwrap_or_default();
                let locked = a
                    .locked_until
                    .map(|t| format!(" locked until {t}"))
                    .unwrap_or_default();
                format!(
                    "{}\t{}\t{}{}\n",
                    a.login,
                    of,
                    a.display_name.as_deref().unwrap_or(""),
                    locked
                )
            })
            .collect()
    })
}

/// The first line of standard input, without its line ending. Never echoed or logged.
fn read_password_line() -> anyhow::Result<SecretString> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    zeroize::Zeroize::zeroize(&mut line);
    if password.is_empty() {
        bail!(
            "no password on standard input (pipe it in: `printf '%s\\n' \"$PW\" | fumidai … --password-stdin`)"
        );
    }
    Ok(password.into())
}
