//! `GET /sessions/{id}`: one session (R-17-1, R-10-3) — who, where, under which plan,
//! when and how it ended; its recordings with their seal states (verified, not sealed
//! yet, broken with the reason: R-17-2) and a link to play each; the commands each
//! recording shows, at their times; its file transfers (direction, path, size, SHA-256)
//! from the audit trail; and the findings its plan's report raised about it. Reads
//! `ops::session_view::detail`. Everything from the session (commands, paths) goes
//! through `text::visible` and is escaped.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use chrono::{DateTime, Utc};
use fumidai_core::ops::session_view::{self, Findings, SessionDetail, Transfer};
use fumidai_core::ops::{OpError, playback::SealState};
use policy::ids::SessionId;
use policy::reconcile::CommandFact;
use recorder::inventory::Channel;

use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::lang::Lang;
use crate::session::Signed;
use crate::text::{self, visible};

#[derive(Template)]
#[template(path = "session.html")]
struct SessionPage {
    chrome: Chrome,
    sessions_css: &'static str,
    id: String,
    facts: Vec<(&'static str, String)>,
    plan_href: String,
    live: bool,
    recordings: Vec<RecordingRow>,
    commands: Vec<CommandRow>,
    transfers: Vec<TransferRow>,
    findings: FindingsView,
    warnings: Vec<String>,
}

struct RecordingRow {
    name: String,
    kind: String,
    started: String,
    duration: String,
    seal: &'static str,
    seal_class: &'static str,
    seal_reason: String,
    play_href: String,
}

pub(crate) struct CommandRow {
    pub(crate) at: String,
    pub(crate) recording: String,
    pub(crate) text: String,
    pub(crate) uncertain: bool,
    pub(crate) href: String,
}

struct TransferRow {
    at: String,
    direction: String,
    path: String,
    size: String,
    sha256: String,
    outcome: String,
}

enum FindingsView {
    NotReported,
    Broken(String),
    Reported(Vec<FindingRow>),
}

struct FindingRow {
    severity: &'static str,
    class: &'static str,
    at: String,
    subject: String,
    message: String,
    requirement: String,
}

/// `GET /sessions/{id}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let id = parse_id(&id)?;
    let dir = data_dir(&state)?;
    let detail = session_view::detail(state.store.as_ref(), dir, id).await?;
    let lang = signed.lang;
    let html = SessionPage {
        chrome: Chrome::signed(
            &signed,
            Section::Sessions,
            &format!("/sessions/{id}"),
            state.now(),
        ),
        sessions_css: crate::assets::path(crate::assets::Which::SessionsCss),
        id: id.to_string(),
        facts: facts(&detail, lang),
        plan_href: format!("/plans/{}", detail.session.plan),
        live: detail.session.ended_at.is_none(),
        recordings: recordings(&detail, lang),
        commands: commands(&detail, lang),
        transfers: detail.transfers.iter().map(|t| transfer(t, lang)).collect(),
        findings: findings(&detail, lang),
        warnings: detail
            .recordings
            .warnings
            .iter()
            .map(|w| visible(w))
            .collect(),
    };
    render(&html)
}

/// A session's ID from the path; anything else is no page.
pub(crate) fn parse_id(text: &str) -> Result<SessionId, PageError> {
    text.parse().map_err(|_| PageError::NotFound)
}

/// The data directory, which `serve` always gives; without it no recording can be read.
pub(crate) fn data_dir(state: &AppState) -> Result<&fumidai_core::datadir::DataDir, PageError> {
    state.dir.as_ref().ok_or(PageError::Op(OpError::SigningKey(
        "the console was started without its data directory".to_owned(),
    )))
}

fn facts(d: &SessionDetail, lang: Lang) -> Vec<(&'static str, String)> {
    let s = &d.session;
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
    vec![
        (lang.t("作業者", "Engineer"), s.engineer.to_string()),
        (
            lang.t("事業者", "Vendor"),
            d.plan
                .as_ref()
                .map(|p| p.vendor.to_string())
                .unwrap_or_default(),
        ),
        (lang.t("接続先", "Target"), s.target.to_string()),
        (lang.t("接続元", "From"), s.client_addr.to_string()),
        (lang.t("開始", "Started"), text::jst_seconds(&s.started_at)),
        (lang.t("終了", "Ended"), ended),
    ]
}

fn recordings(d: &SessionDetail, lang: Lang) -> Vec<RecordingRow> {
    let id = d.session.id;
    let mut rows: Vec<RecordingRow> = d
        .recordings
        .channels
        .iter()
        .map(|c| channel_row(id, c, lang))
        .collect();
    if let Some(rdp) = &d.recordings.rdp {
        let (seal, seal_class) = text::seal(&rdp.seal, lang);
        rows.push(RecordingRow {
            name: "RDP".to_owned(),
            kind: lang.t("リモートデスクトップ", "remote desktop").to_owned(),
            started: rdp
                .header
                .as_ref()
                .map(|h| text::jst_seconds(&h.started_at))
                .unwrap_or_default(),
            duration: text::length(rdp.duration),
            seal,
            seal_class,
            seal_reason: seal_reason(&rdp.seal),
            play_href: format!("/sessions/{id}/play/rdp"),
        });
    }
    rows
}

