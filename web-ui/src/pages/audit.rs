//! `GET /audit`: the audit trail (監査証跡, R-17-1, R-17-2) — its records newest first,
//! filtered by kind, actor, subject and time (JST days), paged back by sequence number;
//! the chain's last verification; and links to export the filtered range
//! ([`super::audit_export`]) and to verify now ([`super::audit_verify`]).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use fumidai_core::ops::audit;
use serde::Deserialize;
use store::{AuditFilter, AuditKind, AuditRecord};

use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::session::Signed;
use crate::text::{self, visible};

/// Records on one page.
const PAGE: u32 = 100;

/// The filters as the form and the links carry them.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) actor: String,
    #[serde(default)]
    pub(crate) subject: String,
    #[serde(default)]
    pub(crate) from: String,
    #[serde(default)]
    pub(crate) to: String,
    #[serde(default)]
    pub(crate) before: Option<i64>,
}

impl AuditQuery {
    /// The store's filter; a malformed value is a bad request, not an empty result.
    pub(crate) fn filter(&self) -> Result<AuditFilter, PageError> {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let kind = text(&self.kind);
        if let Some(kind) = &kind
            && !AuditKind::ALL.iter().any(|k| k.as_str() == kind)
        {
            return Err(PageError::BadRequest {
                ja: "記録の種類が正しくありません",
                en: "unknown record kind",
            });
        }
        let day = |s: &str| -> Result<Option<NaiveDate>, PageError> {
            match text(s) {
                None => Ok(None),
                Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| PageError::BadRequest {
                        ja: "日付は YYYY-MM-DD で指定してください",
                        en: "dates are YYYY-MM-DD",
                    }),
            }
        };
        Ok(AuditFilter {
            kind,
            actor: text(&self.actor),
            subject: text(&self.subject),
            from: day(&self.from)?.map(text::jst_day_start),
            to: day(&self.to)?
                .and_then(|d| d.succ_opt())
                .map(text::jst_day_start),
        })
    }

    /// The query string of these filters (without the page), for links.
    pub(crate) fn query_string(&self) -> String {
        let pairs = [
            ("kind", &self.kind),
            ("actor", &self.actor),
            ("subject", &self.subject),
            ("from", &self.from),
            ("to", &self.to),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    query: AuditQuery,
    kinds: Vec<(&'static str, bool)>,
    rows: Vec<AuditRow>,
    older_href: Option<String>,
    export_jsonl: String,
    export_csv: String,
}

/// One record as shown.
struct AuditRow {
    seq: i64,
    at: String,
    kind: String,
    actor: String,
    subject: String,
    detail: String,
    hash: String,
}

impl AuditRow {
    fn new(r: &AuditRecord) -> Self {
        Self {
            seq: r.seq,
            at: text::jst_seconds(&r.at),
            kind: visible(&r.kind),
            actor: visible(&r.actor),
            subject: visible(&r.subject),
            detail: visible(&r.detail.to_string()),
            hash: r.hash.chars().take(12).collect(),
        }
    }
}

/// `GET /audit`.
pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let filter = query.filter()?;
    let records = audit::page(state.store.as_ref(), &filter, query.before, PAGE).await?;
    let filters = query.query_string();
    let sep = if filters.is_empty() { "" } else { "&" };
    let older_href = (records.len() == PAGE as usize)
        .then(|| {
            records
                .last()
                .map(|r| format!("/audit?{filters}{sep}before={}", r.seq))
        })
        .flatten();
    let page = AuditPage {
        chrome: Chrome::signed(&signed, Section::Audit, "/audit", state.now()),
        kinds: AuditKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.as_str() == query.kind))
            .collect(),
        rows: records.iter().map(AuditRow::new).collect(),
        older_href,
        export_jsonl: format!("/audit/export?format=jsonl{sep}{filters}"),
        export_csv: format!("/audit/export?format=csv{sep}{filters}"),
        query,
    };
    Ok(render(&page)?.into_response())
}
