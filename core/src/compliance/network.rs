//! §13: the network — TLS 1.3 and client certificates, the management side, tampering and
//! man in the middle, mutual authentication, cross-over, CRYPTREC (R-13-…).

use super::checks::{check, ev};
use super::facts::Facts;
use super::{Check, Status};
use crate::config::ssh::CryptoProfile;

/// The checks of R-13-6 to R-13-4, in the list's order.
pub(super) fn checks(f: &Facts<'_>) -> Vec<Check> {
    let Facts {
        settings: config,
        counts: c,
        tls12,
        ui_loopback,
        ..
    } = *f;
    vec![
        check(
            "R-13-6",
            "TLS 1.3 とクライアント証明書認証 / TLS 1.3 and client-certificate authentication",
            f.tls_status(),
            "TLS 1.3 のみ（allow_tls12 時は ECDHE+AEAD の 1.2 も）、クライアント証明書必須 / TLS \
             1.3 only (1.2 with ECDHE and AEAD suites only with allow_tls12), client \
             certificates required",
            f.tls_evidence(),
            f.tls_note(),
        ),
        check(
            "R-13-5",
            "管理画面を外部から到達不可に / management interfaces not reachable from outside",
            if ui_loopback { Status::Met } else { Status::Manual },
            "内部側（ui_listen）と保守事業者側（mTLS 入口のみ）を分離 / internal side apart from \
             the vendor side, which exposes only the mTLS port",
            vec![
                ev("[gateway] ui_listen", config.ui_listen.to_string()),
                ev("[gateway] listen", config.listen.to_string()),
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
            // TLS still offers ChaCha20-Poly1305 whatever the SSH profile.
            Status::Partial,
            match f.settings.crypto_profile {
                CryptoProfile::Cryptrec => {
                    "SSH は cryptrec プロファイル: AES-GCM と AES-CTR + HMAC-SHA-2 (EtM)（CRYPTREC \
                     電子政府推奨暗号）、鍵交換 X25519 / SSH uses the cryptrec profile: AES-GCM and \
                     AES-CTR with HMAC-SHA-2 (EtM), on the CRYPTREC list; X25519 key exchange"
                }
                CryptoProfile::Modern => {
                    "SSH は modern プロファイル: cryptrec に加え ChaCha20-Poly1305（CRYPTREC リスト外）\
                     / SSH uses the modern profile: cryptrec and ChaCha20-Poly1305 (not on the \
                     CRYPTREC list)"
                }
            },
            vec![
                ev("[ssh] crypto_profile", f.settings.crypto_profile.as_str()),
                ev("[tls] allow_tls12", tls12),
            ],
            Some(
                "TLS 1.3 は AES-GCM と ChaCha20-Poly1305 を提供（TLS の暗号プロファイル選択は未実装） / \
                 TLS 1.3 offers AES-GCM and ChaCha20-Poly1305; no selectable TLS crypto profile yet"
                    .to_owned(),
            ),
        ),
    ]
}
