//! `GET /live/{id}/watch`: a live session, read-only (issue 15 §3 "Live", R-10.2-REVIEW) —
//! an SSH session's terminal, an RDP session's desktop as a few pictures a second — and
//! `GET /live/{id}/watch/socket`, the WebSocket that feeds it.
//!
//! The page holds xterm.js (SSH) and the console's `live-watch.js` (both from `/assets/`,
//! so the policy's `script-src 'self'` stands; the socket is same-origin, which
//! `connect-src 'self'` allows for `ws:`/`wss:` too). The socket:
//!
//! - is opened only by a signed-in person ([`Signed`]: cookie, idle rule, account
//!   re-read) who may watch (`Action::WatchSession`: operators, planning managers,
//!   auditors), from this console's own page: a browser always sends `Origin` with a
//!   WebSocket handshake, and it must name this host (WebSockets have no CORS, so this
//!   is what stops another site's page from opening one with the person's cookie);
//! - carries, for SSH, the recent output first (to paint the screen as it is), then every
//!   chunk and resize as it passes (`ScreenWatch`), as binary frames of terminal data and
//!   JSON notices; for RDP, PNG pictures (`Pictures`); several watchers at once each get
//!   their own;
//! - accepts nothing from the browser but close (and pings): any message ends the watch;
//! - re-checks the person every [`RECHECK`]: console session live and not idle
//!   account enabled, role still allowed; else the watch ends;
//! - is on record: `ops::session_watch` appends `session.watch_started` before the first
//!   byte and `session.watch_ended` with its span at the end.

use std::time::Duration;

use askama::Template;
use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use fumidai_core::live::ScreenEvent;
use fumidai_core::ops::session_watch::{self, Screen, WatchEnd, Watching};
use fumidai_core::ops::{OpError, live_view};
use policy::authority::{self, Action};
use policy::ids::AccountKind;
use store::TokenDigest;

use super::live::{Row, console_person, parse_session_id};
use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::session::{SESSION_COOKIE, Signed, cookie, digest};

/// How often a watch re-checks its person.
pub(crate) const RECHECK: Duration = Duration::from_secs(5);

/// How long one message may wait for the browser to take it.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The close code when the watch ends for a reason the page shows (4000: private use).
const CLOSE_ENDED: u16 = 4000;

#[derive(Template)]
#[template(path = "live_watch.html")]
struct WatchPage {
    chrome: Chrome,
    live_css: &'static str,
    xterm_css: &'static str,
    xterm_js: &'static str,
    watch_js: &'static str,
    row: Row,
    socket: String,
    /// Why the screen can't be shown here (another node holds the session), if so.
    unwatchable: Option<(String, String)>,
    may_kill: bool,
}

/// `GET /live/{id}/watch`.
pub(crate) async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    signed: Signed,
) -> Result<Response, PageError> {
    let id = parse_session_id(&id)?;
    if let Err(denied) = may_watch(&signed) {
        return Err(PageError::Op(OpError::Denied {
            login: signed.account.login.clone(),
            denied,
        }));
    }
    let now = state.now();
    let lang = signed.lang;
    let rows = live_view::live_sessions(state.store.as_ref(), &state.live).await?;
    let Some(live) = rows.into_iter().find(|r| r.session.id == id) else {
        return Err(PageError::NotFound);
    };
    let unwatchable = live.unwatchable().map(|why| match lang {
        crate::lang::Lang::Ja => (why.ja().to_owned(), why.en().to_owned()),
        crate::lang::Lang::En => (why.en().to_owned(), why.ja().to_owned()),
    });
    let page = WatchPage {
        chrome: Chrome::signed(&signed, Section::Live, &format!("/live/{id}/watch"), now),
        live_css: crate::assets::live_css_path(),
        xterm_css: crate::assets::xterm_css_path(),
        xterm_js: crate::assets::xterm_js_path(),
        watch_js: crate::assets::live_watch_js_path(),
        row: Row::new(&live, true, now, lang),
        socket: format!("/live/{id}/watch/socket"),
        unwatchable,
        may_kill: signed.may(Action::KillSession),
    };
    let status = if page.unwatchable.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let html: Html<String> = render(&page)?;
    Ok((status, html).into_response())
}

