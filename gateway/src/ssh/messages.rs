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
        ] {
            assert!(text.is_ascii(), "{text}");
        }
    }
}
