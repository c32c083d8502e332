//! Where one SSH connection is in its life, as one enum: each phase holds what only it
//! has, so a menu answer without a login, a session without a login, or a login still
//! listed as a bare login once its session opened can't be written down.
//!
//! ```text
//! AwaitingLogin ──credentials accepted──▶ ChangingPassword ─▶ ChoosingTarget ─▶ DeclaringEmergency
//!      ▲                                     │ (each round optional, in this order)      │
//!      └──── a round abandoned ◀─────────────┴───────────────────────────────────────────┘
//!                                                        │ login complete
//!                                                        ▼
//!                          LoggedIn ──first session channel or forward, admitted──▶ Proxying
//!                             │                                                        │
//!                             └──── refusal (admission, menu, lost authority) ──▶ Refused ◀┘
//! ```
//!
//! The keyboard-interactive rounds (`kbd_login`, `password_change`, `target_menu`,
//! `emergency`) and the channel callbacks (`proxying`, `channels`, `forwarding`) move the
//! connection from one phase to the next; russh's callbacks (`handler`) only dispatch.

use std::sync::Arc;

use fumidai_core::live::{Activity, LoginGuard};
use policy::ids::TargetName;
use policy::recheck::LostAuthority;
use store::Account;

use super::kbd_login::Notice;
use super::live::SshConnection;
use super::password_change::PendingChange;
use super::target_menu::PendingMenu;
use crate::proxy::session::{Refusal, TargetSession};
use fumidai_core::auth::UnauthenticatedSlot;

/// One connection's phase.
pub(super) enum Phase {
    /// Before a password + code attempt succeeded (again, after a round was abandoned).
    AwaitingLogin {
        /// What the previous attempt's refusal tells in the next round (issue 13: a failed
        /// login always says so); none before the first attempt.
        notice: Option<Notice>,
        /// The front door's slot for an unauthenticated connection, released at the
        /// first successful credentials (`None` after that, also when a later round is
        /// abandoned and the client starts over).
        unauthenticated_slot: Option<UnauthenticatedSlot>,
    },
    /// Credentials accepted; an operator set the password, so a new one is asked for
    /// before anything else (§14 ⑥(5)).
    ChangingPassword {
        /// Who gave the credentials.
        who: LoggedIn,
        /// The round asked and not yet answered.
        pending: PendingChange,
    },
    /// Credentials accepted for a user name without a target: the menu is shown.
    ChoosingTarget {
        /// Who gave the credentials.
        who: LoggedIn,
        /// What was offered.
        pending: PendingMenu,
    },
    /// Credentials accepted for `engineer:target:emergency`: the reason is asked for.
    DeclaringEmergency {
        /// Who gave the credentials.
        who: LoggedIn,
        /// The user name the reason must come under.
        user: String,
    },
    /// Logged in, no session yet: the next session channel or forward opens one.
    LoggedIn {
        /// Who.
        who: LoggedIn,
        /// The login, registered while it holds no session (issue 12); `None` until
        /// russh's `auth_succeeded` records it (and without a store).
        login: Option<LoginGuard>,
    },
    /// The maintenance session is open: channels are bridged to its target.
    Proxying(Box<Proxying>),
    /// No session may be opened any more on this connection (admission or the target
    /// refused, no target chosen, the authority lost, the store failed): every later
    /// channel is told why. A session opened before stays until it ends.
    Refused {
        /// Who.
        who: LoggedIn,
        /// The login's registration if no session was ever opened.
        login: Option<LoginGuard>,
        /// Why, told on the channels.
        refusal: Refusal,
        /// The authority was lost (issue 12): every new channel is rejected outright.
        lost: Option<LostAuthority>,
    },
}

/// The open maintenance session, as the handler needs it (`serve` holds the same session
/// and the live registration in the handler's `session_slot`).
pub(super) struct Proxying {
    /// Who.
    pub(super) who: LoggedIn,
    /// The session: admission's plan, the target leg.
    pub(super) session: Arc<TargetSession>,
    /// The connection as registered live: bridged channels are added to it, so the
    /// watcher's warnings and the end message reach them.
    pub(super) live: Arc<SshConnection>,
    /// The session's activity mark, for bridges and forwards.
    pub(super) activity: Activity,
}

