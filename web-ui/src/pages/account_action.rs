//! `POST /admin/accounts` (enrol) and `POST /admin/accounts/{login}/{action}` (disable,
//! enable, unlock, reset TOTP, change role): the ID ledger's life cycle (R-14-8, R-14-3,
//! R-14-6(6)), each with a fresh TOTP code (`ops::confirm`) and done by
//! `ops::account_enrolment` / `ops::account_lifecycle`, which ask `policy` (who may
//! manage accounts; never disable oneself or change one's own role) and record the change
//! with the person as actor. A new TOTP secret is shown once, on the response to the post.
//!
//! Whether the account may manage accounts at all is asked first: an auditor's attempt
//! spends no code.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fumidai_core::ops::OpError;
use fumidai_core::ops::account_enrolment::{self, AccountSpec, Admin};
use fumidai_core::ops::account_lifecycle::{self, IdentityNote};
use policy::authority::Action;
use policy::ids::{AccountKind, Login, OperatorRole};
use secrecy::SecretString;
use serde::Deserialize;

use super::{account, accounts};
use crate::AppState;
use crate::csrf::{CsrfForm, Posted};
use crate::error::PageError;
use crate::step_up::{is_refusal, step_up};

/// The enrolment form.
#[derive(Deserialize)]
pub(crate) struct EnrolForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    login: String,
    /// `engineer` or `operator`.
    #[serde(default)]
    kind: String,
    /// An engineer's vendor.
    #[serde(default)]
    vendor: String,
    /// A hospital-side account's role.
    #[serde(default)]
    role: String,
    #[serde(default)]
    name: String,
    /// The initial password (the person changes it at first login).
    #[serde(default)]
    password: String,
}

impl CsrfForm for EnrolForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// An account action's form.
#[derive(Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    /// How the person's identity was checked (TOTP reset).
    #[serde(default)]
    note: String,
    /// The new role (role change).
    #[serde(default)]
    role: String,
}

