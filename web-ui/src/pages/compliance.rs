//! `GET /compliance`: the compliance evidence (適合状況) for an inspector — every requirement
//! ID of the guideline, whether this installation meets it, and the evidence (the
//! configuration, counts from the store, the audit chain verified now):
//! `ops::compliance_evidence::gather`, the same document as `fumidai compliance`.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use fumidai_core::compliance::{Compliance, Status};
use fumidai_core::ops::compliance_evidence;

use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::session::Signed;
use crate::text::{self, visible};

#[derive(Template)]
#[template(path = "compliance.html")]
struct CompliancePage {
    chrome: Chrome,
    guideline: &'static str,
    generated: String,
    chain_intact: bool,
    summary: (usize, usize, usize, usize),
    rows: Vec<Row>,
}

/// One requirement as shown.
struct Row {
    id: &'static str,
    title: &'static str,
    status: &'static str,
    class: &'static str,
    how: &'static str,
    evidence: Vec<(&'static str, String)>,
    note: String,
}

/// `GET /compliance`.
pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    let config = state.config.as_ref().ok_or(PageError::NotFound)?;
    let now = state.now();
    let doc: Compliance = compliance_evidence::gather(state.store.as_ref(), config, now).await?;
    let page = CompliancePage {
        chrome: Chrome::signed(&signed, Section::Compliance, "/compliance", now),
        guideline: doc.guideline,
        generated: text::jst_seconds(&doc.generated_at),
        chain_intact: doc.audit.intact(),
        summary: (
            doc.summary.met,
            doc.summary.partial,
            doc.summary.manual,
            doc.summary.not_met,
        ),
        rows: doc
            .requirements
            .iter()
            .map(|c| Row {
                id: c.id,
                title: c.title,
                status: c.status.label(),
                class: match c.status {
                    Status::Met => "ok",
                    Status::Partial | Status::Manual => "warn",
                    Status::NotMet => "bad",
                },
                how: c.how,
                evidence: c
                    .evidence
                    .iter()
                    .map(|e| {
                        let value = match &e.value {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (e.label, visible(&value))
                    })
                    .collect(),
                note: c.note.as_deref().map(visible).unwrap_or_default(),
            })
            .collect(),
    };
    Ok(render(&page)?.into_response())
}
