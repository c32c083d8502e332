//! The console's own defences, on every response and every state-changing request
//! (issue 15 §4, STYLE.md §24):
//!
//! - [`headers`]: a strict Content-Security-Policy (scripts and styles from the console
//!   itself only, no inline anything, no frames, forms only to itself), `nosniff`, no
//!   referrer, `Cache-Control: no-store` (unless the route set its own, as the
//!   versioned assets do), HSTS when served over HTTPS.
//! - [`same_origin`]: a POST must come from a page of this console: `Sec-Fetch-Site:
//!   same-origin` when the browser sends it, and an `Origin` naming this host. Together
//!   with the per-session token ([`crate::csrf`]) and `SameSite=Strict`, a page elsewhere
//!   can't make a signed-in browser act.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::error::PageError;

/// The policy on every response. An exception (the player's `wasm-unsafe-eval`, say)
/// goes on the one route that needs it, with a comment saying why: the route sets its own
/// header and this middleware keeps it (the report page frames its document; the
/// document allows its one inline style sheet by hash).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every response.
pub(crate) async fn headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    // A route that needs an exception sets its own policy (the playback page:
    // `pages::playback::PLAYER_CONTENT_SECURITY_POLICY`); every other gets the strict one.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::X_FRAME_OPTIONS) {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.settings.https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Refuses a state-changing request that did not come from this console's own pages.
///
/// `Sec-Fetch-Site` is set by the browser and can't be forged by a page: when present it
/// must be `same-origin`. `Origin`, when it names an origin, must name this host; it may
/// be `null` only together with `Sec-Fetch-Site: same-origin` (browsers send `null` for a
/// form posted from a page with `Referrer-Policy: no-referrer`, as every console page is).
/// A request with neither header is not a browser's form and is refused (fail closed).
pub(crate) fn same_origin(headers: &HeaderMap) -> Result<(), PageError> {
    let fetch_site = headers
        .get("sec-fetch-site")
        .map(|v| v.to_str().unwrap_or(""));
    if fetch_site.is_some_and(|site| site != "same-origin") {
        return Err(PageError::CrossSite);
    }
    let vouched = fetch_site == Some("same-origin");
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match headers
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or(""))
    {
        Some("null") | None if vouched => Ok(()),
        Some(origin) => match (origin.split_once("://"), host) {
            (Some(("http" | "https", authority)), Some(host))
                if authority.eq_ignore_ascii_case(host) =>
            {
                Ok(())
            }
            _ => Err(PageError::CrossSite),
        },
        None => Err(PageError::CrossSite),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_origin_may_post() {
        let cases: &[(&[(&str, &str)], bool)] = &[
            (&[("host", "gw:9443"), ("origin", "https://gw:9443")], true),
            (&[("host", "gw:9443"), ("origin", "http://gw:9443")], true),
            (
                &[
                    ("host", "gw:9443"),
                    ("origin", "https://gw:9443"),
                    ("sec-fetch-site", "same-origin"),
                ],
                true,
            ),
            (
                &[("host", "gw:9443"), ("sec-fetch-site", "same-origin")],
                true,
            ),
            (
                &[("host", "gw:9443"), ("origin", "https://evil.example")],
                false,
            ),
            (&[("host", "gw:9443"), ("origin", "https://gw:9444")], false),
            (&[("host", "gw:9443"), ("origin", "null")], false),
            (
                &[
                    ("host", "gw:9443"),
                    ("origin", "null"),
                    ("sec-fetch-site", "same-origin"),
                ],
                true,
            ),
            (
                &[
                    ("host", "gw:9443"),
                    ("origin", "https://evil.example"),
                    ("sec-fetch-site", "same-origin"),
                ],
                false,
            ),
            (
                &[
                    ("host", "gw:9443"),
                    ("origin", "https://gw:9443"),
                    ("sec-fetch-site", "cross-site"),
                ],
                false,
            ),
            (
                &[("host", "gw:9443"), ("sec-fetch-site", "same-site")],
                false,
            ),
            (&[("host", "gw:9443")], false),
            (&[("origin", "https://gw:9443")], false),
        ];
        for (headers, ok) in cases {
            let mut map = HeaderMap::new();
            for (k, v) in *headers {
                map.insert(*k, v.parse().unwrap());
            }
            assert_eq!(same_origin(&map).is_ok(), *ok, "{headers:?}");
        }
    }
}