impl CsrfForm for ActionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /admin/accounts`: enrols an account.
pub(crate) async fn enrol(
    State(state): State<AppState>,
    Posted { signed, form }: Posted<EnrolForm>,
) -> Result<Response, PageError> {
    let person = match step_up(&state, &signed, Action::ManageAccounts, form.code).await {
        Ok(person) => person,
        Err(error) if !is_refusal(&error) => return Err(error.into()),
        Err(error) => return accounts::show(&state, &signed, None, Some(error.to_string())).await,
    };
    let spec = match spec_of(
        &form.login,
        &form.kind,
        &form.vendor,
        &form.role,
        &form.name,
    ) {
        Ok(spec) => spec,
        Err((ja, en)) => {
            return accounts::show(&state, &signed, None, Some(format!("{en} / {ja}"))).await;
        }
    };
    let issuer = issuer(&state);
    let enrolled = account_enrolment::enrol(
        state.store.as_ref(),
        Admin::Person(&person),
        spec,
        (SecretString::from(form.password), issuer),
    )
    .await;
    match enrolled {
        Ok(e) => {
            let shown = (e.account.login.to_string(), e.totp_secret, e.otpauth_uri);
            accounts::show(&state, &signed, Some(shown), None).await
        }
        Err(error @ OpError::Store(store::Error::Database(_))) => Err(error.into()),
        Err(error) => accounts::show(&state, &signed, None, Some(error.to_string())).await,
    }
}

/// The name authenticator apps show for fumidai's codes (`[auth] totp_issuer`).
fn issuer(state: &AppState) -> &str {
    state
        .config
        .as_ref()
        .map_or("fumidai", |c| c.auth.totp_issuer.as_str())
}

/// The account to enrol, from the form's text; `Err` says what is wrong, Japanese and
/// English.
fn spec_of(
    login: &str,
    kind: &str,
    vendor: &str,
    role: &str,
    name: &str,
) -> Result<AccountSpec, (&'static str, &'static str)> {
    let login: Login = login
        .trim()
        .parse()
        .map_err(|_| ("ログイン名が正しくありません", "the login is not valid"))?;
    let name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
    match kind {
        "engineer" => Ok(AccountSpec {
            login,
            kind: AccountKind::Engineer,
            name,
            vendor: Some(
                vendor
                    .trim()
                    .parse()
                    .map_err(|_| ("保守事業者を選んでください", "choose the vendor"))?,
            ),
            role: None,
        }),
        "operator" => Ok(AccountSpec {
            login,
            kind: AccountKind::Operator,
            name,
            vendor: None,
            role: Some(
                role.parse::<OperatorRole>()
                    .map_err(|_| ("役割を選んでください", "choose the role"))?,
            ),
        }),
        _ => Err(("種別を選んでください", "choose the kind of account")),
    }
}

/// What an account post does.
#[derive(Debug, Clone, Copy)]
enum Change {
    Disable,
    Enable,
    Unlock,
    ResetTotp,
    Role,
}

impl Change {
    fn of(text: &str) -> Option<Self> {
        Some(match text {
            "disable" => Self::Disable,
            "enable" => Self::Enable,
            "unlock" => Self::Unlock,
            "reset-totp" => Self::ResetTotp,
            "role" => Self::Role,
            _ => return None,
        })
    }
}

/// `POST /admin/accounts/{login}/{action}`.
pub(crate) async fn change(
    State(state): State<AppState>,
    Path((login, action)): Path<(String, String)>,
    Posted { signed, form }: Posted<ActionForm>,
) -> Result<Response, PageError> {
    let login: Login = login.parse().map_err(|_| PageError::NotFound)?;
    let change = Change::of(&action).ok_or(PageError::NotFound)?;
    let subject = state
        .store
        .account(&login)
        .await?
        .ok_or(PageError::NotFound)?;
    let person = match step_up(&state, &signed, Action::ManageAccounts, form.code).await {
        Ok(person) => person,
        Err(error) if !is_refusal(&error) => return Err(error.into()),
        Err(error) => {
            let shown = account::Shown {
                refusal: Some(error.to_string()),
                ..account::Shown::default()
            };
            return account::show(&state, &signed, &login, shown).await;
        }
    };
    let store = state.store.as_ref();
    let target = (&login, subject.kind);
    let done: Result<Option<(String, String, String)>, OpError> = match change {
        Change::Disable => account_lifecycle::set_enabled(store, &person, target, false)
            .await
            .map(|_| None),
        Change::Enable => account_lifecycle::set_enabled(store, &person, target, true)
            .await
            .map(|_| None),
        Change::Unlock => account_lifecycle::unlock(store, &person, &login, state.now())
            .await
            .map(|_| None),
        Change::ResetTotp => match form.note.parse::<IdentityNote>() {
            Ok(note) => account_lifecycle::reset_totp(
                store,
                &person,
                target,
                &note,
                (issuer(&state), &state.alerts),
            )
            .await
            .map(|e| Some((e.account.login.to_string(), e.totp_secret, e.otpauth_uri))),
            Err(error) => Err(error),
        },
        Change::Role => match form.role.parse::<OperatorRole>() {
            Ok(role) => account_lifecycle::set_role(store, &person, &login, role)
                .await
                .map(|_| None),
            Err(_) => Err(OpError::NotFound {
                kind: "role",
                kind_ja: "役割",
                name: form.role.clone(),
            }),
        },
    };
    match done {
        Ok(Some(enrolled)) => {
            let shown = account::Shown {
                enrolled: Some(enrolled),
                ..account::Shown::default()
            };
            account::show(&state, &signed, &login, shown).await
        }
        Ok(None) => {
            let to = format!("/admin/accounts/{login}?done={action}");
            let location = HeaderValue::from_str(&to).map_err(|_| PageError::NotFound)?;
            Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
        }
        Err(error @ OpError::Store(store::Error::Database(_))) => Err(error.into()),
        Err(error) => {
            let shown = account::Shown {
                refusal: Some(error.to_string()),
                ..account::Shown::default()
            };
            account::show(&state, &signed, &login, shown).await
        }
    }
}
