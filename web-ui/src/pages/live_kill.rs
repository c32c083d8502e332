//! `POST /live/{id}/kill` (R-10.2-REVIEW): ends a live session with a reason, optionally
//! barring its engineer from the plan. A kill must be instant, so it asks for no fresh
//! code (DESIGN.md, "The hospital side is authenticated"); it is a checked form like every
//! action (`csrf::Posted`: same origin, live console session, the session's CSRF token),
//! and the person is the console session's own (`ops::person::at_console`). The op
//! (`ops::session_kill::request`) records `session.killed` with the person as actor and the
//! reason; the gateway holding the session ends it within about a second and tells the
//! engineer an operator ended it (the reason itself is for the audit trail and the report).
//!
//! Whether the account may kill at all is asked first: an auditor's attempt records
//! nothing.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fumidai_core::ops::{OpError, session_kill};
use policy::authority::Action;
use policy::ids::SessionId;
use policy::limits::KillReason;
use serde::Deserialize;

use super::live::{console_person, parse_session_id, show};
use crate::AppState;
use crate::csrf::{CsrfForm, Posted};
use crate::error::PageError;
use crate::session::Signed;

/// What the kill form posts.
#[derive(Deserialize)]
pub(crate) struct KillForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    /// `yes` when "bar the engineer from the plan" is ticked.
    #[serde(default)]
    block: Option<String>,
}

impl CsrfForm for KillForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Posted { signed, form }: Posted<KillForm>,
) -> Result<Response, PageError> {
    let id = parse_session_id(&id)?;
    if let Err(denied) = policy::authority::authorize(
        signed.account.kind,
        signed.account.role,
        Action::KillSession,
    ) {
        let refusal = OpError::Denied {
            login: signed.account.login.clone(),
            denied,
        };
        return refuse(&state, &signed, &id, &refusal).await;
    }
    let reason: KillReason = match form.reason.parse() {
        Ok(reason) => reason,
        Err(bad) => {
            return show(
                &state,
                &signed,
                None,
                Some(bad.to_string()),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let block = form.block.as_deref() == Some("yes");
    // The console session that posted (checked by `Posted` a moment ago) is the person.
    let person = console_person(&state, &headers).await?;
    match session_kill::request(state.store.as_ref(), &person, &id, &reason, block).await {
        Ok(_) => {
            tracing::info!(session_id = %id, login = %signed.account.login, block, "console: kill requested");
            let to = format!("/live?killed={id}");
            let location = HeaderValue::from_str(&to).map_err(|_| PageError::NotFound)?;
            Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
        }
        Err(error @ (OpError::Store(_) | OpError::Login(_))) => Err(error.into()),
        Err(error) => refuse(&state, &signed, &id, &error).await,
    }
}

/// The list again, with the op's reason for refusing.
async fn refuse(
    state: &AppState,
    signed: &Signed,
    id: &SessionId,
    error: &OpError,
) -> Result<Response, PageError> {
    let status = match error {
        OpError::NotFound { .. } => StatusCode::NOT_FOUND,
        OpError::SessionEnded { .. }
        | OpError::KillPending { .. }
        | OpError::ConnectionClosed { .. } => StatusCode::CONFLICT,
        _ => StatusCode::FORBIDDEN,
    };
    tracing::info!(session_id = %id, login = %signed.account.login, %error, "console: kill refused");
    show(state, signed, None, Some(error.to_string()), status).await
}
