//! `/login`: a hospital-side person signs in with login, password and TOTP code (R-14-1,
//! R-10.2-2FA) through `fumidai_core::ops::sign_in`, protocol `https`: the same
//! Authenticator, lock-out and `login.success`/`login.failure` records as the CLI. A
//! vendor engineer's account is refused like a wrong password (the Authenticator admits
//! operator accounts only here). Then a console session is stored
//! (`console.signed_in`) and its token set in the `__Host-` cookie.
//!
//! Before any of that: the request must come from this console's own page (no sign-in
//! planted from another site), and within the per-address and per-login bound.

use askama::Template;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, RequestExt as _};
use fumidai_core::ops::{self, OpError, SignIn};
use policy::ids::Login;
use secrecy::SecretString;
use serde::Deserialize;
use store::{ConsoleSessionId, NewConsoleSession};
use tracing::info;

use super::{Chrome, render};
use crate::AppState;
use crate::error::PageError;
use crate::lang::Lang;
use crate::security::same_origin;
use crate::session::{NewSecrets, Signed, client_ip, session_cookie};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    /// Why the last attempt failed, in the page's language.
    failed: bool,
    /// Signed out for idling.
    idle: bool,
    /// The login as typed last time (never the password or code).
    login: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    #[serde(default)]
    idle: Option<u8>,
}

/// `GET /login`. A signed-in person goes to the dashboard.
pub(crate) async fn form(
    State(state): State<AppState>,
    Query(query): Query<LoginQuery>,
    req: Request,
) -> Result<Response, PageError> {
    let (mut parts, _) = req.into_parts();
    let lang = Lang::of(&parts.headers);
    if Signed::from_request_parts(&mut parts, &state).await.is_ok() {
        return Ok(redirect("/"));
    }
    let page = LoginPage {
        chrome: Chrome::anonymous(lang, "/login"),
        failed: false,
        idle: query.idle.is_some(),
        login: String::new(),
    };
    Ok(render(&page)?.into_response())
}

/// What the sign-in form posts.
#[derive(Deserialize)]
pub(crate) struct Credentials {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

/// `POST /login`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, PageError> {
    same_origin(req.headers())?;
    let lang = Lang::of(req.headers());
    let (parts, body) = req.into_parts();
    let addr = client_ip(&parts);
    let Form(typed): Form<Credentials> =
        Request::from_parts(parts, body)
            .extract()
            .await
            .map_err(|_| PageError::BadRequest {
                ja: "フォームを読み取れません",
                en: "the form cannot be read",
            })?;
    let now = state.now();
    if !state.limiter.admit(addr, &typed.login, now) {
        return Err(PageError::RateLimited);
    }
    let failed = |login: String| -> Result<Response, PageError> {
        let page = LoginPage {
            chrome: Chrome::anonymous(lang, "/login"),
            failed: true,
            idle: false,
            login: crate::text::visible(&login),
        };
        Ok((StatusCode::UNAUTHORIZED, render(&page)?).into_response())
    };
    // Text that is no login names no account: refused like any failure.
    let Ok(login) = typed.login.trim().parse::<Login>() else {
        return failed(typed.login);
    };
    let person = match ops::sign_in(
        &state.auth,
        SignIn {
            login: login.clone(),
            password: SecretString::from(typed.password),
            code: SecretString::from(typed.code),
            protocol: "https",
        },
    )
    .await
    {
        Ok(person) => person,
        Err(OpError::AuthenticationFailed { .. }) => return failed(login.to_string()),
        Err(error) => return Err(error.into()),
    };
    let secrets = NewSecrets::generate();
    let session = state
        .store
        .start_console_session(NewConsoleSession {
            id: ConsoleSessionId::generate(),
            token: secrets.digest,
            login: person.login().clone(),
            client_addr: addr,
            csrf_token: secrets.csrf,
            at: now,
        })
        .await?;
    info!(console_session = %session.id, login = %session.login, "console: signed in");
    let mut response = redirect("/");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&secrets.token));
    Ok(response)
}

/// A 303 to a local path.
pub(crate) fn redirect(to: &'static str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, HeaderValue::from_static(to))],
    )
        .into_response()
}
