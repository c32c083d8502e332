//! `POST /reports/{plan}/confirm` (R-10-5): the planning manager confirms a report, with
//! findings of their own if any, typing a fresh TOTP code (`ops::confirm`; the password
//! was checked when the session began). `ops::report_confirmation` asks `policy` (managers
//! only, a reported plan only) and records the confirmation with the person as actor. A
//! refusal is shown on the report's page as the op words it; nothing changed.
//!
//! Whether the account may confirm at all is asked first: an operator's or an auditor's
//! attempt spends no code and records no sign-in.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fumidai_core::ops::{OpError, report_confirmation};
use policy::authority::Action;
use policy::ids::PlanId;
use serde::Deserialize;

use super::plan::parse_id;
use super::report::show;
use crate::AppState;
use crate::csrf::{CsrfForm, Posted};
use crate::error::PageError;
use crate::session::Signed;
use crate::step_up::{is_refusal, step_up};

/// What the confirmation form posts.
#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    /// The manager's findings or remarks; empty for none.
    #[serde(default)]
    finding: String,
}

impl CsrfForm for ConfirmForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /reports/{plan}/confirm`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { signed, form }: Posted<ConfirmForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let person = match step_up(&state, &signed, Action::ConfirmReport, form.code).await {
        Ok(person) => person,
        Err(error) if is_refusal(&error) => return refuse(&state, &signed, &id, &error).await,
        Err(error) => return Err(error.into()),
    };
    let finding = Some(form.finding.trim()).filter(|f| !f.is_empty());
    match report_confirmation::confirm(state.store.as_ref(), &person, &id, finding, state.now())
        .await
    {
        Ok(_) => {
            let to = format!("/reports/{id}?done=confirmed");
            let location = HeaderValue::from_str(&to).map_err(|_| PageError::NotFound)?;
            Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
        }
        Err(error @ (OpError::Store(_) | OpError::Login(_))) => Err(error.into()),
        Err(error) => refuse(&state, &signed, &id, &error).await,
    }
}

/// The report's page again, with the op's reason for refusing.
async fn refuse(
    state: &AppState,
    signed: &Signed,
    id: &PlanId,
    error: &OpError,
) -> Result<Response, PageError> {
    let status = match error {
        OpError::AuthenticationFailed { .. } => StatusCode::UNAUTHORIZED,
        OpError::NotFound { .. } => StatusCode::NOT_FOUND,
        OpError::Plan(_) => StatusCode::CONFLICT,
        _ => StatusCode::FORBIDDEN,
    };
    tracing::info!(plan_id = %id, login = %signed.account.login, %error, "console: report confirmation refused");
    show(state, signed, id, None, Some(error.to_string()), status).await
}
