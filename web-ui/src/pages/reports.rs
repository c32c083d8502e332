//! `GET /reports`: the reconciliation reports (作業報告書, R-10-5) waiting for the planning
//! manager's confirmation — those waiting longer than the overdue limit marked — and the
//! latest confirmed ones.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use fumidai_core::compliance::OVERDUE_DAYS;
use fumidai_core::ops::report_view;
use policy::plan::Plan;

use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::lang::Lang;
use crate::session::Signed;
use crate::text::{self, visible};

/// How many confirmed reports the list shows.
const CONFIRMED_SHOWN: usize = 50;

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    chrome: Chrome,
    waiting: Vec<ReportRow>,
    confirmed: Vec<ReportRow>,
    overdue_days: i64,
}

/// One report in a list.
pub(crate) struct ReportRow {
    href: String,
    vendor: String,
    window: String,
    purpose: String,
    reported: String,
    overdue: bool,
    confirmed: String,
}

impl ReportRow {
    fn new(plan: &Plan, now: chrono::DateTime<chrono::Utc>, lang: Lang) -> Self {
        let overdue_before = now - chrono::Duration::days(OVERDUE_DAYS);
        Self {
            href: format!("/reports/{}", plan.id),
            vendor: plan.vendor.to_string(),
            window: text::window(&plan.starts_at, &plan.ends_at),
            purpose: visible(plan.purpose.lines().next().unwrap_or_default()),
            reported: plan
                .reported_at
                .map_or_else(String::new, |at| text::jst_seconds(&at)),
            overdue: plan.confirmation.is_none()
                && plan.reported_at.is_some_and(|at| at < overdue_before),
            confirmed: plan.confirmation.as_ref().map_or_else(
                || lang.t("未確認", "not confirmed").to_owned(),
                |c| format!("{} — {}", visible(&c.by), text::jst_seconds(&c.at)),
            ),
        }
    }
}

/// `GET /reports`.
pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    let (waiting, confirmed) =
        report_view::waiting_and_confirmed(state.store.as_ref(), CONFIRMED_SHOWN).await?;
    let now = state.now();
    let lang = signed.lang;
    let page = ReportsPage {
        chrome: Chrome::signed(&signed, Section::Reports, "/reports", now),
        waiting: waiting
            .iter()
            .map(|p| ReportRow::new(p, now, lang))
            .collect(),
        confirmed: confirmed
            .iter()
            .map(|p| ReportRow::new(p, now, lang))
            .collect(),
        overdue_days: OVERDUE_DAYS,
    };
    Ok(render(&page)?.into_response())
}
