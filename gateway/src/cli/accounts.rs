//! `fumidai vendor|engineer|operator …`: the ID ledger (R-14-8), one account per person
//! (R-10.2-PRIV), passwords checked and hashed (R-14-6), TOTP enrolled (R-10.2-2FA). The
//! life cycle after creation (disable, reset, roles) is in [`lifecycle`](super::lifecycle).
//! Creation stays a console bootstrap action (the OS user is the actor) unless `--as`
//! names an operator, who is then authenticated first.

use std::io::BufRead;

use anyhow::{Context as _, bail};
use fumidai_core::ops::Person;
use fumidai_core::ops::account_enrolment::{self, AccountSpec, Admin, Enrolment};
use ipnet::IpNet;
use policy::ids::{AccountKind, Login, OperatorRole, VendorName};
use qrcode::QrCode;
use qrcode::render::unicode;
use secrecy::SecretString;
use store::{NewVendor, Vendor};

use super::context::{Context, cli_actor};
use super::lifecycle::{self, Switch};
use super::output::Output;

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
        /// Act as this operator (authenticated now) instead of the console's OS user.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Option<Login>,
    },
    /// List vendors.
    List,
    /// The targets the vendor is contracted for: emergencies only there (R-11-1).
    #[command(subcommand)]
    Targets(super::vendor_targets::VendorTargetsCommand),
    /// Disable a vendor: none of its engineers can log in.
    Disable {
        /// The vendor.
        name: VendorName,
        /// The operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
    /// Enable a disabled vendor again.
    Enable {
        /// The vendor.
        name: VendorName,
        /// The operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
    /// Change a vendor's contract end, allow list or emergency permission.
    Set {
        /// The vendor.
        name: VendorName,
        /// Last day of the contract (2027-03-31, JST; logins stop at the next midnight), an
        /// RFC 3339 instant, or `none`.
        #[arg(long, value_name = "DATE")]
        contract_end: Option<String>,
        /// Replace the allow list with these networks (repeatable).
        #[arg(long = "allow-from", value_name = "CIDR")]
        allow_from: Vec<IpNet>,
        /// Clear the allow list (any address).
        #[arg(long)]
        any_address: bool,
        /// Whether its engineers may declare emergency access.
        #[arg(long, value_enum)]
        emergency: Option<Switch>,
        /// The operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
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
        /// Read the initial password from the first line of standard input (after the
        /// operator's password and code with `--as`).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Act as this operator (authenticated now) instead of the console's OS user.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Option<Login>,
    },
    /// List engineers.
    List,
    /// Disable an engineer: logins are refused.
    Disable {
        /// The engineer.
        login: Login,
        /// The operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
    /// Enable a disabled engineer again.
    Enable {
        /// The engineer.
        login: Login,
        /// The operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
    /// Set a new initial password (read from standard input after your own password and
    /// code) once the engineer's identity is checked; they must change it at their next
    /// login (§14 ⑥(4)).
    Reset {
        /// The engineer.
        login: Login,
        /// How the identity was checked (recorded).
        #[arg(long)]
        note: String,
        /// The operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
    /// Break-glass for a lost or broken TOTP device (R-14-3): enrol a new secret, shown
    /// once; audited and alerted.
    ResetTotp {
        /// The engineer.
        login: Login,
        /// How the identity was checked (recorded).
        #[arg(long)]
        note: String,
        /// The operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
    /// Lift a lock-out (after repeated failed logins) before it ends; audited.
    Unlock {
        /// The engineer.
        login: Login,
        /// The operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
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
        /// Read the initial password from the first line of standard input (after the
        /// operator's password and code with `--as`).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Act as this operator (authenticated now) instead of the console's OS user.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Option<Login>,
    },
    /// List operators.
    List,
    /// Disable an operator account.
    Disable {
        /// The account.
        login: Login,
        /// The operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
    /// Enable a disabled operator account again.
    Enable {
        /// The account.
        login: Login,
        /// The operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
    /// Change an account's role.
    Role {
        /// The account.
        login: Login,
        /// The new role.
        #[arg(value_parser = ["operator", "manager", "auditor"])]
        role: String,
        /// The operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
    /// Re-enrol the account's TOTP (lost device, R-14-3); audited and alerted.
    ResetTotp {
        /// The account.
        login: Login,
        /// How the identity was checked (recorded).
        #[arg(long)]
        note: String,
        /// The operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
    /// Lift a lock-out (after repeated failed logins) before it ends; audited.
    Unlock {
        /// The account.
        login: Login,
        /// Another operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
}

/// Runs `fumidai vendor …`.
pub(crate) async fn vendor(ctx: &Context, cmd: VendorCommand, out: Output) -> anyhow::Result<()> {
    match cmd {
        VendorCommand::Add {
            name,
            allow_from,
            emergency,
            by,
        } => {
            let person = acting(ctx, by.as_ref()).await?;
            let vendor = account_enrolment::add_vendor(
                ctx.store.as_ref(),
                admin(person.as_ref()),
                NewVendor {
                    name,
                    allow_from,
                    emergency_allowed: emergency,
                },
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
        VendorCommand::Disable { name, by } => {
            lifecycle::change_vendor(ctx, &name, switched(false), &by, out).await
        }
        VendorCommand::Enable { name, by } => {
            lifecycle::change_vendor(ctx, &name, switched(true), &by, out).await
        }
        VendorCommand::Set {
            name,
            contract_end,
            allow_from,
            any_address,
            emergency,
            by,
        } => {
            let change =
                lifecycle::vendor_change(contract_end, allow_from, any_address, emergency)?;
            lifecycle::change_vendor(ctx, &name, change, &by, out).await
        }
    }
}

/// The change `vendor disable|enable` makes.
fn switched(enabled: bool) -> store::VendorChange {
    store::VendorChange {
        enabled: Some(enabled),
        ..store::VendorChange::default()
    }
}

/// The command's authenticated operator (`--as`), or none for a bootstrap action by the
/// host's administrator.
async fn acting(ctx: &Context, by: Option<&Login>) -> anyhow::Result<Option<Person>> {
    match by {
        Some(login) => Ok(Some(
            super::person::authenticate(ctx, login, policy::authority::Action::ManageAccounts)
                .await?,
        )),
        None => Ok(None),
    }
}

/// Who registers: the person, or the host's administrator (the OS user is the actor).
fn admin(person: Option<&Person>) -> Admin<'_> {
    match person {
        Some(person) => Admin::Person(person),
        None => Admin::Host(cli_actor()),
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
            by,
        } => {
            let person = acting(ctx, by.as_ref()).await?;
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
            add_account(ctx, spec, admin(person.as_ref()), out).await
        }
        EngineerCommand::List => list(ctx, AccountKind::Engineer, out).await,
        EngineerCommand::Disable { login, by } => {
            lifecycle::set_enabled(ctx, &login, AccountKind::Engineer, false, &by, out).await
        }
        EngineerCommand::Enable { login, by } => {
            lifecycle::set_enabled(ctx, &login, AccountKind::Engineer, true, &by, out).await
        }
        EngineerCommand::Reset { login, note, by } => {
            lifecycle::reset_password(ctx, &login, &note, &by, out).await
        }
        EngineerCommand::ResetTotp { login, note, by } => {
            lifecycle::reset_totp(ctx, &login, AccountKind::Engineer, &note, &by, out).await
        }
        EngineerCommand::Unlock { login, by } => {
            lifecycle::unlock(ctx, &login, AccountKind::Engineer, &by, out).await
        }
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
            by,
        } => {
            let person = acting(ctx, by.as_ref()).await?;
            let role: OperatorRole = role.parse()?;
            let spec = AccountSpec {
                login,
                kind: AccountKind::Operator,
                name,
                vendor: None,
                role: Some(role),
            };
            add_account(ctx, spec, admin(person.as_ref()), out).await
        }
        OperatorCommand::List => list(ctx, AccountKind::Operator, out).await,
        OperatorCommand::Disable { login, by } => {
            lifecycle::set_enabled(ctx, &login, AccountKind::Operator, false, &by, out).await
        }
        OperatorCommand::Enable { login, by } => {
            lifecycle::set_enabled(ctx, &login, AccountKind::Operator, true, &by, out).await
        }
        OperatorCommand::Role { login, role, by } => {
            lifecycle::set_role(ctx, &login, role.parse()?, &by, out).await
        }
        OperatorCommand::ResetTotp { login, note, by } => {
            lifecycle::reset_totp(ctx, &login, AccountKind::Operator, &note, &by, out).await
        }
        OperatorCommand::Unlock { login, by } => {
            lifecycle::unlock(ctx, &login, AccountKind::Operator, &by, out).await
        }
    }
}

async fn add_account(
    ctx: &Context,
    spec: AccountSpec,
    admin: Admin<'_>,
    out: Output,
) -> anyhow::Result<()> {
    let password = read_password_line()?;
    let issuer = ctx.config.auth.totp_issuer.as_str();
    let enrolment =
        account_enrolment::enrol(ctx.store.as_ref(), admin, spec, (password, issuer)).await?;
    print_enrolment(enrolment, out)
}

/// Prints an account's TOTP enrolment, once: the secret, its URI and a QR code.
pub(crate) fn print_enrolment(enrolment: Enrolment, out: Output) -> anyhow::Result<()> {
    out.print(&enrolment, |e| {
        let qr = QrCode::new(e.otpauth_uri.as_bytes())
            .map(|code| code.render::<unicode::Dense1x2>().quiet_zone(true).build())
            .unwrap_or_default();
        format!(
            "{kind} {login} added.\n\
             Enrol this secret in the person's authenticator app (Google Authenticator, Microsoft Authenticator, …)\n\
             認証アプリに次のシークレットを登録してください。この表示は一度きりです。\n\n\
             TOTP secret: {secret}\n{uri}\n\n{qr}{first_login}",
            kind = e.account.kind.as_str(),
            first_login = if e.account.must_change_password {
                "\nThe first login asks for a new password: the one typed here stops working then.\n\
                 初回ログイン時に新しいパスワードの設定を求められます。ここで入力したパスワードはその後使えません。\n"
            } else {
                ""
            },
            login = e.account.login,
            secret = e.totp_secret,
            uri = e.otpauth_uri,
        )
    })
}

async fn list(ctx: &Context, kind: AccountKind, out: Output) -> anyhow::Result<()> {
    let accounts = ctx.store.accounts(Some(kind)).await?;
    let now = chrono::Utc::now();
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
                // A lock that has ended stays in the row until the next attempt: not shown.
                let locked = a
                    .locked_until
                    .filter(|until| now < *until)
                    .map(|t| {
                        let at = policy::jst::format_seconds(t);
                        format!(" locked until {at} / {at} までロック中")
                    })
                    .unwrap_or_default();
                let change = if a.must_change_password {
                    " (password to be changed at the next login / 次回ログイン時にパスワード変更)"
                } else {
                    ""
                };
                format!(
                    "{}\t{}\t{}{}{}\n",
                    a.login,
                    of,
                    a.display_name.as_deref().unwrap_or(""),
                    locked,
                    change
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
