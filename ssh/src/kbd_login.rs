//! Keyboard-interactive login: the prompts, the answers, and the call to
//! [`Authenticator::login`](fumidai_core::auth::Authenticator::login).
//!
//! A refused attempt is told (issue 13): the next round's instructions say, in English,
//! that the password or the code was wrong, that a code works only once and to wait for
//! the next one, and that repeated failures lock the account; the same in Japanese heads
//! its first prompt (OpenSSH escapes non-ASCII instructions but shows prompts as they
//! are). The words are the same whatever failed, and the refusal still takes russh's
//! `auth_rejection_time`. After the connection's last allowed attempt no next round
//! would come, so one round without prompts carries the English words, held to the same
//! rejection time; its answer is refused.

use std::borrow::Cow;

use policy::login_name::SshLoginName;
use russh::server::{Auth, Response};
use secrecy::SecretString;
use tokio::time::Instant;
use tracing::{Instrument, info, warn};
use zeroize::Zeroize;

use super::emergency::ask_reason;
use super::handler::ConnectionHandler;
use super::messages;
use super::phase::{LoggedIn, Phase};
use fumidai_core::auth::{LoginOutcome, LoginRequest};

/// How an unparsable user name appears in logs: the text itself might be a password
/// typed into the wrong field.
const UNPARSABLE_USER: &str = "(invalid user name)";

/// The protocol name recorded with each login.
const PROTOCOL: &str = "ssh";

impl ConnectionHandler {
    /// russh's `auth_keyboard_interactive`: prompts first, then one login per answer;
    /// after a successful one, the answer to the round asked then. A round's answer that
    /// doesn't come (a new request instead) leaves the connection awaiting a login.
    pub(super) async fn keyboard_interactive(
        &mut self,
        user: &str,
        response: Option<Response<'_>>,
    ) -> Auth {
        let span = self.span.clone();
        match self.phase.take() {
            // The forced password change after a successful login: not a password attempt.
            Phase::ChangingPassword { who, pending } => {
                self.password_change_answer(who, pending, user, response)
                    .instrument(span)
                    .await
            }
            // The emergency's reason after a successful login: not a password attempt.
            Phase::DeclaringEmergency { who, user: pending } => {
                self.emergency_answer(who, &pending, user, response)
            }
            // The target menu after a successful login: not a password attempt.
            Phase::ChoosingTarget { who, pending } => {
                self.menu_answer(who, pending, user, response)
                    .instrument(span)
                    .await
            }
            Phase::AwaitingLogin {
                notice,
                unauthenticated_slot,
            } => {
                self.phase = Phase::AwaitingLogin {
                    notice,
                    unauthenticated_slot,
                };
                self.credentials_round(notice, user, response).await
            }
            // russh asks no more once the login succeeded.
            done @ (Phase::LoggedIn { .. } | Phase::Proxying(_) | Phase::Refused { .. }) => {
                self.phase = done;
                Auth::reject()
            }
        }
    }

    /// The password + code round: its prompts, then the login with its answers.
    async fn credentials_round(
        &mut self,
        notice: Option<Notice>,
        user: &str,
        response: Option<Response<'_>>,
    ) -> Auth {
        if self.attempts >= self.max_attempts {
            // No more prompts, and no more Argon2 work, on this connection. The method
            // stays on offer (an empty list doesn't stop OpenSSH, which then tries all its
            // other methods); OpenSSH gives up after three prompts by itself, and russh
            // disconnects a client that goes on (`max_auth_attempts`).
            return Auth::reject();
        }
        // russh calls us first without responses (the client's request), then with the
        // answers to the prompts (USERAUTH_INFO_RESPONSE), under the same user name.
        let Some(response) = response else {
            return prompts(notice);
        };
        let started = Instant::now();
        let answers = collect_answers(response);
        self.attempts = self.attempts.saturating_add(1);
        let span = self.span.clone();
        match self.login(user, answers).instrument(span).await {
            Attempt::Done(auth) => auth,
            Attempt::Refused(notice) => self.refused(notice, started).await,
        }
    }

    /// Answers a refused attempt. The next round tells why; after the last allowed one,
    /// a round without prompts does, no sooner than a refusal would have come.
    async fn refused(&mut self, notice: Notice, started: Instant) -> Auth {
        if let Phase::AwaitingLogin { notice: told, .. } = &mut self.phase {
            *told = Some(notice);
        }
        if self.attempts < self.max_attempts {
            // russh holds the refusal until `auth_rejection_time` after the answers came.
            return Auth::reject();
        }
        // Russh sends a round at once: the wait is ours, so that the time still says
        // nothing about what failed. The client's answer to it meets the cap above and is
        // refused (after russh's delay).
        tokio::time::sleep_until(started + self.rejection_time).await;
        Auth::Partial {
            name: Cow::Borrowed(messages::CHALLENGE_NAME),
            instructions: Cow::Borrowed(notice.last()),
            prompts: Cow::Borrowed(&[]),
        }
    }

