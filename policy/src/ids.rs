//! Typed names: a login can't be confused with a vendor or a target name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
pub(crate) fn check_name(kind: &'static str, max: usize, s: &str) -> Result<(), NameError> {
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

/// Declares a name newtype checked by [`check_name`]. Paths are spelled out in full so other
/// modules of this crate (e.g. `target` for tags) can use it too.
macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize,
        )]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ids::NameError;
            fn from_str(s: &str) -> Result<Self, $crate::ids::NameError> {
                $crate::ids::check_name($kind, $max, s)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::ids::NameError;
            fn try_from(s: String) -> Result<Self, $crate::ids::NameError> {
                $crate::ids::check_name($kind, $max, &s)?;
                Ok(Self(s))
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use name_type;

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

/// Declares a UUID identifier newtype: version 7 (time-ordered, so IDs sort by creation and
/// index well), shown and parsed in the hyphenated lowercase form.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh identifier (UUID v7: the current time and random bits).
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps a stored UUID.
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID.
            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = BadId;
            fn from_str(s: &str) -> Result<Self, BadId> {
                Uuid::try_parse(s.trim())
                    .map(Self)
                    .map_err(|_| BadId { kind: $kind })
            }
        }
    };
}

/// An identifier that is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} (expected a UUID such as 0192f0c4-8a3e-7c1b-9d2e-5f6a7b8c9d0e)")]
pub struct BadId {
    /// What kind of identifier was expected.
    pub kind: &'static str,
}

uuid_id!(
    /// A work plan (作業計画書): names vendor, engineers, targets and window (R-10.1-APPROVE).
    PlanId,
    "plan id"
);
uuid_id!(
    /// One maintenance session through the gateway, from admission to its end; names the
    /// recording and its audit events.
    SessionId,
    "session id"
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
    fn ids_round_trip_and_sort_by_creation() {
        let a = PlanId::generate();
        let b = PlanId::generate();
        assert!(a < b, "v7 ids sort by creation");
        assert_eq!(a.to_string().parse::<PlanId>(), Ok(a));
        assert_eq!(a.as_uuid().get_version_num(), 7);
        let text = a.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text, text.to_lowercase());
        assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{text}\""));
        for bad in ["", "db01", "0192f0c4-8a3e-7c1b-9d2e", "../../etc/passwd"] {
            assert_eq!(bad.parse::<SessionId>(), Err(BadId { kind: "session id" }));
        }
        let s = SessionId::generate();
        assert_eq!(SessionId::from_uuid(*s.as_uuid()), s);
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
