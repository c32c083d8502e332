//! Typed names: a login can't be confused with a vendor or a target name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name was empty.
    #[error("{kind} must not be empty")]
    Empty {
        /// What kind of name it was.
        kind: &'static str,
    },
    /// The name was longer than allowed.
    #[error("{kind} must be at most {max} characters")]
    TooLong {
        /// What kind of name it was.
        kind: &'static str,
        /// The limit.
        max: usize,
    },
    /// The name used a character outside the allowed set.
    #[error(
        "{kind} may contain only lowercase letters a-z, digits, '.', '_' and '-', and must start with a letter or digit"
    )]
    BadCharacter {
        /// What kind of name it was.
        kind: &'static str,
    },
}

/// Names are restricted to a portable set so they are safe in certificate CNs, SSH user
/// names (where `:` separates engineer from target), file names and log lines.
fn check_name(kind: &'static str, max: usize, s: &str) -> Result<(), NameError> {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return Err(NameError::Empty { kind });
    };
    if s.len() > max {
        return Err(NameError::TooLong { kind, max });
    }
    let allowed =
        |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) || !chars.all(allowed) {
        return Err(NameError::BadCharacter { kind });
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                check_name($kind, $max, s)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                check_name($kind, $max, &s)?;
                Ok(Self(s))
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// A person's login: an engineer's or an operator's. Also the CN of their client
    /// certificate, so one person's device can't be used for another (R-10.2-PRIV).
    Login,
    "login",
    32
);
name_type!(
    /// A vendor (保守事業者) company's short name.
    VendorName,
    "vendor name",
    64
);
name_type!(
    /// A target server's short name, as typed after `:` in the SSH user name.
    TargetName,
    "target name",
    64
);

/// What an operator account may do (R-14-4: rights follow the role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperatorRole {
    /// システム運用担当者: registers vendors, engineers and targets, approves plans.
    Operator,
    /// 企画管理者: confirms reconciliation reports.
    Manager,
    /// 監査担当: read-only access to the audit trail, recordings and reports.
    Auditor,
}

impl OperatorRole {
    /// The role's name as stored and typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Manager => "manager",
            Self::Auditor => "auditor",
        }
    }
}

impl fmt::Display for OperatorRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown role name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected operator, manager or auditor")]
pub struct UnknownRole(pub String);

impl FromStr for OperatorRole {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, UnknownRole> {
        match s {
            "operator" => Ok(Self::Operator),
            "manager" => Ok(Self::Manager),
            "auditor" => Ok(Self::Auditor),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// Which kind of person an account belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// A vendor's maintenance engineer (保守要員).
    Engineer,
    /// A hospital-side operator, manager or auditor.
    Operator,
}

impl AccountKind {
    /// The kind's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Engineer => "engineer",
            Self::Operator => "operator",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_accept_the_portable_set_only() {
        let table: &[(&str, bool)] = &[
            ("alice", true),
            ("a", true),
            ("0day", true),
            ("alice.smith_2-x", true),
            ("", false),
            ("Alice", false),
            ("-alice", false),
            (".alice", false),
            ("alice:db01", false),
            ("alice smith", false),
            ("ålice", false),
            ("alice/..", false),
            ("alice\n", false),
            (&"a".repeat(32), true),
            (&"a".repeat(33), false),
        ];
        for (input, ok) in table {
            assert_eq!(input.parse::<Login>().is_ok(), *ok, "{input:?}");
        }
    }

    #[test]
    fn roles_round_trip() {
        for role in [
            OperatorRole::Operator,
            OperatorRole::Manager,
            OperatorRole::Auditor,
        ] {
            assert_eq!(role.as_str().parse::<OperatorRole>(), Ok(role));
        }
        assert!("admin".parse::<OperatorRole>().is_err());
    }
}
