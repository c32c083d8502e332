//! What an engineer does in their own name through the front door, on a login without a
//! target (user name `engineer` alone): `attest PLAN NOTE` — the data-deletion attestation
//! of a plan naming them (R-10-1), made with their own certificate, password and code,
//! never typed at the hospital's console in their name — and `password`, which asks for a
//! new password at the next login (§14 ⑥(5); the change itself is that login's extra
//! keyboard-interactive round, `ssh::password_change`, so the password never travels
//! through a channel).
//!
//! The command line is what `ssh alice@gw attest PLAN "what was deleted"` sends: words
//! joined by spaces. The plan is the second word; the note is the rest.

use chrono::Utc;
use policy::ids::PlanId;
use policy::plan::{PlanError, lifecycle};
use russh::ChannelId;
use russh::server::Session;
use store::Actor;
use tracing::{info, warn};

use super::handler::ConnectionHandler;

/// The word that starts an attestation.
const ATTEST: &str = "attest";

/// The command asking for a new password at the next login.
const PASSWORD: &str = "password";

/// Longest command line read (the note's own limit is `policy::plan`'s).
const MAX_COMMAND_BYTES: usize = 8 * 1024;

/// Whether an exec command on a target-less login is one of the engineer's commands.
pub(super) fn is_engineer_command(command: &[u8]) -> bool {
    let first = command
        .trim_ascii_start()
        .split(|b| b.is_ascii_whitespace())
        .next()
        .unwrap_or_default();
    first == ATTEST.as_bytes() || first == PASSWORD.as_bytes()
}

/// A parsed `attest PLAN NOTE`.
#[derive(Debug, PartialEq, Eq)]
struct Attest {
    plan: PlanId,
    note: String,
}

/// Why a command line is not a usable `attest`.
#[derive(Debug, PartialEq, Eq)]
enum Unusable {
    /// Not UTF-8, too long, or missing its plan or note.
    Usage,
    /// The plan ID is not one.
    BadPlan,
}

fn parse(command: &[u8]) -> Result<Attest, Unusable> {
    if command.len() > MAX_COMMAND_BYTES {
        return Err(Unusable::Usage);
    }
    let text = std::str::from_utf8(command).map_err(|_| Unusable::Usage)?;
    let (word, rest) = text
        .trim()
        .split_once(char::is_whitespace)
        .ok_or(Unusable::Usage)?;
    if word != ATTEST {
        return Err(Unusable::Usage);
    }
    let rest = rest.trim_start();
    let (plan, note) = rest
        .split_once(char::is_whitespace)
        .ok_or(Unusable::Usage)?;
    let plan: PlanId = plan.parse().map_err(|_| Unusable::BadPlan)?;
    // A note quoted for a remote shell (`'…'` or `"…"`) is taken without its quotes.
    let note = note.trim();
    let note = ['"', '\'']
        .iter()
        .find_map(|q| note.strip_prefix(*q).and_then(|n| n.strip_suffix(*q)))
        .unwrap_or(note)
        .trim();
    if note.is_empty() {
        return Err(Unusable::Usage);
    }
    Ok(Attest {
        plan,
        note: note.to_owned(),
    })
}

const USAGE: &str = "使い方: ssh 作業者@踏み台 attest 計画ID \"消去した内容・場所・方法\"\r\n\
                     usage: ssh ENGINEER@GATEWAY attest PLAN \"what was deleted, where and how\"\r\n";

/// Unknown plans and plans not naming the engineer read the same, so plan IDs of other
/// vendors can't be probed.
const NOT_YOURS: &str = "この作業計画はありません、またはあなたは作業者として記載されていません\r\n\
                         no such plan names you as an engineer\r\n";