/// `GET /live/{id}/watch/socket`.
pub(crate) async fn socket(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    signed: Signed,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, PageError> {
    let id = parse_session_id(&id)?;
    if let Err(denied) = may_watch(&signed) {
        return Err(PageError::Op(OpError::Denied {
            login: signed.account.login.clone(),
            denied,
        }));
    }
    same_origin_socket(&headers)?;
    let Ok(upgrade) = upgrade else {
        return Err(PageError::BadRequest {
            ja: "WebSocket 接続のみ受け付けます",
            en: "WebSocket connections only",
        });
    };
    let person = console_person(&state, &headers).await?;
    let token = cookie(&headers, SESSION_COOKIE)
        .map(digest)
        .ok_or(PageError::SignedOut { idle: false })?;
    let now = state.now();
    let (watching, screen) =
        match session_watch::start(state.store.as_ref(), &state.live, &person, &id, now).await {
            Ok(started) => started,
            Err(error) => return Err(error.into()),
        };
    tracing::info!(session_id = %id, login = %watching.watcher, watch_id = %watching.id, "console: watch started");
    Ok(upgrade
        // Nothing the browser may send is larger than a close frame.
        .max_message_size(1024)
        .on_upgrade(move |socket| async move {
            let why = pump(&state, &token, screen, socket).await;
            tracing::info!(session_id = %watching.session, login = %watching.watcher, why = why.as_str(), "console: watch ended");
            finish(&state, &watching, why).await;
        }))
}

/// Whether the signed-in account may watch live sessions.
fn may_watch(signed: &Signed) -> Result<(), policy::authority::Denied> {
    authority::authorize(
        signed.account.kind,
        signed.account.role,
        Action::WatchSession,
    )
}

/// A WebSocket handshake must come from this console's page: browsers always send
/// `Origin` with one, and page scripts can't forge it. It must name the request's host;
/// `Sec-Fetch-Site`, when sent, must be `same-origin`. Without `Origin` (not a browser):
/// refused.
fn same_origin_socket(headers: &HeaderMap) -> Result<(), PageError> {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() != b"same-origin")
    {
        return Err(PageError::CrossSite);
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match (origin.and_then(|o| o.split_once("://")), host) {
        (Some(("http" | "https", authority)), Some(host))
            if authority.eq_ignore_ascii_case(host) =>
        {
            Ok(())
        }
        _ => Err(PageError::CrossSite),
    }
}

/// Feeds the socket until the session ends, the browser leaves or sends something, or the
/// person may no longer watch; says why.
async fn pump(
    state: &AppState,
    token: &TokenDigest,
    mut screen: Screen,
    mut socket: WebSocket,
) -> WatchEnd {
    if let Screen::Terminal(terminal) = &mut screen {
        if let Some((cols, rows)) = terminal.size
            && !send(&mut socket, size(cols, rows)).await
        {
            return WatchEnd::Closed;
        }
        if !terminal.recent.is_empty()
            && !send(
                &mut socket,
                Message::Binary(std::mem::take(&mut terminal.recent)),
            )
            .await
        {
            return WatchEnd::Closed;
        }
    }
    let mut told_incomplete = false;
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    let why = loop {
        tokio::select! {
            next = next_messages(&mut screen, &mut told_incomplete) => {
                let Some(messages) = next else {
                    break WatchEnd::SessionEnded;
                };
                let mut sent = true;
                for message in messages {
                    sent = sent && send(&mut socket, message).await;
                }
                if !sent {
                    break WatchEnd::Closed;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                None | Some(Err(_) | Ok(Message::Close(_))) => break WatchEnd::Closed,
                // A read-only view sends nothing: whatever this is, the watch ends.
                Some(Ok(Message::Text(_) | Message::Binary(_))) => break WatchEnd::BrowserSent,
            },
            _ = recheck.tick() => {
                if !still_allowed(state, token).await {
                    break WatchEnd::SignedOut;
                }
            }
        }
    };
    if why != WatchEnd::Closed {
        let notice = format!("{{\"end\":\"{}\"}}", why.as_str());
        let _ = socket.send(Message::Text(notice.into())).await;
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code: CLOSE_ENDED,
                reason: why.as_str().into(),
            })))
            .await;
    }
    why
}

/// What goes to the browser next (`None`: the session ended). Terminal: output as binary
/// frames of terminal data, sizes and skips as notices. Desktop: each picture as a binary
/// PNG, once a notice when frames were missed. Cancel-safe, as both screens are.
async fn next_messages(screen: &mut Screen, told_incomplete: &mut bool) -> Option<Vec<Message>> {
    match screen {
        Screen::Terminal(terminal) => Some(vec![match terminal.next().await? {
            ScreenEvent::Output(bytes) => Message::Binary(bytes),
            ScreenEvent::Size { cols, rows } => size(cols, rows),
            ScreenEvent::Skipped(n) => Message::Text(format!("{{\"skipped\":{n}}}").into()),
        }]),
        Screen::Desktop(pictures) => {
            let (png, incomplete) = pictures.next().await?;
            let mut messages = vec![Message::Binary(png)];
            if incomplete && !*told_incomplete {
                *told_incomplete = true;
                messages.push(Message::Text("{\"skipped\":1}".into()));
            }
            Some(messages)
        }
    }
}

/// Sends `message`; false when the browser is gone or has not taken it within
/// [`SEND_TIMEOUT`] (a stalled page must not hold the watch, and its records, forever).
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

/// A size notice.
fn size(cols: u16, rows: u16) -> Message {
    Message::Text(format!("{{\"size\":[{cols},{rows}]}}").into())
}

/// Whether the person behind `token` may still watch: the console session live and not
/// idle, the account enabled, hospital-side and allowed. A store failure ends the watch
/// (fail closed).
async fn still_allowed(state: &AppState, token: &TokenDigest) -> bool {
    let Ok(Some(session)) = state.store.console_session(token).await else {
        return false;
    };
    if state.settings.idled_out(session.last_seen_at, state.now()) {
        return false;
    }
    matches!(
        state.store.account(&session.login).await,
        Ok(Some(a)) if a.enabled
            && a.kind == AccountKind::Operator
            && authority::authorize(a.kind, a.role, Action::WatchSession).is_ok()
    )
}

/// Records the watch's end; a failure is logged (the start is on record).
async fn finish(state: &AppState, watching: &Watching, why: WatchEnd) {
    if let Err(error) = session_watch::end(state.store.as_ref(), watching, why, state.now()).await {
        tracing::error!(session_id = %watching.session, %error, "console: could not record the end of a watch");
    }
}
