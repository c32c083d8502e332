//! Factory accounts as target logins (R-10.1-NODEFAULT: 工場出荷時の管理者ID を使わない).
//! `root`, `Administrator` and `admin` name nobody: a session logged in as one can be told
//! apart only by fumidai's own records. `target add` refuses them unless the operator states
//! why (`--allow-shared-admin REASON`), which is stored and audited; `fumidai compliance`
//! lists them either way.

use super::MAX_SHARED_ADMIN_REASON_CHARS;

/// The factory account names, compared without regard to case.
pub const FACTORY_LOGINS: [&str; 3] = ["root", "administrator", "admin"];

/// Why a login was refused or its reason not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SharedAdminError {
    /// A factory account without a stated reason.
    #[error(
        "login {login} is a factory account shared by everyone who knows it (R-10.1-NODEFAULT): use a per-purpose account, or state why with --allow-shared-admin \"REASON\" / {login} は工場出荷時の管理者アカウントです。専用アカウントを使うか、--allow-shared-admin で理由を記録してください"
    )]
    FactoryLogin {
        /// The login as typed.
        login: String,
    },
    /// A reason given for a login that is not a factory account.
    #[error(
        "--allow-shared-admin is only for factory accounts (root, Administrator, admin), not {login} / {login} は工場出荷時の管理者アカウントではありません"
    )]
    NotFactory {
        /// The login as typed.
        login: String,
    },
    /// The reason is blank, too long or holds control characters.
    #[error(
        "--allow-shared-admin needs a reason of 1 to {max} printable characters / 理由を{max}文字以内で記入してください"
    )]
    BadReason {
        /// The limit.
        max: usize,
    },
}

/// Whether `login` is a factory account: its user part (after `DOMAIN\` or before
/// `@domain`, as RDP logins may be written) is one of [`FACTORY_LOGINS`], in any case.
pub fn is_factory_login(login: &str) -> bool {
    let user = login.rsplit('\\').next().unwrap_or(login);
    let user = user.split('@').next().unwrap_or(user);
    FACTORY_LOGINS
        .iter()
        .any(|name| user.eq_ignore_ascii_case(name))
}

/// The reason to store with a target's login: `None` for an ordinary login, the trimmed
/// reason for a factory account; refused when a factory account has no reason, or a
/// reason comes with an ordinary login.
pub fn check(login: &str, reason: Option<&str>) -> Result<Option<String>, SharedAdminError> {
    match (is_factory_login(login), reason) {
        (false, None) => Ok(None),
        (false, Some(_)) => Err(SharedAdminError::NotFactory {
            login: login.to_owned(),
        }),
        (true, None) => Err(SharedAdminError::FactoryLogin {
            login: login.to_owned(),
        }),
        (true, Some(reason)) => {
            let reason = reason.trim();
            let bad = reason.is_empty()
                || reason.chars().count() > MAX_SHARED_ADMIN_REASON_CHARS
                || reason.chars().any(char::is_control);
            if bad {
                return Err(SharedAdminError::BadReason {
                    max: MAX_SHARED_ADMIN_REASON_CHARS,
                });
            }
            Ok(Some(reason.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Result<Option<String>, SharedAdminError>,
    );

    #[test]
    fn factory_accounts_need_a_reason() {
        let max = MAX_SHARED_ADMIN_REASON_CHARS;
        let long = "x".repeat(max + 1);
        let cases: Vec<Case<'_>> = vec![
            ("maint", None, Ok(None)),
            ("rooter", None, Ok(None)),
            ("administrators", None, Ok(None)),
            (
                "root",
                None,
                Err(SharedAdminError::FactoryLogin {
                    login: "root".into(),
                }),
            ),
            (
                "ROOT",
                None,
                Err(SharedAdminError::FactoryLogin {
                    login: "ROOT".into(),
                }),
            ),
            (
                "Administrator",
                None,
                Err(SharedAdminError::FactoryLogin {
                    login: "Administrator".into(),
                }),
            ),
            (
                r"HOSP\administrator",
                None,
                Err(SharedAdminError::FactoryLogin {
                    login: r"HOSP\administrator".into(),
                }),
            ),
            (
                "admin@hosp.local",
                None,
                Err(SharedAdminError::FactoryLogin {
                    login: "admin@hosp.local".into(),
                }),
            ),
            (
                "root",
                Some("  appliance without other accounts "),
                Ok(Some("appliance without other accounts".into())),
            ),
            ("root", Some("  "), Err(SharedAdminError::BadReason { max })),
            (
                "root",
                Some("a\u{1b}[2J"),
                Err(SharedAdminError::BadReason { max }),
            ),
            (
                "root",
                Some(long.as_str()),
                Err(SharedAdminError::BadReason { max }),
            ),
            (
                "maint",
                Some("why not"),
                Err(SharedAdminError::NotFactory {
                    login: "maint".into(),
                }),
            ),
        ];
        for (login, reason, expected) in cases {
            assert_eq!(check(login, reason), expected, "{login} {reason:?}");
        }
    }
}
