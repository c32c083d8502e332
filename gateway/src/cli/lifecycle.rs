//! The account and vendor life cycle at the console (R-14-8, §14.2, §10.2 table 10-1):
//! disable and enable engineers, operators and vendors; a vendor's contract end, allow
//! list and emergency permission; an engineer's password reset after an identity check
//! (§14 ⑥(4)); TOTP re-enrolment for a lost device (break-glass, R-14-3, alerted);
//! operator role changes; lifting a lock-out (R-14-6(6)). Each is done by an authenticated
//! operator or manager ([`person`](super::person)) and audited in their name.

use std::io::BufRead;

use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use fumidai_core::ops::account_lifecycle::{self, IdentityNote};
use ipnet::IpNet;
use policy::authority::Action;
use policy::ids::{AccountKind, Login, OperatorRole, VendorName};
use secrecy::SecretString;
use store::VendorChange;

use super::accounts::print_enrolment;
use super::context::Context;
use super::output::Output;
use super::person::{self, Person};
use fumidai_core::alerts::Alerts;
use fumidai_core::alerts::settings::Settings as AlertSettings;

/// How long a TOTP reset waits for its alert to go out.
const ALERT_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    /// Allowed.
    On,
    /// Not allowed.
    Off,
}

/// Disables or enables an account of `kind`.
pub(crate) async fn set_enabled(
    ctx: &Context,
    login: &Login,
    kind: AccountKind,
    enabled: bool,
    by: &Login,
    out: Output,
) -> anyhow::Result<()> {
    let person = person::authenticate(ctx, by, Action::ManageAccounts).await?;
    let account =
        account_lifecycle::set_enabled(&*ctx.store, &person, (login, kind), enabled).await?;
    out.print(&account, |a| {
        if a.enabled {
            format!("{} enabled / {} を有効にしました", a.login, a.login)
        } else {
            format!(
                "{} disabled: logins are refused from now on / {} を無効にしました。以後ログインできません",
                a.login, a.login
            )
        }
    })
}

/// `vendor set|disable|enable`.
pub(crate) async fn change_vendor(
    ctx: &Context,
    name: &VendorName,
    change: VendorChange,
    by: &Login,
    out: Output,
) -> anyhow::Result<()> {
    let person = person::authenticate(ctx, by, Action::ManageAccounts).await?;
    let vendor = account_lifecycle::change_vendor(&*ctx.store, &person, name, &change).await?;
    out.print(&vendor, |v| {
        let end = v
            .contract_end
            .map(|t| {
                format!(
                    "; contract ends {} / 契約終了 {}",
                    policy::jst::format(t),
                    policy::jst::format(t)
                )
            })
            .unwrap_or_default();
        format!(
            "vendor {} {}{}",
            v.name,
            if v.enabled {
                "enabled / 有効"
            } else {
                "disabled / 無効"
            },
            end
        )
    })
}

/// The vendor change `vendor set` flags describe.
pub(crate) fn vendor_change(
    contract_end: Option<String>,
    allow_from: Vec<IpNet>,
    any_address: bool,
    emergency: Option<Switch>,
) -> anyhow::Result<VendorChange> {
    let contract_end = match contract_end.as_deref() {
        None => None,
        Some("none") => Some(None),
        Some(text) => Some(Some(parse_contract_end(text)?)),
    };
    let allow_from = match (allow_from.is_empty(), any_address) {
        (true, false) => None,
        (true, true) => Some(Vec::new()),
        (false, false) => Some(allow_from),
        (false, true) => bail!("--allow-from and --any-address exclude each other"),
    };
    let change = VendorChange {
        enabled: None,
        contract_end,
        allow_from,
        emergency_allowed: emergency.map(|s| s == Switch::On),
    };
    if change == VendorChange::default() {
        bail!("nothing to change: give --contract-end, --allow-from, --any-address or --emergency");
    }
    Ok(change)
}

/// `engineer reset LOGIN`: a new initial password from standard input (after the
/// operator's password and code), with the identity check recorded (§14 ⑥(4)). The
/// engineer must change it at the next login.
pub(crate) async fn reset_password(
    ctx: &Context,
    login: &Login,
    note: &str,
    by: &Login,
    out: Output,
) -> anyhow::Result<()> {
    let person = person::authenticate(ctx, by, Action::ManageAccounts).await?;
    let note: IdentityNote = note.parse()?;
    account_lifecycle::check_engineer(&*ctx.store, login).await?;
    let password = tokio::task::spawn_blocking(read_new_password).await??;
    account_lifecycle::reset_password(&*ctx.store, &person, login, &note, password).await?;
    out.print(
        &serde_json::json!({ "login": login, "must_change_password": true }),
        |_| {
            format!(
                "password of {login} reset; they must change it at their next login / \
             {login} のパスワードを再設定しました。次回ログイン時に変更が必要です"
            )
        },
    )
}

