//! The requirement IDs (`R-…`) that findings and risk rules cite, as listed in the project's
//! requirements (from the MHLW guideline, version 7.0, System Operations volume).
//!
//! A rule file names its requirement as text; [`known`] turns it into the `&'static str`
//! from this list, so a typo (`R-10-22`) is refused when the file is read instead of
//! appearing in a report to the planning manager.

/// R-7-12: remote login only when needed for maintenance and properly controlled.
pub const R_7_12: &str = "R-7-12";
/// R-10-1: personal data used in maintenance is deleted afterwards, and the deletion reported.
pub const R_10_1: &str = "R-10-1";
/// R-10-2: no access to personal data without reason; access is declared in the plan.
pub const R_10_2: &str = "R-10-2";
/// R-10-3: dedicated accounts; record personal-data access and the work done.
pub const R_10_3: &str = "R-10-3";
/// R-10-4: reduce the risk of remote maintenance from outside.
pub const R_10_4: &str = "R-10-4";
/// R-10-5: collect access logs, reconcile them with the work plan, report for confirmation.
pub const R_10_5: &str = "R-10-5";
/// R-10-6: files a vendor sends are sanitised (無害化).
pub const R_10_6: &str = "R-10-6";
/// R-10.1-APPROVE: prior application and approval; emergencies approved afterwards.
pub const R_10_1_APPROVE: &str = "R-10.1-APPROVE";
/// R-10.2-PRIV: strict privileged-ID management, no shared admin accounts.
pub const R_10_2_PRIV: &str = "R-10.2-PRIV";
/// R-10.2-PATH: restrict access paths.
pub const R_10_2_PATH: &str = "R-10.2-PATH";
/// R-10.2-TIMEOUT: session time-out.
pub const R_10_2_TIMEOUT: &str = "R-10.2-TIMEOUT";
/// R-10.2-REVIEW: log review, supervision (live view and kill).
pub const R_10_2_REVIEW: &str = "R-10.2-REVIEW";
/// R-10.2-GW: maintenance goes through a remote-access gateway.
pub const R_10_2_GW: &str = "R-10.2-GW";
/// R-13-7: no "cross-over" into other sessions or hosts; forwarding only as a plan allows.
pub const R_13_7: &str = "R-13-7";
/// R-14-8: an ID ledger; unneeded IDs deleted.
pub const R_14_8: &str = "R-14-8";
/// R-14.1.1-JUMP: servers accept RDP/SSH only from the jump host.
pub const R_14_1_1_JUMP: &str = "R-14.1.1-JUMP";
/// R-17-1: record access logs (login time, duration, what was operated on).
pub const R_17_1: &str = "R-17-1";
/// R-17-2: prevent improper deletion, alteration or addition of logs.
pub const R_17_2: &str = "R-17-2";
/// R-17-3: a trustworthy, synchronised time source.
pub const R_17_3: &str = "R-17-3";

/// Every requirement ID of the requirements list, in its order.
pub const ALL: &[&str] = &[
    "R-10.2-2FA",
    R_10_2_PRIV,
    R_10_2_PATH,
    R_10_2_TIMEOUT,
    "R-10.2-CRYPTO",
    R_10_2_GW,
    "R-10.2-TERM",
    R_10_2_REVIEW,
    R_10_1,
    R_10_2,
    R_10_3,
    R_10_4,
    R_10_5,
    R_10_6,
    "R-10-7",
    R_10_1_APPROVE,
    "R-10.1-NODEFAULT",
    "R-14-1",
    "R-14-2",
    "R-14-3",
    "R-14-4",
    "R-14-5",
    "R-14-6",
    R_14_8,
    R_14_1_1_JUMP,
    "R-14.1.2-API",
    "R-13-6",
    "R-13-5",
    "R-13-9/10",
    "R-13-12",
    R_13_7,
    "R-13-4",
    R_17_1,
    R_17_2,
    R_17_3,
    "R-17.1-ALERT",
    "R-11-1",
    "R-11-2",
    "R-12-6",
    "R-12.3.2",
    "R-18",
    "R-12.2",
    "R-8.2-SBOM",
    R_7_12,
];

/// The listed ID spelled `id`, or `None` for an ID the requirements don't have.
pub fn known(id: &str) -> Option<&'static str> {
    ALL.iter().copied().find(|known| *known == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_only() {
        assert_eq!(known("R-10-2"), Some(R_10_2));
        assert_eq!(known("R-14.1.1-JUMP"), Some(R_14_1_1_JUMP));
        for bad in ["", "R-10-22", "r-10-2", "R-10-2 ", "R-14-6(6)"] {
            assert_eq!(known(bad), None, "{bad:?}");
        }
        let mut sorted = ALL.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALL.len(), "no ID listed twice");
    }
}
