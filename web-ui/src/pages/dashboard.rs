//! `GET /`: the dashboard (issue 15 §3): live sessions, plans awaiting approval, emergency
//! plans awaiting approval afterwards, reports awaiting confirmation and overdue, recent
//! alerts, and the audit chain's state. Reads `ops::dashboard`.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse};
use chrono::Duration;
use fumidai_core::ops::dashboard;
use store::AuditVerification;

use super::view::{AlertRow, PlanRow, SessionRow};
use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::session::Signed;

/// How long a verification of the audit chain is shown before it is walked again.
const AUDIT_RECHECK_SECONDS: i64 = 60;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    live: Vec<SessionRow>,
    sections: Vec<PlanSection>,
    alerts: Vec<AlertRow>,
    chain: ChainView,
}

/// One list of plans waiting for someone.
struct PlanSection {
    title: &'static str,
    empty: &'static str,
    rows: Vec<PlanRow>,
}

/// The audit chain as the page shows it.
struct ChainView {
    intact: bool,
    records: u64,
    head: String,
    broken_at: i64,
    checked_at: String,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<impl IntoResponse, PageError> {
    let now = state.now();
    let lang = signed.lang;
    let overview = dashboard::overview(state.store.as_ref(), now).await?;
    let chain = {
        let mut check = state.audit_check.lock().await;
        let fresh = check
            .as_ref()
            .filter(|(at, _)| now - *at < Duration::seconds(AUDIT_RECHECK_SECONDS))
            .cloned();
        match fresh {
            Some(done) => done,
            None => {
                let verified = dashboard::audit_chain(state.store.as_ref()).await?;
                *check = Some((now, verified.clone()));
                (now, verified)
            }
        }
    };
    let plans = |list: &[policy::plan::Plan]| -> Vec<PlanRow> {
        list.iter().map(|p| PlanRow::new(p, lang)).collect()
    };
    let page = DashboardPage {
        chrome: Chrome::signed(&signed, Section::Dashboard, "/", now),
        live: overview
            .live_sessions
            .iter()
            .map(|s| SessionRow::new(s, lang))
            .collect(),
        sections: vec![
            PlanSection {
                title: lang.t("承認待ちの作業計画", "Plans awaiting approval"),
                empty: lang.t("承認待ちの計画はありません", "No plan awaits approval"),
                rows: plans(&overview.awaiting_approval),
            },
            PlanSection {
                title: lang.t(
                    "事後承認待ちの緊急作業",
                    "Emergency plans awaiting approval afterwards",
                ),
                empty: lang.t(
                    "事後承認待ちの緊急作業はありません",
                    "No emergency plan awaits approval",
                ),
                rows: plans(&overview.emergency_awaiting),
            },
            PlanSection {
                title: lang.t("確認待ちの報告書", "Reports awaiting confirmation"),
                empty: lang.t(
                    "確認待ちの報告書はありません",
                    "No report awaits confirmation",
                ),
                rows: plans(&overview.reports_awaiting),
            },
            PlanSection {
                title: lang.t(
                    "確認期限を過ぎた報告書（7日超）",
                    "Reports overdue (over 7 days)",
                ),
                empty: lang.t("期限を過ぎた報告書はありません", "No report is overdue"),
                rows: plans(&overview.reports_overdue),
            },
        ],
        alerts: overview
            .recent_alerts
            .iter()
            .map(|r| AlertRow::new(r, lang))
            .collect(),
        chain: chain_view(&chain.1, &chain.0),
    };
    let html: Html<String> = render(&page)?;
    Ok(html)
}

fn chain_view(verified: &AuditVerification, at: &chrono::DateTime<chrono::Utc>) -> ChainView {
    let checked_at = crate::text::jst_seconds(at);
    match verified {
        AuditVerification::Intact { records, head } => ChainView {
            intact: true,
            records: *records,
            head: head.chars().take(16).collect(),
            broken_at: 0,
            checked_at,
        },
        AuditVerification::Broken { seq, .. } => ChainView {
            intact: false,
            records: 0,
            head: String::new(),
            broken_at: *seq,
            checked_at,
        },
    }
}
