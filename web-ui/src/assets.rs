//! The console's stylesheet, embedded in the binary (the single-binary install stays; no
//! CDN, no download at run time) and served under a name carrying its digest, so a
//! browser may keep it for a year and still never use a stale one.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::PageError;

/// The stylesheet.
const CSS: &str = include_str!("../assets/console.css");

/// `/assets/console-<12 hex of its SHA-256>.css`.
static CSS_PATH: LazyLock<String> = LazyLock::new(|| {
    let digest = hex::encode(Sha256::digest(CSS.as_bytes()));
    format!(
        "/assets/console-{}.css",
        digest.get(..12).unwrap_or(&digest)
    )
});

/// Where pages link the stylesheet.
pub(crate) fn css_path() -> &'static str {
    CSS_PATH.as_str()
}

/// `GET /assets/{name}`.
pub(crate) async fn serve(Path(name): Path<String>) -> Result<Response, PageError> {
    if format!("/assets/{name}") != *CSS_PATH {
        return Err(PageError::NotFound);
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        CSS,
    )
        .into_response())
}