fn channel_row(id: SessionId, c: &Channel, lang: Lang) -> RecordingRow {
    let (seal, seal_class) = text::seal(&c.seal, lang);
    let n = c.id.channel.unwrap_or_default();
    let kind = match c.kind() {
        Some(recorder::inventory::ChannelKind::Shell) => lang.t("対話シェル", "shell").to_owned(),
        Some(recorder::inventory::ChannelKind::Exec) => format!(
            "{}: {}",
            lang.t("コマンド実行", "exec"),
            visible(
                c.header
                    .as_ref()
                    .ok()
                    .and_then(|h| h.command.as_deref())
                    .unwrap_or_default()
            )
        ),
        Some(recorder::inventory::ChannelKind::Subsystem) => lang
            .t("ファイル転送（SFTP）", "file transfer (SFTP)")
            .to_owned(),
        None => lang.t("読み取れません", "unreadable").to_owned(),
    };
    RecordingRow {
        name: format!("{} {n}", lang.t("チャネル", "channel")),
        kind,
        started: c
            .started()
            .map(|t| text::jst_seconds(&t))
            .unwrap_or_default(),
        duration: text::length(c.duration),
        seal,
        seal_class,
        seal_reason: seal_reason(&c.seal),
        play_href: format!("/sessions/{id}/play/{n}"),
    }
}

/// What a broken seal names (file and problem), as text.
pub(crate) fn seal_reason(seal: &SealState) -> String {
    match seal {
        SealState::Broken { file, problem } => visible(&format!("{file}: {problem}")),
        _ => String::new(),
    }
}

fn commands(d: &SessionDetail, lang: Lang) -> Vec<CommandRow> {
    let id = d.session.id;
    let mut rows = Vec::new();
    for (channel, found) in d.recordings.channels.iter().zip(&d.channel_commands) {
        let Some(started) = channel.started() else {
            continue;
        };
        let n = channel.id.channel.unwrap_or_default();
        for c in &found.commands {
            rows.push(command_row(
                c,
                started,
                format!("{} {n}", lang.t("チャネル", "channel")),
                format!("/sessions/{id}/play/{n}?t={:.3}", seconds(c)),
            ));
        }
    }
    for c in &d.rdp_commands {
        rows.push(command_row(
            c,
            d.session.started_at,
            "RDP".to_owned(),
            format!("/sessions/{id}/play/rdp?t={:.3}", seconds(c)),
        ));
    }
    rows
}

fn seconds(c: &CommandFact) -> f64 {
    c.offset.as_seconds_f64()
}

pub(crate) fn command_row(
    c: &CommandFact,
    started: DateTime<Utc>,
    recording: String,
    href: String,
) -> CommandRow {
    CommandRow {
        at: text::jst_seconds(&(started + c.offset)),
        recording,
        text: visible(&c.text),
        uncertain: c.uncertain,
        href,
    }
}

fn transfer(t: &Transfer, lang: Lang) -> TransferRow {
    let direction = match (t.direction.as_deref(), t.op.as_deref()) {
        (Some("upload"), _) => lang.t("アップロード", "upload").to_owned(),
        (Some("download"), _) => lang.t("ダウンロード", "download").to_owned(),
        (_, Some(op)) => visible(op),
        (other, None) => visible(other.unwrap_or("?")),
    };
    let outcome = match (t.outcome.as_str(), lang) {
        ("completed", Lang::Ja) => "完了".to_owned(),
        ("aborted", Lang::Ja) => "中断".to_owned(),
        ("refused", Lang::Ja) => "拒否".to_owned(),
        (other, _) => visible(other),
    };
    let outcome = match &t.reason {
        Some(reason) => format!("{outcome}（{}）", visible(reason)),
        None => outcome,
    };
    TransferRow {
        at: text::jst_seconds(&t.at),
        direction,
        path: visible(&t.path),
        size: t.size.map(|n| n.to_string()).unwrap_or_default(),
        sha256: t.sha256.as_deref().map(visible).unwrap_or_default(),
        outcome,
    }
}

fn findings(d: &SessionDetail, lang: Lang) -> FindingsView {
    match &d.findings {
        Findings::NotReported => FindingsView::NotReported,
        Findings::ReportBroken(problem) => FindingsView::Broken(visible(problem)),
        Findings::Reported(list) => FindingsView::Reported(
            list.iter()
                .map(|f| {
                    let (severity, class) = text::severity(&f.severity, lang);
                    FindingRow {
                        severity,
                        class,
                        at: f
                            .offset
                            .and_then(|o| chrono::TimeDelta::try_milliseconds((o * 1000.0) as i64))
                            .map(|o| text::jst_seconds(&(d.session.started_at + o)))
                            .unwrap_or_default(),
                        subject: visible(&f.subject),
                        message: visible(match lang {
                            Lang::Ja => &f.message_ja,
                            Lang::En => &f.message_en,
                        }),
                        requirement: visible(&f.requirement),
                    }
                })
                .collect(),
        ),
    }
}
