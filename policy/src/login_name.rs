//! The SSH user name: `engineer` or `engineer:target`.
//!
//! The engineer part must equal the client certificate's CN; the target part picks the
//! server to reach. Without a target the gateway offers the targets admissible now.

use crate::ids::{Login, NameError, TargetName};

/// A parsed SSH user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshLoginName {
    /// Who is logging in.
    pub engineer: Login,
    /// Which target they asked for, if any.
    pub target: Option<TargetName>,
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
}

impl SshLoginName {
    /// Parses `engineer` or `engineer:target`. A second `:` makes the target invalid.
    pub fn parse(user: &str) -> Result<Self, LoginNameError> {
        let (engineer, target) = match user.split_once(':') {
            Some((e, t)) => (e, Some(t)),
            None => (user, None),
        };
        let engineer = engineer.parse().map_err(LoginNameError::Engineer)?;
        let target = target
            .map(str::parse)
            .transpose()
            .map_err(LoginNameError::Target)?;
        Ok(Self { engineer, target })
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
        for bad in [
            "",
            ":db01",
            "alice:",
            "alice:db01:x",
            "Alice:db01",
            "alice:DB",
            "al ice",
        ] {
            assert!(SshLoginName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
