//! `POST /audit/verify`: walks the audit chain now, then checks every sealed recording and
//! every reconciliation report against the seal the chain holds for it
//! (`ops::audit::verify`, the same as `fumidai audit verify`; R-17-2), and shows the result
//! with the chain's head. A POST (with the CSRF token): walking a long chain is work no
//! link on another page should be able to start.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use fumidai_core::ops::audit::{self, AuditCheck};
use store::AuditVerification;

use super::{Chrome, Section, render};
use crate::AppState;
use crate::csrf::{CsrfForm, Posted};
use crate::error::PageError;
use crate::text::visible;

#[derive(serde::Deserialize)]
pub(crate) struct VerifyForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfForm for VerifyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Template)]
#[template(path = "audit_verify.html")]
struct VerifyPage {
    chrome: Chrome,
    intact: bool,
    chain: String,
    head: String,
    checks: Vec<(&'static str, &'static str, usize, Vec<String>)>,
}

/// `POST /audit/verify`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    Posted { signed, .. }: Posted<VerifyForm>,
) -> Result<Response, PageError> {
    let dir = state.dir.as_ref().ok_or(PageError::NotFound)?;
    let check = audit::verify(state.store.as_ref(), dir).await?;
    let lang = signed.lang;
    let (chain, head) = match &check.chain {
        AuditVerification::Intact { records, head } => (
            format!(
                "{} {records} {}",
                lang.t("改ざんなし:", "intact:"),
                lang.t("件", "records")
            ),
            head.clone(),
        ),
        AuditVerification::Broken { seq, problem } => (
            format!(
                "{} {seq}: {}",
                lang.t("破損を検出 — 記録", "BROKEN at record"),
                visible(&problem.to_string())
            ),
            String::new(),
        ),
    };
    let listed = |c: &Option<audit::SealsChecked>| -> (usize, Vec<String>) {
        c.as_ref().map_or((0, Vec::new()), |c| {
            (
                c.sealed,
                c.broken
                    .iter()
                    .map(|b| {
                        format!(
                            "#{} {}: {}",
                            b.seq,
                            visible(&b.subject),
                            visible(&b.problem)
                        )
                    })
                    .collect(),
            )
        })
    };
    let AuditCheck {
        recordings,
        reports,
        ..
    } = &check;
    let (rec_n, rec_broken) = listed(recordings);
    let (rep_n, rep_broken) = listed(reports);
    let page = VerifyPage {
        chrome: Chrome::signed(&signed, Section::Audit, "/audit", state.now()),
        intact: check.intact(),
        chain,
        head,
        checks: vec![
            ("録画の封印", "Recording seals", rec_n, rec_broken),
            ("作業報告書の封印", "Report seals", rep_n, rep_broken),
        ],
    };
    Ok(render(&page)?.into_response())
}
