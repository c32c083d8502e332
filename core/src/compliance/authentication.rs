//! §14: authentication and authorisation — identification, passwords, two factors, lock-out,
//! the ID ledger, the jump-host alternative, APIs (R-14-…).

use super::checks::{check, ev, human};
use super::facts::Facts;
use super::{Check, Status};

/// The checks of R-14-1 to R-14.1.2-API, in the list's order.
pub(super) fn checks(f: &Facts<'_>) -> Vec<Check> {
    let Facts {
        settings: config,
        counts: c,
        tls12,
        ..
    } = *f;
    vec![
        check(
            "R-14-1",
            "全利用者の識別・認証 / identify and authenticate every user",
            Status::Met,
            "保守要員は証明書＋パスワード＋TOTP、運用者の CLI 操作は OS ユーザーで記録 / engineers \
             by certificate, password and TOTP; console commands recorded with the OS user",
            vec![
                ev("保守要員 / engineers", c.engineers),
                ev("運用者 / operators", c.operators),
            ],
            None,
        ),
        check(
            "R-14-2",
            "パスワードは本人のみが知る / passwords known only to the user",
            Status::Met,
            "Argon2id ハッシュのみ保存、ログに出さない / stored as Argon2id hashes only, never \
             logged",
            vec![],
            None,
        ),
        check(
            "R-14-3",
            "セキュリティ機器故障時の代替手段 / a way round a broken security device",
            Status::Manual,
            "計画のない緊急作業は緊急アクセス（R-11-1） / urgent work without a plan: emergency \
             access (R-11-1)",
            vec![ev("緊急アクセスを許可された事業者 / vendors allowed emergencies", c.vendors_allowed_emergency)],
            Some(
                "ゲートウェイ自体が停止した場合の手順は病院側で定めてください / the procedure for \
                 when the gateway itself is down is the hospital's to write"
                    .to_owned(),
            ),
        ),
        check(
            "R-14-4",
            "申請に基づく権限付与と確認 / rights granted on request and confirmed",
            if c.managers == 0 { Status::Partial } else { Status::Met },
            "役割（運用担当・企画管理者・監査）、申請者以外による計画承認 / roles; plans approved \
             by someone other than the requester",
            vec![
                ev("運用者 / operators (all roles)", c.operators),
                ev("企画管理者 / planning managers", c.managers),
            ],
            (c.managers == 0).then(|| {
                "企画管理者がいません（報告書を確認できません） / no planning manager: nobody can \
                 confirm reports"
                    .to_owned()
            }),
        ),
        check(
            "R-14-5",
            "二要素認証 / two-factor authentication",
            Status::Met,
            "ゲートウェイへのログインは二要素。接続先OSへは踏み台経由のみ（R-14.1.1-JUMP） / the \
             gateway login is two-factor; target OS logins only through the jump host",
            f.two_factor(),
            None,
        ),
        check(
            "R-14-6",
            "パスワード規則・ロックアウト / password rules and lock-out",
            Status::Met,
            "8文字以上・推測容易なものを拒否、ハッシュのみ保存、連続失敗でロック、定期変更の強制なし / \
             8+ characters, guessable ones refused, hashes only, lock-out after failures, no \
             forced change",
            vec![
                ev("[auth] lockout_threshold", config.lockout_threshold),
                ev("[auth] lockout_duration", human(config.lockout_duration)),
                ev("最小文字数 / minimum length", policy::password::MIN_LENGTH),
            ],
            Some(
                "パスワード再設定コマンドはまだありません（(4) は該当なし） / there is no password \
                 reset command yet ((4) does not arise)"
                    .to_owned(),
            ),
        ),
        check(
            "R-14-8",
            "ID台帳と定期的な棚卸し / ID ledger and regular inventory",
            if c.review_items > 0 { Status::Partial } else { Status::Met },
            "fumidai review：長期未使用、期限切れ間近の証明書、計画のない事業者、TOTPのない運用者 / \
             fumidai review: dormant engineers, expiring certificates, idle vendors, operators \
             without TOTP",
            vec![ev("棚卸しの指摘 / review items now", c.review_items)],
            (c.review_items > 0).then(|| {
                "棚卸しで対応が必要な項目があります（fumidai review） / the review lists items to act on"
                    .to_owned()
            }),
        ),
        check(
            "R-14.1.1-JUMP",
            "踏み台サーバによる代替（①） / the jump-host alternative to 2FA (option 1)",
            Status::Manual,
            "fumidai が踏み台：ログインは二要素、保守要員にシェルを与えず、接続先のパスワードを共有しない / \
             fumidai is the jump host: two-factor login, no shell for engineers on it, no \
             passwords shared with targets (credentials sealed, injected)",
            {
                let mut e = f.two_factor();
                e.push(ev("[tls] allow_tls12", tls12));
                e
            },
            Some(
                "fumidai 側は適合。OSのセキュリティ更新の適用、接続先が踏み台からのSSH/RDPのみ受け付けること、\
                 踏み台と接続先でパスワードを共有しないことを確認してください / fumidai's part is met; \
                 check by hand: OS security updates applied on this host, targets accept SSH/RDP \
                 from the gateway only, no password shared between the gateway host and targets"
                    .to_owned(),
            ),
        ),
        check(
            "R-14.1.2-API",
            "連携APIの認証・認可・記録 / authenticated, scoped, logged APIs",
            Status::NotMet,
            "管理API（REST）はまだない / no admin (REST) API yet",
            vec![ev("[gateway] ui_listen（/healthz, /metrics）", config.ui_listen.to_string())],
            Some(
                "/healthz と /metrics は認証なし（内部側のみ） / /healthz and /metrics are \
                 unauthenticated, internal side only"
                    .to_owned(),
            ),
        ),
    ]
}
