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
    /// The session is live but can't be watched from here.
    #[error(
        "session {id} can't be watched here: {} / セッション {id} はここでは監視できません: {}",
        .why.en(),
        .why.ja()
    )]
    NotWatchable {
        /// The session.
        id: policy::ids::SessionId,
        /// Why not.
        why: super::session_watch::Unwatchable,
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
    /// The gateway's public signing key (`signing.pub`) could not be read.
    #[error(
        "cannot read the gateway's signing key signing.pub: {0} / 署名鍵 signing.pub を読めません"
    )]
    SigningKey(String),
    /// A plan names someone who is not a registered engineer.
    #[error("{0} is not a registered engineer / {0} は登録された作業者ではありません")]
    NotAnEngineer(policy::ids::Login),
    /// An engineer with no vendor (only a broken registration has none).
    #[error("engineer {0} has no vendor / 作業者 {0} に保守事業者がありません")]
    EngineerWithoutVendor(policy::ids::Login),
    /// A plan names engineers of two vendors.
    #[error(
        "a plan covers one vendor's engineers: {login} is of {of}, not {expected} / \
         1つの作業計画には1社の作業者のみ指定できます"
    )]
    VendorsDiffer {
        /// The engineer of the other vendor.
        login: policy::ids::Login,
        /// Their vendor.
        of: policy::ids::VendorName,
        /// The vendor of the engineers before.
        expected: policy::ids::VendorName,
    },
    /// A plan names no engineer.
    #[error("a plan names at least one engineer / 作業者を1名以上指定してください")]
    NoEngineer,
    /// A checked plan was submitted by someone else than it was checked for.
    #[error("{login}: the plan was checked for another submitter / 提出者が異なります")]
    NotTheSubmitter {
        /// Who tried.
        login: policy::ids::Login,
    },
    /// No account of that kind by that login.
    #[error("no {} account {login} / {login} という{}アカウントはありません", kind.as_str(), match kind { policy::ids::AccountKind::Engineer => "作業者", policy::ids::AccountKind::Operator => "病院側" })]
    NoAccount {
        /// The login given.
        login: policy::ids::Login,
        /// The kind of account expected.
        kind: policy::ids::AccountKind,
    },
    /// One's own account may not be changed so (`policy::authority::may_change_account`).
    #[error(transparent)]
    SelfChange(#[from] policy::authority::SelfChangeDenied),
    /// The identity check's note is missing or not one line.
    #[error(
        "--note must say how the person's identity was checked (at least 8 characters, one \
         line) / 本人確認の方法を --note に記入してください"
    )]
    IdentityNote,
    /// The password is too weak (`policy::password`).
    #[error(transparent)]
    Password(#[from] policy::password::PasswordRejection),
    /// The password could not be hashed.
    #[error(transparent)]
    PasswordHash(#[from] policy::password::HashError),
    /// The account is not locked: nothing to unlock.
    #[error(
        "{0} is not locked: nothing to unlock / {0} はロックされていないため、解除するものはありません"
    )]
    NotLocked(policy::ids::Login),
    /// A change that changes nothing.
    #[error("nothing to change / 変更内容がありません")]
    NothingToChange,
    /// A target's login is not one fumidai can use (`policy::target`).
    #[error(transparent)]
    Target(#[from] policy::target::TargetError),
    /// A factory account without a stated reason, or a reason for an account that is not
    /// one (R-10.1-NODEFAULT).
    #[error(transparent)]
    SharedAdmin(#[from] policy::target::shared_admin::SharedAdminError),
    /// The report could not be produced.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// The stored report no longer matches its seal (R-10-5).
    #[error("report for plan {plan}: {problem} / 報告書の封印が一致しません")]
    ReportSealBroken {
        /// Whose report.
        plan: policy::ids::PlanId,
        /// What does not match.
        problem: String,
    },
    /// The recordings could not be read.
    #[error("cannot read the recordings: {0} / 録画を読めません")]
    Recordings(#[from] recorder::Error),
    /// A blocking check stopped before it finished (the process is shutting down).
    #[error("the {0} stopped before it finished / {0} が途中で止まりました")]
    Interrupted(&'static str),
}
