//! The login decision: device, person and account state combined.
//!
//! The caller gathers every fact first — doing the Argon2 and TOTP work even when an
//! earlier fact already decides the outcome — so that every refusal takes the same time and
//! looks the same to the client. Only the audit trail learns which fact failed.
//!
//! One check comes before that work: [`screen_answers`]. An empty answer is no guess at
//! anything — it is what `scp` or `git` without a terminal sends to every prompt — so it
//! is refused at once, without Argon2 and without counting towards the lock-out. The
//! protocol's rejection time still applies, so the refusal takes as long as any other.

use serde::Serialize;

use crate::totp::{TimeStep, TotpRejection};

/// Everything known about one login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFacts {
    /// An account with this login exists and is enabled.
    pub account_enabled: bool,
    /// The engineer's vendor is enabled and its contract has not ended (R-14-8); always
    /// true for hospital-side accounts, which have no vendor.
    pub vendor_active: bool,
    /// The account is of the kind this entrance admits: engineers over SSH and RDP,
    /// operators in the operator UI. An operator's account is no maintenance path.
    pub kind_admitted: bool,
    /// The login equals the CN of the client certificate the connection presented
    /// (R-10.2-PRIV: one engineer cannot use another's device).
    pub certificate_matches: bool,
    /// The account is locked out now.
    pub locked: bool,
    /// The connection's source address is on the vendor's allow list (R-10.2-PATH).
    pub source_allowed: bool,
    /// The password matched the stored hash.
    pub password_ok: bool,
    /// The TOTP check's result.
    pub totp: Result<TimeStep, TotpRejection>,
}

/// The outcome of a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginDecision {
    /// Let the person in; store `totp_step` as used.
    Accept {
        /// The step of the accepted code.
        totp_step: TimeStep,
    },
    /// Refuse, for the audit trail's reason.
    Reject(LoginRejection),
}

/// Why a login was refused. The client never learns which; the audit trail does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginRejection {
    /// No such account, or it is disabled.
    UnknownAccount,
    /// The account exists but is not of a kind this entrance admits.
    KindNotAdmitted,
    /// The engineer's vendor is disabled or its contract has ended.
    VendorInactive,
    /// The certificate belongs to someone else.
    CertificateMismatch,
    /// The source address is not on the vendor's allow list.
    SourceNotAllowed,
    /// The account is locked out; the credentials were not even considered.
    LockedOut,
    /// Wrong password.
    WrongPassword,
    /// The code was not six digits.
    MalformedCode,
    /// Wrong code.
    WrongCode,
    /// The code was already used.
    ReplayedCode,
    /// The password or the code was answered with nothing ([`screen_answers`]): refused
    /// before any work, and not counted towards the lock-out.
    EmptyAnswer,
    /// The certificate used up its budget of failed logins ([`crate::flood`]): refused
    /// without any work and without a record of its own.
    FailureBudgetExhausted,
}

impl LoginRejection {
    /// Whether this failure counts towards the lock-out. Failures that say nothing about
    /// the person's secrets (a locked account, a wrong device, a wrong address) don't, so
    /// somebody holding no credentials can't lock a person out by knowing their login.
    pub fn counts_towards_lockout(self) -> bool {
        matches!(
            self,
            Self::WrongPassword | Self::MalformedCode | Self::WrongCode | Self::ReplayedCode
        )
    }

    /// Stable name for the audit trail and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownAccount => "unknown_account",
            Self::KindNotAdmitted => "kind_not_admitted",
            Self::VendorInactive => "vendor_inactive",
            Self::CertificateMismatch => "certificate_mismatch",
            Self::SourceNotAllowed => "source_not_allowed",
            Self::LockedOut => "locked_out",
            Self::WrongPassword => "wrong_password",
            Self::MalformedCode => "malformed_code",
            Self::WrongCode => "wrong_code",
            Self::ReplayedCode => "replayed_code",
            Self::EmptyAnswer => "empty_answer",
            Self::FailureBudgetExhausted => "failure_budget_exhausted",
        }
    }
}

/// Whether the answers are worth checking at all, decided before any work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screening {
    /// Both answers were given: verify them ([`decide`] after the work).
    Verify,
    /// Refuse now, without hashing or looking at the account, for this reason.
    Reject(LoginRejection),
}

/// Screens a login's answers before any work (R-14-6(6)). An empty password or an empty
/// code is what a client with no terminal and no askpass sends to every prompt (`scp`,
/// `rsync`, `git` over SSH): two such runs must not lock a person out, and an empty answer
/// guesses nothing. So it is refused without Argon2, as [`LoginRejection::EmptyAnswer`],
/// which does not count towards the lock-out. Anything else, even a single space, is an
/// attempt and is verified.
pub fn screen_answers(password: &str, code: &str) -> Screening {
    if password.is_empty() || code.is_empty() {
        Screening::Reject(LoginRejection::EmptyAnswer)
    } else {
        Screening::Verify
    }
}

/// Whether an engineer's vendor still lets its engineers in: enabled, and `now` before the
/// contract's end (accounts stop at it, R-14-8). `contract_end` is the first instant
/// without a contract.
pub fn vendor_active(
    enabled: bool,
    contract_end: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    enabled && contract_end.is_none_or(|end| now < end)
}

