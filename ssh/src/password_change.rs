//! The forced password change (§14 ⑥(5)): after an operator set an engineer's password
//! (`engineer reset`), the engineer's next SSH login gets one more keyboard-interactive
//! round right after password + code succeeded: the new password, twice. It must differ
//! from the one the operator typed and pass `policy::password::check_strength`; it is
//! stored as the engineer's own (`account.password_changed`, actor the engineer). One
//! wrong answer gets another try; after a second the login is refused — no session is
//! admitted until the password is changed. The round is no password attempt: it changes
//! nothing about attempts, lock-out or timing of the credentials round.
//!
//! Like the target menu's, this round's prompts name "New password" so a client can tell
//! them from the login's own.

use std::borrow::Cow;

use policy::password;
use russh::server::{Auth, Response};
use secrecy::{ExposeSecret, SecretString};
use store::{Actor, PasswordSet};
use tracing::{info, warn};

use super::handler::ConnectionHandler;
use super::messages;
use super::phase::{LoggedIn, Phase};

/// Longest new password looked at (a longer answer is refused, not cut).
const MAX_PASSWORD_CHARS: usize = 256;

/// The round's first prompt, below the reason it is asked.
const NEW_PASSWORD: &str = "新しいパスワード / New password: ";

/// The round's second prompt.
const NEW_PASSWORD_AGAIN: &str = "新しいパスワード（確認） / New password again: ";

/// A password change asked for and not yet answered.
pub(super) struct PendingChange {
    /// The user name the credentials were given for: the answer must come under it.
    user: String,
    /// Whether the one allowed wrong answer has been used.
    retried: bool,
    /// The user name named an emergency: its reason is asked for afterwards.
    emergency: bool,
}

impl ConnectionHandler {
    /// Right after a successful password + code of an account that must change its
    /// password first: the round that asks for it.
    pub(super) fn ask_new_password(&mut self, who: LoggedIn, user: &str, emergency: bool) -> Auth {
        info!("password change required before any session");
        self.phase = Phase::ChangingPassword {
            who,
            pending: PendingChange {
                user: user.to_owned(),
                retried: false,
                emergency,
            },
        };
        ask(messages_ja_en(
            "パスワードは運用担当者が設定したものです。新しいパスワードを設定してください。",
            "Your password was set by an operator: choose a new one.",
        ))
    }

    /// The answer to the password-change round.
    pub(super) async fn password_change_answer(
        &mut self,
        mut who: LoggedIn,
        mut pending: PendingChange,
        user: &str,
        response: Option<Response<'_>>,
    ) -> Auth {
        let Some(response) = response.filter(|_| pending.user == user) else {
            info!("password change abandoned");
            return Auth::reject();
        };
        let answers: Vec<SecretString> = response
            .take(2)
            .map(|b| SecretString::from(String::from_utf8_lossy(&b).into_owned()))
            .collect();
        match self.change_password(&who, &answers).await {
            Ok(()) => {
                info!("password changed by its owner");
                who.account.must_change_password = false;
                // Then the menu or the emergency's reason, as after the credentials.
                self.next_round(who, &pending.user, pending.emergency).await
            }
            Err(why) if !pending.retried => {
                pending.retried = true;
                self.phase = Phase::ChangingPassword { who, pending };
                ask(why)
            }
            Err(_) => {
                info!("password not changed; login refused");
                Auth::reject()
            }
        }
    }

    /// Checks and stores `who`'s new password; the error is what the engineer reads.
    async fn change_password(
        &self,
        who: &LoggedIn,
        answers: &[SecretString],
    ) -> Result<(), String> {
        let Some(proxy) = self.proxy.clone() else {
            return Err(messages::UNAVAILABLE.to_owned());
        };
        let [new, again] = answers else {
            return Err(messages_ja_en(
                "新しいパスワードを2回入力してください。",
                "type the new password twice.",
            ));
        };
        if new.expose_secret() != again.expose_secret() {
            return Err(messages_ja_en(
                "2回の入力が一致しません。",
                "the two passwords differ.",
            ));
        }
        if new.expose_secret().chars().count() > MAX_PASSWORD_CHARS {
            return Err(messages_ja_en("長すぎます。", "too long."));
        }
        let login = who.account.login.clone();
        let context: Vec<&str> = who
            .account
            .display_name
            .iter()
            .flat_map(|n| n.split_whitespace())
            .collect();
        if let Err(rejection) = password::check_strength(login.as_str(), &context, new) {
            return Err(format!("{rejection}\r\n"));
        }
        let credentials = match proxy.sessions.store.credentials(&login).await {
            Ok(Some(c)) => c,
            Ok(None) | Err(_) => return Err(messages::UNAVAILABLE.to_owned()),
        };
        let candidate = new.clone();
        let old_hash = credentials.password_hash;
        let hashed = tokio::task::spawn_blocking(move || {
            // The operator knows the old one: the new one must differ (§14 ⑥(5)).
            if password::verify(Some(&old_hash), &candidate) {
                return Ok(None);
            }
            password::hash(&candidate).map(Some)
        })
        .await;
        let hash = match hashed {
            Ok(Ok(Some(hash))) => hash,
            Ok(Ok(None)) => {
                return Err(messages_ja_en(
                    "運用担当者が設定したパスワードとは別のものにしてください。",
                    "choose a password other than the one the operator set.",
                ));
            }
            Ok(Err(_)) | Err(_) => return Err(messages::UNAVAILABLE.to_owned()),
        };
        match proxy
            .sessions
            .store
            .set_password(
                &login,
                &hash,
                &PasswordSet::ChangedByOwner,
                &Actor::Person(login.clone()),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(error) => {
                warn!(%error, "new password not stored");
                Err(messages::UNAVAILABLE.to_owned())
            }
        }
    }
}

fn messages_ja_en(ja: &str, en: &str) -> String {
    format!("{ja}\r\n{en}\r\n")
}

/// The round, with `why` (Japanese and English) shown above its first prompt: OpenSSH
/// escapes non-ASCII instructions as octal but shows prompts as they are, so the
/// instructions stay English and ASCII (see `messages`).
fn ask(why: String) -> Auth {
    Auth::Partial {
        name: Cow::Borrowed(messages::CHALLENGE_NAME),
        instructions: Cow::Borrowed(INSTRUCTIONS),
        prompts: Cow::Owned(vec![
            (Cow::Owned(format!("{why}{NEW_PASSWORD}")), false),
            (Cow::Borrowed(NEW_PASSWORD_AGAIN), false),
        ]),
    }
}

/// The round's instructions (ASCII).
const INSTRUCTIONS: &str = "A new password is needed before the session: type it twice.";
