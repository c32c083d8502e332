//! Showing values in a page: untrusted text made visible, times in JST, closed sets in the
//! reader's language.
//!
//! Templates escape HTML by default (askama), so `<script>` in a plan's purpose is shown
//! as text. What escaping leaves alone are control characters: an ESC starting an OSC or
//! a bracketed-paste sequence, a bidi override that reorders what an approver reads. Text
//! that came from outside (plan text, names typed by a vendor, audit details) goes through
//! [`visible`] first, which replaces each such character with a visible stand-in.

use chrono::{DateTime, Utc};
use policy::limits::EndReason;
use policy::plan::{PlanKind, PlanStatus};

use crate::lang::Lang;

/// `text` with every control character (C0 but newline and tab, DEL, C1) shown as a
/// visible symbol (U+2400's control pictures, or `<U+XXXX>`), and every bidi control as
/// `<U+XXXX>`, so nothing in it can steer a terminal or reorder the line it is read in.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\u{0}'..='\u{1f}' => {
                // U+2400 + the code: ␛ for ESC, ␇ for BEL.
                out.push(char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}'));
            }
            '\u{7f}' => out.push('\u{2421}'),
            '\u{80}'..='\u{9f}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' => {
                out.push_str(&format!("<U+{:04X}>", u32::from(c)));
            }
            _ => out.push(c),
        }
    }
    out
}

/// A bilingual message as the ops and `policy` word them (`English / 日本語`), split into
/// the page's language first and the other second. A message without the separator is
/// shown whole.
pub fn bilingual(message: &str, lang: Lang) -> (String, String) {
    match message.split_once(" / ") {
        Some((en, ja)) => match lang {
            Lang::Ja => (visible(ja), visible(en)),
            Lang::En => (visible(en), visible(ja)),
        },
        None => (visible(message), String::new()),
    }
}

/// A time as the hospital reads it: `2026-11-26 18:00 JST`, always with the date.
pub fn jst(at: &DateTime<Utc>) -> String {
    policy::jst::format(*at)
}

/// The first instant of a JST calendar day (`2026-11-26` → 2026-11-25T15:00:00Z), for
/// filters typed as dates.
pub fn jst_day_start(day: chrono::NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    // JST is UTC+9 all year (no daylight saving time).
    DateTime::<Utc>::from_naive_utc_and_offset(midnight, Utc) - chrono::Duration::hours(9)
}

/// A time to the second, in JST.
pub fn jst_seconds(at: &DateTime<Utc>) -> String {
    policy::jst::format_seconds(*at)
}

/// A window in JST.
pub fn window(start: &DateTime<Utc>, end: &DateTime<Utc>) -> String {
    policy::jst::format_window(*start, *end)
}

/// A plan's state in the guideline's words.
pub fn status(status: PlanStatus, lang: Lang) -> &'static str {
    match lang {
        Lang::En => status.as_str(),
        Lang::Ja => match status {
            PlanStatus::Submitted => "申請中",
            PlanStatus::Approved => "承認済み",
            PlanStatus::Rejected => "却下",
            PlanStatus::Active => "作業中",
            PlanStatus::Closed => "作業終了（報告待ち）",
            PlanStatus::Reported => "報告済み（確認待ち）",
            PlanStatus::Confirmed => "確認済み",
            PlanStatus::Withdrawn => "取下げ",
        },
    }
}

/// A plan's kind.
pub fn kind(kind: PlanKind, lang: Lang) -> &'static str {
    match (lang, kind) {
        (Lang::En, PlanKind::Planned) => "planned",
        (Lang::En, PlanKind::Emergency) => "emergency (approved afterwards)",
        (Lang::Ja, PlanKind::Planned) => "事前承認",
        (Lang::Ja, PlanKind::Emergency) => "緊急（事後承認）",
    }
}

/// Why a session ended.
pub fn end_reason(reason: EndReason, lang: Lang) -> &'static str {
    match lang {
        Lang::En => reason.as_str(),
        Lang::Ja => match reason {
            EndReason::Normal => "正常終了",
            EndReason::Idle => "無操作による切断",
            EndReason::WindowEnd => "作業時間帯の終了",
            EndReason::MaxLength => "最長時間の超過",
            EndReason::Killed => "運用担当者による強制終了",
            EndReason::Error => "エラー",
            EndReason::Revoked => "証明書の失効",
            EndReason::Disabled => "アカウント等の無効化",
            EndReason::Rejected => "計画の却下",
            EndReason::Withdrawn => "計画の取下げ",
        },
    }
}

/// A length of time as the Live page shows idle time: `1時間02分05秒` / `1 h 02 min 05 s`,
/// minutes and seconds under an hour.
pub fn duration(d: chrono::Duration, lang: Lang) -> String {
    let secs = d.num_seconds().max(0);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (lang, h) {
        (Lang::Ja, 0) => format!("{m}分{s:02}秒"),
        (Lang::Ja, _) => format!("{h}時間{m:02}分{s:02}秒"),
        (Lang::En, 0) => format!("{m} min {s:02} s"),
        (Lang::En, _) => format!("{h} h {m:02} min {s:02} s"),
    }
}

