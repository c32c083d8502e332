//! Time-based one-time codes (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits), the second
//! factor of R-10.2-2FA / R-14-5.
//!
//! A code is accepted once only: the caller stores the step of the last accepted code and
//! passes it back, and a code from that step or an earlier one is refused as a replay.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretBox};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// Length of the step, in seconds.
pub const STEP_SECONDS: u64 = 30;
/// Steps of clock skew tolerated either side of now.
pub const SKEW_STEPS: u64 = 1;
/// Digits in a code.
pub const DIGITS: usize = 6;
/// Bytes in a new secret: 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;

/// A shared TOTP secret. Debug prints `<secret>`; the bytes are zeroized on drop.
pub struct TotpSecret(SecretBox<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<secret>)")
    }
}

impl TotpSecret {
    /// A fresh random secret.
    pub fn generate() -> Self {
        let mut bytes = vec![0_u8; SECRET_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// Wraps stored secret bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// The raw bytes, for sealing into the store.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The secret in base32 without padding, as typed into an authenticator app.
    pub fn to_base32(&self) -> String {
        totp(self, None).get_secret_base32()
    }

    /// The `otpauth://totp/…` URI an authenticator app scans.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        totp(self, Some((issuer, account))).get_url()
    }

    /// The code for a given moment; used by tests and by the enrolment self-check.
    pub fn code_at(&self, at: DateTime<Utc>) -> String {
        totp(self, None).generate(unix_seconds(at))
    }
}

/// The index of a 30-second step since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeStep(pub u64);

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpRejection {
    /// Not six ASCII digits.
    #[error("code is not six digits")]
    Malformed,
    /// Matches no step within the skew window.
    #[error("code does not match")]
    Wrong,
    /// Matches a step at or before the last accepted one (R-10.2-2FA: one use only).
    #[error("code was already used")]
    Replayed,
}

/// Checks `code` at `now`, refusing steps at or before `last_used`. On success returns the
/// matched step, which the caller must store (atomically, so two parallel logins can't
/// both use it) before admitting anyone.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    now: DateTime<Utc>,
    last_used: Option<TimeStep>,
) -> Result<TimeStep, TotpRejection> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpRejection::Malformed);
    }
    let current = unix_seconds(now) / STEP_SECONDS;
    let totp = totp(secret, None);
    // Check every step in the window, without stopping early, so timing says nothing of
    // which step matched.
    let mut matched: Option<TimeStep> = None;
    for step in current.saturating_sub(SKEW_STEPS)..=current.saturating_add(SKEW_STEPS) {
        let expected = totp.generate(step * STEP_SECONDS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            let newer = matched.is_none_or(|m| step > m.0);
            if newer {
                matched = Some(TimeStep(step));
            }
        }
    }
    match (matched, last_used) {
        (None, _) => Err(TotpRejection::Wrong),
        (Some(step), Some(last)) if step <= last => Err(TotpRejection::Replayed),
        (Some(step), _) => Ok(step),
    }
}

fn totp(secret: &TotpSecret, label: Option<(&str, &str)>) -> TOTP {
    let (issuer, account) = label.map_or((None, String::new()), |(i, a)| {
        (Some(i.replace(':', "")), a.replace(':', ""))
    });
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        // Skew is applied by `verify` itself, which also reports the matched step.
        0,
        STEP_SECONDS,
        secret.expose_bytes().to_vec(),
        issuer,
        account,
    )
}

fn unix_seconds(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238 appendix B secret ("12345678901234567890"), SHA-1.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec())
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    #[test]
    fn rfc6238_vectors() {
        // The RFC's 8-digit values, truncated to the 6 digits we use.
        for (secs, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(rfc_secret().code_at(at(secs)), code, "t={secs}");
        }
    }

    #[test]
    fn verification_table() {
        let s = rfc_secret();
        let now = at(1_234_567_890);
        let step = TimeStep(1_234_567_890 / 30);
        let prev = s.code_at(at(1_234_567_890 - 30));
        let next = s.code_at(at(1_234_567_890 + 30));
        let too_old = s.code_at(at(1_234_567_890 - 60));
        let too_new = s.code_at(at(1_234_567_890 + 60));
        let table: Vec<(String, Option<TimeStep>, Result<TimeStep, TotpRejection>)> = vec![
            ("005924".into(), None, Ok(step)),
            (" 005924\n".into(), None, Ok(step)),
            (prev.clone(), None, Ok(TimeStep(step.0 - 1))),
            (next.clone(), None, Ok(TimeStep(step.0 + 1))),
            (too_old, None, Err(TotpRejection::Wrong)),
            (too_new, None, Err(TotpRejection::Wrong)),
            ("005924".into(), Some(step), Err(TotpRejection::Replayed)),
            (
                "005924".into(),
                Some(TimeStep(step.0 + 1)),
                Err(TotpRejection::Replayed),
            ),
            (
                prev,
                Some(TimeStep(step.0 - 1)),
                Err(TotpRejection::Replayed),
            ),
            (next, Some(step), Ok(TimeStep(step.0 + 1))),
            ("00592".into(), None, Err(TotpRejection::Malformed)),
            ("0059245".into(), None, Err(TotpRejection::Malformed)),
            ("00592a".into(), None, Err(TotpRejection::Malformed)),
            ("".into(), None, Err(TotpRejection::Malformed)),
            ("１２３４５６".into(), None, Err(TotpRejection::Malformed)),
        ];
        for (code, last, expected) in table {
            assert_eq!(
                verify(&s, &code, now, last),
                expected,
                "code {code:?} last {last:?}"
            );
        }
    }

    #[test]
    fn uri_and_base32() {
        let s = rfc_secret();
        assert_eq!(s.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = s.otpauth_uri("fumidai", "alice");
        assert_eq!(
            uri,
            "otpauth://totp/fumidai:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=fumidai"
        );
        assert_eq!(format!("{:?}", s), "TotpSecret(<secret>)");
        assert_eq!(TotpSecret::generate().expose_bytes().len(), SECRET_BYTES);
    }
}
