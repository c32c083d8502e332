//! The account and vendor life cycle (R-14-8, §14.2, §10.2 table 10-1), done by an
//! authenticated operator or manager (`Action::ManageAccounts`) in their own name:
//! disabling and enabling engineers, operators and vendors; a vendor's contract end, allow
//! list and emergency permission; an engineer's password reset after an identity check
//! (§14 ⑥(4)); TOTP re-enrolment for a lost device (break-glass, R-14-3, alerted); operator
//! role changes; lifting a lock-out (R-14-6(6)). What one may do to one's own account is
//! `policy::authority::may_change_account`'s.

use chrono::{DateTime, Utc};
use policy::authority::{AccountChange, Action, may_change_account};
use policy::ids::{AccountKind, Login, OperatorRole, VendorName};
use policy::password;
use policy::totp::TotpSecret;
use secrecy::SecretString;
use store::{Account, PasswordSet, Store, Vendor, VendorChange};

use super::account_enrolment::Enrolment;
use super::{OpError, Person};
use crate::alerts::{Alert, Alerts};

/// How the person's identity was checked before a reset (§14 ⑥(4)): one line of at least
/// 8 characters, kept in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityNote(String);

impl std::str::FromStr for IdentityNote {
    type Err = OpError;

    fn from_str(text: &str) -> Result<Self, OpError> {
        let note = text.trim();
        if note.chars().count() < 8 || note.chars().any(char::is_control) {
            return Err(OpError::IdentityNote);
        }
        Ok(Self(note.to_owned()))
    }
}

impl IdentityNote {
    /// The note as recorded.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Disables or enables an account of `kind` (never one's own disabled).
pub async fn set_enabled(
    store: &dyn Store,
    person: &Person,
    (login, kind): (&Login, AccountKind),
    enabled: bool,
) -> Result<Account, OpError> {
    person.may(Action::ManageAccounts)?;
    account_of_kind(store, login, kind).await?;
    let change = if enabled {
        AccountChange::Enable
    } else {
        AccountChange::Disable
    };
    may_change_account(person.login(), login, change)?;
    Ok(store
        .set_account_enabled(login, enabled, &person.actor())
        .await?)
}

/// Changes a vendor: enabled, contract end, allow list, emergency permission.
pub async fn change_vendor(
    store: &dyn Store,
    person: &Person,
    name: &VendorName,
    change: &VendorChange,
) -> Result<Vendor, OpError> {
    person.may(Action::ManageAccounts)?;
    if *change == VendorChange::default() {
        return Err(OpError::NothingToChange);
    }
    Ok(store.change_vendor(name, change, &person.actor()).await?)
}

/// An engineer's new initial password, after an identity check (§14 ⑥(4)); they must
/// change it at their next login.
pub async fn reset_password(
    store: &dyn Store,
    person: &Person,
    login: &Login,
    note: &IdentityNote,
    password: SecretString,
) -> Result<(), OpError> {
    person.may(Action::ManageAccounts)?;
    may_change_account(person.login(), login, AccountChange::ResetPassword)?;
    let account = account_of_kind(store, login, AccountKind::Engineer).await?;
    let context: Vec<&str> = account
        .display_name
        .iter()
        .flat_map(|n| n.split_whitespace())
        .collect();
    password::check_strength(login.as_str(), &context, &password)?;
    let hash = tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|_| OpError::Interrupted("password hashing"))??;
    let how = PasswordSet::ResetByOperator {
        note: note.as_str().to_owned(),
    };
    store
        .set_password(login, &hash, &how, &person.actor())
        .await?;
    Ok(())
}

/// Break-glass for a lost or broken device (R-14-3): a new TOTP secret, shown once, with
/// its own audit record, and the `totp_reset` alert raised on `alerts`.
pub async fn reset_totp(
    store: &dyn Store,
    person: &Person,
    (login, kind): (&Login, AccountKind),
    note: &IdentityNote,
    (issuer, alerts): (&str, &Alerts),
) -> Result<Enrolment, OpError> {
    person.may(Action::ManageAccounts)?;
    may_change_account(person.login(), login, AccountChange::ResetTotp)?;
    let account = account_of_kind(store, login, kind).await?;
    let secret = TotpSecret::generate();
    let enrolment = Enrolment::of(account, &secret, issuer);
    store
        .reset_totp(login, &secret, note.as_str(), &person.actor())
        .await?;
    alerts.raise(Alert::totp_reset(
        login,
        person.login().as_str(),
        note.as_str(),
    ));
    Ok(enrolment)
}

/// Step 1 of lifting a lock-out, before anyone signs in (a command that can't succeed
/// costs no code): the account of `kind`, and it is locked now. Returns when the lock
/// would have ended.
pub async fn check_locked(
    store: &dyn Store,
    (login, kind): (&Login, AccountKind),
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, OpError> {
    let account = account_of_kind(store, login, kind).await?;
    if !locked_at(account.locked_until, now) {
        return Err(OpError::NotLocked(login.clone()));
    }
    Ok(account.locked_until)
}

/// Step 2: lifts it (R-14-6(6)). The store checks again under the row's lock: of two racing
/// unlocks, or an unlock racing the lock's end, one records `account.unlocked`.
pub async fn unlock(
    store: &dyn Store,
    person: &Person,
    login: &Login,
    now: DateTime<Utc>,
) -> Result<Account, OpError> {
    person.may(Action::ManageAccounts)?;
    may_change_account(person.login(), login, AccountChange::Unlock)?;
    match store.unlock_account(login, now, &person.actor()).await {
        Ok(account) => Ok(account),
        Err(store::Error::InvalidTransition { .. }) => Err(OpError::NotLocked(login.clone())),
        Err(error) => Err(error.into()),
    }
}

/// Changes an operator account's role (never one's own, R-14-4).
pub async fn set_role(
    store: &dyn Store,
    person: &Person,
    login: &Login,
    role: OperatorRole,
) -> Result<Account, OpError> {
    person.may(Action::ManageAccounts)?;
    may_change_account(person.login(), login, AccountChange::SetRole)?;
    account_of_kind(store, login, AccountKind::Operator).await?;
    Ok(store.set_role(login, role, &person.actor()).await?)
}

/// Step 1 of a password reset, before the new password is read: the account is an
/// engineer's.
pub async fn check_engineer(store: &dyn Store, login: &Login) -> Result<Account, OpError> {
    account_of_kind(store, login, AccountKind::Engineer).await
}

/// Whether a lock with this end holds at `now` (`policy::lockout`).
fn locked_at(locked_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    let state = policy::lockout::FailureState {
        consecutive_failures: 0,
        locked_until,
    };
    policy::lockout::is_locked(&state, now)
}

/// The account `login`, which must be of `kind`.
pub(super) async fn account_of_kind(
    store: &dyn Store,
    login: &Login,
    kind: AccountKind,
) -> Result<Account, OpError> {
    match store.account(login).await? {
        Some(account) if account.kind == kind => Ok(account),
        _ => Err(OpError::NoAccount {
            login: login.clone(),
            kind,
        }),
    }
}
