//! Why a plan could not be submitted, decided or moved on, in English and Japanese.

use chrono::{DateTime, Utc};

use super::PlanStatus;
use crate::jst;

/// Why a plan could not be submitted or decided. Messages are in English and Japanese:
/// submitters and approvers read them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The window ends at or before it starts.
    #[error("the window must end after it starts / 終了日時は開始日時より後にしてください")]
    EndNotAfterStart,
    /// The whole window lies in the past.
    #[error(
        "the window ended already ({}) / 作業時間帯はすでに終わっています（{}）",
        jst::format(*ended_at),
        jst::format(*ended_at)
    )]
    WindowInPast {
        /// When it ended.
        ended_at: DateTime<Utc>,
    },
    /// The window is longer than [`MAX_WINDOW_DAYS`].
    #[error(
        "the window may be at most {max_days} days; split longer work into several plans / 作業時間帯は最長{max_days}日です。長い作業は複数の計画に分けてください"
    )]
    WindowTooLong {
        /// The limit.
        max_days: i64,
    },
    /// Content kinds declared for upload without `upload` itself.
    #[error(
        "declaring uploadable content (executable, script, macro, archive) needs --allow upload too / 実行ファイル等の持込みを記載するには、アップロードの許可も必要です"
    )]
    ContentWithoutUpload,
    /// No engineer named.
    #[error("a plan names at least one engineer / 作業者を1名以上指定してください")]
    NoEngineer,
    /// No target named.
    #[error("a plan names at least one target / 接続先を1つ以上指定してください")]
    NoTarget,
    /// The purpose is blank.
    #[error("a plan states its purpose / 作業目的を記入してください")]
    NoPurpose,
    /// A planned step is blank.
    #[error("a planned step is empty / 空の作業手順があります")]
    EmptyStep,
    /// Too many steps.
    #[error("at most {max} planned steps / 作業手順は{max}件までです")]
    TooManySteps {
        /// The limit.
        max: usize,
    },
    /// A text is too long.
    #[error("the {what} is longer than {max} characters / {what}が{max}文字を超えています")]
    TextTooLong {
        /// Which text.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// A text holds control or bidirectional-override characters, which could rewrite a
    /// terminal or hide text from the approver.
    #[error("the {what} contains control characters / {what}に制御文字が含まれています")]
    ControlCharacter {
        /// Which text.
        what: &'static str,
    },
    /// The submitter or approver is not named.
    #[error("the person deciding or submitting must be named / 提出者・承認者の指定がありません")]
    NoPerson,
    /// Only submitted plans can be decided (or stored as new).
    #[error(
        "the plan is {status}, not submitted: it cannot be decided again / この計画は既に{}のため、承認・却下できません",
        status_ja(*status)
    )]
    NotSubmitted {
        /// Its current status.
        status: PlanStatus,
    },
    /// R-14-4: the approver must be another person than the submitter.
    #[error(
        "the submitter may not decide their own plan: another operator must approve or reject it / 提出者本人は承認・却下できません。別の担当者が判断してください"
    )]
    SelfApproval,
    /// A rejection needs its reason.
    #[error("a rejection states its reason / 却下の理由を記入してください")]
    NoReason,
    /// Personal data is declared without saying how it is deleted afterwards (R-10-1).
    #[error(
        "declaring personal-data access needs a data-deletion step (--data-deletion) / 個人情報を扱う作業には、作業後のデータ消去の手順が必要です"
    )]
    NoDeletionStep,
    /// A text given as optional is blank.
    #[error("the {what} is empty / {what}が空です")]
    EmptyText {
        /// Which text.
        what: &'static str,
    },
    /// A step's command pattern doesn't parse (a glob such as `pg_dump *`, or `re:REGEX`).
    #[error("command pattern {pattern:?}: {problem} / 想定コマンドのパターンが正しくありません")]
    BadPattern {
        /// The pattern as written.
        pattern: String,
        /// Why it doesn't parse.
        problem: String,
    },
    /// Too many command patterns in a step.
    #[error(
        "at most {max} command patterns per step / 手順ごとのコマンドパターンは{max}件までです"
    )]
    TooManyPatterns {
        /// The limit.
        max: usize,
    },
    /// The plan is not in a state that allows this.
    #[error(
        "the plan is {status}: it cannot be {action} / この計画は{}のため、{}できません",
        status_ja(*status),
        action_ja(action)
    )]
    WrongState {
        /// Its current status.
        status: PlanStatus,
        /// What was attempted (`activated`, `closed`, `reported`, `confirmed`, `attested`).
        action: &'static str,
    },
    /// The window is still open: the plan can't close yet.
    #[error(
        "the window is still open until {}: the plan closes after it / 作業時間帯（{}まで）が終わってから完了します",
        jst::format(*ends_at),
        jst::format(*ends_at)
    )]
    WindowStillOpen {
        /// When it closes.
        ends_at: DateTime<Utc>,
    },
    /// The plan has no data-deletion step to attest.
    #[error(
        "the plan has no data-deletion step to attest / この計画にはデータ消去の手順がありません"
    )]
    NothingToAttest,
    /// The deletion was attested already.
    #[error("the data deletion was attested already / データ消去は報告済みです")]
    AlreadyAttested,
    /// The engineer's vendor is not allowed emergency access (R-11-1).
    #[error(
        "your vendor is not allowed emergency access: ask the hospital for an approved work plan / 貴社には緊急時のアクセスが許可されていません。承認済みの作業計画を依頼してください"
    )]
    EmergencyNotAllowed,
    /// Only an engineer named in the plan attests.
    #[error(
        "only an engineer named in the plan attests its data deletion / データ消去の報告は計画に記載された作業者が行います"
    )]
    NotNamed,
    /// R-11-1: the target is unknown, removed, or not among the vendor's contracted targets
    /// (`vendor targets add`). One answer for all three, so target names can't be probed.
    #[error(
        "emergency access is not possible on this target for your vendor / この接続先は貴社の緊急時アクセスの対象ではありません"
    )]
    EmergencyNotContracted,
    /// R-11-1: an earlier emergency of this engineer awaits its approval afterwards.
    #[error(
        "your emergency plan {plan} awaits approval: another emergency opens once it is approved / 緊急時の作業計画 {plan} が事後承認待ちです。承認されるまで次の緊急時アクセスはできません"
    )]
    EmergencyPending {
        /// The plan awaiting approval.
        plan: crate::ids::PlanId,
    },
    /// R-11-1: a plan for this engineer and target was refused (rejected or withdrawn) less
    /// than a day ago: an emergency does not override the hospital's decision.
    #[error(
        "a work plan for this target was refused in the last 24 hours ({plan}): emergency access does not override it / 24時間以内にこの接続先の作業計画（{plan}）が却下・取り下げされています。緊急時アクセスでは代えられません"
    )]
    EmergencyAfterRefusal {
        /// The refused plan.
        plan: crate::ids::PlanId,
    },
    /// R-10-2: an emergency plan declares no personal-data access, so it can't reach a
    /// target holding personal data.
    #[error(
        "this target holds personal data: emergency access needs a work plan declaring personal-data access / この接続先は個人情報を扱うため、緊急時アクセスはできません。個人情報の利用を申告した作業計画が必要です"
    )]
    EmergencyPersonalData,
    /// R-10-2: the plan names a target tagged `personal-data` without declaring access.
    #[error(
        "target {target} holds personal data: declare personal-data access (--personal-data) / 接続先 {target} は個人情報を扱います。個人情報の利用を申告してください（--personal-data）"
    )]
    PersonalDataUndeclared {
        /// The tagged target.
        target: crate::ids::TargetName,
    },
    /// §7.1: personal data may leave (download) but the take-out is not described.
    #[error(
        "a plan letting personal data leave (download) states the take-out's purpose, item count, items and storage (--take-out-purpose, --take-out-count, --take-out-items, --take-out-storage) / 個人情報の持出しには、目的・件数・項目・持出し先での保存環境の記載が必要です"
    )]
    NoTakeOut,
    /// A take-out is described on a plan that lets no personal data leave.
    #[error(
        "a take-out is described, but the plan declares no personal data or allows no download / 持出しの記載がありますが、個人情報の申告またはダウンロードの許可がありません"
    )]
    TakeOutWithoutDownload,
    /// The take-out's item count is zero or implausible.
    #[error("the take-out's item count is from 1 to {max} / 持出し件数は1以上{max}以下です")]
    TakeOutCount {
        /// The limit.
        max: u32,
    },
    /// §7 ②: a take-out of personal data is approved by the planning manager.
    #[error(
        "a take-out of personal data is approved by a planning manager (role manager), not an operator / 個人情報の持出しを含む計画は企画管理者（manager）が承認します"
    )]
    TakeOutNeedsManager,
    /// The account's role may not decide plans (auditors read only).
    #[error("role {role} may not decide plans / {role} の役割では計画を承認・却下できません")]
    RoleMayNotDecide {
        /// The role.
        role: crate::ids::OperatorRole,
    },
}

/// A status in Japanese, for messages.
fn status_ja(status: PlanStatus) -> &'static str {
    match status {
        PlanStatus::Submitted => "提出済み",
        PlanStatus::Approved => "承認済み",
        PlanStatus::Rejected => "却下済み",
        PlanStatus::Active => "実施中",
        PlanStatus::Closed => "作業終了",
        PlanStatus::Reported => "報告済み",
        PlanStatus::Confirmed => "確認済み",
        PlanStatus::Withdrawn => "取消し済み",
    }
}

/// An attempted transition in Japanese, for messages.
fn action_ja(action: &str) -> &'static str {
    match action {
        "activated" => "開始",
        "closed" => "完了",
        "reported" => "報告",
        "confirmed" => "確認",
        "attested" => "消去報告",
        "withdrawn" => "取消し",
        _ => "変更",
    }
}
