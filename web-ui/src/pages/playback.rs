//! `GET /sessions/{id}/play/{which}` (`which`: an SSH channel's number, or `rdp`): a
//! recording played in the browser, after its seal was checked (R-17-2).
//!
//! - Verified, or not sealed yet (shown as such): the playback is recorded
//!   (`recording.played`: who watched which recording), a grant lets this console
//!   session fetch the recording's data (`playback_grant`), and the page shows the
//!   player — asciinema-player for SSH (seek, speed, pause; each command in the side
//!   list jumps to its moment), PNG stills with a slider for RDP (the last frame first;
//!   the keystroke timeline beside it).
//! - **Broken**: refused with the reason (409), nothing recorded, and a form to override.
//!   `POST` to the same path with a reason (CSRF-checked) records
//!   `recording.seal_overridden` and the playback, then plays.
//!
//! The rule is `ops::playback::decide`'s; this file renders.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fumidai_core::ops::playback::{self, Decision, Found, KeyEntry, OverrideReason, Which};
use serde::Deserialize;

use super::session::{data_dir, parse_id, seal_reason};
use super::{Chrome, Section, render};
use crate::AppState;
use crate::csrf::{CsrfForm, Posted};
use crate::error::PageError;
use crate::lang::Lang;
use crate::session::Signed;
use crate::text::{self, visible};

/// The playback page's policy: the console's strict one, plus `'wasm-unsafe-eval'` —
/// asciinema-player runs its terminal emulator as WebAssembly, which the browser compiles
/// only with it. It allows compiling WebAssembly, not `eval` of strings. Nothing else
/// changes: scripts and styles still come from the console only (the player styles its
/// elements through the CSSOM, which `style-src 'self'` allows).
pub(crate) const PLAYER_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; \
     script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Template)]
#[template(path = "playback.html")]
struct PlaybackPage {
    chrome: Chrome,
    sessions_css: &'static str,
    player_css: &'static str,
    player_js: &'static str,
    playback_js: &'static str,
    session_href: String,
    session_id: String,
    title: String,
    facts: Vec<(&'static str, String)>,
    seal: &'static str,
    seal_class: &'static str,
    seal_reason: String,
    overridden: bool,
    view: View,
    action: String,
    /// Why the override form was refused.
    form_error: Option<&'static str>,
}

enum View {
    /// Refused: the seal is broken; the override form.
    Refused,
    Ssh {
        cast: String,
        start: String,
        commands: Vec<Seek>,
    },
    Rdp {
        base: String,
        first: String,
        duration: String,
        keys: Vec<Seek>,
    },
}

/// An entry of the side list that moves the player.
struct Seek {
    t: String,
    shown: String,
    text: String,
    uncertain: bool,
}

/// `?t=SECONDS`: where to start.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PlayQuery {
    #[serde(default)]
    t: String,
}

/// The override form.
#[derive(Deserialize)]
pub(crate) struct OverrideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

