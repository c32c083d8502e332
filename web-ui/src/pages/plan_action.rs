//! `POST /plans/{id}/approve|reject|withdraw` (R-10.1-APPROVE, R-14-4): the person types a
//! fresh TOTP code with the action; the console confirms it through `ops::confirm` (same
//! Authenticator, a code is used once, the account read again) for the session's own login
//! — the password was checked when the session began — then calls `ops::plan_decision` or `ops::plan_withdrawal`, which ask `policy`
//! (four eyes, take-out by a planning manager) and record the action with the person as
//! actor. A refusal is shown on the plan's page as the op words it; nothing changed.
//!
//! Whether the account may take the action at all is asked first, before any credential
//! is checked: an auditor's attempt spends no code and records no sign-in.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fumidai_core::ops::{OpError, Person, plan_decision, plan_withdrawal};
use policy::authority::Action;
use policy::ids::PlanId;
use serde::Deserialize;

use super::plan::{parse_id, show};
use crate::AppState;
use crate::csrf::{CsrfForm, Posted};
use crate::error::PageError;
use crate::session::Signed;
use crate::step_up::{is_refusal, step_up};

/// What an action's form posts.
#[derive(Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    reason: String,
}

impl CsrfForm for ActionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Debug, Clone, Copy)]
enum Verb {
    Approve,
    Reject,
    Withdraw,
}

impl Verb {
    fn action(self) -> Action {
        match self {
            Self::Approve | Self::Reject => Action::DecidePlan,
            Self::Withdraw => Action::WithdrawPlan,
        }
    }

    fn done(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Reject => "rejected",
            Self::Withdraw => "withdrawn",
        }
    }
}

pub(crate) async fn approve(
    state: State<AppState>,
    id: Path<String>,
    posted: Posted<ActionForm>,
) -> Result<Response, PageError> {
    act(state, id, posted, Verb::Approve).await
}

pub(crate) async fn reject(
    state: State<AppState>,
    id: Path<String>,
    posted: Posted<ActionForm>,
) -> Result<Response, PageError> {
    act(state, id, posted, Verb::Reject).await
}

pub(crate) async fn withdraw(
    state: State<AppState>,
    id: Path<String>,
    posted: Posted<ActionForm>,
) -> Result<Response, PageError> {
    act(state, id, posted, Verb::Withdraw).await
}

async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { signed, form }: Posted<ActionForm>,
    verb: Verb,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let person = match step_up(&state, &signed, verb.action(), form.code).await {
        Ok(person) => person,
        Err(error) if is_refusal(&error) => return refuse(&state, &signed, &id, &error).await,
        Err(error) => return Err(error.into()),
    };
    match run(&state, &person, &id, verb, &form.reason).await {
        Ok(()) => {
            let to = format!("/plans/{id}?done={}", verb.done());
            let location = HeaderValue::from_str(&to).map_err(|_| PageError::NotFound)?;
            Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
        }
        Err(error @ (OpError::Store(_) | OpError::Login(_))) => Err(error.into()),
        Err(error) => refuse(&state, &signed, &id, &error).await,
    }
}

async fn run(
    state: &AppState,
    person: &Person,
    id: &PlanId,
    verb: Verb,
    reason: &str,
) -> Result<(), OpError> {
    let store = state.store.as_ref();
    let now = chrono::Utc::now();
    match verb {
        Verb::Approve => plan_decision::approve(store, person, id, now).await?,
        Verb::Reject => plan_decision::reject(store, person, id, reason, now).await?,
        Verb::Withdraw => plan_withdrawal::withdraw(store, person, id, reason, now).await?,
    };
    Ok(())
}

/// The plan's page again, with the op's reason for refusing.
async fn refuse(
    state: &AppState,
    signed: &Signed,
    id: &PlanId,
    error: &OpError,
) -> Result<Response, PageError> {
    let status = match error {
        OpError::AuthenticationFailed { .. } => StatusCode::UNAUTHORIZED,
        OpError::NotFound { .. } => StatusCode::NOT_FOUND,
        OpError::Plan(
            policy::plan::PlanError::NotSubmitted { .. }
            | policy::plan::PlanError::WrongState { .. },
        ) => StatusCode::CONFLICT,
        _ => StatusCode::FORBIDDEN,
    };
    tracing::info!(plan_id = %id, login = %signed.account.login, %error, "console: action refused");
    show(state, signed, id, None, Some(error.to_string()), status).await
}
