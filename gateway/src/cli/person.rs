//! Acting in one's own name at the console (R-14-1, R-14-4): `--as LOGIN`, then the
//! person's password and TOTP code — prompted on the terminal without echo, or two lines
//! on standard input when it is not a terminal (as `fumidai connect rdp` reads them).
//!
//! The sign-in is the core's (`fumidai_core::ops::sign_in`, the one the web console
//! uses): the same [`Authenticator`] as the front door, entered through
//! [`fumidai_core::auth::Entrance::Console`] — same Argon2id and TOTP checks, single-use codes,
//! lock-out counting and `login.success`/`login.failure` records (protocol `console`).
//! Only then does `policy::authority` say whether the account may take the action; the
//! action is recorded with the person as its actor.

use std::time::Duration;

use anyhow::{Context as _, bail};
use fumidai_core::ops::{self, SignIn};
use policy::authority::Action;
use policy::ids::Login;
use secrecy::SecretString;

use super::context::Context;
use crate::connect::rdp::{Prompter, StdinPrompter};
use fumidai_core::alerts::Alerts;
use fumidai_core::alerts::settings::Settings as AlertSettings;
use fumidai_core::auth::Authenticator;

/// How long the command waits for a lock-out alert to go out before it exits.
const ALERT_WAIT: Duration = Duration::from_secs(10);

pub(crate) use fumidai_core::ops::Person;

/// Authenticates `login` with password + code read from the terminal or standard input
/// (`ops::sign_in`), then checks that the account may take `action`. Every refusal reads
/// the same to the person at the console; the audit trail says why.
pub(crate) async fn authenticate(
    ctx: &Context,
    login: &Login,
    action: Action,
) -> anyhow::Result<Person> {
    let (password, code) = tokio::task::spawn_blocking(read_credentials)
        .await
        .context("cannot read the password and code")??;
    let alerts = Alerts::start(
        AlertSettings::load(&ctx.config.alerts, ctx.dir.root())
            .context("cannot set up [alerts]")?,
    );
    let auth = Authenticator::new(ctx.store.clone(), ctx.config.auth.lockout_policy())
        .with_alerts(alerts.clone());
    let signed_in = ops::sign_in(
        &auth,
        SignIn {
            login: login.clone(),
            password,
            code,
            protocol: "console",
        },
    )
    .await;
    // A lock-out this attempt caused is alerted before the command ends.
    let _ = alerts.settle(ALERT_WAIT).await;
    let person = signed_in.map_err(|e| anyhow::anyhow!("--as {e}"))?;
    person
        .may(action)
        .map_err(|denied| anyhow::anyhow!("--as {denied}"))?;
    Ok(person)
}

/// The password, then the TOTP code.
fn read_credentials() -> anyhow::Result<(SecretString, SecretString)> {
    let mut prompter = StdinPrompter;
    let password = prompter
        .answer("パスワード / Password: ", false)
        .context("cannot read the password")?;
    let code = prompter
        .answer("確認コード / Verification code: ", false)
        .context("cannot read the verification code")?;
    if password.is_empty() {
        bail!(
            "no password given: type it at the prompt, or pipe two lines (password, code) \
             into the command / パスワードが入力されていません"
        );
    }
    Ok((SecretString::from(password), SecretString::from(code)))
}
