//! Why a page could not be shown, as the browser gets it: a bilingual error page with the
//! right status, or a redirect to the sign-in page. The detail goes to the log, never to
//! the page (STYLE.md §7). A store that fails is a 503 and nothing was done (fail closed).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fumidai_core::ops::OpError;
use tracing::{error, warn};

use crate::pages::Chrome;
use crate::session::clear_session_cookie;

/// A page that could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No live session: sign in (again). `idle` when it just idled out.
    #[error("not signed in")]
    SignedOut {
        /// Signed out for idling.
        idle: bool,
    },
    /// The session's account is disabled, gone, or not a hospital-side account.
    #[error("account may not use the console")]
    NotConsoleAccount,
    /// A state-changing request that did not come from the console's own pages (Origin,
    /// Sec-Fetch-Site).
    #[error("cross-site request refused")]
    CrossSite,
    /// A form without this session's CSRF token.
    #[error("csrf token missing or wrong")]
    Csrf,
    /// No such page or record.
    #[error("not found")]
    NotFound,
    /// The request's input doesn't parse.
    #[error("bad request: {en}")]
    BadRequest {
        /// What was wrong, in Japanese.
        ja: &'static str,
        /// The same in English.
        en: &'static str,
    },
    /// A recording's data asked for without a playback on record for this console
    /// session (`pages::playback_grant`).
    #[error("no playback granted")]
    NotGranted,
    /// A recording's seal broke after its playback page was shown without an override.
    #[error("recording seal broken")]
    SealBroken,
    /// Too many sign-in attempts from this address or at this login.
    #[error("sign-in rate limit reached")]
    RateLimited,
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// A use case failed.
    #[error(transparent)]
    Op(#[from] OpError),
    /// A template failed to render.
    #[error(transparent)]
    Render(#[from] askama::Error),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    status: u16,
    ja: String,
    en: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, ja, en): (StatusCode, String, String) = match &self {
            Self::SignedOut { idle } => {
                let to = if *idle { "/login?idle=1" } else { "/login" };
                return (
                    StatusCode::SEE_OTHER,
                    [
                        (header::LOCATION, HeaderValue::from_static(to)),
                        (header::SET_COOKIE, clear_session_cookie()),
                    ],
                )
                    .into_response();
            }
            Self::NotConsoleAccount => (
                StatusCode::FORBIDDEN,
                "このアカウントでは運用コンソールを利用できません".into(),
                "this account cannot use the operator console".into(),
            ),
            Self::CrossSite => (
                StatusCode::FORBIDDEN,
                "他のサイトからの送信は受け付けません".into(),
                "requests from another site are refused".into(),
            ),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "フォームが古いか、このコンソールから送信されたものではありません。ページを開き直してください".into(),
                "the form is stale or was not sent by this console; reload the page".into(),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "ページが見つかりません".into(),
                "no such page".into(),
            ),
            Self::BadRequest { ja, en } => (StatusCode::BAD_REQUEST, (*ja).into(), (*en).into()),
            Self::NotGranted => (
                StatusCode::FORBIDDEN,
                "再生の記録がないため録画を送れません。再生ページを開き直してください".into(),
                "no playback of this recording is on record; open its playback page again".into(),
            ),
            Self::SealBroken => (
                StatusCode::CONFLICT,
                "録画が封印と一致しません（改ざんの可能性）。再生ページを開き直してください".into(),
                "the recording no longer matches its seal (possible tampering); open its playback page again".into(),
            ),
            Self::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                "ログインの試行が多すぎます。しばらくしてから再度お試しください".into(),
                "too many sign-in attempts; try again later".into(),
            ),
            Self::Op(OpError::NotFound { .. }) => {
                (StatusCode::NOT_FOUND, self.to_string(), String::new())
            }
            Self::Op(OpError::Denied { .. }) => {
                let (first, second) = crate::text::bilingual(&self.to_string(), crate::lang::Lang::Ja);
                (StatusCode::FORBIDDEN, first, second)
            }
            Self::Op(
                OpError::SessionEnded { .. }
                | OpError::NotWatchable { .. }
                | OpError::KillPending { .. },
            ) => {
                let (first, second) = crate::text::bilingual(&self.to_string(), crate::lang::Lang::Ja);
                (StatusCode::CONFLICT, first, second)
            }
            Self::Store(_) | Self::Op(OpError::Store(_) | OpError::Login(_)) => {
                error!(error = %self, "console: store unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "保存領域に接続できないため処理できません（何も実行されていません）".into(),
                    "the store is unreachable; nothing was done".into(),
                )
            }
            Self::Op(_) | Self::Render(_) => {
                error!(error = %self, "console: page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "内部エラーが発生しました（何も実行されていません）".into(),
                    "internal error; nothing was done".into(),
                )
            }
        };
        if status == StatusCode::FORBIDDEN {
            warn!(error = %self, "console: request refused");
        }
        let page = ErrorPage {
            chrome: Chrome::anonymous(crate::lang::Lang::Ja, "/"),
            status: status.as_u16(),
            ja,
            en,
        };
        match page.render() {
            Ok(html) => {
                let mut response = (status, axum::response::Html(html)).into_response();
                if matches!(self, Self::NotConsoleAccount) {
                    response
                        .headers_mut()
                        .insert(header::SET_COOKIE, clear_session_cookie());
                }
                response
            }
            Err(_) => (status, "error / エラー").into_response(),
        }
    }
}
