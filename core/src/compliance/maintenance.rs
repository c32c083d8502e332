//! §10 and §10.1: the mandatory items of maintenance — personal data, dedicated accounts,
//! reconciliation, sanitised files, prior approval, no factory IDs (R-10-…, R-10.1-…).

use serde_json::json;

use super::checks::{check, ev};
use super::facts::Facts;
use super::{Check, OVERDUE_DAYS, Status};

/// The checks of R-10-1 to R-10.1-NODEFAULT, in the list's order.
pub(super) fn checks(f: &Facts<'_>) -> Vec<Check> {
    let Facts {
        settings: config,
        counts: c,
        clamd,
        ..
    } = *f;
    vec![
        check(
            "R-10-1",
            "個人情報の作業後削除と報告 / deletion of personal data after the work",
            Status::Met,
            "個人情報を扱う計画には削除手順が必須、保守要員が削除を申告（plan attest） / plans \
             declaring personal data need a deletion step; the engineer attests it",
            vec![
                ev("個人情報を扱う計画 / plans declaring personal data", c.plans_personal_data),
                ev("削除申告済み / deletion attested", c.plans_attested),
            ],
            None,
        ),
        check(
            "R-10-2",
            "理由のない個人情報へのアクセス禁止 / no access to personal data without reason",
            Status::Met,
            "personal-data タグの接続先へのアクセスは計画での申告が必要、未申告は報告書で指摘 / \
             access to targets tagged personal-data must be declared; undeclared access is a \
             finding in the report",
            vec![ev("personal-data タグの接続先 / targets tagged personal-data", c.targets_personal_data)],
            None,
        ),
        check(
            "R-10-3",
            "専用アカウントと作業記録 / dedicated accounts and a record of the work",
            Status::Met,
            "保守要員ごとのアカウント、全セッションを記録し封印（記録できなければ接続拒否） / \
             per-engineer accounts; every session recorded and sealed (refused if it can't be)",
            vec![
                ev("セッション / sessions", c.sessions),
                ev("封印済みの記録 / sealed recordings", c.sessions_sealed),
            ],
            None,
        ),
        check(
            "R-10-4",
            "外部からの保守のリスク低減 / reduce the risk of remote maintenance",
            Status::Met,
            "製品全体（以下の各項目） / the whole product: see each item",
            vec![],
            None,
        ),
        check(
            "R-10-5",
            "アクセスログの収集と作業計画との照合・報告 / reconcile logs with the plan and report",
            if c.reports_overdue > 0 { Status::Partial } else { Status::Met },
            "計画ごとに照合報告書を自動作成、企画管理者が確認 / a reconciliation report per plan, \
             confirmed by the planning manager",
            vec![
                ev("確認待ち / awaiting confirmation", c.reports_awaiting),
                ev("確認期限超過 / overdue", c.reports_overdue),
                ev("確認済み / confirmed", c.reports_confirmed),
            ],
            (c.reports_overdue > 0).then(|| {
                format!(
                    "{OVERDUE_DAYS}日を超えて確認待ちの報告書があります（report overdue） / reports wait \
                     longer than {OVERDUE_DAYS} days for confirmation"
                )
            }),
        ),
        check(
            "R-10-6",
            "送付ファイルの無害化 / sanitised files",
            if clamd { Status::Met } else { Status::Partial },
            "実行形式・マクロ・アーカイブ等は計画の申告がなければ拒否、clamd 設定時はウイルス検査 / \
             executables, scripts, macros and archives refused unless declared; malware scan \
             when clamd is configured",
            vec![
                ev("[transfers] clamd_socket", json!(config.clamd_socket)),
                ev("[transfers] max_scan_size", config.max_scan_size),
            ],
            (!clamd).then(|| {
                "ウイルス検査（ClamAV）が設定されていません / no malware scan: [transfers] \
                 clamd_socket is not set"
                    .to_owned()
            }),
        ),
        check(
            "R-10-7",
            "診療録閲覧の許可 / permission to view medical records",
            Status::Met,
            "作業計画の承認と R-10-2 / plan approval plus R-10-2",
            vec![ev("承認された計画 / plans approved", c.plans_approved)],
            None,
        ),
        check(
            "R-10.1-APPROVE",
            "事前申請・承認（緊急時は事後承認） / prior approval, emergencies approved afterwards",
            if c.emergency_awaiting_approval > 0 { Status::Partial } else { Status::Met },
            "承認済み計画がなければ接続不可、申請者以外が承認。緊急アクセスは警告し事後承認 / no \
             session without an approved plan, approved by someone else; emergency access \
             alerted and approved afterwards",
            vec![
                ev("承認 / approved", c.plans_approved),
                ev("却下 / rejected", c.plans_rejected),
                ev("緊急計画 / emergency plans", c.emergency_plans),
                ev("事後承認待ち / awaiting approval afterwards", c.emergency_awaiting_approval),
            ],
            (c.emergency_awaiting_approval > 0).then(|| {
                "事後承認されていない緊急計画があります（plan approve） / emergency plans await \
                 approval afterwards"
                    .to_owned()
            }),
        ),
        check(
            "R-10.1-NODEFAULT",
            "初期管理者IDを使わず、作業者を識別 / no factory admin IDs, the actor identifiable",
            match (c.targets, c.targets > c.targets_cert_auth, c.targets_factory_login) {
                (0, _, _) => Status::Manual,
                (_, _, 1..) | (_, true, _) => Status::Partial,
                (_, false, 0) => Status::Met,
            },
            "--auth cert の接続先には保守要員とセッションを鍵IDに記した短期SSH証明書でログイン。\
             root・Administrator・admin は理由（--allow-shared-admin）なしには登録できません / \
             --auth cert targets are logged in to with a short-lived SSH certificate whose key \
             ID names the engineer and session; root, Administrator and admin are registered \
             only with a stated reason (--allow-shared-admin)",
            vec![
                ev("接続先 / targets", c.targets),
                ev("証明書方式 / with --auth cert", c.targets_cert_auth),
                ev(
                    "初期管理者IDでログインする接続先 / targets logged in to as a factory account",
                    c.targets_factory_login,
                ),
            ],
            match (c.targets, c.targets > c.targets_cert_auth, c.targets_factory_login) {
                (0, _, _) => Some("接続先が未登録 / no target registered yet".to_owned()),
                (_, _, n @ 1..) => Some(format!(
                    "{n} 件の接続先が初期管理者ID（root・Administrator・admin）でログインします。\
                     理由は target.added の監査記録にあります。専用アカウントへの切替えを検討してください / \
                     {n} target(s) are logged in to as a factory account (root, Administrator, \
                     admin); the reasons are in their target.added audit records: move them to \
                     per-purpose accounts"
                )),
                (_, true, 0) => Some(
                    "鍵・パスワード方式の接続先では共通の接続先アカウントでログインし、作業者は fumidai \
                     の記録でのみ識別されます / key and password targets are logged in to with \
                     one target account: the engineer is identified in fumidai's records only"
                        .to_owned(),
                ),
                _ => None,
            },
        ),
    ]
}
