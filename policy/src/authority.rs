//! Who at the hospital may do what in their own name (R-14-4: rights follow the role).
//!
//! The console authenticates the person first (password + TOTP, R-14-1); this table then
//! says whether that account may take the action. Operators and planning managers act;
//! auditors read and never act; engineers act only through the front door with their own
//! device (attestation, their own password), never at the hospital's console.

use std::fmt;

use crate::ids::{AccountKind, OperatorRole};

/// Something a person does in their own name at the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `plan submit`.
    SubmitPlan,
    /// `plan approve`, `plan reject` (R-10.1-APPROVE; never one's own plan, see
    /// `plan::approve`).
    DecidePlan,
    /// `plan withdraw`: an approved or active plan stops admitting sessions.
    WithdrawPlan,
    /// `report confirm`: only the planning manager (企画管理者, R-10-5).
    ConfirmReport,
    /// `session kill`.
    KillSession,
    /// Watching a live session's terminal read-only (R-10.2-REVIEW). A read: auditors
    /// may too (see [`Action::reads`]).
    WatchSession,
    /// Creating, disabling, enabling, resetting accounts and vendors; role changes.
    ManageAccounts,
}

impl Action {
    /// Every action, for tables.
    pub const ALL: [Self; 7] = [
        Self::SubmitPlan,
        Self::DecidePlan,
        Self::WithdrawPlan,
        Self::ConfirmReport,
        Self::KillSession,
        Self::WatchSession,
        Self::ManageAccounts,
    ];

    /// Whether the action only reads (an auditor may take it): it changes nothing, though
    /// it is on record like any other.
    pub fn reads(self) -> bool {
        match self {
            Self::WatchSession => true,
            Self::SubmitPlan
            | Self::DecidePlan
            | Self::WithdrawPlan
            | Self::ConfirmReport
            | Self::KillSession
            | Self::ManageAccounts => false,
        }
    }

    /// The action as the audit trail and messages name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SubmitPlan => "submit_plan",
            Self::DecidePlan => "decide_plan",
            Self::WithdrawPlan => "withdraw_plan",
            Self::ConfirmReport => "confirm_report",
            Self::KillSession => "kill_session",
            Self::WatchSession => "watch_session",
            Self::ManageAccounts => "manage_accounts",
        }
    }

    fn ja(self) -> &'static str {
        match self {
            Self::SubmitPlan => "作業計画の提出",
            Self::DecidePlan => "作業計画の承認・却下",
            Self::WithdrawPlan => "作業計画の取消し",
            Self::ConfirmReport => "報告書の確認",
            Self::KillSession => "セッションの強制終了",
            Self::WatchSession => "セッションの監視",
            Self::ManageAccounts => "アカウントの管理",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an authenticated account may not take an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// Engineers act through the front door with their own device, never at the console.
    #[error(
        "an engineer account cannot {} at the console / 作業者アカウントでは{}はできません",
        .0.as_str(),
        .0.ja()
    )]
    Engineer(Action),
    /// Auditors read; they never act (R-14-4).
    #[error(
        "an auditor account can read but not {} / 監査担当アカウントは閲覧のみで、{}はできません",
        .0.as_str(),
        .0.ja()
    )]
    Auditor(Action),
    /// Only a planning manager (role `manager`) may do this.
    #[error(
        "only a planning manager (role manager) may {} / {}は企画管理者のみが行えます",
        .0.as_str(),
        .0.ja()
    )]
    ManagerOnly(Action),
    /// A hospital-side account without a role may do nothing, not even read a live screen.
    #[error(
        "an account without a role may not {} / 役割のないアカウントでは{}はできません",
        .0.as_str(),
        .0.ja()
    )]
    NoRole(Action),
}

/// Whether an account of `kind` (with `role`, for operator accounts) may take `action`.
/// An operator account without a role is treated as having none: it may do nothing.
/// Auditors take only the actions that read ([`Action::reads`]).
pub fn authorize(
    kind: AccountKind,
    role: Option<OperatorRole>,
    action: Action,
) -> Result<(), Denied> {
    match (kind, role) {
        (AccountKind::Engineer, _) => Err(Denied::Engineer(action)),
        (AccountKind::Operator, None) if action.reads() => Err(Denied::NoRole(action)),
        (AccountKind::Operator, Some(OperatorRole::Auditor)) if action.reads() => Ok(()),
        (AccountKind::Operator, None | Some(OperatorRole::Auditor)) => Err(Denied::Auditor(action)),
        (AccountKind::Operator, Some(OperatorRole::Manager)) => Ok(()),
        (AccountKind::Operator, Some(OperatorRole::Operator)) => match action {
            Action::ConfirmReport => Err(Denied::ManagerOnly(action)),
            Action::SubmitPlan
            | Action::DecidePlan
            | Action::WithdrawPlan
            | Action::KillSession
            | Action::WatchSession
            | Action::ManageAccounts => Ok(()),
        },
    }
}

