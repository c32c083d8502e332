//! `GET /lang?to=en&back=/plans`: remembers the language in a cookie and goes back to the
//! page (a local path only). Changes nothing but the reader's own display.

use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::safe_back;
use crate::lang::{COOKIE_NAME, Lang};

#[derive(Debug, Deserialize)]
pub(crate) struct Choice {
    #[serde(default)]
    to: String,
    #[serde(default)]
    back: String,
}

pub(crate) async fn choose(Query(choice): Query<Choice>) -> Response {
    let lang = Lang::parse(&choice.to).unwrap_or_default();
    let back = safe_back(&choice.back);
    let cookie = format!(
        "{COOKIE_NAME}={}; Path=/; Max-Age=31536000; SameSite=Strict; Secure",
        lang.code()
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    let h = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(back) {
        h.insert(header::LOCATION, location);
    }
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        h.insert(header::SET_COOKIE, cookie);
    }
    response
}
