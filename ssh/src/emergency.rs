//! The emergency declaration at login (`engineer:target:emergency`, R-10.1-APPROVE): after
//! the password and code, one more keyboard-interactive round asks for the reason, which
//! goes with the login to admission (`ProxyContext::open`).

use std::borrow::Cow;

use russh::server::{Auth, Response};
use tracing::info;

use super::handler::ConnectionHandler;
use super::messages;
use super::phase::{LoggedIn, Phase};

/// Longest reason kept, in characters.
const MAX_REASON_CHARS: usize = 500;

/// The prompt for the reason.
pub(super) fn ask_reason() -> Auth {
    Auth::Partial {
        name: Cow::Borrowed(messages::CHALLENGE_NAME),
        instructions: Cow::Borrowed(""),
        prompts: Cow::Owned(vec![(Cow::Borrowed(messages::EMERGENCY_PROMPT), true)]),
    }
}

impl ConnectionHandler {
    /// The answer to [`ask_reason`]: kept with the login; admission decides.
    pub(super) fn emergency_answer(
        &mut self,
        mut who: LoggedIn,
        pending: &str,
        user: &str,
        response: Option<Response<'_>>,
    ) -> Auth {
        let Some(mut response) = response.filter(|_| pending == user) else {
            info!("emergency declaration abandoned");
            return Auth::reject();
        };
        let reason: String = response
            .next()
            .map(|bytes| {
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(MAX_REASON_CHARS)
                    .collect()
            })
            .unwrap_or_default();
        info!("emergency declared");
        who.emergency = Some(reason);
        self.phase = Phase::LoggedIn { who, login: None };
        Auth::Accept
    }
}
