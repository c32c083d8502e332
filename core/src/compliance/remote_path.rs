//! §10.2 Table 10-1: what a remote-maintenance path must do (R-10.2-…).

use super::checks::{check, ev};
use super::facts::Facts;
use super::{Check, Status};

/// The checks of R-10.2-2FA to R-10.2-REVIEW, in the list's order.
pub(super) fn checks(f: &Facts<'_>) -> Vec<Check> {
    let Facts {
        settings: config,
        counts: c,
        idle,
        max_session,
        clamd,
        ..
    } = *f;
    vec![
        check(
            "R-10.2-2FA",
            "保守経路の二要素認証 / two-factor authentication on the maintenance path",
            Status::Met,
            "パスワード＋TOTP、さらに端末の mTLS クライアント証明書 / password and TOTP at every \
             engineer login, on top of the device's mutual-TLS client certificate",
            f.two_factor(),
            None,
        ),
        check(
            "R-10.2-PRIV",
            "特権IDの厳格な管理、共通アカウントの禁止 / privileged IDs, no shared accounts",
            Status::Met,
            "保守要員ごとのアカウント。接続先の認証情報はゲートウェイが保持・注入し、保守要員には見せない \
             / one account per engineer; target credentials are sealed in the gateway and \
             injected, never shown",
            vec![
                ev("保守要員アカウント / engineer accounts", c.engineers),
                ev("接続先 / targets", c.targets),
                ev("証明書方式の接続先 / targets with per-session certificates", c.targets_cert_auth),
            ],
            None,
        ),
        check(
            "R-10.2-PATH",
            "アクセス経路の制限 / restricted access paths",
            if c.vendors_without_allow_list > 0 { Status::Partial } else { Status::Met },
            "事業者ごとの接続元アドレス制限、保守要員ごとの端末証明書 / per-vendor source \
             allow lists, per-engineer client certificates",
            vec![
                ev("保守事業者 / vendors", c.vendors),
                ev("接続元制限のない事業者 / vendors allowed from any address", c.vendors_without_allow_list),
                ev("有効な端末証明書 / valid client certificates", c.certificates_valid),
            ],
            Some(format!(
                "{}接続先サーバがゲートウェイからのみ到達できることはファイアウォールで確認してください / \
                 check by hand that targets are reachable from the gateway only (firewall)",
                if c.vendors_without_allow_list > 0 {
                    "接続元制限のない事業者があります（vendor add --allow-from） / some vendors have no allow list. "
                } else {
                    ""
                }
            )),
        ),
        check(
            "R-10.2-TIMEOUT",
            "セッションタイムアウト / session time-out",
            if idle.is_zero() || max_session.is_zero() { Status::Partial } else { Status::Met },
            "無操作タイムアウト、承認された時間帯の終了で切断、最大セッション長 / idle time-out, \
             hard stop at the window's end, maximum session length",
            f.timeout_evidence(),
            (idle.is_zero() || max_session.is_zero()).then(|| {
                "無効にされた制限があります（\"0s\"） / a limit is switched off (\"0s\")".to_owned()
            }),
        ),
        check(
            "R-10.2-CRYPTO",
            "経路の暗号化 / encrypted paths",
            f.tls_status(),
            "SSH も RDP も TLS 1.3 の相互認証の中だけを通る（RDP は fumidai connect rdp のトンネル、\
             接続先とは TLS、証明書を固定） / SSH and RDP are carried only inside the TLS 1.3 \
             mutual-TLS front door (RDP through `fumidai connect rdp`'s tunnel; TLS to the target, \
             its certificate pinned)",
            {
                let mut evidence = f.tls_evidence();
                evidence.push(ev("RDP の接続先 / RDP targets", c.targets_rdp));
                evidence
            },
            f.tls_note(),
        ),
        check(
            "R-10.2-GW",
            "リモートアクセスゲートウェイの利用 / a remote-access gateway",
            Status::Met,
            "fumidai がそのゲートウェイ / fumidai is that gateway",
            vec![ev("[gateway] listen", config.listen.to_string())],
            None,
        ),
        check(
            "R-10.2-TERM",
            "保守端末の対策 / hardened maintenance terminal",
            Status::Partial,
            "ファイル転送・ポート転送は作業計画が許可した場合のみ、アップロードは検査。RDP のドライブ\
             リダイレクトは常に遮断、クリップボードはアップロードとダウンロードの両方を許可した計画のみ（ファイルの中身は遮断） / \
             transfers and forwarding only as the plan allows; uploads inspected. RDP drive \
             redirection is always withheld; the clipboard only when the plan allows upload and \
             download (file contents withheld)",
            vec![
                ev("ウイルス検査の設定 / malware scan configured", clamd),
                ev("RDP の接続先 / RDP targets", c.targets_rdp),
            ],
            Some(
                "保守端末自体の対策は契約で確認。RDP でのファイル受け渡しは検査できないため遮断（SFTP を使用） / \
                 the vendor's terminal itself is checked under the contract; files over RDP can't \
                 be inspected yet, so they are withheld (use SFTP)"
                    .to_owned(),
            ),
        ),
        check(
            "R-10.2-REVIEW",
            "ログの定期確認・監視強化 / log review and supervision",
            Status::Partial,
            "セッション一覧と強制切断（session kill）、照合報告書の指摘、事業者・保守要員台帳 / \
             session list and kill, findings in reconciliation reports, vendor and engineer ledger",
            vec![
                ev("接続中のセッション / live sessions", c.sessions_live),
                ev("確認待ちの報告書 / reports awaiting confirmation", c.reports_awaiting),
            ],
            Some(
                "画面のライブ表示とレビュー待ち一覧は未実装 / live view and a review queue are \
                 not implemented yet"
                    .to_owned(),
            ),
        ),
    ]
}
