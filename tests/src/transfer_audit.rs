//! What the audit trail says about transfers, one small function per concept, so that a
//! renamed field is changed in one place: `transfer` records (completed, refused, by the
//! channel they came through) and `transfer.protocol_violation` records.
//!
//! Records are appended while the channel runs; the `wait_*` functions poll under a
//! deadline rather than read once.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::gateway::Gateway;
use crate::tools::poll;

/// How long a record may take to appear.
const RECORD_DEADLINE: Duration = Duration::from_secs(20);

/// Every `transfer` record (SFTP, scp, exec channels; files and file changes).
pub fn transfer_records(gw: &Gateway) -> Vec<Value> {
    gw.audit_tail(10_000)
        .into_iter()
        .filter(|e| e["kind"] == "transfer")
        .collect()
}

/// The refused ones.
pub fn refused_transfers(gw: &Gateway) -> Vec<Value> {
    transfer_records(gw)
        .into_iter()
        .filter(|e| e["detail"]["outcome"] == "refused")
        .collect()
}

/// Whether a record is about `path`: the file itself, or the new name of a rename/link.
pub fn is_about(record: &Value, path: &Path) -> bool {
    let p = path.to_str().expect("utf-8 path");
    record["detail"]["path"] == p || record["detail"]["to"] == p
}

/// Waits for a refused `transfer` record about `path` whose reason is one of `reasons`;
/// fails the test with the trail when none comes.
pub fn wait_refusal(gw: &Gateway, path: &Path, reasons: &[&str]) -> Value {
    poll(RECORD_DEADLINE, || {
        refused_transfers(gw).into_iter().find(|e| {
            is_about(e, path)
                && reasons
                    .iter()
                    .any(|r| e["detail"]["reason"].as_str() == Some(r))
        })
    })
    .unwrap_or_else(|| {
        panic!(
            "no refusal of {} for {reasons:?} on record:\n{:#?}",
            path.display(),
            transfer_records(gw)
        )
    })
}

/// The completed `transfer` records for `path`, as (direction, size, sha256).
pub fn completed_transfers(gw: &Gateway, path: &Path) -> Vec<(String, u64, String)> {
    transfer_records(gw)
        .into_iter()
        .filter(|e| e["detail"]["outcome"] == "completed" && is_about(e, path))
        .map(|e| summary(&e))
        .collect()
}

/// Waits until `path` has a completed record in `direction`; its (direction, size,
/// sha256).
pub fn wait_completed(gw: &Gateway, path: &Path, direction: &str) -> (String, u64, String) {
    poll(RECORD_DEADLINE, || {
        completed_transfers(gw, path)
            .into_iter()
            .find(|(d, _, _)| d == direction)
    })
    .unwrap_or_else(|| {
        panic!(
            "no completed {direction} of {} on record:\n{:#?}",
            path.display(),
            transfer_records(gw)
        )
    })
}

/// `transfer` records of an exec channel's streams: `detail.via` is `exec-stdin` or
/// `exec-stdout`.
pub fn transfers_via(gw: &Gateway, via: &str) -> Vec<Value> {
    transfer_records(gw)
        .into_iter()
        .filter(|e| e["detail"]["via"] == via)
        .collect()
}

/// Waits for a `transfer` record through `via` with `outcome` (`completed`, `refused`).
pub fn wait_via(gw: &Gateway, via: &str, outcome: &str) -> Value {
    poll(RECORD_DEADLINE, || {
        transfers_via(gw, via)
            .into_iter()
            .find(|e| e["detail"]["outcome"] == outcome)
    })
    .unwrap_or_else(|| {
        panic!(
            "no {outcome} transfer via {via} on record:\n{:#?}",
            transfer_records(gw)
        )
    })
}

/// (direction, size, sha256) of a `transfer` record.
pub fn summary(record: &Value) -> (String, u64, String) {
    let d = &record["detail"];
    (
        d["direction"].as_str().unwrap_or_default().to_owned(),
        d["size"].as_u64().unwrap_or_default(),
        d["sha256"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Every `transfer.protocol_violation` record.
pub fn protocol_violations(gw: &Gateway) -> Vec<Value> {
    gw.audit_tail(10_000)
        .into_iter()
        .filter(|e| e["kind"] == "transfer.protocol_violation")
        .collect()
}

/// Waits for a protocol violation with `detail.reason == reason`, checks it names the
/// session and channel, and returns it.
pub fn wait_violation(gw: &Gateway, reason: &str) -> Value {
    let found = poll(RECORD_DEADLINE, || {
        protocol_violations(gw)
            .into_iter()
            .find(|e| e["detail"]["reason"] == reason)
    })
    .unwrap_or_else(|| {
        panic!(
            "no transfer.protocol_violation {reason:?} on record; the trail ends:\n{:#?}",
            gw.audit_tail(15)
        )
    });
    assert!(found["detail"]["session_id"].is_string(), "{found:#}");
    assert!(found["detail"]["channel"].is_u64(), "{found:#}");
    found
}

/// SHA-256 of `bytes`, lowercase hex, as the audit trail writes it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
