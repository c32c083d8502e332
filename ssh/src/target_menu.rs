//! The target menu for the SSH user name `engineer` alone: one more keyboard-interactive
//! round, after password and code succeeded, listing the targets admissible now
//! (`policy::target_menu`). The answer sets the connection's target exactly as
//! `engineer:target` would, so shell, exec, scp, sftp, forwards and `ControlMaster` work
//! unchanged — and admission still runs for it when the session opens.
//!
//! The round changes nothing about the password + code attempt: it comes only after a
//! success, and a wrong answer is not a failed login. A wrong answer gets one more try;
//! a second one completes the login without a target, and the engineer reads why on the
//! channel, as with no admissible target at all (both audited as `session.denied`).

use std::borrow::Cow;

use policy::ids::Login;
use policy::jst;
use policy::target_menu::{self, MenuEntry, TargetMenu};
use russh::server::{Auth, Response};
use serde_json::json;
use tracing::{info, warn};

use super::handler::ConnectionHandler;
use super::messages;
use super::phase::{LoggedIn, Phase};
use crate::proxy::menu::NoTarget;
use crate::proxy::session::Refusal;

/// Longest answer looked at; a target name is shorter.
const MAX_ANSWER_CHARS: usize = 100;

/// A menu shown and not yet answered.
pub(super) struct PendingMenu {
    /// The user name the credentials were given for: the answer must come under it.
    user: String,
    /// What was offered, in the order shown.
    entries: Vec<MenuEntry>,
    /// Whether the one allowed wrong answer has been used.
    retried: bool,
}

impl ConnectionHandler {
    /// Right after a successful password + code for a user name without a target: the
    /// menu round, or the login's end when there is nothing to choose.
    pub(super) async fn offer_menu(&mut self, who: LoggedIn, user: &str) -> Auth {
        let Some(proxy) = self.proxy.clone() else {
            self.phase = Phase::LoggedIn { who, login: None };
            return Auth::Accept;
        };
        let engineer = who.account.login.clone();
        let header = messages::logged_in_as(&who.account);
        match proxy.target_menu(&engineer).await {
            Ok(TargetMenu::Choose(entries)) => {
                let prompt = menu_prompt(&entries, false);
                info!(offered = entries.len(), "target menu shown");
                self.phase = Phase::ChoosingTarget {
                    who,
                    pending: PendingMenu {
                        user: user.to_owned(),
                        entries,
                        retried: false,
                    },
                };
                ask(prompt)
            }
            Ok(TargetMenu::Nothing(reasons)) => {
                info!(
                    reason = NoTarget::NoneAdmissible.as_str(),
                    "no target admissible"
                );
                let listed: Vec<_> = reasons
                    .iter()
                    .map(|(t, r)| json!({ "target": t.as_str(), "reason": r.as_str() }))
                    .collect();
                proxy
                    .record_no_target(
                        &engineer,
                        NoTarget::NoneAdmissible,
                        json!(listed),
                        self.client_addr,
                    )
                    .await;
                let refusal = Refusal {
                    reason: NoTarget::NoneAdmissible.as_str(),
                    message: format!("{header}{}", nothing_admissible(&reasons)),
                };
                self.phase = refused(who, refusal);
                Auth::Accept
            }
            Err(error) => {
                // Fail closed: the login completes, and no session can start.
                warn!(%error, "store unavailable; no target menu");
                let refusal = Refusal {
                    reason: "unavailable",
                    message: messages::UNAVAILABLE.to_owned(),
                };
                self.phase = refused(who, refusal);
                Auth::Accept
            }
        }
    }

