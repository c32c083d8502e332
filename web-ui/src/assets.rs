//! The console's static files, embedded in the binary (the single-binary install stays; no
//! CDN, no download at run time) and served under names carrying their digest, so a
//! browser may keep them for a year and still never use a stale one:
//!
//! - the stylesheet (`assets/console.css`);
//! - xterm.js and its stylesheet (`vendor/xterm/`, MIT, pinned in `vendor/xterm/VERSION`,
//!   fetched by `vendor/xterm/update.sh`), for the Live page's read-only terminal;
//! - `assets/live-watch.js`, the console's own script that feeds that terminal, and
//!   `assets/live.css`, the Live pages' own styles.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::PageError;

/// The pinned xterm.js version (`vendor/xterm/VERSION`).
const XTERM_VERSION: &str = include_str!("../vendor/xterm/VERSION");

/// One embedded file.
struct Asset {
    /// `/assets/<stem>-<12 hex of its SHA-256>.<ext>`.
    path: String,
    content_type: &'static str,
    body: &'static [u8],
}

impl Asset {
    fn new(stem: &str, ext: &str, content_type: &'static str, body: &'static [u8]) -> Self {
        let digest = hex::encode(Sha256::digest(body));
        Self {
            path: format!(
                "/assets/{stem}-{}.{ext}",
                digest.get(..12).unwrap_or(&digest)
            ),
            content_type,
            body,
        }
    }
}

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// Every asset.
struct Assets {
    console_css: Asset,
    xterm_js: Asset,
    xterm_css: Asset,
    live_watch_js: Asset,
    live_css: Asset,
}

impl Assets {
    fn all(&self) -> [&Asset; 5] {
        [
            &self.console_css,
            &self.xterm_js,
            &self.xterm_css,
            &self.live_watch_js,
            &self.live_css,
        ]
    }
}

static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let xterm = format!("xterm-{}", XTERM_VERSION.trim());
    Assets {
        console_css: Asset::new(
            "console",
            "css",
            CSS,
            include_bytes!("../assets/console.css"),
        ),
        xterm_js: Asset::new(&xterm, "js", JS, include_bytes!("../vendor/xterm/xterm.js")),
        xterm_css: Asset::new(
            &xterm,
            "css",
            CSS,
            include_bytes!("../vendor/xterm/xterm.css"),
        ),
        live_watch_js: Asset::new(
            "live-watch",
            "js",
            JS,
            include_bytes!("../assets/live-watch.js"),
        ),
        live_css: Asset::new("live", "css", CSS, include_bytes!("../assets/live.css")),
    }
});

/// Where pages link the stylesheet.
pub(crate) fn css_path() -> &'static str {
    &ASSETS.console_css.path
}

/// xterm.js, for the Live page's terminal.
pub(crate) fn xterm_js_path() -> &'static str {
    &ASSETS.xterm_js.path
}

/// xterm.js's stylesheet.
pub(crate) fn xterm_css_path() -> &'static str {
    &ASSETS.xterm_css.path
}

/// The script that feeds the Live page's terminal from the gateway's WebSocket.
pub(crate) fn live_watch_js_path() -> &'static str {
    &ASSETS.live_watch_js.path
}

/// The Live pages' stylesheet.
pub(crate) fn live_css_path() -> &'static str {
    &ASSETS.live_css.path
}

/// `GET /assets/{name}`.
pub(crate) async fn serve(Path(name): Path<String>) -> Result<Response, PageError> {
    let path = format!("/assets/{name}");
    let asset = ASSETS
        .all()
        .into_iter()
        .find(|a| a.path == path)
        .ok_or(PageError::NotFound)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        asset.body,
    )
        .into_response())
}