/// A change an account administrator makes to an account (R-14-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    /// Logins refused from now on.
    Disable,
    /// Logins allowed again.
    Enable,
    /// A new initial password after an identity check.
    ResetPassword,
    /// A new TOTP secret (break-glass for a lost device).
    ResetTotp,
    /// A lock-out lifted before its end.
    Unlock,
    /// An operator's role changed.
    SetRole,
}

/// Why an administrator may not make a change to their own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SelfChangeDenied {
    /// Disabling oneself would leave nobody to notice; another administrator does it.
    #[error("you cannot disable your own account / 自分のアカウントは無効化できません")]
    Disable,
    /// Raising (or lowering) one's own role bypasses the four eyes (R-14-4).
    #[error("you cannot change your own role / 自分の役割は変更できません")]
    SetRole,
}

/// Whether `actor` may make `change` to `subject`'s account: anyone allowed to manage
/// accounts ([`Action::ManageAccounts`]) may change others'; of their own, not disable it
/// nor change its role.
pub fn may_change_account(
    actor: &crate::ids::Login,
    subject: &crate::ids::Login,
    change: AccountChange,
) -> Result<(), SelfChangeDenied> {
    if actor != subject {
        return Ok(());
    }
    match change {
        AccountChange::Disable => Err(SelfChangeDenied::Disable),
        AccountChange::SetRole => Err(SelfChangeDenied::SetRole),
        AccountChange::Enable
        | AccountChange::ResetPassword
        | AccountChange::ResetTotp
        | AccountChange::Unlock => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_to_ones_own_account() {
        use AccountChange::*;
        let olga: crate::ids::Login = "olga".parse().unwrap();
        let sasaki: crate::ids::Login = "sasaki".parse().unwrap();
        // (change, on oneself allowed)
        let table = [
            (Disable, false),
            (Enable, true),
            (ResetPassword, true),
            (ResetTotp, true),
            (Unlock, true),
            (SetRole, false),
        ];
        for (change, on_self) in table {
            assert_eq!(
                may_change_account(&olga, &olga, change).is_ok(),
                on_self,
                "{change:?}"
            );
            assert!(
                may_change_account(&olga, &sasaki, change).is_ok(),
                "{change:?}"
            );
        }
        assert_eq!(
            may_change_account(&olga, &olga, SetRole),
            Err(SelfChangeDenied::SetRole)
        );
    }

    #[test]
    fn the_role_table() {
        use Action::*;
        let op = (AccountKind::Operator, Some(OperatorRole::Operator));
        let mgr = (AccountKind::Operator, Some(OperatorRole::Manager));
        let aud = (AccountKind::Operator, Some(OperatorRole::Auditor));
        let none = (AccountKind::Operator, None);
        let eng = (AccountKind::Engineer, None);
        // (who, action, allowed)
        let table = [
            (op, SubmitPlan, true),
            (op, DecidePlan, true),
            (op, WithdrawPlan, true),
            (op, ConfirmReport, false),
            (op, KillSession, true),
            (op, WatchSession, true),
            (op, ManageAccounts, true),
            (mgr, SubmitPlan, true),
            (mgr, DecidePlan, true),
            (mgr, WithdrawPlan, true),
            (mgr, ConfirmReport, true),
            (mgr, KillSession, true),
            (mgr, WatchSession, true),
            (mgr, ManageAccounts, true),
            (aud, WatchSession, true),
            (aud, KillSession, false),
            (none, WatchSession, false),
            (eng, WatchSession, false),
        ];
        for ((kind, role), action, allowed) in table {
            assert_eq!(
                authorize(kind, role, action).is_ok(),
                allowed,
                "{kind:?} {role:?} {action}"
            );
        }
        // Auditors, role-less operators and engineers never act at the console; auditors
        // read (watch), role-less accounts don't even read.
        for action in Action::ALL.into_iter().filter(|a| !a.reads()) {
            assert_eq!(
                authorize(aud.0, aud.1, action),
                Err(Denied::Auditor(action))
            );
            assert_eq!(
                authorize(none.0, none.1, action),
                Err(Denied::Auditor(action))
            );
            assert_eq!(
                authorize(eng.0, eng.1, action),
                Err(Denied::Engineer(action))
            );
        }
        assert_eq!(
            authorize(op.0, op.1, ConfirmReport),
            Err(Denied::ManagerOnly(ConfirmReport))
        );
        assert_eq!(
            authorize(none.0, none.1, WatchSession),
            Err(Denied::NoRole(WatchSession))
        );
        assert_eq!(
            authorize(eng.0, eng.1, WatchSession),
            Err(Denied::Engineer(WatchSession))
        );
    }

    #[test]
    fn messages_are_bilingual() {
        let text = Denied::Auditor(Action::DecidePlan).to_string();
        assert!(
            text.contains("auditor") && text.contains("監査担当"),
            "{text}"
        );
    }
}