    /// The answer to the menu round.
    pub(super) async fn menu_answer(
        &mut self,
        mut who: LoggedIn,
        mut pending: PendingMenu,
        user: &str,
        response: Option<Response<'_>>,
    ) -> Auth {
        let Some(mut response) = response.filter(|_| pending.user == user) else {
            // A new request, perhaps under another name, instead of an answer: the
            // pending login is dropped and the client starts over.
            info!("target menu abandoned");
            return Auth::reject();
        };
        let answer: String = response
            .next()
            .map(|bytes| {
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(MAX_ANSWER_CHARS)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(entry) = target_menu::choose(&answer, &pending.entries) {
            info!(target = %entry.target, plan_id = %entry.plan, "target chosen from the menu");
            who.target = Some(entry.target.clone());
            self.phase = Phase::LoggedIn { who, login: None };
            return Auth::Accept;
        }
        if !pending.retried {
            pending.retried = true;
            let prompt = menu_prompt(&pending.entries, true);
            self.phase = Phase::ChoosingTarget { who, pending };
            return ask(prompt);
        }
        info!(reason = NoTarget::NotChosen.as_str(), "no target chosen");
        if let Some(proxy) = self.proxy.clone() {
            let engineer: Login = who.account.login.clone();
            let offered: Vec<&str> = pending.entries.iter().map(|e| e.target.as_str()).collect();
            proxy
                .record_no_target(
                    &engineer,
                    NoTarget::NotChosen,
                    json!(offered),
                    self.client_addr,
                )
                .await;
        }
        let refusal = Refusal {
            reason: NoTarget::NotChosen.as_str(),
            message: NOT_CHOSEN.to_owned(),
        };
        self.phase = refused(who, refusal);
        Auth::Accept
    }
}

/// A login that completes without a session: every channel is told `refusal`.
fn refused(who: LoggedIn, refusal: Refusal) -> Phase {
    Phase::Refused {
        who,
        login: None,
        refusal,
        lost: None,
    }
}

/// One echoed prompt.
fn ask(prompt: String) -> Auth {
    Auth::Partial {
        name: Cow::Borrowed(messages::CHALLENGE_NAME),
        instructions: Cow::Borrowed(""),
        prompts: Cow::Owned(vec![(Cow::Owned(prompt), true)]),
    }
}

/// What the engineer reads after two answers not on the menu.
const NOT_CHOSEN: &str = "fumidai: 一覧にある接続先が選ばれなかったため、接続を終了します。\r\n\
     fumidai: no target from the list was chosen; the connection ends.\r\n";

/// The menu as one prompt (the prompt, not the instructions: OpenSSH shows prompts as
/// they are, so they can carry Japanese). No `\r`: the prompt is not on a raw pty.
fn menu_prompt(entries: &[MenuEntry], retry: bool) -> String {
    let mut text = String::new();
    if retry {
        text.push_str(
            "一覧の番号か接続先名で答えてください（あと 1 回）/ \
             Answer with a number or a name from the list (one more try)\n",
        );
    }
    text.push_str("接続先を番号で選んでください / Choose a target by number:\n");
    for (n, e) in entries.iter().enumerate() {
        text.push_str(&format!(
            "  {}) {}  (計画 plan {}, 終了 ends {})\n",
            n.saturating_add(1),
            e.target,
            e.plan,
            jst::format(e.ends_at)
        ));
    }
    text.push_str("番号 / Number: ");
    text
}

/// Why there is nothing to choose: per target, the admission's reason.
fn nothing_admissible(
    reasons: &[(policy::ids::TargetName, policy::admission::DenyReason)],
) -> String {
    let mut text = "fumidai: 現在接続できる接続先はありません。\r\n\
                    fumidai: no target is available to you now.\r\n"
        .to_owned();
    if reasons.is_empty() {
        text.push_str(
            "  現在あなたを作業者とする作業計画がありません / no current work plan names you\r\n",
        );
    }
    for (target, reason) in reasons {
        text.push_str(&format!(
            "  {target}: {} / {}\r\n",
            reason.message_ja(),
            reason.message_en()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use policy::admission::DenyReason;

    use super::*;

    fn entry(name: &str) -> MenuEntry {
        MenuEntry {
            target: name.parse().unwrap(),
            plan: policy::ids::PlanId::generate(),
            ends_at: Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap(),
        }
    }

    #[test]
    fn the_menu_numbers_targets_with_plan_and_end_in_jst() {
        let entries = [entry("db01"), entry("web01")];
        let prompt = menu_prompt(&entries, false);
        assert!(prompt.starts_with("接続先を番号で選んでください / Choose a target by number:\n"));
        let first = format!(
            "  1) db01  (計画 plan {}, 終了 ends 2026-11-26 18:00 JST)\n",
            entries[0].plan
        );
        assert!(prompt.contains(&first), "{prompt}");
        assert!(prompt.contains("  2) web01  ("), "{prompt}");
        assert!(prompt.ends_with("番号 / Number: "), "{prompt}");
        // The test harness's askpass tells prompts apart by this word.
        assert!(!prompt.contains("assword"));
        let again = menu_prompt(&entries, true);
        assert!(
            again.contains("one more try") && again.contains(&first),
            "{again}"
        );
    }

    #[test]
    fn nothing_admissible_names_each_reason_in_both_languages() {
        let starts_at = Utc.with_ymd_and_hms(2026, 11, 26, 3, 0, 0).unwrap();
        let text = nothing_admissible(&[
            (
                "db01".parse().unwrap(),
                DenyReason::WindowNotStarted { starts_at },
            ),
            ("web01".parse().unwrap(), DenyReason::NotApprovedYet),
        ]);
        for needle in [
            "現在接続できる接続先はありません",
            "no target is available to you now",
            "db01: 作業時間帯は 2026-11-26 12:00 JST に始まります / your work window starts at 2026-11-26 12:00 JST",
            "web01: 作業計画はまだ承認されていません / your work plan is not approved yet",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from {text}");
        }
        assert!(nothing_admissible(&[]).contains("no current work plan names you"));
    }
}
