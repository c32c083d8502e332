//! The console's static files, embedded in the binary (the single-binary install stays; no
//! CDN, no download at run time) and served under names carrying their digest, so a
//! browser may keep them for a year and still never use a stale one:
//!
//! - `console.css`: the console's stylesheet; `sessions.css`: the Sessions and playback
//!   pages' additions; `live.css`: the Live pages' own styles.
//! - `playback.js`: the playback page's script (the player, the seek list, the speed, the
//!   RDP frame slider); `live-watch.js`: the script that feeds the Live page's terminal.
//! - asciinema-player, pinned (`vendor/asciinema-player/VERSION`, fetched by
//!   `vendor/asciinema-player/update.sh`, Apache-2.0, its `LICENSE` beside it).
//! - xterm.js and its stylesheet (`vendor/xterm/`, MIT, pinned in `vendor/xterm/VERSION`,
//!   fetched by `vendor/xterm/update.sh`), for the Live page's read-only terminal.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::PageError;

/// The pinned asciinema-player's version.
const PLAYER_VERSION: &str = "3.18.0";

/// The pinned xterm.js version (`vendor/xterm/VERSION`).
const XTERM_VERSION: &str = include_str!("../vendor/xterm/VERSION");

/// One embedded file.
struct Asset {
    /// `/assets/<stem>-<12 hex of its SHA-256><ext>`.
    path: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

impl Asset {
    fn new(stem: &str, ext: &str, content_type: &'static str, bytes: &'static [u8]) -> Self {
        let digest = hex::encode(Sha256::digest(bytes));
        Self {
            path: format!(
                "/assets/{stem}-{}{ext}",
                digest.get(..12).unwrap_or(&digest)
            ),
            content_type,
            bytes,
        }
    }
}

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// The files, in the order of [`Which`].
static ASSETS: LazyLock<[Asset; 9]> = LazyLock::new(|| {
    let player = format!("asciinema-player-{PLAYER_VERSION}");
    let xterm = format!("xterm-{}", XTERM_VERSION.trim());
    [
        Asset::new(
            "console",
            ".css",
            CSS,
            include_bytes!("../assets/console.css"),
        ),
        Asset::new(
            "sessions",
            ".css",
            CSS,
            include_bytes!("../assets/sessions.css"),
        ),
        Asset::new(
            "playback",
            ".js",
            JS,
            include_bytes!("../assets/playback.js"),
        ),
        Asset::new(
            &player,
            ".min.js",
            JS,
            include_bytes!("../vendor/asciinema-player/asciinema-player.min.js"),
        ),
        Asset::new(
            &player,
            ".css",
            CSS,
            include_bytes!("../vendor/asciinema-player/asciinema-player.css"),
        ),
        Asset::new(
            &xterm,
            ".js",
            JS,
            include_bytes!("../vendor/xterm/xterm.js"),
        ),
        Asset::new(
            &xterm,
            ".css",
            CSS,
            include_bytes!("../vendor/xterm/xterm.css"),
        ),
        Asset::new(
            "live-watch",
            ".js",
            JS,
            include_bytes!("../assets/live-watch.js"),
        ),
        Asset::new("live", ".css", CSS, include_bytes!("../assets/live.css")),
    ]
});

/// An embedded file, by what it is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which {
    ConsoleCss = 0,
    SessionsCss = 1,
    PlaybackJs = 2,
    PlayerJs = 3,
    PlayerCss = 4,
    XtermJs = 5,
    XtermCss = 6,
    LiveWatchJs = 7,
    LiveCss = 8,
}

/// Where pages link `which`.
pub(crate) fn path(which: Which) -> &'static str {
    ASSETS
        .get(which as usize)
        .map_or("/assets/missing", |a| a.path.as_str())
}

/// Where pages link the stylesheet.
pub(crate) fn css_path() -> &'static str {
    path(Which::ConsoleCss)
}

/// xterm.js, for the Live page's terminal.
pub(crate) fn xterm_js_path() -> &'static str {
    path(Which::XtermJs)
}

/// xterm.js's stylesheet.
pub(crate) fn xterm_css_path() -> &'static str {
    path(Which::XtermCss)
}

/// The script that feeds the Live page's terminal from the gateway's WebSocket.
pub(crate) fn live_watch_js_path() -> &'static str {
    path(Which::LiveWatchJs)
}

/// The Live pages' stylesheet.
pub(crate) fn live_css_path() -> &'static str {
    path(Which::LiveCss)
}

/// `GET /assets/{name}`.
pub(crate) async fn serve(Path(name): Path<String>) -> Result<Response, PageError> {
    let wanted = format!("/assets/{name}");
    let asset = ASSETS
        .iter()
        .find(|a| a.path == wanted)
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
        asset.bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_versioned_digest_name() {
        for which in [
            Which::ConsoleCss,
            Which::SessionsCss,
            Which::PlaybackJs,
            Which::PlayerJs,
            Which::PlayerCss,
            Which::XtermJs,
            Which::XtermCss,
            Which::LiveWatchJs,
            Which::LiveCss,
        ] {
            let p = path(which);
            assert!(p.starts_with("/assets/"), "{p}");
            assert_ne!(p, "/assets/missing");
        }
        assert!(path(Which::PlayerJs).contains(PLAYER_VERSION));
        assert!(path(Which::XtermJs).contains(XTERM_VERSION.trim()));
        assert_eq!(
            include_str!("../vendor/asciinema-player/VERSION").trim(),
            PLAYER_VERSION,
            "update.sh and the embedded version agree"
        );
    }
}
