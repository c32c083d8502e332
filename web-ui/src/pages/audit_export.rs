//! `GET /audit/export?format=jsonl|csv&…filters`: the filtered range of the audit trail as
//! a download, oldest first, at most [`EXPORT_MAX`] records (R-17-1: logs handed to an
//! auditor or a SIEM). Each record keeps its `prev_hash` and `hash`, so a contiguous range
//! can be checked link by link against the chain's head (`fumidai audit verify`).

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use fumidai_core::ops::audit;
use serde::Deserialize;
use store::AuditRecord;

use super::audit::AuditQuery;
use crate::AppState;
use crate::error::PageError;
use crate::session::Signed;

/// The most records one export holds.
pub(crate) const EXPORT_MAX: usize = 100_000;

/// The format and the same filters as the audit page (no page: the whole range).
#[derive(Debug, Deserialize)]
pub(crate) struct ExportQuery {
    #[serde(default)]
    format: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// `GET /audit/export`.
pub(crate) async fn download(
    State(state): State<AppState>,
    _signed: Signed,
    Query(query): Query<ExportQuery>,
) -> Result<Response, PageError> {
    let (content_type, extension, render): (_, _, fn(&[AuditRecord]) -> String) =
        match query.format.as_str() {
            "jsonl" => ("application/x-ndjson; charset=utf-8", "jsonl", jsonl),
            "csv" => ("text/csv; charset=utf-8", "csv", csv),
            _ => {
                return Err(PageError::BadRequest {
                    ja: "形式は jsonl か csv です",
                    en: "format is jsonl or csv",
                });
            }
        };
    let filter = AuditQuery {
        kind: query.kind,
        actor: query.actor,
        subject: query.subject,
        from: query.from,
        to: query.to,
        before: None,
    }
    .filter()?;
    let records = audit::range(state.store.as_ref(), &filter, EXPORT_MAX).await?;
    let name = format!(
        "attachment; filename=\"fumidai-audit-{}.{extension}\"",
        state.now().format("%Y%m%dT%H%M%SZ")
    );
    let mut response = render(&records).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(disposition) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

/// One JSON object per line.
fn jsonl(records: &[AuditRecord]) -> String {
    let mut out = String::new();
    for r in records {
        let line = serde_json::json!({
            "seq": r.seq,
            "at": r.at.to_rfc3339(),
            "actor": r.actor,
            "kind": r.kind,
            "subject": r.subject,
            "detail": r.detail,
            "prev_hash": r.prev_hash,
            "hash": r.hash,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

/// RFC 4180 CSV with a header row; every field quoted. A field a spreadsheet would read as
/// a formula (`=`, `+`, `-`, `@` first) is prefixed with `'` (CSV injection).
fn csv(records: &[AuditRecord]) -> String {
    let field = |text: &str| {
        let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{text}")
        } else {
            text.to_owned()
        };
        format!("\"{}\"", guarded.replace('"', "\"\""))
    };
    let mut out = String::from("seq,at,actor,kind,subject,detail,prev_hash,hash\r\n");
    for r in records {
        let row = [
            r.seq.to_string(),
            r.at.to_rfc3339(),
            r.actor.clone(),
            r.kind.clone(),
            r.subject.clone(),
            r.detail.to_string(),
            r.prev_hash.clone(),
            r.hash.clone(),
        ];
        let line: Vec<String> = row.iter().map(|f| field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(subject: &str) -> AuditRecord {
        AuditRecord {
            seq: 1,
            at: chrono::Utc::now(),
            actor: "person:olga".into(),
            kind: "plan.approved".into(),
            subject: subject.into(),
            detail: serde_json::json!({ "note": "a \"quoted\" word" }),
            prev_hash: "00".into(),
            hash: "11".into(),
        }
    }

    #[test]
    fn csv_quotes_every_field_and_defuses_formulas() {
        let text = csv(&[record("=HYPERLINK(\"http://evil\")")]);
        let line = text.lines().nth(1).unwrap();
        assert!(
            line.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
            "{line}"
        );
        assert!(line.contains("\"\"quoted\\\"\""), "{line}");
    }

    #[test]
    fn jsonl_is_one_record_per_line_with_its_hashes() {
        let text = jsonl(&[record("p1"), record("p2")]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["prev_hash"], "00");
        assert_eq!(first["hash"], "11");
    }
}