impl ConnectionHandler {
    /// Runs an engineer's command (see the module documentation) and ends the channel:
    /// exit 0 when done, 1 when refused, 2 on a usage error.
    pub(super) async fn answer_engineer_command(
        &mut self,
        channel: ChannelId,
        command: &[u8],
        session: &mut Session,
    ) -> Result<(), super::Error> {
        let (Some(proxy), Some(who)) = (self.proxy.clone(), self.phase.who()) else {
            return self.end_channel_with(channel, session, 1);
        };
        let engineer = who.account.login.clone();
        if command.trim_ascii() == PASSWORD.as_bytes() {
            return self
                .answer_password_request(channel, &proxy, &engineer, session)
                .await;
        }
        let attest = match parse(command) {
            Ok(attest) => attest,
            Err(Unusable::Usage) => {
                session.extended_data(channel, 1, USAGE.as_bytes().to_vec())?;
                return self.end_channel_with(channel, session, 2);
            }
            Err(Unusable::BadPlan) => {
                session.extended_data(channel, 1, NOT_YOURS.as_bytes().to_vec())?;
                return self.end_channel_with(channel, session, 1);
            }
        };
        let plan = match proxy.sessions.store.plan(&attest.plan).await {
            Ok(Some(plan)) if plan.names_engineer(&engineer) => plan,
            Ok(_) => {
                info!(plan_id = %attest.plan, "attestation refused: plan unknown or not naming the engineer");
                session.extended_data(channel, 1, NOT_YOURS.as_bytes().to_vec())?;
                return self.end_channel_with(channel, session, 1);
            }
            Err(error) => {
                warn!(%error, "store unavailable for an attestation");
                session.extended_data(
                    channel,
                    1,
                    super::messages::STORE_UNAVAILABLE.as_bytes().to_vec(),
                )?;
                return self.end_channel_with(channel, session, 1);
            }
        };
        let refused = |e: PlanError| format!("{e}\r\n").into_bytes();
        let attested = match lifecycle::attest(&plan, &engineer, &attest.note, Utc::now()) {
            Ok(attested) => attested,
            Err(error) => {
                session.extended_data(channel, 1, refused(error))?;
                return self.end_channel_with(channel, session, 1);
            }
        };
        match proxy
            .sessions
            .store
            .advance_plan(attested, plan.status, &Actor::Person(engineer.clone()))
            .await
        {
            Ok(stored) => {
                info!(plan_id = %stored.id, "data deletion attested");
                let text = format!(
                    "作業計画 {id} のデータ消去を報告しました\r\n\
                     data deletion for plan {id} attested by {engineer}\r\n",
                    id = stored.id
                );
                session.data(channel, text.into_bytes())?;
                self.end_channel_with(channel, session, 0)
            }
            Err(error) => {
                warn!(%error, "attestation not stored");
                let text = match error {
                    store::Error::InvalidTransition { .. } => {
                        "この計画は既に報告済みか、状態が変わりました\r\n\
                         the plan was attested already or its state changed\r\n"
                    }
                    _ => super::messages::STORE_UNAVAILABLE,
                };
                session.extended_data(channel, 1, text.as_bytes().to_vec())?;
                self.end_channel_with(channel, session, 1)
            }
        }
    }
}

impl ConnectionHandler {
    /// `password`: the engineer, logged in with their credentials, asks to choose a new
    /// password; the next login asks for it (`ssh::password_change`) before anything else.
    async fn answer_password_request(
        &mut self,
        channel: ChannelId,
        proxy: &crate::proxy::session::ProxyContext,
        engineer: &policy::ids::Login,
        session: &mut Session,
    ) -> Result<(), super::Error> {
        match proxy
            .sessions
            .store
            .require_password_change(engineer, &Actor::Person(engineer.clone()))
            .await
        {
            Ok(()) => {
                info!("password change requested by its owner");
                let text = "次回のログインで新しいパスワードを設定します。もう一度ログインしてください。\r\n\
                            log in again: you will be asked for a new password first.\r\n";
                session.data(channel, text.as_bytes().to_vec())?;
                self.end_channel_with(channel, session, 0)
            }
            Err(error) => {
                warn!(%error, "password change request not stored");
                session.extended_data(
                    channel,
                    1,
                    super::messages::STORE_UNAVAILABLE.as_bytes().to_vec(),
                )?;
                self.end_channel_with(channel, session, 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines() {
        let id = "0192f0c4-8a3e-7c1b-9d2e-5f6a7b8c9d0e";
        let plan: PlanId = id.parse().unwrap();
        let ok = |note: &str| {
            Ok(Attest {
                plan,
                note: note.to_owned(),
            })
        };
        let table: Vec<(String, Result<Attest, Unusable>)> = vec![
            (
                format!("attest {id} /tmp を削除しました"),
                ok("/tmp を削除しました"),
            ),
            (
                format!("  attest {id}   \"rm -rf /tmp/work\"  "),
                ok("rm -rf /tmp/work"),
            ),
            (format!("attest {id} 'shred'"), ok("shred")),
            (format!("attest {id}"), Err(Unusable::Usage)),
            (format!("attest {id}   \"\" "), Err(Unusable::Usage)),
            ("attest not-a-plan note".to_owned(), Err(Unusable::BadPlan)),
            ("attest".to_owned(), Err(Unusable::Usage)),
            ("attestation x y".to_owned(), Err(Unusable::Usage)),
        ];
        for (line, expected) in table {
            assert_eq!(parse(line.as_bytes()), expected, "{line:?}");
        }
        assert_eq!(parse(&[b'a'; MAX_COMMAND_BYTES + 1]), Err(Unusable::Usage));
        assert_eq!(parse(b"attest \xff\xfe x"), Err(Unusable::Usage));
        assert!(is_engineer_command(b" attest x y"));
        assert!(!is_engineer_command(b"attestation"));
        assert!(!is_engineer_command(b"id"));
        assert!(is_engineer_command(b"password"));
    }
}
