//! The console's static files, embedded in the binary (the single-binary install stays;
//! no CDN, no download at run time) and served under names carrying their digest, so a
//! browser may keep them for a year and still never use a stale one.
//!
//! - `console.css`: the console's stylesheet; `sessions.css`: the Sessions and playback
//!   pages' additions.
//! - `playback.js`: the playback page's script (the player, the seek list, the speed, the
//!   RDP frame slider).
//! - asciinema-player, pinned (`vendor/asciinema-player/VERSION`, fetched by
//!   `vendor/asciinema-player/update.sh`, Apache-2.0, its `LICENSE` beside it): served
//!   as `/assets/asciinema-player-<version>-<digest>.min.js` and `….css`.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::PageError;

/// The pinned asciinema-player's version.
const PLAYER_VERSION: &str = "3.18.0";

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

/// The files, in the order of [`Which`].
static ASSETS: LazyLock<[Asset; 5]> = LazyLock::new(|| {
    [
        Asset::new(
            "console",
            ".css",
            "text/css; charset=utf-8",
            include_bytes!("../assets/console.css"),
        ),
        Asset::new(
            "sessions",
            ".css",
            "text/css; charset=utf-8",
            include_bytes!("../assets/sessions.css"),
        ),
        Asset::new(
            "playback",
            ".js",
            "text/javascript; charset=utf-8",
            include_bytes!("../assets/playback.js"),
        ),
        Asset::new(
            &format!("asciinema-player-{PLAYER_VERSION}"),
            ".min.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../vendor/asciinema-player/asciinema-player.min.js"),
        ),
        Asset::new(
            &format!("asciinema-player-{PLAYER_VERSION}"),
            ".css",
            "text/css; charset=utf-8",
            include_bytes!("../vendor/asciinema-player/asciinema-player.css"),
        ),
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
        ] {
            let p = path(which);
            assert!(p.starts_with("/assets/"), "{p}");
            assert_ne!(p, "/assets/missing");
        }
        assert!(path(Which::PlayerJs).contains(PLAYER_VERSION));
        assert_eq!(
            include_str!("../vendor/asciinema-player/VERSION").trim(),
            PLAYER_VERSION,
            "update.sh and the embedded version agree"
        );
    }
}
