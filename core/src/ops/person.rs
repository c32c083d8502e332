//! Acting in one's own name (R-14-1, R-14-4): a [`Person`] exists only after their
//! password and TOTP code were checked by the same [`Authenticator`] as the front door
//! (same Argon2id and TOTP checks, single-use codes, lock-out counting, `login.success` /
//! `login.failure` records). Each op then asks [`Person::may`] whether the account may take
//! its action (`policy::authority`), and records what it does with the person as actor.

use policy::authority::{self, Action};
use policy::ids::{AccountKind, Login, OperatorRole};
use secrecy::SecretString;
use store::{Account, Actor, Store, TokenDigest};

use super::OpError;
use crate::auth::{Authenticator, Entrance, LoginOutcome, LoginRequest};

/// An authenticated hospital-side account (operator, planning manager, auditor).
#[derive(Debug, Clone)]
pub struct Person {
    account: Account,
}

impl Person {
    /// The audit trail's actor for what this person does.
    pub fn actor(&self) -> Actor {
        Actor::Person(self.account.login.clone())
    }

    /// The login.
    pub fn login(&self) -> &Login {
        &self.account.login
    }

    /// The stored role (operator, planning manager, auditor), if any.
    pub fn role(&self) -> Option<OperatorRole> {
        self.account.role
    }

    /// The account as stored when the person signed in.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// Whether the account may take `action` (`policy::authority`, R-14-4).
    pub fn may(&self, action: Action) -> Result<(), OpError> {
        authority::authorize(self.account.kind, self.account.role, action).map_err(|denied| {
            OpError::Denied {
                login: self.account.login.clone(),
                denied,
            }
        })
    }
}

/// One sign-in for one action: what the person typed, and where.
pub struct SignIn {
    /// The login as typed.
    pub login: Login,
    /// The password as typed.
    pub password: SecretString,
    /// The TOTP code as typed (a fresh one for each action that asks for it).
    pub code: SecretString,
    /// Where they typed it (`console` for the command line, `https` for the web console),
    /// for the audit trail.
    pub protocol: &'static str,
}

/// Checks the password and code of a hospital-side account. Every refusal reads the same
/// ([`OpError::AuthenticationFailed`]).
pub async fn sign_in(auth: &Authenticator, request: SignIn) -> Result<Person, OpError> {
    let SignIn {
        login,
        password,
        code,
        protocol,
    } = request;
    let outcome = auth
        .login(LoginRequest {
            login: login.to_string(),
            entrance: Entrance::Console,
            password,
            code,
            protocol,
            admits: AccountKind::Operator,
        })
        .await?;
    let LoginOutcome::Accept { account } = outcome else {
        return Err(OpError::AuthenticationFailed {
            login: login.to_string(),
        });
    };
    Ok(Person { account })
}

/// A fresh TOTP code from `login`, who signed in with password and code when their console
/// session began (the caller vouches for that session): the step-up an action asks for
/// (approve, reject, withdraw, confirm; a kill does not). Checked and recorded by the same
/// [`Authenticator`] (single use, lock-out counting); the account is read again, so one
/// disabled since sign-in is refused. Every refusal reads the same.
pub async fn confirm(
    auth: &Authenticator,
    login: &Login,
    code: SecretString,
    protocol: &'static str,
) -> Result<Person, OpError> {
    match auth.confirm_code(login, code, protocol).await? {
        LoginOutcome::Accept { account } => Ok(Person { account }),
        LoginOutcome::Reject(_) => Err(OpError::AuthenticationFailed {
            login: login.to_string(),
        }),
    }
}

/// The person signed in at the web console whose browser holds the token with digest
/// `token`: the console session is live (not signed out) and the account still enabled
/// and hospital-side. Their password and TOTP were checked by [`sign_in`] when the
/// session began, and the console has applied its idle rule to this request.
/// For the actions that must be instant and ask for no fresh code: a kill, a watch.
pub async fn at_console(store: &dyn Store, token: &TokenDigest) -> Result<Person, OpError> {
    let refused = |login: String| OpError::AuthenticationFailed { login };
    let Some(session) = store.console_session(token).await? else {
        return Err(refused(String::new()));
    };
    match store.account(&session.login).await? {
        Some(account) if account.enabled && account.kind == AccountKind::Operator => {
            Ok(Person { account })
        }
        _ => Err(refused(session.login.to_string())),
    }
}
