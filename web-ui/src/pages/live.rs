//! `GET /live`: the live sessions (issue 15 §3 "Live", R-10.2-REVIEW) — engineer, target,
//! plan, start, idle time, window end — with, per session, a link to watch its terminal
//! (SSH sessions this node holds; `Action::WatchSession`) and a kill form with a reason
//! (`Action::KillSession`; `live_kill`). Sessions held by another node are listed and
//! can be killed (the request goes through the store) but not watched from here. Reads
//! `ops::live_view`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use fumidai_core::ops::live_view::{self, LiveRow};
use fumidai_core::ops::{OpError, Person, person};
use policy::authority::Action;
use policy::ids::SessionId;
use policy::target::TargetProtocol;
use serde::Deserialize;

use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::lang::Lang;
use crate::session::{SESSION_COOKIE, Signed, cookie, digest};
use crate::text;

#[derive(Template)]
#[template(path = "live.html")]
struct LivePage {
    chrome: Chrome,
    live_css: &'static str,
    rows: Vec<Row>,
    may_kill: bool,
    notice: Option<String>,
    refusal: Option<(String, String)>,
}

/// A live session as the table shows it.
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) engineer: String,
    pub(crate) target: String,
    pub(crate) protocol: &'static str,
    pub(crate) plan_id: String,
    /// The plan ID's first 8 characters, for the table (the whole one in its title).
    pub(crate) plan_short: String,
    pub(crate) plan_href: String,
    pub(crate) started: String,
    pub(crate) idle: String,
    pub(crate) window_end: String,
    /// Where it is and what is happening to it: here, on another node, ending.
    pub(crate) state: String,
    pub(crate) state_class: &'static str,
    /// `/live/{id}/watch` when the person may watch it from here.
    pub(crate) watch_href: Option<String>,
    pub(crate) kill_action: String,
    /// A kill may still be asked for (none pending, not ending).
    pub(crate) killable: bool,
}

impl Row {
    pub(crate) fn new(row: &LiveRow, may_watch: bool, now: DateTime<Utc>, lang: Lang) -> Self {
        let s = &row.session;
        let (state, state_class) = if let Some(reason) = row.here.as_ref().and_then(|h| h.ending) {
            (
                format!(
                    "{}（{}）",
                    lang.t("終了処理中", "ending"),
                    text::end_reason(reason, lang)
                ),
                "warn",
            )
        } else if row.kill_pending {
            (
                lang.t("強制終了を要求済み", "kill requested").to_owned(),
                "warn",
            )
        } else if row.here.is_some() {
            (lang.t("接続中", "live").to_owned(), "ok")
        } else {
            (
                lang.t("接続中（別のノード）", "live on another node")
                    .to_owned(),
                "",
            )
        };
        Self {
            id: s.id.to_string(),
            engineer: s.engineer.to_string(),
            target: s.target.to_string(),
            protocol: match row.protocol {
                Some(TargetProtocol::Ssh) => "SSH",
                Some(TargetProtocol::Rdp) => "RDP",
                None => "-",
            },
            plan_id: s.plan.to_string(),
            plan_short: s.plan.to_string().chars().take(8).collect(),
            plan_href: format!("/plans/{}", s.plan),
            started: text::jst_seconds(&s.started_at),
            idle: row
                .idle(now)
                .map_or_else(|| "-".to_owned(), |d| text::duration(d, lang)),
            window_end: row
                .window_ends_at
                .as_ref()
                .map_or_else(|| "-".to_owned(), text::jst),
            state,
            state_class,
            watch_href: (may_watch && row.watchable()).then(|| format!("/live/{}/watch", s.id)),
            kill_action: format!("/live/{}/kill", s.id),
            killable: !row.kill_pending && row.here.as_ref().is_none_or(|h| h.ending.is_none()),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    /// Set after a kill was requested from this page.
    #[serde(default)]
    killed: Option<String>,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let notice = query.killed.map(|_| {
        signed
            .lang
            .t(
                "強制終了を要求しました。接続中のゲートウェイが1秒程度で切断し、作業者には運用担当者による終了と表示されます。",
                "Kill requested: the gateway holding the session ends it within about a second and tells the engineer an operator ended it.",
            )
            .to_owned()
    });
    show(&state, &signed, notice, None, StatusCode::OK).await
}

/// The list, with a notice or the reason an action was refused.
pub(crate) async fn show(
    state: &AppState,
    signed: &Signed,
    notice: Option<String>,
    refusal: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let now = state.now();
    let lang = signed.lang;
    let rows = live_view::live_sessions(state.store.as_ref(), &state.live).await?;
    let may_watch = signed.may(Action::WatchSession);
    let page = LivePage {
        chrome: Chrome::signed(signed, Section::Live, "/live", now),
        live_css: crate::assets::live_css_path(),
        rows: rows
            .iter()
            .map(|r| Row::new(r, may_watch, now, lang))
            .collect(),
        may_kill: signed.may(Action::KillSession),
        notice,
        refusal: refusal.map(|r| text::bilingual(&r, lang)),
    };
    let html: Html<String> = render(&page)?;
    Ok((status, html).into_response())
}

/// A session ID from the path; anything else is no page.
pub(crate) fn parse_session_id(text: &str) -> Result<SessionId, PageError> {
    text.parse().map_err(|_| PageError::NotFound)
}

/// The person of the console session this request carries (which [`Signed`] has just
/// checked), for the ops that ask no fresh code: a kill, a watch.
pub(crate) async fn console_person(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Person, PageError> {
    let token = cookie(headers, SESSION_COOKIE).ok_or(PageError::SignedOut { idle: false })?;
    match person::at_console(state.store.as_ref(), &digest(token)).await {
        Ok(person) => Ok(person),
        Err(OpError::AuthenticationFailed { .. }) => Err(PageError::SignedOut { idle: false }),
        Err(error) => Err(error.into()),
    }
}
