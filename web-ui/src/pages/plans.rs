//! `GET /plans`: the plans, filtered by state, vendor, engineer, target and window (JST
//! days, `from` inclusive, `to` inclusive) (issue 15 §3).
//! The query is parsed into typed values once (`ops::plan_view::PlanFilter`); one that
//! doesn't parse is a 400, not an empty list.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use fumidai_core::ops::plan_view::{self, PlanFilter};
use policy::plan::PlanStatus;
use serde::Deserialize;

use super::view::PlanRow;
use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::session::Signed;

/// Every state, for the filter's choices.
const STATUSES: [PlanStatus; 8] = [
    PlanStatus::Submitted,
    PlanStatus::Approved,
    PlanStatus::Rejected,
    PlanStatus::Active,
    PlanStatus::Closed,
    PlanStatus::Reported,
    PlanStatus::Confirmed,
    PlanStatus::Withdrawn,
];

#[derive(Template)]
#[template(path = "plans.html")]
struct PlansPage {
    chrome: Chrome,
    rows: Vec<PlanRow>,
    /// (value, label, selected)
    statuses: Vec<(&'static str, &'static str, bool)>,
    vendor: String,
    engineer: String,
    target: String,
    from: String,
    to: String,
}

/// The query as typed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PlansQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    vendor: String,
    #[serde(default)]
    engineer: String,
    #[serde(default)]
    target: String,
    /// A JST day (`YYYY-MM-DD`): plans whose window reaches into it or later.
    #[serde(default)]
    from: String,
    /// A JST day: plans whose window starts on it or earlier.
    #[serde(default)]
    to: String,
}

impl PlansQuery {
    fn filter(&self) -> Result<PlanFilter, PageError> {
        fn field<T: std::str::FromStr>(
            text: &str,
            ja: &'static str,
            en: &'static str,
        ) -> Result<Option<T>, PageError> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse()
                .map(Some)
                .map_err(|_| PageError::BadRequest { ja, en })
        }
        Ok(PlanFilter {
            status: field(&self.status, "状態の指定が不正です", "unknown status")?,
            vendor: field(&self.vendor, "事業者名が不正です", "invalid vendor name")?,
            engineer: field(
                &self.engineer,
                "作業者名が不正です",
                "invalid engineer login",
            )?,
            target: field(&self.target, "接続先名が不正です", "invalid target name")?,
            window_from: field::<chrono::NaiveDate>(
                &self.from,
                "開始日が不正です",
                "invalid from date",
            )?
            .map(crate::text::jst_day_start),
            window_to: field::<chrono::NaiveDate>(&self.to, "終了日が不正です", "invalid to date")?
                .map(|day| crate::text::jst_day_start(day + chrono::Duration::days(1))),
        })
    }
}

pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<PlansQuery>,
) -> Result<Html<String>, PageError> {
    let filter = query.filter()?;
    let lang = signed.lang;
    let plans = plan_view::list(state.store.as_ref(), &filter).await?;
    let page = PlansPage {
        chrome: Chrome::signed(&signed, Section::Plans, "/plans", state.now()),
        rows: plans.iter().map(|p| PlanRow::new(p, lang)).collect(),
        statuses: STATUSES
            .iter()
            .map(|s| {
                (
                    s.as_str(),
                    crate::text::status(*s, lang),
                    filter.status == Some(*s),
                )
            })
            .collect(),
        vendor: filter.vendor.map(|v| v.to_string()).unwrap_or_default(),
        engineer: filter.engineer.map(|v| v.to_string()).unwrap_or_default(),
        target: filter.target.map(|v| v.to_string()).unwrap_or_default(),
        from: query.from.trim().to_owned(),
        to: query.to.trim().to_owned(),
    };
    render(&page)
}
