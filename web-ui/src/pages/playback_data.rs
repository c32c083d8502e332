//! A recording's data for the playback page's player, only under a grant this console
//! session got when the page recorded the playback (`playback_grant`), and only while
//! the recording still passes its seal check (or the grant carries an override):
//!
//! - `GET /sessions/{id}/play/{n}/cast?grant=…`: the SSH channel's cast, rewritten for a
//!   browser (`ops::playback::cast`: the screen only, terminal queries removed).
//! - `GET /sessions/{id}/play/rdp/frame?grant=…&t=SECONDS`: the RDP screen as of `t`
//!   (the last one without `t`), as a PNG.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use fumidai_core::ops::playback::{self, Decision, Found, Which};
use serde::Deserialize;

use super::playback::seconds;
use super::session::{data_dir, parse_id};
use crate::AppState;
use crate::error::PageError;
use crate::session::Signed;

/// `?grant=…&t=…`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DataQuery {
    #[serde(default)]
    grant: String,
    #[serde(default)]
    t: String,
}

/// `GET …/cast`.
pub(crate) async fn cast(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, which)): Path<(String, String)>,
    Query(query): Query<DataQuery>,
) -> Result<Response, PageError> {
    let found = granted(&state, &signed, &id, &which, &query).await?;
    if !matches!(found.which, Which::Channel(_)) {
        return Err(PageError::NotFound);
    }
    let bytes = playback::cast(&found).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        bytes,
    )
        .into_response())
}

/// `GET …/frame`.
pub(crate) async fn frame(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, which)): Path<(String, String)>,
    Query(query): Query<DataQuery>,
) -> Result<Response, PageError> {
    let found = granted(&state, &signed, &id, &which, &query).await?;
    if found.which != Which::Rdp {
        return Err(PageError::NotFound);
    }
    let at = seconds(&query.t).map(std::time::Duration::from_secs_f64);
    let still = playback::still(&found, at)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))],
        still.png,
    )
        .into_response())
}

/// The recording, when this console session holds a grant for it and its seal still
/// allows it (checked again: the file may have changed since the page).
async fn granted(
    state: &AppState,
    signed: &Signed,
    id: &str,
    which: &str,
    query: &DataQuery,
) -> Result<Found, PageError> {
    let id = parse_id(id)?;
    let which: Which = which.parse().map_err(|_| PageError::NotFound)?;
    let grant = state
        .grants
        .check(&query.grant, &signed.session.id, id, which, state.now())
        .ok_or(PageError::NotGranted)?;
    let dir = data_dir(state)?;
    let found = playback::find(state.store.as_ref(), dir, id, which).await?;
    match playback::decide(&found.seal, grant.reason.as_ref()) {
        Decision::Play { .. } => Ok(found),
        Decision::Refuse { .. } => Err(PageError::SealBroken),
    }
}