/// The person behind a logged-in connection.
pub(super) struct LoggedIn {
    /// Their account.
    pub(super) account: Account,
    /// The target named after `:` in the user name, or chosen from the menu, if any.
    pub(super) target: Option<TargetName>,
    /// The emergency declared at login, with its reason (R-10.1-APPROVE).
    pub(super) emergency: Option<String>,
    /// Whether `target` is an RDP server, once looked up: then the SSH login only issues
    /// single-use RDP credentials (`rdp-ticket`).
    pub(super) target_is_rdp: Option<bool>,
}

impl Phase {
    /// The first phase, holding the front door's slot.
    pub(super) fn start(unauthenticated_slot: Option<UnauthenticatedSlot>) -> Self {
        Self::AwaitingLogin {
            notice: None,
            unauthenticated_slot,
        }
    }

    /// The phase, leaving [`AwaitingLogin`](Self::AwaitingLogin) without a slot in its
    /// place: what a round that is not answered leaves behind. Every other path puts the
    /// next phase back.
    pub(super) fn take(&mut self) -> Self {
        std::mem::replace(self, Self::start(None))
    }

    /// Who logged in, once the credentials were accepted.
    pub(super) fn who(&self) -> Option<&LoggedIn> {
        match self {
            Self::AwaitingLogin { .. } => None,
            Self::ChangingPassword { who, .. }
            | Self::ChoosingTarget { who, .. }
            | Self::DeclaringEmergency { who, .. }
            | Self::LoggedIn { who, .. }
            | Self::Refused { who, .. } => Some(who),
            Self::Proxying(p) => Some(&p.who),
        }
    }

    /// As [`who`](Self::who), to change.
    pub(super) fn who_mut(&mut self) -> Option<&mut LoggedIn> {
        match self {
            Self::AwaitingLogin { .. } => None,
            Self::ChangingPassword { who, .. }
            | Self::ChoosingTarget { who, .. }
            | Self::DeclaringEmergency { who, .. }
            | Self::LoggedIn { who, .. }
            | Self::Refused { who, .. } => Some(who),
            Self::Proxying(p) => Some(&mut p.who),
        }
    }

    /// Why no session can be opened, once refused.
    pub(super) fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Refused { refusal, .. } => Some(refusal),
            _ => None,
        }
    }

    /// Whether the connection lost its authority (issue 12).
    pub(super) fn lost(&self) -> Option<LostAuthority> {
        match self {
            Self::Refused { lost, .. } => *lost,
            _ => None,
        }
    }

    /// The login's registration, while the connection holds no session.
    pub(super) fn login(&self) -> Option<&LoginGuard> {
        match self {
            Self::LoggedIn { login, .. } | Self::Refused { login, .. } => login.as_ref(),
            _ => None,
        }
    }

    /// The open session, while channels may be bridged to it.
    pub(super) fn proxying(&self) -> Option<&Proxying> {
        match self {
            Self::Proxying(p) => Some(p),
            _ => None,
        }
    }

    /// Keeps the login's registration (russh's `auth_succeeded`); dropped at once, and so
    /// forgotten, if the login is no longer waiting for a session.
    pub(super) fn register_login(&mut self, guard: LoginGuard) {
        if let Self::LoggedIn { login, .. } | Self::Refused { login, .. } = self {
            *login = Some(guard);
        }
    }

    /// Refuses any further session for `refusal` (and `lost`, when the authority was
    /// lost): the login stays registered if it had no session.
    pub(super) fn refuse(&mut self, refusal: Refusal, lost: Option<LostAuthority>) {
        let (who, login) = match self.take() {
            Self::LoggedIn { who, login } | Self::Refused { who, login, .. } => (who, login),
            Self::Proxying(p) => (p.who, None),
            Self::ChangingPassword { who, .. }
            | Self::ChoosingTarget { who, .. }
            | Self::DeclaringEmergency { who, .. } => (who, None),
            // Refusals come after login only: nothing to refuse before it.
            awaiting @ Self::AwaitingLogin { .. } => {
                *self = awaiting;
                return;
            }
        };
        *self = Self::Refused {
            who,
            login,
            refusal,
            lost,
        };
    }
}

#[cfg(test)]
mod tests;
