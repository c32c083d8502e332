//! When a live session must be warned or cut (R-10.2-TIMEOUT, R-12-6): idle time-out, the
//! hard end at the approved window's end, and a maximum session length.
//!
//! [`check`] is asked about one session at a time, with the session's times and the clock;
//! it answers [`Decision::Continue`] (and when to ask again), [`Decision::Warn`] (once,
//! shortly before the hard end) or [`Decision::End`] with the [`EndReason`]. The texts the
//! engineer reads are here too, in Japanese and English, so every rule and its wording sit
//! in one place.
//!
//! A kill by an operator ([`EndReason::Killed`]) is not a time rule: the gateway executes
//! it when it reads the request, and uses this module only for the reason and the text.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};

use crate::jst;

/// The limits in force, from `[limits]` in the configuration. `None` switches a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A session with no engineer input and no target output for this long is cut
    /// (R-12-6: an unattended terminal).
    pub idle_timeout: Option<TimeDelta>,
    /// How long before the hard end (window end or maximum length) the engineer is warned.
    pub window_warning: Option<TimeDelta>,
    /// The longest a session may last, whatever its window says.
    pub max_length: Option<TimeDelta>,
}

/// What [`check`] needs to know about one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The last engineer input or target output (the start, if none yet).
    pub last_activity: DateTime<Utc>,
    /// When its plan's window ends: the session may not outlive it (R-10.2-TIMEOUT).
    pub window_ends_at: DateTime<Utc>,
    /// Whether the engineer has been warned of the hard end already; warned once only.
    pub warned: bool,
}

/// What to do with a live session now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing yet; nothing can change before `next_check_at` unless the session is active
    /// (activity only moves the idle deadline later).
    Continue {
        /// The earliest time at which a check could answer otherwise.
        next_check_at: DateTime<Utc>,
    },
    /// Tell the engineer the session will be cut at `ends_at`, and why; then remember
    /// that they were warned.
    Warn {
        /// When the session will be cut.
        ends_at: DateTime<Utc>,
        /// Why it will be cut then: [`EndReason::WindowEnd`] or [`EndReason::MaxLength`].
        because: EndReason,
    },
    /// Cut the session now, for this reason.
    End(EndReason),
}

/// Why a session ended; every end has one, stored with the session and in `session.ended`
/// (and serialised) by its [`as_str`](EndReason::as_str) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    /// The engineer closed it (or the target did).
    Normal,
    /// No activity for the idle time-out.
    Idle,
    /// The approved window ended.
    WindowEnd,
    /// The maximum session length was reached.
    MaxLength,
    /// An operator killed it.
    Killed,
    /// The connection failed, or fumidai could not continue it (fail closed).
    Error,
    /// The engineer's client certificate was revoked while connected (issue 12).
    Revoked,
    /// The engineer's account (or vendor) was disabled while connected.
    Disabled,
    /// The session's plan was rejected while it ran.
    Rejected,
    /// The session's plan stopped admitting it: withdrawn, the engineer withdrawn from it,
    /// or the target removed.
    Withdrawn,
}

/// A stored end reason that is none of [`EndReason::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown session end reason {0:?}")]
pub struct UnknownEndReason(pub String);

impl EndReason {
    /// Every reason, in the order they are documented.
    pub const ALL: [Self; 10] = [
        Self::Normal,
        Self::Idle,
        Self::WindowEnd,
        Self::MaxLength,
        Self::Killed,
        Self::Error,
        Self::Revoked,
        Self::Disabled,
        Self::Rejected,
        Self::Withdrawn,
    ];

    /// The stored and audited name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Idle => "idle",
            Self::WindowEnd => "window-end",
            Self::MaxLength => "max-length",
            Self::Killed => "killed",
            Self::Error => "error",
            Self::Revoked => "revoked",
            Self::Disabled => "disabled",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// What the engineer reads when fumidai cut the session, in Japanese and English, one
    /// line each (`\r\n`, for a terminal in raw mode). `limits` supplies the durations
    /// named in the text.
    pub fn message(self, limits: &Limits) -> String {
        let ja_en = match self {
            Self::Normal => (
                "セッションを終了しました。".to_owned(),
                "The session has ended.".to_owned(),
            ),
            Self::Idle => {
                let ja = limits.idle_timeout.map(short_ja).unwrap_or_default();
                let en = short_en(limits.idle_timeout);
                (
                    format!("{ja}操作がなかったため、セッションを切断しました。"),
                    format!("The session was idle for {en} and has been cut."),
                )
            }
            Self::WindowEnd => (
                "作業計画の時間帯が終了したため、セッションを切断しました。".to_owned(),
                "The approved work window has ended; the session has been cut.".to_owned(),
            ),
            Self::MaxLength => (
                format!(
                    "最大接続時間 ({}) に達したため、セッションを切断しました。",
                    short_en(limits.max_length)
                ),
                format!(
                    "The session reached its maximum length ({}) and has been cut.",
                    short_en(limits.max_length)
                ),
            ),
            Self::Killed => (
                "運用担当者がセッションを終了しました。".to_owned(),
                "An operator has ended the session.".to_owned(),
            ),
            Self::Error => (
                "fumidai の内部エラーのため、セッションを終了しました。".to_owned(),
                "fumidai ended the session because of an internal error.".to_owned(),
            ),
            Self::Revoked => (
                "クライアント証明書が失効したため、接続を切断しました。".to_owned(),
                "Your client certificate was revoked; the connection has been closed.".to_owned(),
            ),
            Self::Disabled => (
                "アカウントが無効にされたため、接続を切断しました。".to_owned(),
                "Your account was disabled; the connection has been closed.".to_owned(),
            ),
            Self::Rejected => (
                "作業計画が却下されたため、接続を切断しました。".to_owned(),
                "Your work plan was rejected; the connection has been closed.".to_owned(),
            ),
            Self::Withdrawn => (
                "作業計画が取り下げられた（またはこの作業から外された）ため、接続を切断しました。"
                    .to_owned(),
                "Your work plan was withdrawn (or you were withdrawn from it); the connection has been closed."
                    .to_owned(),
            ),
        };
        format!("\r\nfumidai: {}\r\nfumidai: {}\r\n", ja_en.0, ja_en.1)
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EndReason {
    type Err = UnknownEndReason;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownEndReason(s.to_owned()))
    }
}

