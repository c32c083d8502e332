//! Console sessions as the browser holds them: a random 256-bit token in the
//! `__Host-fumidai_session` cookie (Secure, HttpOnly, SameSite=Strict, Path=/, no Domain),
//! whose SHA-256 alone the store keeps (`store::console`). [`Signed`] is the extractor
//! every page behind the sign-in uses: it finds the live session, signs it out after
//! 15 minutes without a request, re-reads the account (a disabled account or
//! one that is not hospital-side gets nothing), and restarts the idle clock.

use std::net::IpAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use policy::authority::{self, Action};
use policy::ids::AccountKind;
use rand::RngCore;
use sha2::{Digest, Sha256};
use store::{Account, Actor, ConsoleEnd, ConsoleSession, TokenDigest};

use crate::AppState;
use crate::error::PageError;
use crate::lang::Lang;

/// The session cookie. `__Host-`: the browser takes it only with Secure and Path=/ and no
/// Domain, so no other host (a sibling subdomain) can set or overwrite it.
pub const SESSION_COOKIE: &str = "__Host-fumidai_session";

/// Characters of a token: 32 random bytes in unpadded URL-safe base64.
const TOKEN_CHARS: usize = 43;

/// A new session's secrets: the cookie's token, its digest for the store, and the CSRF
/// token its forms carry.
pub(crate) struct NewSecrets {
    pub(crate) token: String,
    pub(crate) digest: TokenDigest,
    pub(crate) csrf: String,
}

impl NewSecrets {
    pub(crate) fn generate() -> Self {
        let token = random_token();
        let digest = digest(&token);
        Self {
            token,
            digest,
            csrf: random_token(),
        }
    }
}

fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The digest the store knows a token by.
pub(crate) fn digest(token: &str) -> TokenDigest {
    TokenDigest(Sha256::digest(token.as_bytes()).into())
}

/// The `Set-Cookie` value that hands the browser its session.
pub(crate) fn session_cookie(token: &str) -> HeaderValue {
    // A token is base64url: always a valid header value.
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .unwrap_or_else(|_| clear_session_cookie())
}

/// The `Set-Cookie` value that makes the browser forget its session.
pub(crate) fn clear_session_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "__Host-fumidai_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
    )
}

/// The value of cookie `name` in the request, if any.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The session token in the request, if it has the shape of one.
fn presented_token(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE).filter(|t| {
        t.len() == TOKEN_CHARS
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The browser's address, when the server knows it (tests calling the router directly
/// don't set one).
pub(crate) fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// A request of a signed-in hospital-side person.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The console session.
    pub session: ConsoleSession,
    /// The account as stored now (its role may have changed since the sign-in).
    pub account: Account,
    /// The page language.
    pub lang: Lang,
}

impl Signed {
    /// Whether the account may take `action` (`policy::authority`): the console offers
    /// only the forms the person may use; the op asks again.
    pub fn may(&self, action: Action) -> bool {
        authority::authorize(self.account.kind, self.account.role, action).is_ok()
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let lang = Lang::of(&parts.headers);
        let Some(token) = presented_token(&parts.headers) else {
            return Err(PageError::SignedOut { idle: false });
        };
        let now = state.now();
        let Some(session) = state.store.console_session(&digest(token)).await? else {
            return Err(PageError::SignedOut { idle: false });
        };
        // an unattended console signs itself out.
        if state.settings.idled_out(session.last_seen_at, now) {
            match state
                .store
                .end_console_session(&session.id, ConsoleEnd::Idle, &Actor::System)
                .await
            {
                // Another request (or node) ended it first: signed out all the same.
                Ok(_) | Err(store::Error::InvalidTransition { .. }) => {}
                Err(error) => return Err(error.into()),
            }
            return Err(PageError::SignedOut { idle: true });
        }
        let account = state
            .store
            .account(&session.login)
            .await?
            .filter(|a| a.enabled && a.kind == AccountKind::Operator);
        let Some(account) = account else {
            return Err(PageError::NotConsoleAccount);
        };
        state.store.touch_console_session(&session.id, now).await?;
        Ok(Self {
            session,
            account,
            lang,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_shaped() {
        let a = NewSecrets::generate();
        let b = NewSecrets::generate();
        assert_ne!(a.token, b.token);
        assert_ne!(a.token, a.csrf);
        assert_eq!(a.token.len(), TOKEN_CHARS);
        assert_eq!(a.digest, digest(&a.token));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            format!("x=1; {SESSION_COOKIE}={}", a.token)
                .parse()
                .unwrap(),
        );
        assert_eq!(presented_token(&headers), Some(a.token.as_str()));
        headers.insert(
            header::COOKIE,
            format!("{SESSION_COOKIE}=short").parse().unwrap(),
        );
        assert_eq!(presented_token(&headers), None);
    }
}
