//! `GET /reports/{plan}/document`: the sealed report's document, exactly as `fumidai
//! report --format html` renders it (`fumidai_core::report::render::html`) — the console's
//! report page frames it, and opened alone it is the A4 print view (its style sheet has
//! `@page { size: A4 }`). Its seal is checked before it is shown.
//!
//! The document carries its style sheet inline. The console's policy forbids inline
//! styles; this route allows exactly that one style sheet by its SHA-256 (no other inline
//! style, no script at all), and lets only this console frame it.

use std::sync::LazyLock;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use fumidai_core::ops::report_view;
use fumidai_core::report::render::{self, Lang as ReportLang};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::plan::parse_id;
use crate::AppState;
use crate::error::PageError;
use crate::lang::Lang;
use crate::session::Signed;

/// The document's policy: its own style sheet by hash, nothing else; framed by this
/// console only.
static DOCUMENT_POLICY: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(render::CSS.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest);
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self' data:; \
         form-action 'none'; frame-ancestors 'self'; base-uri 'none'"
    )
});

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DocumentQuery {
    #[serde(default)]
    lang: String,
}

/// `GET /reports/{plan}/document[?lang=ja|en]`.
pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<DocumentQuery>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let dir = state.dir.as_ref().ok_or(PageError::NotFound)?;
    let Some((report, body)) = report_view::open(state.store.as_ref(), dir, &id).await? else {
        return Err(PageError::NotFound);
    };
    let lang = match Lang::parse(&query.lang).unwrap_or(signed.lang) {
        Lang::Ja => ReportLang::Ja,
        Lang::En => ReportLang::En,
    };
    let mut response = Html(render::html(&report, &body, lang)).into_response();
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(&DOCUMENT_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    Ok(response)
}
