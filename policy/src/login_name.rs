//! The SSH user name: `engineer`, `engineer:target` or `engineer:target:emergency`.
//!
//! The engineer part must equal the client certificate's CN; the target part picks the
//! server to reach. Without a target the gateway offers the targets admissible now. With
//! `:emergency` the engineer declares an emergency (事後承認, R-10.1-APPROVE): asked for a
//! reason at login, admitted without a plan if their vendor may, approved afterwards.

use crate::ids::{Login, NameError, TargetName};

/// A parsed SSH user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshLoginName {
    /// Who is logging in.
    pub engineer: Login,
    /// Which target they asked for, if any.
    pub target: Option<TargetName>,
    /// Whether they declare an emergency (only with a target).
    pub emergency: bool,
}

/// Why an SSH user name could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginNameError {
    /// The engineer part was not a valid login.
    #[error("engineer part: {0}")]
    Engineer(NameError),
    /// The target part was not a valid target name.
    #[error("target part: {0}")]
    Target(NameError),
    /// A third part other than `emergency`.
    #[error("after the target only `:emergency` may follow")]
    Mode,
}

impl SshLoginName {
    /// Parses `engineer`, `engineer:target` or `engineer:target:emergency`.
    pub fn parse(user: &str) -> Result<Self, LoginNameError> {
        let (engineer, target) = match user.split_once(':') {
            Some((e, t)) => (e, Some(t)),
            None => (user, None),
        };
        let (target, emergency) = match target.map(|t| t.split_once(':')) {
            Some(Some((t, "emergency"))) => (Some(t), true),
            Some(Some(_)) => return Err(LoginNameError::Mode),
            Some(None) => (target, false),
            None => (None, false),
        };
        let engineer = engineer.parse().map_err(LoginNameError::Engineer)?;
        let target = target
            .map(str::parse)
            .transpose()
            .map_err(LoginNameError::Target)?;
        Ok(Self {
            engineer,
            target,
            emergency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_names() {
        let ok: &[(&str, &str, Option<&str>)] = &[
            ("alice", "alice", None),
            ("alice:db01", "alice", Some("db01")),
            ("bob.k:web-1.internal", "bob.k", Some("web-1.internal")),
        ];
        for (input, engineer, target) in ok {
            let parsed = SshLoginName::parse(input).unwrap();
            assert_eq!(parsed.engineer.as_str(), *engineer);
            assert_eq!(parsed.target.as_ref().map(TargetName::as_str), *target);
        }
        let emergency = SshLoginName::parse("alice:db01:emergency").unwrap();
        assert!(emergency.emergency);
        assert_eq!(emergency.target.unwrap().as_str(), "db01");
        assert!(!SshLoginName::parse("alice:db01").unwrap().emergency);
        for bad in [
            "",
            ":db01",
            "alice:",
            "alice:db01:x",
            "alice:db01:emergency:x",
            "alice::emergency",
            "Alice:db01",
            "alice:DB",
            "al ice",
        ] {
            assert!(SshLoginName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
