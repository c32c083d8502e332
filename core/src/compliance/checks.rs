//! The table: one assessment per requirement ID, in the requirements list's order
//! (`policy::requirement::ALL`; a test keeps the two in step). The values several checks
//! share are worked out once ([`Facts`]); the checks themselves are grouped by the
//! guideline's sections, one file per family, and concatenated here in the list's order.

use serde_json::Value;

use super::facts::Facts;
use super::{
    AuditHead, Check, Counts, Evidence, Settings, Status, audit_trail, authentication, maintenance,
    network, operations, remote_path,
};

/// Assesses every requirement of the list for this installation.
pub fn assess(settings: &Settings, c: &Counts, audit: &AuditHead) -> Vec<Check> {
    let f = Facts::new(settings, c, audit);
    [
        remote_path::checks(&f),
        maintenance::checks(&f),
        authentication::checks(&f),
        network::checks(&f),
        audit_trail::checks(&f),
        operations::checks(&f),
    ]
    .concat()
}

/// One check; the families call it once per requirement.
pub(super) fn check(
    id: &'static str,
    title: &'static str,
    status: Status,
    how: &'static str,
    evidence: Vec<Evidence>,
    note: Option<String>,
) -> Check {
    Check {
        id,
        title,
        status,
        how,
        evidence,
        note,
    }
}

pub(super) fn ev(label: &'static str, value: impl Into<Value>) -> Evidence {
    Evidence {
        label,
        value: value.into(),
    }
}

pub(super) fn human(d: std::time::Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// A database URL without its password (`postgres://user:secret@host` → `user:***@host`).
pub(super) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = url.get(scheme + 3..at).unwrap_or_default();
            match userinfo.split_once(':') {
                Some((user, _)) => format!(
                    "{}{user}:***{}",
                    url.get(..scheme + 3).unwrap_or_default(),
                    url.get(at..).unwrap_or_default()
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