/// Why an operator kills a session: what the audit trail and the reconciliation report
/// show. Parsed once from the command line: 1 to [`KillReason::MAX_CHARS`] characters, no
/// control characters (they could rewrite a terminal showing the audit trail) and no
/// bidirectional overrides (they could hide text from a reviewer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillReason(String);

/// A kill reason that can't be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadKillReason {
    /// Empty or only blanks.
    #[error("give a reason / 理由を入力してください")]
    Empty,
    /// Longer than [`KillReason::MAX_CHARS`].
    #[error("the reason is longer than {max} characters / 理由は{max}文字以内にしてください")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Holds control or bidirectional-override characters.
    #[error("the reason contains control characters / 理由に制御文字が含まれています")]
    ControlCharacter,
}

impl KillReason {
    /// The longest reason accepted, in characters.
    pub const MAX_CHARS: usize = 500;

    /// The reason's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for KillReason {
    type Err = BadKillReason;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text.is_empty() {
            return Err(BadKillReason::Empty);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(BadKillReason::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        let hostile = |c: char| {
            c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        };
        if text.chars().any(hostile) {
            return Err(BadKillReason::ControlCharacter);
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for KillReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The warning [`Decision::Warn`] asks for, in Japanese and English (`\r\n` line ends).
pub fn warning_message(ends_at: DateTime<Utc>, because: EndReason) -> String {
    let at = jst::format(ends_at);
    let (ja, en) = match because {
        EndReason::MaxLength => (
            format!("最大接続時間に達するため、このセッションは {at} に切断されます。"),
            format!("This session reaches its maximum length and will be cut at {at}."),
        ),
        _ => (
            format!("この作業ウィンドウは {at} に終了します。その時刻にセッションは切断されます。"),
            format!("The work window ends at {at}; the session will be cut then."),
        ),
    };
    format!("\r\nfumidai: {ja}\r\nfumidai: {en}\r\n")
}

/// Decides what to do with a session at `now`.
///
/// When several deadlines have passed (a check came late), the one that passed first is
/// the reason; on a tie the window's end wins over the maximum length, and both over idling,
/// because those are the rules the engineer could not have avoided by typing.
pub fn check(limits: &Limits, times: &SessionTimes, now: DateTime<Utc>) -> Decision {
    let last_activity = times.last_activity.max(times.started_at);
    let idle_at = limits
        .idle_timeout
        .and_then(|d| last_activity.checked_add_signed(d));
    let (hard_end, because) = hard_end(limits, times);

    // Deadlines in tie-break order; the earliest passed one wins.
    let deadlines = [(Some(hard_end), because), (idle_at, EndReason::Idle)];
    let passed = deadlines
        .iter()
        .filter_map(|(at, reason)| at.filter(|at| *at <= now).map(|at| (at, *reason)))
        .min_by_key(|(at, _)| *at);
    if let Some((_, reason)) = passed {
        return Decision::End(reason);
    }

    let warn_at = limits
        .window_warning
        .filter(|_| !times.warned)
        .map(|d| hard_end.checked_sub_signed(d).unwrap_or(hard_end));
    if let Some(warn_at) = warn_at
        && warn_at <= now
    {
        return Decision::Warn {
            ends_at: hard_end,
            because,
        };
    }

    let next_check_at = [Some(hard_end), idle_at, warn_at]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(hard_end);
    Decision::Continue { next_check_at }
}

/// When the session is cut at the latest, and why: the window's end or, when earlier, the
/// maximum length (on a tie, the window).
fn hard_end(limits: &Limits, times: &SessionTimes) -> (DateTime<Utc>, EndReason) {
    let max_end = limits
        .max_length
        .and_then(|d| times.started_at.checked_add_signed(d));
    match max_end {
        Some(max_end) if max_end < times.window_ends_at => (max_end, EndReason::MaxLength),
        _ => (times.window_ends_at, EndReason::WindowEnd),
    }
}

/// A duration as the Japanese text puts it before "操作がなかった": `15分間`, `8時間`,
/// `1時間30分間`.
fn short_ja(d: TimeDelta) -> String {
    let total = d.num_seconds().max(0);
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}時間"));
    }
    if m > 0 {
        out.push_str(&format!("{m}分"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}秒"));
    }
    if !out.ends_with('間') {
        out.push('間');
    }
    out
}

/// A duration in humane units: `15m`, `8h`, `1h30m`, `45s`.
fn short_en(d: Option<TimeDelta>) -> String {
    let Some(d) = d else {
        return String::new();
    };
    let total = d.num_seconds().max(0);
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests;
