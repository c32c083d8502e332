//! §11, §12, §18, §8.2 and §7: operations — emergency functions, monitoring, unattended
//! terminals, backups, the SBOM, remote login only when needed.

use super::checks::{check, ev, human, redact};
use super::facts::{BACKUP, Facts};
use super::{Check, Status};

/// The checks of R-11-1 to R-7-12, in the list's order.
pub(super) fn checks(f: &Facts<'_>) -> Vec<Check> {
    let Facts {
        settings: config,
        counts: c,
        ..
    } = *f;
    vec![
        check(
            "R-11-1",
            "非常時用の利用者アカウント・機能 / emergency accounts and functions",
            Status::Met,
            "緊急アクセスは事業者ごとに許可、警告・記録され、時間で失効し事後承認 / emergency \
             access per vendor, alerted, recorded, time-limited, approved afterwards",
            vec![
                ev(
                    "緊急アクセスを許可された事業者 / vendors allowed emergencies",
                    c.vendors_allowed_emergency,
                ),
                ev("[limits] emergency_max", human(config.emergency_max)),
                ev("緊急計画 / emergency plans", c.emergency_plans),
            ],
            None,
        ),
        check(
            "R-11-2",
            "性能管理・死活監視 / performance and liveness monitoring",
            Status::Partial,
            "内部側の /healthz と /metrics / /healthz and /metrics on the internal side",
            vec![ev("[gateway] ui_listen", config.ui_listen.to_string())],
            Some(
                "接続先ごとの到達性監視は未実装 / reachability of each target is not monitored yet"
                    .to_owned(),
            ),
        ),
        check(
            "R-12-6",
            "無人の端末の利用防止 / no use of an unattended terminal",
            f.idle_status(),
            "無操作タイムアウト / idle time-out",
            f.timeout_evidence(),
            f.idle_note(),
        ),
        check(
            "R-12.3.2",
            "無人の端末の利用防止 / no use of an unattended terminal",
            f.idle_status(),
            "無操作タイムアウト / idle time-out",
            f.timeout_evidence(),
            f.idle_note(),
        ),
        check(
            "R-18",
            "バックアップ / backups",
            Status::Manual,
            "状態はデータディレクトリとデータベースにある / the state is in the data directory \
             and the database",
            vec![ev("[database] url", redact(&config.database_url))],
            Some(BACKUP.to_owned()),
        ),
        check(
            "R-12.2",
            "バックアップと復元手順 / backups and the restore procedure",
            Status::Manual,
            "状態はデータディレクトリとデータベースにある / the state is in the data directory \
             and the database",
            vec![ev("[database] url", redact(&config.database_url))],
            Some(BACKUP.to_owned()),
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
