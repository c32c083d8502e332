//! The reconciliation report (R-10-5) of a plan whose window is still open, for tests that
//! check what the report says about a session they just ran: `fumidai report` runs a day
//! ahead under `faketime`, so the window is over without the test sleeping through it
//! (STYLE 18), once every session of the plan has ended.
//!
//! The helpers read the report's JSON (`report.sessions[].transfers[]`,
//! `report.findings[]`); a renamed field is changed here.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::gateway::Gateway;
use crate::tools::{require, wait_for};

/// How far ahead the report is produced: past any test plan's window (at most hours).
const AHEAD: &str = "+1d";

/// The report of `plan_id` as JSON (`{"report": …}`'s inside), produced a day ahead once
/// the plan's sessions have ended (the gateway ends them when their connection closes).
pub fn report_after_window(gw: &Gateway, plan_id: &str) -> Value {
    require("faketime");
    let args = ["report", plan_id, "--format", "json"];
    let json: Value = wait_for("the report", Duration::from_secs(30), || {
        let inner = gw.command(&args, &[]);
        let out = Command::new("faketime")
            .args(["-f", AHEAD])
            .arg(inner.get_program())
            .args(inner.get_args())
            .env_remove("RUST_LOG")
            .output()
            .expect("run fumidai report under faketime");
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("report --format json"))
    });
    json["report"].clone()
}

/// Every transfer the report lists, over all sessions.
pub fn transfers(report: &Value) -> Vec<Value> {
    report["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["transfers"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The report's transfers of `path` (any direction, any outcome).
pub fn transfers_of(report: &Value, path: &str) -> Vec<Value> {
    transfers(report)
        .into_iter()
        .filter(|t| t["path"] == path)
        .collect()
}

/// Every finding.
pub fn findings(report: &Value) -> Vec<Value> {
    report["findings"].as_array().cloned().unwrap_or_default()
}

/// The findings of `kind` (`transfer_refused`, `transfer_not_declared`, …).
pub fn findings_of(report: &Value, kind: &str) -> Vec<Value> {
    findings(report)
        .into_iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}

/// Fails unless the report shows `path` refused (for one of `reasons`) and as a
/// `transfer_refused` finding, and never as moved (completed or aborted).
pub fn assert_refused_in_report(report: &Value, path: &str, reasons: &[&str]) {
    let listed = transfers_of(report, path);
    assert!(
        listed.iter().any(|t| t["outcome"] == "refused"
            && reasons.iter().any(|r| t["reason"].as_str() == Some(r))),
        "the report does not show {path} refused for {reasons:?}:\n{listed:#?}\n{report:#}"
    );
    assert_nothing_moved_in_report(report, path);
    let finding = findings_of(report, "transfer_refused")
        .into_iter()
        .find(|f| f["subject"].as_str().is_some_and(|s| s.ends_with(path)));
    assert!(
        finding.is_some(),
        "no transfer_refused finding for {path}:\n{:#?}",
        findings(report)
    );
}

/// Fails if the report shows any bytes of `path` moved (a completed or aborted transfer).
pub fn assert_nothing_moved_in_report(report: &Value, path: &str) {
    let moved: Vec<Value> = transfers_of(report, path)
        .into_iter()
        .filter(|t| t["outcome"] != "refused")
        .collect();
    assert!(
        moved.is_empty(),
        "the report shows {path} moved:\n{moved:#?}"
    );
}

/// Fails unless the report shows `path` moved completely in `direction` with `size` and
/// `sha256`, with no finding about it (the plan allowed it).
pub fn assert_completed_in_report(
    report: &Value,
    path: &str,
    direction: &str,
    size: u64,
    sha256: &str,
) {
    let listed = transfers_of(report, path);
    assert!(
        listed.iter().any(|t| t["outcome"] == "completed"
            && t["direction"] == direction
            && t["size"].as_u64() == Some(size)
            && t["sha256"].as_str() == Some(sha256)),
        "the report does not show {direction} of {path} ({size} bytes, {sha256}):\n{listed:#?}"
    );
    let about: Vec<Value> = findings(report)
        .into_iter()
        .filter(|f| f["subject"].as_str().is_some_and(|s| s.ends_with(path)))
        .collect();
    assert!(
        about.is_empty(),
        "findings about an allowed transfer of {path}:\n{about:#?}"
    );
}
