//! `POST /logout`: ends the console session (`console.signed_out`, actor: the person) and
//! makes the browser forget its cookie.

use axum::extract::State;
use axum::http::header;
use axum::response::Response;
use store::ConsoleEnd;

use super::login::redirect;
use crate::AppState;
use crate::csrf::{Posted, TokenOnly};
use crate::error::PageError;
use crate::session::clear_session_cookie;

pub(crate) async fn submit(
    State(state): State<AppState>,
    posted: Posted<TokenOnly>,
) -> Result<Response, PageError> {
    let signed = posted.signed;
    let actor = store::Actor::Person(signed.account.login.clone());
    match state
        .store
        .end_console_session(&signed.session.id, ConsoleEnd::SignedOut, &actor)
        .await
    {
        Ok(_) | Err(store::Error::InvalidTransition { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    let mut response = redirect("/login");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, clear_session_cookie());
    Ok(response)
}
