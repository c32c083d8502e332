//! The report's closed-set values in the reader's language: a planning manager reads the
//! Japanese report printed on A4, so a status, a severity or an end reason reads in the
//! guideline's Japanese there, not as the stored English name (issue 13).

use policy::limits::EndReason;
use policy::plan::{Allowances, PlanKind, PlanStatus};

use super::render::Lang;

/// A plan's state.
pub(super) fn status(status: PlanStatus, lang: Lang) -> &'static str {
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
pub(super) fn kind(kind: PlanKind, lang: Lang) -> &'static str {
    match (lang, kind) {
        (Lang::En, kind) => kind.as_str(),
        (Lang::Ja, PlanKind::Planned) => "事前承認",
        (Lang::Ja, PlanKind::Emergency) => "緊急（事後承認）",
    }
}

/// What a plan allows.
pub(super) fn allowances(allow: &Allowances, lang: Lang) -> String {
    let described = allow.describe();
    match lang {
        Lang::En => described,
        Lang::Ja if described == "none" => "なし".to_owned(),
        Lang::Ja => described
            .split(", ")
            .map(|word| match word {
                "upload" => "アップロード",
                "download" => "ダウンロード",
                "forward" => "ポート転送",
                other => other,
            })
            .collect::<Vec<_>>()
            .join("、"),
    }
}

/// A finding's severity, as stored (`info` … `critical`).
pub(super) fn severity(severity: &str, lang: Lang) -> &str {
    match (lang, severity) {
        (Lang::Ja, "info") => "情報",
        (Lang::Ja, "low") => "低",
        (Lang::Ja, "medium") => "中",
        (Lang::Ja, "high") => "高",
        (Lang::Ja, "critical") => "重大",
        (_, other) => other,
    }
}

/// Why a session ended, as stored; unknown names as they are.
pub(super) fn end_reason(reason: &str, lang: Lang) -> &str {
    let Ok(known) = reason.parse::<EndReason>() else {
        return reason;
    };
    match lang {
        Lang::En => known.as_str(),
        Lang::Ja => match known {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_closed_value_reads_in_japanese() {
        for reason in EndReason::ALL {
            let ja = end_reason(reason.as_str(), Lang::Ja);
            assert!(!ja.is_ascii(), "{reason:?} → {ja}");
            assert_eq!(end_reason(reason.as_str(), Lang::En), reason.as_str());
        }
        for sev in ["info", "low", "medium", "high", "critical"] {
            assert!(!severity(sev, Lang::Ja).is_ascii(), "{sev}");
        }
        assert_eq!(allowances(&Allowances::default(), Lang::Ja), "なし");
        assert_eq!(kind(PlanKind::Planned, Lang::Ja), "事前承認");
        assert_eq!(
            status(PlanStatus::Reported, Lang::Ja),
            "報告済み（確認待ち）"
        );
    }
}