/// Decides a login. Order matters only for which reason is recorded: the first failing
/// fact in the order of the checks a person would expect.
pub fn decide(facts: &LoginFacts) -> LoginDecision {
    let reject = LoginDecision::Reject;
    if !facts.account_enabled {
        return reject(LoginRejection::UnknownAccount);
    }
    if !facts.kind_admitted {
        return reject(LoginRejection::KindNotAdmitted);
    }
    if !facts.vendor_active {
        return reject(LoginRejection::VendorInactive);
    }
    if !facts.certificate_matches {
        return reject(LoginRejection::CertificateMismatch);
    }
    if !facts.source_allowed {
        return reject(LoginRejection::SourceNotAllowed);
    }
    if facts.locked {
        return reject(LoginRejection::LockedOut);
    }
    if !facts.password_ok {
        return reject(LoginRejection::WrongPassword);
    }
    match facts.totp {
        Ok(step) => LoginDecision::Accept { totp_step: step },
        Err(TotpRejection::Malformed) => reject(LoginRejection::MalformedCode),
        Err(TotpRejection::Wrong) => reject(LoginRejection::WrongCode),
        Err(TotpRejection::Replayed) => reject(LoginRejection::ReplayedCode),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> LoginFacts {
        LoginFacts {
            account_enabled: true,
            vendor_active: true,
            kind_admitted: true,
            certificate_matches: true,
            locked: false,
            source_allowed: true,
            password_ok: true,
            totp: Ok(TimeStep(7)),
        }
    }

    #[test]
    fn decisions() {
        use LoginRejection::*;
        let table: Vec<(LoginFacts, LoginDecision)> = vec![
            (
                good(),
                LoginDecision::Accept {
                    totp_step: TimeStep(7),
                },
            ),
            (
                LoginFacts {
                    account_enabled: false,
                    ..good()
                },
                LoginDecision::Reject(UnknownAccount),
            ),
            (
                LoginFacts {
                    kind_admitted: false,
                    ..good()
                },
                LoginDecision::Reject(KindNotAdmitted),
            ),
            (
                LoginFacts {
                    vendor_active: false,
                    ..good()
                },
                LoginDecision::Reject(VendorInactive),
            ),
            (
                LoginFacts {
                    certificate_matches: false,
                    ..good()
                },
                LoginDecision::Reject(CertificateMismatch),
            ),
            (
                LoginFacts {
                    source_allowed: false,
                    ..good()
                },
                LoginDecision::Reject(SourceNotAllowed),
            ),
            // The right credentials are still refused while locked.
            (
                LoginFacts {
                    locked: true,
                    ..good()
                },
                LoginDecision::Reject(LockedOut),
            ),
            (
                LoginFacts {
                    password_ok: false,
                    ..good()
                },
                LoginDecision::Reject(WrongPassword),
            ),
            (
                LoginFacts {
                    totp: Err(TotpRejection::Wrong),
                    ..good()
                },
                LoginDecision::Reject(WrongCode),
            ),
            (
                LoginFacts {
                    totp: Err(TotpRejection::Replayed),
                    ..good()
                },
                LoginDecision::Reject(ReplayedCode),
            ),
            (
                LoginFacts {
                    totp: Err(TotpRejection::Malformed),
                    ..good()
                },
                LoginDecision::Reject(MalformedCode),
            ),
            (
                LoginFacts {
                    password_ok: false,
                    totp: Err(TotpRejection::Wrong),
                    ..good()
                },
                LoginDecision::Reject(WrongPassword),
            ),
        ];
        for (facts, expected) in table {
            assert_eq!(decide(&facts), expected, "{facts:?}");
        }
    }

    #[test]
    fn vendors_stop_at_their_contract_end() {
        use chrono::TimeZone;
        let end = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let before = end - chrono::Duration::seconds(1);
        let table = [
            (true, None, before, true),
            (true, Some(end), before, true),
            (true, Some(end), end, false),
            (false, None, before, false),
            (false, Some(end), before, false),
        ];
        for (enabled, contract_end, now, active) in table {
            assert_eq!(vendor_active(enabled, contract_end, now), active);
        }
    }

    #[test]
    fn empty_answers_are_refused_before_any_work() {
        let empty = Screening::Reject(LoginRejection::EmptyAnswer);
        // (password, code, screening)
        let table = [
            ("", "", empty),
            ("", "123456", empty),
            ("Suzuran-Kagami-7731", "", empty),
            ("Suzuran-Kagami-7731", "123456", Screening::Verify),
            // Not empty: wrong, and verified (and counted) as such.
            (" ", "123456", Screening::Verify),
            ("x", "1", Screening::Verify),
        ];
        for (password, code, expected) in table {
            assert_eq!(
                screen_answers(password, code),
                expected,
                "{password:?} {code:?}"
            );
        }
    }

    #[test]
    fn only_secret_failures_count_towards_lockout() {
        use LoginRejection::*;
        for r in [WrongPassword, WrongCode, ReplayedCode, MalformedCode] {
            assert!(r.counts_towards_lockout());
        }
        for r in [
            UnknownAccount,
            KindNotAdmitted,
            VendorInactive,
            CertificateMismatch,
            SourceNotAllowed,
            LockedOut,
            EmptyAnswer,
            FailureBudgetExhausted,
        ] {
            assert!(!r.counts_towards_lockout());
        }
    }
}
