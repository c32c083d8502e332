//! The table: one assessment per requirement ID, in the requirements list's order
//! (`policy::requirement::ALL`; a test keeps the two in step).

use serde_json::{Value, json};

use super::{AuditHead, Check, Counts, Evidence, OVERDUE_DAYS, Status};
use crate::config::Config;

/// Assesses every requirement of the list for this installation.
pub fn assess(config: &Config, c: &Counts, audit: &AuditHead) -> Vec<Check> {
    let tls12 = config.tls.allow_tls12;
    let idle = config.limits.idle_timeout;
    let max_session = config.limits.max_session;
    let ui_loopback = config.gateway.ui_listen.ip().is_loopback();
    let clamd = config.transfers.clamd_socket.is_some();

    let tls_evidence = || {
        vec![
            ev("[tls] allow_tls12", tls12),
            ev(
                "[gateway] listen（mTLS 入口 / front door）",
                config.gateway.listen.to_string(),
            ),
            ev(
                "有効な端末証明書 / valid client certificates",
                c.certificates_valid,
            ),
            ev(
                "失効済み証明書 / revoked certificates",
                c.certificates_revoked,
            ),
        ]
    };
    let tls_status = if tls12 { Status::Partial } else { Status::Met };
    let tls_note = tls12.then(|| {
        "TLS 1.2 が許可されています（R-13-6 はやむを得ない場合のみ） / TLS 1.2 is allowed \
         ([tls] allow_tls12 = true); R-13-6 allows it only where unavoidable"
            .to_owned()
    });
    let two_factor = || {
        vec![
            ev("保守要員アカウント / engineer accounts", c.engineers),
            ev("TOTP のないアカウント / accounts without TOTP", 0),
        ]
    };
    let timeout_evidence = || {
        vec![
            ev("[limits] idle_timeout", human(idle)),
            ev("[limits] max_session", human(max_session)),
            ev(
                "[limits] window_warning",
                human(config.limits.window_warning),
            ),
        ]
    };
    let idle_status = if idle.is_zero() {
        Status::NotMet
    } else {
        Status::Met
    };
    let idle_note = idle.is_zero().then(|| {
        "無操作タイムアウトが無効です / the idle time-out is switched off (idle_timeout = \"0s\")"
            .to_owned()
    });
    let backup = "fumidai にバックアップ機能はまだありません。データディレクトリとデータベースの\
                  世代バックアップ（ネットワークから書き込めないものを含む）と復元手順を確認してください / \
                  fumidai has no backup command yet: check generational backups of the data \
                  directory and database (some not writable from the network) and the restore \
                  procedure";
    let chain = match &audit.verification {
        store::AuditVerification::Intact { records, head } => vec![
            ev("監査証跡の検証 / audit chain verified now", "intact"),
            ev("記録数 / records", *records),
            ev("先頭 / head seq", json!(audit.head_seq)),
            ev("先頭ハッシュ / head hash", head.clone()),
        ],
        store::AuditVerification::Broken { seq, problem } => vec![
            ev("監査証跡の検証 / audit chain verified now", "BROKEN"),
            ev("最初の破損 / first broken record", *seq),
            ev("問題 / problem", format!("{problem:?}")),
        ],
    };

    vec![
        check(
            "R-10.2-2FA",
            "保守経路の二要素認証 / two-factor authentication on the maintenance path",
            Status::Met,
            "パスワード＋TOTP、さらに端末の mTLS クライアント証明書 / password and TOTP at every \
             engineer login, on top of the device's mutual-TLS client certificate",
            two_factor(),
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
            timeout_evidence(),
            (idle.is_zero() || max_session.is_zero()).then(|| {
                "無効にされた制限があります（\"0s\"） / a limit is switched off (\"0s\")".to_owned()
            }),
        ),
        check(
            "R-10.2-CRYPTO",
            "経路の暗号化 / encrypted paths",
            tls_status,
            "SSH は TLS 1.3 の相互認証の中だけを通る。RDP は提供していない / SSH is carried only \
             inside the TLS 1.3 mutual-TLS front door; RDP is not offered",
            tls_evidence(),
            tls_note.clone(),
        ),
        check(
            "R-10.2-GW",
            "リモートアクセスゲートウェイの利用 / a remote-access gateway",
            Status::Met,
            "fumidai がそのゲートウェイ / fumidai is that gateway",
            vec![ev("[gateway] listen", config.gateway.listen.to_string())],
            None,
        ),
        check(
            "R-10.2-TERM",
            "保守端末の対策 / hardened maintenance terminal",
            Status::Partial,
            "ファイル転送・ポート転送は作業計画が許可した場合のみ、アップロードは検査 / transfers \
             and forwarding only as the plan allows; uploads inspected",
            vec![ev("ウイルス検査の設定 / malware scan configured", clamd)],
            Some(
                "RDP（ドライブ・クリップボード等のリダイレクト制御）は未実装。保守端末自体の対策は契約で確認 / \
                 RDP (and blocking its drive/clipboard redirection) is not implemented yet; the \
                 vendor's terminal itself is checked under the contract"
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
                ev("[transfers] clamd_socket", json!(config.transfers.clamd_socket.as_ref().map(ToString::to_string))),
                ev("[transfers] max_scan_size", config.transfers.max_scan_size),
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
            match (c.targets, c.targets > c.targets_cert_auth) {
                (0, _) => Status::Manual,
                (_, false) => Status::Met,
                (_, true) => Status::Partial,
            },
            "--auth cert の接続先には保守要員とセッションを鍵IDに記した短期SSH証明書でログイン / \
             --auth cert targets are logged in to with a short-lived SSH certificate whose key \
             ID names the engineer and session",
            vec![
                ev("接続先 / targets", c.targets),
                ev("証明書方式 / with --auth cert", c.targets_cert_auth),
            ],
            match (c.targets, c.targets > c.targets_cert_auth) {
                (0, _) => Some("接続先が未登録 / no target registered yet".to_owned()),
                (_, true) => Some(
                    "鍵・パスワード方式の接続先では共通の接続先アカウントでログインし、作業者は fumidai \
                     の記録でのみ識別されます / key and password targets are logged in to with \
                     one target account: the engineer is identified in fumidai's records only"
                        .to_owned(),
                ),
                _ => None,
            },
        ),
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
            two_factor(),
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
                ev("[auth] lockout_threshold", config.auth.lockout_threshold),
                ev("[auth] lockout_duration", human(config.auth.lockout_duration)),
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
                let mut e = two_factor();
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
            vec![ev("[gateway] ui_listen（/healthz, /metrics）", config.gateway.ui_listen.to_string())],
            Some(
                "/healthz と /metrics は認証なし（内部側のみ） / /healthz and /metrics are \
                 unauthenticated, internal side only"
                    .to_owned(),
            ),
        ),
        check(
            "R-13-6",
            "TLS 1.3 とクライアント証明書認証 / TLS 1.3 and client-certificate authentication",
            tls_status,
            "TLS 1.3 のみ（allow_tls12 時は ECDHE+AEAD の 1.2 も）、クライアント証明書必須 / TLS \
             1.3 only (1.2 with ECDHE and AEAD suites only with allow_tls12), client \
             certificates required",
            tls_evidence(),
            tls_note,
        ),
        check(
            "R-13-5",
            "管理画面を外部から到達不可に / management interfaces not reachable from outside",
            if ui_loopback { Status::Met } else { Status::Manual },
            "内部側（ui_listen）と保守事業者側（mTLS 入口のみ）を分離 / internal side apart from \
             the vendor side, which exposes only the mTLS port",
            vec![
                ev("[gateway] ui_listen", config.gateway.ui_listen.to_string()),
                ev("[gateway] listen", config.gateway.listen.to_string()),
            ],
            (!ui_loopback).then(|| {
                "ui_listen がループバック以外：保守事業者側から到達できないことを確認してください / \
                 ui_listen is not loopback: check it can't be reached from the vendor side"
                    .to_owned()
            }),
        ),
        check(
            "R-13-9/10",
            "改ざん防止・中間者攻撃対策 / no tampering, no man in the middle",
            Status::Met,
            "自前CAを両側で固定した TLS 1.3、接続先のホスト鍵を固定 / TLS 1.3 with fumidai's CA \
             pinned on both sides; target host keys pinned",
            vec![
                ev("ホスト鍵を固定した接続先 / targets with a pinned host key", c.targets),
                ev("[tls] allow_tls12", tls12),
            ],
            None,
        ),
        check(
            "R-13-12",
            "通信相手の相互認証 / mutual authentication",
            Status::Met,
            "相互TLS（サーバ証明書とクライアント証明書）、接続先ホスト鍵の照合 / mutual TLS; target \
             host keys checked",
            vec![ev("有効な端末証明書 / valid client certificates", c.certificates_valid)],
            None,
        ),
        check(
            "R-13-7",
            "回り込みの防止 / no cross-over into other sessions",
            Status::Met,
            "セッションは保守要員ごとに分離、ポート転送は計画が許可した接続先自身のみ / sessions are \
             per engineer; forwarding only to the target itself, when the plan allows",
            vec![],
            None,
        ),
        check(
            "R-13-4",
            "CRYPTREC 推奨暗号 / CRYPTREC-recommended algorithms",
            Status::Partial,
            "SSH は AES-GCM のみ（CRYPTREC 電子政府推奨）、TLS 1.3 は AES-GCM と ChaCha20-Poly1305 / \
             SSH offers AES-GCM only (on the CRYPTREC list); TLS 1.3 AES-GCM and \
             ChaCha20-Poly1305",
            vec![ev("[tls] allow_tls12", tls12)],
            Some(
                "TLS の暗号プロファイルの選択は未実装（ChaCha20-Poly1305 は CRYPTREC リスト外） / no \
                 selectable TLS crypto profile yet; ChaCha20-Poly1305 is not on the CRYPTREC list"
                    .to_owned(),
            ),
        ),
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
                let mut e = chain;
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
            let a = &config.alerts;
            let sinks: Vec<&str> = [
                (a.webhook_url.is_some(), "webhook"),
                (a.syslog.is_some(), "syslog"),
                (a.smtp_host.is_some(), "e-mail"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
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
        check(
            "R-11-1",
            "非常時用の利用者アカウント・機能 / emergency accounts and functions",
            Status::Met,
            "緊急アクセスは事業者ごとに許可、警告・記録され、時間で失効し事後承認 / emergency \
             access per vendor, alerted, recorded, time-limited, approved afterwards",
            vec![
                ev("緊急アクセスを許可された事業者 / vendors allowed emergencies", c.vendors_allowed_emergency),
                ev("[limits] emergency_max", human(config.limits.emergency_max)),
                ev("緊急計画 / emergency plans", c.emergency_plans),
            ],
            None,
        ),
        check(
            "R-11-2",
            "性能管理・死活監視 / performance and liveness monitoring",
            Status::Partial,
            "内部側の /healthz と /metrics / /healthz and /metrics on the internal side",
            vec![ev("[gateway] ui_listen", config.gateway.ui_listen.to_string())],
            Some(
                "接続先ごとの到達性監視は未実装 / reachability of each target is not monitored yet"
                    .to_owned(),
            ),
        ),
        check(
            "R-12-6",
            "無人の端末の利用防止 / no use of an unattended terminal",
            idle_status,
            "無操作タイムアウト / idle time-out",
            timeout_evidence(),
            idle_note.clone(),
        ),
        check(
            "R-12.3.2",
            "無人の端末の利用防止 / no use of an unattended terminal",
            idle_status,
            "無操作タイムアウト / idle time-out",
            timeout_evidence(),
            idle_note,
        ),
        check(
            "R-18",
            "バックアップ / backups",
            Status::Manual,
            "状態はデータディレクトリとデータベースにある / the state is in the data directory \
             and the database",
            vec![ev("[database] url", redact(&config.database.url))],
            Some(backup.to_owned()),
        ),
        check(
            "R-12.2",
            "バックアップと復元手順 / backups and the restore procedure",
            Status::Manual,
            "状態はデータディレクトリとデータベースにある / the state is in the data directory \
             and the database",
            vec![ev("[database] url", redact(&config.database.url))],
            Some(backup.to_owned()),
        ),
        check(
            "R-8.2-SBOM",
            "SBOM / software bill of materials",
            Status::NotMet,
            "依存関係は Cargo.lock に固定 / dependencies pinned in Cargo.lock",
            vec![],
            Some(
                "fumidai 自身の SBOM はまだ同梱していません / fumidai does not ship an SBOM of \
                 itself yet"
                    .to_owned(),
            ),
        ),
        check(
            "R-7-12",
            "必要時のみのリモートログイン / remote login only when needed",
            Status::Met,
            "承認済み計画の時間帯・保守要員・接続先に一致しなければ接続不可 / no session unless an \
             approved plan covers the engineer, the target and now",
            vec![
                ev("承認された計画 / plans approved", c.plans_approved),
                ev("セッション / sessions", c.sessions),
            ],
            None,
        ),
    ]
}

fn check(
    id: &'static str,
    title: &'static str,
    status: Status,
    how: &'static str,
    evidence: Vec<Evidence>,
    note: Option<String>,
) -> Check {
    Check {
        id,
        title,
        status,
        how,
        evidence,
        note,
    }
}

fn ev(label: &'static str, value: impl Into<Value>) -> Evidence {
    Evidence {
        label,
        value: value.into(),
    }
}

fn human(d: std::time::Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// A database URL without its password (`postgres://user:secret@host` → `user:***@host`).
pub(super) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = url.get(scheme + 3..at).unwrap_or_default();
            match userinfo.split_once(':') {
                Some((user, _)) => format!(
                    "{}{user}:***{}",
                    url.get(..scheme + 3).unwrap_or_default(),
                    url.get(at..).unwrap_or_default()
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
