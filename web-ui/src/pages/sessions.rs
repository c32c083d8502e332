//! `GET /sessions`: the maintenance sessions (R-17-1, R-10.2-REVIEW), filtered by
//! engineer, vendor, target, plan, protocol, start (JST days, `from` and `to`
//! inclusive), state (live or an end reason) and findings, newest first, paged by index:
//! `after` is the last row's `(started_at, id)` (`store::SessionCursor`), never an offset.
//! The query is parsed into typed values once; one that doesn't parse is a 400.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use fumidai_core::ops::session_view;
use policy::limits::EndReason;
use policy::target::TargetProtocol;
use serde::Deserialize;
use store::{FindingsFilter, ListedSession, SessionCursor, SessionFilter, SessionState};

use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::lang::Lang;
use crate::session::Signed;
use crate::text;

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    sessions_css: &'static str,
    rows: Vec<Row>,
    query: SessionsQuery,
    /// (value, label, selected)
    protocols: Vec<(&'static str, &'static str, bool)>,
    states: Vec<(String, &'static str, bool)>,
    findings: Vec<(&'static str, &'static str, bool)>,
    /// The next page's link, when there is one.
    next: Option<String>,
    /// Whether this is a later page (a link back to the first).
    later: bool,
    first: String,
}

/// A session in the list.
struct Row {
    href: String,
    id: String,
    live: bool,
    protocol: &'static str,
    engineer: String,
    vendor: String,
    target: String,
    plan_href: String,
    plan: String,
    started: String,
    ended: String,
    findings: String,
    has_findings: bool,
}

/// The query as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct SessionsQuery {
    #[serde(default)]
    engineer: String,
    #[serde(default)]
    vendor: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    protocol: String,
    /// A JST day: sessions started on it or later.
    #[serde(default)]
    from: String,
    /// A JST day: sessions started on it or earlier.
    #[serde(default)]
    to: String,
    /// `live`, or an end reason.
    #[serde(default)]
    state: String,
    /// `some`, `none` or `not_reported`.
    #[serde(default)]
    findings: String,
    /// The cursor: the previous page's last session.
    #[serde(default)]
    after: String,
}

impl SessionsQuery {
    fn filter(&self) -> Result<(SessionFilter, Option<SessionCursor>), PageError> {
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
        let bad = |ja, en| PageError::BadRequest { ja, en };
        let protocol = match self.protocol.trim() {
            "" => None,
            "ssh" => Some(TargetProtocol::Ssh),
            "rdp" => Some(TargetProtocol::Rdp),
            _ => return Err(bad("プロトコルの指定が不正です", "unknown protocol")),
        };
        let state = match self.state.trim() {
            "" => None,
            "live" => Some(SessionState::Live),
            other => {
                Some(SessionState::Ended(other.parse::<EndReason>().map_err(
                    |_| bad("終了理由の指定が不正です", "unknown end reason"),
                )?))
            }
        };
        let findings = match self.findings.trim() {
            "" => None,
            "some" => Some(FindingsFilter::Some),
            "none" => Some(FindingsFilter::None),
            "not_reported" => Some(FindingsFilter::NotReported),
            _ => return Err(bad("指摘事項の指定が不正です", "unknown findings choice")),
        };
        let filter = SessionFilter {
            engineer: field(
                &self.engineer,
                "作業者名が不正です",
                "invalid engineer login",
            )?,
            vendor: field(&self.vendor, "事業者名が不正です", "invalid vendor name")?,
            target: field(&self.target, "接続先名が不正です", "invalid target name")?,
            plan: field(&self.plan, "作業計画IDが不正です", "invalid plan ID")?,
            protocol,
            started_from: field::<chrono::NaiveDate>(
                &self.from,
                "開始日が不正です",
                "invalid from date",
            )?
            .map(text::jst_day_start),
            started_before: field::<chrono::NaiveDate>(
                &self.to,
                "終了日が不正です",
                "invalid to date",
            )?
            .map(|day| text::jst_day_start(day + chrono::Duration::days(1))),
            state,
            findings,
        };
        let after = field(&self.after, "ページの指定が不正です", "invalid page cursor")?;
        Ok((filter, after))
    }

