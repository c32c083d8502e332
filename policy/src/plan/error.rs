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