/// The role of a hospital-side account.
pub fn role(role: Option<policy::ids::OperatorRole>, lang: Lang) -> &'static str {
    use policy::ids::OperatorRole;
    match (role, lang) {
        (Some(OperatorRole::Operator), Lang::Ja) => "システム運用担当者",
        (Some(OperatorRole::Manager), Lang::Ja) => "企画管理者",
        (Some(OperatorRole::Auditor), Lang::Ja) => "監査担当",
        (None, Lang::Ja) => "役割なし",
        (Some(OperatorRole::Operator), Lang::En) => "operator",
        (Some(OperatorRole::Manager), Lang::En) => "planning manager",
        (Some(OperatorRole::Auditor), Lang::En) => "auditor",
        (None, Lang::En) => "no role",
    }
}

/// A recording against its seal (R-17-2): the words and the badge's colour.
pub fn seal(
    state: &fumidai_core::ops::playback::SealState,
    lang: Lang,
) -> (&'static str, &'static str) {
    use fumidai_core::ops::playback::SealState;
    match state {
        SealState::Intact => (lang.t("封印を検証済み", "seal verified"), "ok"),
        SealState::Unsealed => (
            lang.t("未封印（改ざんを検出できません）", "not sealed yet"),
            "warn",
        ),
        SealState::Broken { .. } => (
            lang.t("封印と不一致（改ざんの可能性）", "seal broken"),
            "bad",
        ),
    }
}

/// A session's protocol.
pub fn protocol(protocol: policy::target::TargetProtocol) -> &'static str {
    match protocol {
        policy::target::TargetProtocol::Ssh => "SSH",
        policy::target::TargetProtocol::Rdp => "RDP",
    }
}

/// A session's findings in its plan's report.
pub fn findings(count: Option<u32>, lang: Lang) -> String {
    match (count, lang) {
        (None, _) => lang.t("報告書未作成", "not reported").to_owned(),
        (Some(0), _) => lang.t("なし", "none").to_owned(),
        (Some(n), Lang::Ja) => format!("{n}件"),
        (Some(n), Lang::En) => format!("{n}"),
    }
}

/// A finding's severity.
pub fn severity(severity: &str, lang: Lang) -> (&'static str, &'static str) {
    let class = match severity {
        "high" | "critical" => "bad",
        "medium" => "warn",
        _ => "",
    };
    let word = match (severity, lang) {
        ("critical", Lang::Ja) => "重大",
        ("high", Lang::Ja) => "高",
        ("medium", Lang::Ja) => "中",
        ("low", Lang::Ja) => "低",
        ("info", Lang::Ja) => "情報",
        ("critical", Lang::En) => "critical",
        ("high", Lang::En) => "high",
        ("medium", Lang::En) => "medium",
        ("low", Lang::En) => "low",
        ("info", Lang::En) => "info",
        _ => "?",
    };
    (word, class)
}

/// A span of recorded time: `42.0 s`, `12:03`, `1:02:03`.
pub fn length(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        format!("{:.1} s", d.as_secs_f64())
    } else if secs < 3600 {
        format!("{}:{:02}", secs / 60, secs % 60)
    } else {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_become_visible() {
        let table = [
            ("plain 日本語", "plain 日本語"),
            ("a\nb\tc", "a\nb\tc"),
            ("\u{1b}]0;owned\u{7}", "␛]0;owned␇"),
            ("\u{1b}[200~rm -rf /\u{1b}[201~", "␛[200~rm -rf /␛[201~"),
            ("\u{9b}31m", "<U+009B>31m"),
            ("abc\u{202e}txt.exe", "abc<U+202E>txt.exe"),
            ("del\u{7f}", "del␡"),
            ("\r\0", "␍␀"),
        ];
        for (input, shown) in table {
            assert_eq!(visible(input), shown, "{input:?}");
        }
    }

    #[test]
    fn bilingual_messages_put_the_page_language_first() {
        let m = "the submitter may not decide their own plan / 提出者本人は承認できません";
        assert_eq!(
            bilingual(m, Lang::Ja),
            (
                "提出者本人は承認できません".to_owned(),
                "the submitter may not decide their own plan".to_owned()
            )
        );
        assert_eq!(
            bilingual(m, Lang::En).0,
            "the submitter may not decide their own plan"
        );
        assert_eq!(
            bilingual("plain", Lang::Ja),
            ("plain".to_owned(), String::new())
        );
    }

    #[test]
    fn jst_days_start_at_15_utc_the_day_before() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(jst_day_start(day).to_rfc3339(), "2026-11-25T15:00:00+00:00");
        assert_eq!(jst(&jst_day_start(day)), "2026-11-26 00:00 JST");
    }

    #[test]
    fn durations_read_in_both_languages() {
        let d = chrono::Duration::seconds(3725);
        assert_eq!(duration(d, Lang::Ja), "1時間02分05秒");
        assert_eq!(duration(d, Lang::En), "1 h 02 min 05 s");
        assert_eq!(duration(chrono::Duration::seconds(65), Lang::Ja), "1分05秒");
        assert_eq!(
            duration(chrono::Duration::seconds(-3), Lang::En),
            "0 min 00 s"
        );
    }

    #[test]
    fn closed_sets_read_in_japanese() {
        for reason in EndReason::ALL {
            assert!(!end_reason(reason, Lang::Ja).is_ascii());
        }
        assert_eq!(status(PlanStatus::Submitted, Lang::Ja), "申請中");
        assert_eq!(status(PlanStatus::Submitted, Lang::En), "submitted");
    }
}