    /// The query string of this filter (without `after`), for the page links. Each value
    /// was parsed above, so it holds only what its type allows; it is encoded anyway.
    fn link(&self, after: Option<&SessionCursor>) -> String {
        let mut pairs: Vec<(&str, String)> = [
            ("engineer", &self.engineer),
            ("vendor", &self.vendor),
            ("target", &self.target),
            ("plan", &self.plan),
            ("protocol", &self.protocol),
            ("from", &self.from),
            ("to", &self.to),
            ("state", &self.state),
            ("findings", &self.findings),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.trim().to_owned()))
        .collect();
        if let Some(after) = after {
            pairs.push(("after", after.to_string()));
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        if query.is_empty() {
            "/sessions".to_owned()
        } else {
            format!("/sessions?{}", query.join("&"))
        }
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<SessionsQuery>,
) -> Result<Html<String>, PageError> {
    let (filter, after) = query.filter()?;
    let lang = signed.lang;
    let page = session_view::page(state.store.as_ref(), &filter, after.as_ref()).await?;
    let protocols = [TargetProtocol::Ssh, TargetProtocol::Rdp]
        .into_iter()
        .map(|p| (p.as_str(), text::protocol(p), filter.protocol == Some(p)))
        .collect();
    let mut states = vec![(
        "live".to_owned(),
        lang.t("接続中", "live"),
        filter.state == Some(SessionState::Live),
    )];
    states.extend(EndReason::ALL.into_iter().map(|r| {
        (
            r.as_str().to_owned(),
            text::end_reason(r, lang),
            filter.state == Some(SessionState::Ended(r)),
        )
    }));
    let findings = [
        (
            "some",
            lang.t("指摘あり", "with findings"),
            FindingsFilter::Some,
        ),
        (
            "none",
            lang.t("指摘なし", "without findings"),
            FindingsFilter::None,
        ),
        (
            "not_reported",
            lang.t("報告書未作成", "not reported yet"),
            FindingsFilter::NotReported,
        ),
    ]
    .into_iter()
    .map(|(v, l, f)| (v, l, filter.findings == Some(f)))
    .collect();
    let html = SessionsPage {
        chrome: Chrome::signed(&signed, Section::Sessions, "/sessions", state.now()),
        sessions_css: crate::assets::path(crate::assets::Which::SessionsCss),
        rows: page.sessions.iter().map(|s| row(s, lang)).collect(),
        next: page.next.as_ref().map(|c| query.link(Some(c))),
        later: after.is_some(),
        first: query.link(None),
        protocols,
        states,
        findings,
        query,
    };
    render(&html)
}

fn row(listed: &ListedSession, lang: Lang) -> Row {
    let s = &listed.session;
    let ended = match (s.ended_at, s.end_reason) {
        (None, _) => lang.t("接続中", "live").to_owned(),
        (Some(at), Some(reason)) => match lang {
            Lang::Ja => format!(
                "{}（{}）",
                text::jst_seconds(&at),
                text::end_reason(reason, lang)
            ),
            Lang::En => format!(
                "{} ({})",
                text::jst_seconds(&at),
                text::end_reason(reason, lang)
            ),
        },
        (Some(at), None) => text::jst_seconds(&at),
    };
    Row {
        href: format!("/sessions/{}", s.id),
        id: s.id.to_string(),
        live: s.ended_at.is_none(),
        protocol: text::protocol(listed.protocol),
        engineer: s.engineer.to_string(),
        vendor: listed.vendor.to_string(),
        target: s.target.to_string(),
        plan_href: format!("/plans/{}", s.plan),
        plan: s.plan.to_string().chars().take(8).collect(),
        started: text::jst_seconds(&s.started_at),
        ended,
        findings: text::findings(listed.findings, lang),
        has_findings: listed.findings.is_some_and(|n| n > 0),
    }
}
