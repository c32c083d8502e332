//! Why a use case did not happen, in words for the person who asked (Japanese and English).

use policy::authority::Denied;
use policy::plan::PlanError;

/// Why an op was refused or failed. Messages are bilingual and name no secret.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// Password or code wrong, or the account locked, disabled or unknown: the same words
    /// whatever it was (the audit trail says which).
    #[error(
        "{login}: authentication failed (wrong password or code, or the account is locked or \
         disabled) / 認証に失敗しました（パスワード・確認コードの誤り、またはアカウントのロック・無効化）"
    )]
    AuthenticationFailed {
        /// The login as given.
        login: String,
    },
    /// Authenticated, but the account may not take the action (`policy::authority`).
    #[error("{login}: {denied}")]
    Denied {
        /// Who.
        login: policy::ids::Login,
        /// Why not.
        denied: Denied,
    },
    /// The record the op names does not exist.
    #[error("no {kind} {name} / {kind_ja} {name} はありません")]
    NotFound {
        /// What kind of record, in English.
        kind: &'static str,
        /// The same in Japanese.
        kind_ja: &'static str,
        /// Its ID.
        name: String,
    },
    /// A hospital-side account with no stored role cannot decide a plan.
    #[error("{login}: no role / {login} に役割がありません")]
    NoRole {
        /// Who.
        login: policy::ids::Login,
    },
    /// The plan's rules refuse the change (`policy::plan`).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The session has ended already.
    #[error("session {id} has already ended ({reason}) / セッション {id} は既に終了しています")]
    SessionEnded {
        /// The session.
        id: policy::ids::SessionId,
        /// How it ended.
        reason: &'static str,
    },
    /// The login-only connection closed before the kill.
    #[error("connection {id} has already closed / 接続 {id} は既に切断されています")]
    ConnectionClosed {
        /// Its ID.
        id: policy::ids::SessionId,
    },
    /// A kill of this session or connection is pending already.
    #[error("a kill of {kind} {id} is already pending / {kind_ja} {id} は既に終了要求済みです")]
    KillPending {
        /// `session` or `connection`.
        kind: &'static str,
        /// The same in Japanese.
        kind_ja: &'static str,
        /// Its ID.
        id: policy::ids::SessionId,
    },
    /// The login procedure could not run (store unreachable): nothing was decided.
    #[error(transparent)]
    Login(#[from] crate::auth::Error),
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] store::Error),
}
