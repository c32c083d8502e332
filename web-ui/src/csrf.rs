//! Every state-changing request of a signed-in person goes through [`Posted`]: the
//! request must come from this console ([`crate::security::same_origin`]), the session
//! must be live ([`Signed`]), and the form must carry the session's CSRF token (compared
//! in constant time). Anything else is a 403 and changes nothing.

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::PageError;
use crate::security::same_origin;
use crate::session::Signed;

/// A form that carries the session's CSRF token.
pub(crate) trait CsrfForm {
    /// The token as posted.
    fn csrf(&self) -> &str;
}

/// A form posted by a signed-in person, checked.
pub(crate) struct Posted<T> {
    /// Who posted it.
    pub(crate) signed: Signed,
    /// What they posted.
    pub(crate) form: T,
}

impl<T> FromRequest<AppState> for Posted<T>
where
    T: DeserializeOwned + CsrfForm + Send,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        same_origin(req.headers())?;
        let (mut parts, body) = req.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let Form(form) = Form::<T>::from_request(req, state)
            .await
            .map_err(|_| PageError::Csrf)?;
        if !token_matches(&signed.session.csrf_token, form.csrf()) {
            return Err(PageError::Csrf);
        }
        Ok(Self { signed, form })
    }
}

/// Whether `posted` is the session's token.
fn token_matches(expected: &str, posted: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(posted.as_bytes()))
}

/// A form with the token and nothing else (sign out).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct TokenOnly {
    #[serde(default)]
    csrf: String,
}

impl CsrfForm for TokenOnly {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(token_matches("abc", "abc"));
        assert!(!token_matches("abc", "abd"));
        assert!(!token_matches("abc", "ab"));
        assert!(!token_matches("abc", ""));
        assert!(!token_matches("", ""));
    }
}
