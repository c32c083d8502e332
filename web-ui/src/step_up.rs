//! The step-up every action asks for (issue 15 §2): whether the session's account may take
//! the action at all (`policy::authority`) is asked first — an auditor's attempt spends no
//! code — then a fresh TOTP code for the session's own login (`ops::confirm`: single use,
//! lock-out counting, the account read again; the password was checked at sign-in).

use fumidai_core::ops::{self, OpError, Person};
use policy::authority::{self, Action};
use secrecy::SecretString;

use crate::AppState;
use crate::session::Signed;

/// The person behind `signed`, allowed to take `action` and present with a fresh `code`;
/// or why not, as the op words it (`Denied`, `AuthenticationFailed`, …).
pub(crate) async fn step_up(
    state: &AppState,
    signed: &Signed,
    action: Action,
    code: String,
) -> Result<Person, OpError> {
    authority::authorize(signed.account.kind, signed.account.role, action).map_err(|denied| {
        OpError::Denied {
            login: signed.account.login.clone(),
            denied,
        }
    })?;
    ops::confirm(
        &state.auth,
        &signed.account.login,
        SecretString::from(code),
        "https",
    )
    .await
}

/// Whether a refusal is the person's to read (shown on the page) rather than the
/// gateway's failure (an error page): the store and the login procedure failing are not.
pub(crate) fn is_refusal(error: &OpError) -> bool {
    !matches!(
        error,
        OpError::Store(store::Error::Database(_)) | OpError::Login(_)
    )
}
