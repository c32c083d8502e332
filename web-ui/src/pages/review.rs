//! `GET /review`: the account review (アカウント棚卸し, R-14-8) — dormant engineers,
//! certificates about to expire, vendors with no plan for a year, operators without TOTP,
//! the accounts locked now and the period's life-cycle changes, with the default
//! thresholds: `ops::account_review::take`, the same as `fumidai review`.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use fumidai_core::ops::account_review::{self, Period};
use policy::review::ReviewKind;

use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::session::Signed;
use crate::text::{self, visible};

/// One item needing attention: subject, why, since when.
type Item = (String, String, String);

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    chrome: Chrome,
    period: Period,
    taken: String,
    groups: Vec<(&'static str, Vec<Item>)>,
    locked: Vec<(String, String)>,
    changes: Vec<(String, String, String, String)>,
}

/// `GET /review`.
pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    let now = state.now();
    let period = Period::default();
    let review = account_review::take(state.store.as_ref(), period, now).await?;
    let page = ReviewPage {
        chrome: Chrome::signed(&signed, Section::Compliance, "/review", now),
        period,
        taken: text::jst_seconds(&review.at),
        groups: ReviewKind::ALL
            .iter()
            .map(|kind| {
                let items = review
                    .items
                    .iter()
                    .filter(|i| i.kind == *kind)
                    .map(|i| {
                        (
                            visible(&i.subject),
                            visible(&i.detail),
                            text::jst_seconds(&i.since),
                        )
                    })
                    .collect();
                (kind.heading(), items)
            })
            .collect(),
        locked: review
            .locked
            .iter()
            .map(|l| (l.login.to_string(), visible(&l.detail)))
            .collect(),
        changes: review
            .changes
            .iter()
            .map(|c| {
                (
                    text::jst_seconds(&c.at),
                    visible(&c.kind),
                    visible(&c.subject),
                    visible(&c.actor),
                )
            })
            .collect(),
    };
    Ok(render(&page)?.into_response())
}
