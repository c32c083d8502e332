//! Every text an SSH user sees, in Japanese and English.
//!
//! Terminal texts end lines with `\r\n` so they also read well on a pty in raw mode.
//! Texts that OpenSSH prints through its logger (disconnect reasons, channel-open
//! failures, the keyboard-interactive instructions) are ASCII only: it shows any other
//! byte there as an octal escape.

use std::borrow::Cow;

use policy::ids::TargetName;
use store::Account;

/// The keyboard-interactive challenge's name, shown by some clients as a title.
pub(crate) const CHALLENGE_NAME: &str = "fumidai";

/// The line above the prompts. English only, and ASCII: OpenSSH prints a challenge's name
/// and instructions through its logger, which escapes every non-ASCII byte as octal
/// (`\343\203\221…`) whatever the locale. The prompts themselves reach the terminal as
/// they are, so they carry the Japanese.
pub(crate) const CHALLENGE_INSTRUCTIONS: &str =
    "Enter your password and the code from your authenticator app.";

/// The two prompts, neither echoed: the password, then the TOTP code.
pub(crate) const PROMPTS: &[(Cow<'static, str>, bool)] = &[
    (Cow::Borrowed("Password / パスワード: "), false),
    (
        Cow::Borrowed("Verification code (TOTP) / 確認コード: "),
        false,
    ),
];

/// What a refused login attempt is told, in English (ASCII, for the instructions). The
/// same words whatever failed — wrong password, wrong or replayed code, unknown or locked
/// account, wrong device (STYLE.md §7) — so it names every cause a person can act on.
macro_rules! refused_en {
    () => {
        "Login failed: the password or the verification code was wrong.\n\
         A code works only once: if you have just used it, wait for the next one.\n\
         Repeated failures lock the account for a while; the operator can unlock it."
    };
}

/// The same in Japanese, above the password prompt: prompts reach the terminal as they
/// are, instructions don't (see [`CHALLENGE_INSTRUCTIONS`]).
macro_rules! refused_ja {
    () => {
        "ログインできませんでした。パスワードまたは確認コードが違います。\n\
         確認コードは1回しか使えません。使ったばかりのコードなら、次のコードに変わるまで待ってください。\n\
         失敗が続くとアカウントがしばらくロックされます（解除は運用担当者に依頼してください）。\n"
    };
}

/// The instructions of the round after a refused attempt.
pub(crate) const REFUSED_INSTRUCTIONS: &str = concat!(
    refused_en!(),
    "\nEnter your password and the code from your authenticator app."
);

/// The prompts of the round after a refused attempt: the Japanese notice heads the first.
pub(crate) const REFUSED_PROMPTS: &[(Cow<'static, str>, bool)] = &[
    (
        Cow::Borrowed(concat!(refused_ja!(), "Password / パスワード: ")),
        false,
    ),
    (
        Cow::Borrowed("Verification code (TOTP) / 確認コード: "),
        false,
    ),
];

/// After the connection's last allowed attempt was refused, the instructions of a round
/// without prompts: no further round would tell, and SSH has no other place for it here
/// (russh sends a USERAUTH banner only before the first attempt). ASCII only, so the
/// Japanese can't be there for OpenSSH.
pub(crate) const REFUSED_LAST: &str =
    concat!(refused_en!(), "\nNo more attempts on this connection.");

/// What the next round says when the store failed during the attempt (English, ASCII).
pub(crate) const UNCHECKED_INSTRUCTIONS: &str = "Your login could not be checked (internal error: the database did not answer); \
     please try again, or contact the operator.\n\
     Enter your password and the code from your authenticator app.";

/// The same in Japanese, heading the first prompt of that round.
pub(crate) const UNCHECKED_PROMPTS: &[(Cow<'static, str>, bool)] = &[
    (
        Cow::Borrowed(
            "fumidai の内部エラー（データベースが応答しません）のため、ログインを確認できませんでした。\n\
             もう一度試すか、運用担当者に連絡してください。\n\
             Password / パスワード: ",
        ),
        false,
    ),
    (
        Cow::Borrowed("Verification code (TOTP) / 確認コード: "),
        false,
    ),
];

/// The store failed during the connection's last allowed attempt (English, ASCII).
pub(crate) const UNCHECKED_LAST: &str = "Your login could not be checked (internal error: the database did not answer); \
     please contact the operator.";

/// The emergency declaration's prompt (user name `engineer:target:emergency`).
pub(crate) const EMERGENCY_PROMPT: &str =
    "緊急対応の理由 / Emergency: what happened and why it can't wait: ";

/// Shown before the prompts when the store can't be reached: no login is possible now.
pub(crate) const STORE_UNAVAILABLE: &str = "fumidai: 内部エラー（データベースに接続できません）のため、現在ログインできません。運用担当者に連絡してください。\r\n\
     fumidai: logins are not possible right now (internal error: the database is unreachable); please contact the operator.\r\n";

/// The disconnect reason once the message has been shown.
pub(crate) const DISCONNECT_NO_TARGET: &str = "no target available yet";

/// Why a forwarded or direct TCP channel was refused (shown after "administratively
/// prohibited").
pub(crate) const PORT_FORWARDING_REFUSED: &str = "port forwarding is not available through fumidai";

/// Why a direct TCP channel was refused when the connection has no session: no target in
/// the user name, or admission refused it.
pub(crate) const FORWARD_NEEDS_SESSION: &str =
    "port forwarding needs an admitted session (user name engineer:target)";

/// Why a direct TCP channel was refused when the store or the audit trail failed.
pub(crate) const FORWARD_UNAVAILABLE: &str = "port forwarding is unavailable (internal error)";

/// Why a direct TCP channel was refused when the target's sshd refused it.
pub(crate) const FORWARD_TARGET_REFUSED: &str = "the target refused the forwarded connection";

/// Too many forwards on one connection.
pub(crate) const TOO_MANY_FORWARDS: &str = "too many port forwards";

/// What the engineer reads when the store failed while logging them in.
pub(crate) const UNAVAILABLE: &str = "fumidai の内部エラーのため接続できません。運用担当者に連絡してください。\r\n\
     fumidai cannot open the session (internal error); please contact the operator.\r\n";

/// Why an X11 or streamlocal channel was refused.
pub(crate) const CHANNEL_TYPE_REFUSED: &str = "this channel type is not available through fumidai";

/// Too many session channels on one connection.
pub(crate) const TOO_MANY_CHANNELS: &str =
    "too many channels on this connection (at most 4 session channels and forwards at once)";

/// Written to a channel's stderr when agent forwarding is asked for.
pub(crate) const AGENT_REFUSED: &str = "fumidai: エージェント転送は利用できません。\r\n\
     fumidai: agent forwarding is not available.\r\n";

/// Written to a channel's stderr when X11 forwarding is asked for.
pub(crate) const X11_REFUSED: &str = "fumidai: X11 転送は利用できません。\r\n\
     fumidai: X11 forwarding is not available.\r\n";

/// Written to a channel's stderr when a subsystem (`sftp`) is asked for.
pub(crate) fn subsystem_refused(name: &str) -> String {
    let name = printable(name);
    format!(
        "fumidai: サブシステム {name} はまだ利用できません。\r\n\
         fumidai: subsystem {name} is not available yet.\r\n"
    )
}

/// What a logged-in engineer reads on `shell` or `exec` while no target can be reached:
/// who they are logged in as, and that no target is available yet.
pub(crate) fn no_target_yet(account: &Account, requested: Option<&TargetName>) -> String {
    let mut text = logged_in_as(account);
    match requested {
        Some(target) => text.push_str(&format!(
            "接続先 {target} は利用できません（接続先への接続は今後提供されます）。\r\n\
             target {target} is not available (target access arrives later).\r\n"
        )),
        None => text.push_str(
            "現在利用できる接続先はありません。\r\n\
             No target is available yet.\r\n",
        ),
    }
    text
}

/// Who is logged in: login, name and vendor, told before any "no target" explanation.
pub(crate) fn logged_in_as(account: &Account) -> String {
    let login = account.login.as_str();
    let name = account
        .display_name
        .as_deref()
        .map_or_else(|| "-".to_owned(), printable);
    let vendor = account.vendor.as_ref().map_or("-", |v| v.as_str());
    format!(
        "fumidai: ログインしました / logged in\r\n\
         \x20 ログイン名 / login:  {login}\r\n\
         \x20 氏名 / name:         {name}\r\n\
         \x20 保守事業者 / vendor: {vendor}\r\n"
    )
}

/// Drops control characters, so a stored or typed name can't move the cursor or change
/// the terminal's state.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// Shown at the start of every interactive shell, before the target's first byte: the
/// plan the work runs under, when the session will be cut, and that it is recorded
/// (R-10-3; the engineer knows the rules of the session).
pub(crate) fn session_banner(
    plan: &policy::ids::PlanId,
    ends_at: chrono::DateTime<chrono::Utc>,
) -> std::sync::Arc<str> {
    let end = policy::jst::format(ends_at);
    format!(
        "fumidai: 作業計画 {plan}、作業時間帯の終了 {end}。この作業は記録されています。\r\n\
         fumidai: work plan {plan}, window ends {end}. This session is recorded.\r\n"
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use policy::ids::AccountKind;

    fn account(display_name: Option<&str>) -> Account {
        Account {
            login: "alice".parse().unwrap(),
            kind: AccountKind::Engineer,
            display_name: display_name.map(str::to_owned),
            vendor: Some("acme".parse().unwrap()),
            role: None,
            enabled: true,
            created_at: Utc::now(),
            locked_until: None,
            must_change_password: false,
        }
    }

    #[test]
    fn no_target_names_the_person_in_both_languages() {
        let text = no_target_yet(&account(Some("山田 花子")), None);
        for needle in [
            "alice",
            "山田 花子",
            "acme",
            "ログインしました",
            "logged in",
            "No target",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from {text:?}");
        }
        let db01: TargetName = "db01".parse().unwrap();
        let text = no_target_yet(&account(None), Some(&db01));
        assert!(text.contains("target db01 is not available"), "{text}");
        assert!(text.contains("接続先 db01 は利用できません"), "{text}");
    }

    #[test]
    fn control_characters_are_dropped() {
        let text = no_target_yet(&account(Some("evil\x1b]0;owned\x07name")), None);
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        assert!(!subsystem_refused("sftp\r\x1b[2J").contains('\x1b'));
    }

    #[test]
    fn protocol_texts_are_ascii() {
        for text in [
            DISCONNECT_NO_TARGET,
            PORT_FORWARDING_REFUSED,
            FORWARD_NEEDS_SESSION,
            FORWARD_UNAVAILABLE,
            FORWARD_TARGET_REFUSED,
            TOO_MANY_FORWARDS,
            CHANNEL_TYPE_REFUSED,
            TOO_MANY_CHANNELS,
            CHALLENGE_INSTRUCTIONS,
            REFUSED_INSTRUCTIONS,
            REFUSED_LAST,
            UNCHECKED_INSTRUCTIONS,
            UNCHECKED_LAST,
        ] {
            assert!(text.is_ascii(), "{text}");
        }
    }

    #[test]
    fn a_refusal_is_told_in_both_languages_with_the_usual_prompts() {
        for en in [REFUSED_INSTRUCTIONS, REFUSED_LAST] {
            for needle in ["password or the verification code", "only once", "unlock"] {
                assert!(en.contains(needle), "{needle:?} missing from {en:?}");
            }
        }
        let [(first, false), (second, false)] = REFUSED_PROMPTS else {
            panic!("two prompts, neither echoed: {REFUSED_PROMPTS:?}");
        };
        for needle in ["パスワードまたは確認コード", "1回しか", "ロック"] {
            assert!(first.contains(needle), "{needle:?} missing from {first:?}");
        }
        // The usual prompts end them, so clients and scripts that look for them still do.
        for (prompts, rounds) in [
            (REFUSED_PROMPTS, "refused"),
            (UNCHECKED_PROMPTS, "unchecked"),
        ] {
            assert_eq!(prompts.len(), PROMPTS.len(), "{rounds}");
            for ((got, _), (usual, _)) in prompts.iter().zip(PROMPTS) {
                assert!(got.ends_with(usual.as_ref()), "{rounds}: {got:?}");
            }
        }
        assert_eq!(second, &PROMPTS[1].0);
    }
}