impl CsrfForm for OverrideForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `GET /sessions/{id}/play/{which}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, which)): Path<(String, String)>,
    Query(query): Query<PlayQuery>,
) -> Result<Response, PageError> {
    let found = find(&state, &id, &which).await?;
    let start = seconds(&query.t).unwrap_or(0.0);
    show(&state, &signed, &found, None, start, None).await
}

/// `POST /sessions/{id}/play/{which}`: play a broken recording with a reason.
pub(crate) async fn override_seal(
    State(state): State<AppState>,
    Path((id, which)): Path<(String, String)>,
    Posted { signed, form }: Posted<OverrideForm>,
) -> Result<Response, PageError> {
    let found = find(&state, &id, &which).await?;
    let Some(reason) = OverrideReason::parse(&form.reason) else {
        let error = signed.lang.t(
            "理由を1行（4〜500文字）で入力してください",
            "give a reason on one line (4 to 500 characters)",
        );
        return show(&state, &signed, &found, None, 0.0, Some(error)).await;
    };
    show(&state, &signed, &found, Some(reason), 0.0, None).await
}

async fn find(state: &AppState, id: &str, which: &str) -> Result<Found, PageError> {
    let id = parse_id(id)?;
    let which: Which = which.parse().map_err(|_| PageError::NotFound)?;
    let dir = data_dir(state)?;
    Ok(playback::find(state.store.as_ref(), dir, id, which).await?)
}

/// Seconds as typed (`12.5`), if finite and not negative.
pub(crate) fn seconds(text: &str) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
}

async fn show(
    state: &AppState,
    signed: &Signed,
    found: &Found,
    reason: Option<OverrideReason>,
    start: f64,
    form_error: Option<&'static str>,
) -> Result<Response, PageError> {
    let lang = signed.lang;
    let id = found.session.id;
    let path = format!("/sessions/{id}/play/{}", found.which);
    let decision = if form_error.is_some() {
        // The override was asked for without a usable reason: refused again.
        playback::decide(&found.seal, None)
    } else {
        playback::start(
            state.store.as_ref(),
            &signed.account.login,
            found,
            reason.as_ref(),
        )
        .await?
    };
    let (view, overridden, status) = match decision {
        Decision::Refuse { .. } => (
            View::Refused,
            false,
            if form_error.is_some() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::CONFLICT
            },
        ),
        Decision::Play { overridden } => {
            let grant = state
                .grants
                .issue(signed.session.id, id, found.which, reason, state.now());
            let view = match found.which {
                Which::Channel(_) => View::Ssh {
                    cast: format!("{path}/cast?grant={grant}"),
                    start: format!("{start:.3}"),
                    commands: playback::commands(state.store.as_ref(), found)
                        .await?
                        .iter()
                        .map(|c| {
                            let t = c.offset.as_seconds_f64();
                            Seek {
                                t: format!("{t:.3}"),
                                shown: clock(t),
                                text: visible(&c.text),
                                uncertain: c.uncertain,
                            }
                        })
                        .collect(),
                },
                Which::Rdp => {
                    let duration = found.duration.as_secs_f64();
                    View::Rdp {
                        base: format!("{path}/frame?grant={grant}"),
                        first: format!("{path}/frame?grant={grant}"),
                        duration: format!("{duration:.3}"),
                        keys: playback::keys(found)
                            .await?
                            .iter()
                            .map(|k| key_seek(k, lang))
                            .collect(),
                    }
                }
            };
            (view, overridden, StatusCode::OK)
        }
    };
    let (seal, seal_class) = text::seal(&found.seal, lang);
    let page = PlaybackPage {
        chrome: Chrome::signed(signed, Section::Sessions, &path, state.now()),
        sessions_css: crate::assets::path(crate::assets::Which::SessionsCss),
        player_css: crate::assets::path(crate::assets::Which::PlayerCss),
        player_js: crate::assets::path(crate::assets::Which::PlayerJs),
        playback_js: crate::assets::path(crate::assets::Which::PlaybackJs),
        session_href: format!("/sessions/{id}"),
        session_id: id.to_string(),
        title: match found.which {
            Which::Channel(n) => format!("{} {n}", lang.t("チャネル", "channel")),
            Which::Rdp => "RDP".to_owned(),
        },
        facts: facts(found, lang),
        seal,
        seal_class,
        seal_reason: seal_reason(&found.seal),
        overridden,
        view,
        action: path,
        form_error,
    };
    let mut response = (status, render(&page)?).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PLAYER_CONTENT_SECURITY_POLICY),
    );
    Ok(response)
}

fn facts(found: &Found, lang: Lang) -> Vec<(&'static str, String)> {
    let s = &found.session;
    let mut facts = vec![
        (lang.t("作業者", "Engineer"), s.engineer.to_string()),
        (lang.t("接続先", "Target"), s.target.to_string()),
        (
            lang.t("録画の開始", "Recording started"),
            found
                .started
                .map(|t| text::jst_seconds(&t))
                .unwrap_or_default(),
        ),
        (lang.t("長さ", "Length"), text::length(found.duration)),
    ];
    if let Some(command) = &found.command {
        facts.push((lang.t("コマンド", "Command"), visible(command)));
    }
    if let Some(problem) = &found.unreadable {
        facts.push((lang.t("読み取りエラー", "Unreadable"), visible(problem)));
    }
    facts
}

/// `m:ss.s` from the start.
fn clock(t: f64) -> String {
    let whole = t.max(0.0);
    let minutes = (whole / 60.0).floor();
    format!("{minutes:.0}:{:04.1}", whole - minutes * 60.0)
}

fn key_seek(entry: &KeyEntry, lang: Lang) -> Seek {
    let t = entry.offset().as_secs_f64();
    let text = match entry {
        KeyEntry::Text { text, .. } => visible(text),
        KeyEntry::Key { key, .. } => format!("[{key}]"),
        KeyEntry::Click { click, .. } => {
            format!("[{} {}]", lang.t("クリック", "click"), click.as_str())
        }
    };
    Seek {
        t: format!("{t:.3}"),
        shown: clock(t),
        text,
        uncertain: false,
    }
}