    /// One password + code attempt. Every refusal looks the same to the client: the same
    /// notice, the same delay.
    async fn login(&mut self, user: &str, answers: Vec<SecretString>) -> Attempt {
        let name = SshLoginName::parse(user).ok();
        let engineer = name
            .as_ref()
            .map_or(UNPARSABLE_USER, |n| n.engineer.as_str())
            .to_owned();
        if let Some(name) = &name {
            self.span
                .record("engineer", tracing::field::display(&name.engineer));
        }
        let client_addr = self.client_addr;
        let Ok([password, code]) = <[SecretString; 2]>::try_from(answers) else {
            info!(engineer, %client_addr, reason = "malformed_response", "login refused");
            return Attempt::Refused(Notice::Refused);
        };
        let request = LoginRequest {
            // An unparsable name is passed on as typed: it is then refused as an unknown
            // account after the same work as any other attempt.
            login: name
                .as_ref()
                .map_or_else(|| user.to_owned(), |n| n.engineer.to_string()),
            entrance: fumidai_core::auth::Entrance::Certificate {
                certificate: self.certificate.clone(),
                client_addr,
            },
            password,
            code,
            protocol: PROTOCOL,
            admits: policy::ids::AccountKind::Engineer,
        };
        match self.auth.login(request).await {
            Ok(LoginOutcome::Accept { account }) => {
                Attempt::Done(self.logged_in(user, name, account).await)
            }
            Ok(LoginOutcome::Reject(reason)) => {
                info!(engineer, %client_addr, reason = reason.as_str(), "login refused");
                Attempt::Refused(Notice::Refused)
            }
            Err(error) => {
                // Fail closed: without the store nobody logs in.
                warn!(engineer, %client_addr, reason = "store_unavailable", %error, "login refused");
                Attempt::Refused(Notice::Unchecked)
            }
        }
    }

    /// Right after the password and code were accepted: the rounds that may follow
    /// (password change, target menu, emergency reason), or the login's end.
    async fn logged_in(
        &mut self,
        user: &str,
        name: Option<SshLoginName>,
        account: store::Account,
    ) -> Auth {
        info!(engineer = %account.login, client_addr = %self.client_addr, "logged in");
        self.login_state.mark_authenticated();
        // The notice is spent, and the front door's cap counts connections still trying to
        // log in: leaving `AwaitingLogin` drops both.
        let emergency = name.as_ref().is_some_and(|n| n.emergency);
        let who = LoggedIn {
            account,
            target: name.and_then(|n| n.target),
            emergency: None,
            target_is_rdp: None,
        };
        self.next_round(who, user, emergency).await
    }

    /// The rounds that may follow accepted credentials, in order — a new password (an
    /// operator set it), the target menu (`engineer` alone), the emergency's reason
    /// (`engineer:target:emergency`) — or the login's end.
    pub(super) async fn next_round(&mut self, who: LoggedIn, user: &str, emergency: bool) -> Auth {
        if who.account.must_change_password {
            return self.ask_new_password(who, user, emergency);
        }
        if who.target.is_none() {
            return self.offer_menu(who, user).await;
        }
        if emergency {
            self.phase = Phase::DeclaringEmergency {
                who,
                user: user.to_owned(),
            };
            return ask_reason();
        }
        self.phase = Phase::LoggedIn { who, login: None };
        Auth::Accept
    }
}

/// What one password + code attempt came to.
enum Attempt {
    /// Accepted: the reply (success, or the next round after it).
    Done(Auth),
    /// Refused: the client is told with this notice.
    Refused(Notice),
}

/// What the engineer is told after a refused attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Notice {
    /// Refused, whatever failed: the same words for every reason.
    Refused,
    /// The store failed, so nothing could be checked.
    Unchecked,
}

impl Notice {
    /// The words after the connection's last allowed attempt (ASCII).
    fn last(self) -> &'static str {
        match self {
            Self::Refused => messages::REFUSED_LAST,
            Self::Unchecked => messages::UNCHECKED_LAST,
        }
    }
}

/// The password + code round, telling what became of the previous attempt, if any.
fn prompts(notice: Option<Notice>) -> Auth {
    let (instructions, prompts) = match notice {
        None => (messages::CHALLENGE_INSTRUCTIONS, messages::PROMPTS),
        Some(Notice::Refused) => (messages::REFUSED_INSTRUCTIONS, messages::REFUSED_PROMPTS),
        Some(Notice::Unchecked) => (
            messages::UNCHECKED_INSTRUCTIONS,
            messages::UNCHECKED_PROMPTS,
        ),
    };
    Auth::Partial {
        name: Cow::Borrowed(messages::CHALLENGE_NAME),
        instructions: Cow::Borrowed(instructions),
        prompts: Cow::Borrowed(prompts),
    }
}

/// The responses as secrets, the first three at most; the copies are zeroized.
fn collect_answers(response: Response<'_>) -> Vec<SecretString> {
    response
        .take(3)
        .map(|bytes| match String::from_utf8(bytes.to_vec()) {
            Ok(text) => SecretString::from(text),
            Err(error) => {
                let mut raw = error.into_bytes();
                raw.zeroize();
                // Not what the account's password is; verified (and refused) all the same.
                SecretString::from(String::new())
            }
        })
        .collect()
}