/// `engineer|operator reset-totp LOGIN`: break-glass for a lost or broken device
/// (R-14-3): a new secret, shown once, with its own audit record and an alert.
pub(crate) async fn reset_totp(
    ctx: &Context,
    login: &Login,
    kind: AccountKind,
    note: &str,
    by: &Login,
    out: Output,
) -> anyhow::Result<()> {
    let person: Person = person::authenticate(ctx, by, Action::ManageAccounts).await?;
    let note: IdentityNote = note.parse()?;
    let alerts = Alerts::start(
        AlertSettings::load(&ctx.config.alerts, ctx.dir.root())
            .context("cannot set up [alerts]")?,
    );
    let issuer = ctx.config.auth.totp_issuer.as_str();
    let enrolment = account_lifecycle::reset_totp(
        &*ctx.store,
        &person,
        (login, kind),
        &note,
        (issuer, &alerts),
    )
    .await?;
    let d = alerts.settle(ALERT_WAIT).await;
    if d.pending > 0 || d.failed > 0 {
        eprintln!(
            "fumidai: warning: the TOTP reset's alert is not delivered (see [alerts]) / \
             通知の送信が完了していません"
        );
    }
    print_enrolment(enrolment, out)
}

/// `engineer|operator unlock LOGIN`: lifts a lock-out before its end (R-14-6(6)), once the
/// operator knows why it happened — an engineer's `scp` without a terminal, a code used
/// twice, or somebody guessing. The account must be locked now; that is checked before
/// the operator's password and code are asked for, so a command that can't succeed costs
/// no code. The store checks again under the row's lock: of two racing unlocks, or an
/// unlock racing the lock's end, one records `account.unlocked`.
pub(crate) async fn unlock(
    ctx: &Context,
    login: &Login,
    kind: AccountKind,
    by: &Login,
    out: Output,
) -> anyhow::Result<()> {
    let until = account_lifecycle::check_locked(&*ctx.store, (login, kind), Utc::now()).await?;
    let person = person::authenticate(ctx, by, Action::ManageAccounts).await?;
    let account = account_lifecycle::unlock(&*ctx.store, &person, login, Utc::now()).await?;
    out.print(&account, |a| {
        let lifted = until
            .map(|t| {
                let at = policy::jst::format_seconds(t);
                format!(" (locked until {at} / {at} までのロック)")
            })
            .unwrap_or_default();
        format!(
            "{} unlocked: logins are checked again from now on{lifted} / {} のロックを解除しました\n",
            a.login, a.login
        )
    })
}

/// `operator role LOGIN ROLE`.
pub(crate) async fn set_role(
    ctx: &Context,
    login: &Login,
    role: OperatorRole,
    by: &Login,
    out: Output,
) -> anyhow::Result<()> {
    let person = person::authenticate(ctx, by, Action::ManageAccounts).await?;
    let account = account_lifecycle::set_role(&*ctx.store, &person, login, role).await?;
    out.print(&account, |a| {
        format!(
            "{} is now {} / {} の役割を {} に変更しました",
            a.login, role, a.login, role
        )
    })
}

/// A contract end: a date (`2027-03-31`, the contract covers that whole day in JST, so
/// logins stop at the next midnight JST) or an RFC 3339 instant.
fn parse_contract_end(text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let next = date
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .context("date out of range")?;
        let jst = chrono::FixedOffset::east_opt(9 * 3600).context("JST offset")?;
        return jst
            .from_local_datetime(&next)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .context("date out of range");
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| {
            format!("--contract-end {text:?}: expected a date like 2027-03-31, an RFC 3339 time, or none")
        })
}

/// The next line of standard input: the new password (never echoed or logged).
fn read_new_password() -> anyhow::Result<SecretString> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the new password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    zeroize::Zeroize::zeroize(&mut line);
    if password.is_empty() {
        bail!(
            "no new password on standard input (after your own password and code) / \
             新しいパスワードが入力されていません"
        );
    }
    Ok(password.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_ends_at_the_next_midnight_jst() {
        let end = parse_contract_end("2027-03-31").unwrap();
        assert_eq!(end.to_rfc3339(), "2027-03-31T15:00:00+00:00");
        let end = parse_contract_end("2027-03-31T12:00:00+09:00").unwrap();
        assert_eq!(end.to_rfc3339(), "2027-03-31T03:00:00+00:00");
        assert!(parse_contract_end("31/03/2027").is_err());
    }
}
