//! What several checks read, worked out once per assessment: the configuration values
//! behind more than one verdict (TLS 1.2, the idle time-out, …) and the evidence lists
//! they share, so that two checks resting on the same fact can't disagree.

use std::time::Duration;

use serde_json::json;

use super::Settings;
use super::checks::{ev, human};
use super::{AuditHead, Counts, Evidence, Status};

/// The backup note of: fumidai has no backup command, a person checks.
pub(super) const BACKUP: &str = "fumidai にバックアップ機能はまだありません。データディレクトリとデータベースの\
                  世代バックアップ（ネットワークから書き込めないものを含む）と復元手順を確認してください / \
                  fumidai has no backup command yet: check generational backups of the data \
                  directory and database (some not writable from the network) and the restore \
                  procedure";

/// The facts of one assessment.
#[derive(Debug, Clone, Copy)]
pub(super) struct Facts<'a> {
    /// The installation's configuration, as the checks read it.
    pub(super) settings: &'a Settings,
    /// The store's counts.
    pub(super) counts: &'a Counts,
    /// The audit chain as verified now.
    pub(super) audit: &'a AuditHead,
    /// `[tls] allow_tls12`: R-13-6 and R-10.2-CRYPTO are partial with it.
    pub(super) tls12: bool,
    /// `[limits] idle_timeout`; zero is "switched off" (R-12-6, R-10.2-TIMEOUT).
    pub(super) idle: Duration,
    /// `[limits] max_session`; zero is "switched off".
    pub(super) max_session: Duration,
    /// `[gateway] ui_listen` is a loopback address (R-13-5).
    pub(super) ui_loopback: bool,
    /// Uploads are scanned: `[transfers] clamd_socket` is set (R-10-6).
    pub(super) clamd: bool,
}

impl<'a> Facts<'a> {
    /// The facts of `settings`, `counts` and `audit`.
    pub(super) fn new(settings: &'a Settings, counts: &'a Counts, audit: &'a AuditHead) -> Self {
        Self {
            settings,
            counts,
            audit,
            tls12: settings.allow_tls12,
            idle: settings.idle_timeout,
            max_session: settings.max_session,
            ui_loopback: settings.ui_listen.ip().is_loopback(),
            clamd: settings.clamd_socket.is_some(),
        }
    }

    /// The front door's TLS: R-13-6 and R-10.2-CRYPTO.
    pub(super) fn tls_evidence(&self) -> Vec<Evidence> {
        let c = self.counts;
        vec![
            ev("[tls] allow_tls12", self.tls12),
            ev(
                "[gateway] listen（mTLS 入口 / front door）",
                self.settings.listen.to_string(),
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
    }

    /// TLS 1.2 allowed: partial.
    pub(super) fn tls_status(&self) -> Status {
        if self.tls12 {
            Status::Partial
        } else {
            Status::Met
        }
    }

    /// Why the TLS checks are partial, when they are.
    pub(super) fn tls_note(&self) -> Option<String> {
        self.tls12.then(|| {
            "TLS 1.2 が許可されています（R-13-6 はやむを得ない場合のみ） / TLS 1.2 is allowed \
             ([tls] allow_tls12 = true); R-13-6 allows it only where unavoidable"
                .to_owned()
        })
    }

    /// Two factors at every engineer login: R-10.2-2FA, R-14-5, R-14.1.1-JUMP.
    pub(super) fn two_factor(&self) -> Vec<Evidence> {
        vec![
            ev(
                "保守要員アカウント / engineer accounts",
                self.counts.engineers,
            ),
            ev("TOTP のないアカウント / accounts without TOTP", 0),
        ]
    }

    /// The session limits: R-12-6, R-12.3.2.
    pub(super) fn timeout_evidence(&self) -> Vec<Evidence> {
        vec![
            ev("[limits] idle_timeout", human(self.idle)),
            ev("[limits] max_session", human(self.max_session)),
            ev(
                "[limits] window_warning",
                human(self.settings.window_warning),
            ),
        ]
    }

    /// The idle time-out switched off: not met.
    pub(super) fn idle_status(&self) -> Status {
        if self.idle.is_zero() {
            Status::NotMet
        } else {
            Status::Met
        }
    }

    /// Why the idle checks are not met, when they aren't.
    pub(super) fn idle_note(&self) -> Option<String> {
        self.idle.is_zero().then(|| {
            "無操作タイムアウトが無効です / the idle time-out is switched off (idle_timeout = \"0s\")"
                .to_owned()
        })
    }

    /// The audit chain as verified now: R-17-2.
    pub(super) fn chain(&self) -> Vec<Evidence> {
        match &self.audit.verification {
            store::AuditVerification::Intact { records, head } => vec![
                ev("監査証跡の検証 / audit chain verified now", "intact"),
                ev("記録数 / records", *records),
                ev("先頭 / head seq", json!(self.audit.head_seq)),
                ev("先頭ハッシュ / head hash", head.clone()),
            ],
            store::AuditVerification::Broken { seq, problem } => vec![
                ev("監査証跡の検証 / audit chain verified now", "BROKEN"),
                ev("最初の破損 / first broken record", *seq),
                ev("問題 / problem", format!("{problem:?}")),
            ],
        }
    }
}
