//! §17: the audit trail — access logs, their protection, the time source, alerts (R-17-…).

use super::checks::{check, ev};
use super::facts::Facts;
use super::{Check, Status};

/// The checks of R-17-1 to R-17.1-ALERT, in the list's order.
pub(super) fn checks(f: &Facts<'_>) -> Vec<Check> {
    let Facts {
        settings: config,
        counts: c,
        audit,
        ..
    } = *f;
    vec![
        check(
            "R-17-1",
            "アクセスログの記録と定期確認 / access logs recorded and reviewed",
            Status::Met,
            "ログイン（成功・失敗）、セッションの開始・終了、転送、操作の記録。照合報告書で確認 / \
             logins, session start and end, transfers and recordings; reviewed through the \
             reconciliation reports",
            vec![
                ev("セッション / sessions", c.sessions),
                ev("確認済み報告書 / reports confirmed", c.reports_confirmed),
            ],
            None,
        ),
        check(
            "R-17-2",
            "ログの改ざん・削除防止 / logs protected from alteration and deletion",
            if audit.intact() { Status::Met } else { Status::NotMet },
            "ハッシュチェーンの追記専用監査証跡、記録は署名付きで封印 / hash-chained append-only \
             audit trail; recordings sealed with a signed digest",
            {
                let mut e = f.chain();
                e.push(ev("封印済みの記録 / sealed recordings", c.sessions_sealed));
                e
            },
            Some(if audit.intact() {
                "先頭ハッシュを控えてください（切り詰めの検出に使います）。記録の封印は fumidai audit \
                 verify で検証 / note the head hash (a later chain without it was truncated); \
                 `fumidai audit verify` also checks recordings' seals"
                    .to_owned()
            } else {
                "監査証跡が破損しています / the audit chain is broken".to_owned()
            }),
        ),
        check(
            "R-17-3",
            "信頼できる時刻源 / a trustworthy, synchronised time source",
            Status::Manual,
            "時刻はホストの時計（UTC で記録、JST で表示） / times come from the host clock (stored \
             in UTC, shown in JST)",
            vec![],
            Some(
                "fumidai は時刻同期の状態をまだ記録しません。NTP 同期を確認してください（timedatectl、\
                 chronyc tracking） / fumidai doesn't record clock sync yet: check NTP by hand"
                    .to_owned(),
            ),
        ),
        {
            let sinks = &config.alert_sinks;
            let configured = !sinks.is_empty();
            check(
                "R-17.1-ALERT",
                "ログの分析と警告 / alerts",
                if configured { Status::Met } else { Status::Partial },
                "緊急アクセス・ロックアウト・ホスト鍵不一致・強制終了・重大な指摘・報告書作成を通知 / \
                 emergency access, lock-outs, host-key mismatches, kills, high-severity findings \
                 and reports raise alerts",
                vec![ev(
                    "[alerts] 送信先 / sinks",
                    if configured { sinks.join(", ") } else { "none".to_owned() },
                )],
                (!configured).then(|| {
                    "通知先が未設定のため、ログの ALERT 行のみ：[alerts] に webhook・syslog・メールを設定してください / \
                     no sink configured, alerts are only logged: set [alerts]"
                        .to_owned()
                }),
            )
        },
    ]
}
