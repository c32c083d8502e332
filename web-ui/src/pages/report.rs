//! `GET /reports/{plan}`: a plan's sealed reconciliation report (作業報告書, R-10-5) — its
//! seal checked against the gateway's key first (`ops::report_view::open`), a summary, the
//! document itself framed from [`super::report_document`] (the same HTML as `fumidai report
//! --format html`, which is also its A4 print view), and the planning manager's
//! confirmation form with their findings (`policy::authority`: managers only; the op
//! decides again on submit).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fumidai_core::ops::report_view;
use policy::authority::Action;
use policy::ids::PlanId;
use policy::plan::PlanStatus;
use serde::Deserialize;

use super::plan::parse_id;
use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::session::Signed;
use crate::text::{self, visible};

/// This page frames the report's document from this console (`frame-src 'self'`); the
/// rest is the console's policy.
const REPORT_PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    chrome: Chrome,
    plan_id: String,
    plan_href: String,
    document_href: String,
    status: &'static str,
    status_class: &'static str,
    produced_at: String,
    sha256: String,
    findings: usize,
    highest: String,
    sessions: usize,
    confirmation: Option<String>,
    can_confirm: bool,
    notice: Option<String>,
    refusal: Option<(String, String)>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /reports/{plan}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let notice = (done.done == "confirmed").then(|| {
        signed
            .lang
            .t("報告書を確認しました。", "Report confirmed.")
            .to_owned()
    });
    show(&state, &signed, &id, notice, None, StatusCode::OK).await
}

/// Renders plan `id`'s report page with `status`, a notice or a refusal.
pub(crate) async fn show(
    state: &AppState,
    signed: &Signed,
    id: &PlanId,
    notice: Option<String>,
    refusal: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let dir = state.dir.as_ref().ok_or(PageError::NotFound)?;
    let plan = state.store.plan(id).await?.ok_or(PageError::NotFound)?;
    let Some((report, body)) = report_view::open(state.store.as_ref(), dir, id).await? else {
        return Err(PageError::NotFound);
    };
    let lang = signed.lang;
    let page = ReportPage {
        chrome: Chrome::signed(
            signed,
            Section::Reports,
            &format!("/reports/{id}"),
            state.now(),
        ),
        plan_id: id.to_string(),
        plan_href: format!("/plans/{id}"),
        document_href: format!("/reports/{id}/document?lang={}", lang.code()),
        status: text::status(plan.status, lang),
        status_class: super::view::status_class(plan.status),
        produced_at: text::jst_seconds(&body.produced_at),
        sha256: report.sha256.clone(),
        findings: body.findings.len(),
        highest: body.highest_severity.as_deref().map_or_else(
            || lang.t("なし", "none").to_owned(),
            |severity| severity_label(severity, lang),
        ),
        sessions: body.sessions.len(),
        confirmation: plan.confirmation.as_ref().map(|c| {
            let note = c.note.as_deref().map(visible).unwrap_or_default();
            format!("{} — {} {}", visible(&c.by), text::jst_seconds(&c.at), note)
        }),
        can_confirm: signed.may(Action::ConfirmReport) && plan.status == PlanStatus::Reported,
        notice,
        refusal: refusal.map(|r| text::bilingual(&r, lang)),
    };
    let mut response = (status, render(&page)?).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(REPORT_PAGE_POLICY),
    );
    Ok(response)
}

/// A finding's severity as the report names it (`info` … `critical`), in the page's
/// language; anything else as it is (made visible).
fn severity_label(severity: &str, lang: crate::lang::Lang) -> String {
    let (ja, en) = match severity {
        "info" => ("情報", "info"),
        "low" => ("低", "low"),
        "medium" => ("中", "medium"),
        "high" => ("高", "high"),
        "critical" => ("重大", "critical"),
        other => return visible(other),
    };
    lang.t(ja, en).to_owned()
}
