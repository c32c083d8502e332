//! The audit trail for auditors (R-17-1, R-17-2, R-10-5): `verify` walks the hash chain and
//! then checks every sealed recording and every reconciliation report against the seal the
//! chain recorded; `tail` reads the latest records. Read-only: whoever may read the trail
//! (the host's administrator at the CLI, an authenticated person at the console) calls them.

use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use store::{AuditRecord, AuditVerification, Store};

use super::OpError;
use crate::datadir::DataDir;

/// What `verify` found.
#[derive(Debug, Serialize)]
pub struct AuditCheck {
    /// The hash chain: intact (records, head) or where it breaks.
    pub chain: AuditVerification,
    /// The sealed recordings, checked (`None` when the chain is broken: nothing after a
    /// broken link can be trusted, so nothing more is checked).
    pub recordings: Option<SealsChecked>,
    /// The reconciliation reports, checked (likewise).
    pub reports: Option<SealsChecked>,
}

/// How many seals of one kind were checked, and those that no longer hold.
#[derive(Debug, Serialize)]
pub struct SealsChecked {
    /// How many seals the chain holds.
    pub sealed: usize,
    /// Those whose file or report no longer matches.
    pub broken: Vec<BrokenSeal>,
}

/// One seal that no longer holds.
#[derive(Debug, Serialize)]
pub struct BrokenSeal {
    /// The audit record that holds the seal.
    pub seq: i64,
    /// Its subject: the session or plan.
    pub subject: String,
    /// What is wrong, for the auditor.
    pub problem: String,
}

impl AuditCheck {
    /// The chain, every recording and every report hold.
    pub fn intact(&self) -> bool {
        matches!(self.chain, AuditVerification::Intact { .. })
            && [&self.recordings, &self.reports]
                .iter()
                .all(|checked| checked.as_ref().is_some_and(|c| c.broken.is_empty()))
    }
}

/// Walks the chain; if it holds, checks each recording's seal (statement signed by the
/// gateway's key, each file's size and SHA-256) and each stored report (still the one the
/// chain recorded, with the gateway's signature).
pub async fn verify(store: &dyn Store, dir: &DataDir) -> Result<AuditCheck, OpError> {
    let chain = store.verify_audit().await?;
    if let AuditVerification::Broken { .. } = chain {
        return Ok(AuditCheck {
            chain,
            recordings: None,
            reports: None,
        });
    }
    let key = verifying_key(dir)?;
    let recordings = check_recordings(store, &dir.recordings(), &key).await?;
    let reports = check_reports(store, &key).await?;
    Ok(AuditCheck {
        chain,
        recordings: Some(recordings),
        reports: Some(reports),
    })
}

/// The latest `n` records, oldest first.
pub async fn tail(store: &dyn Store, n: u32) -> Result<Vec<AuditRecord>, OpError> {
    Ok(store.audit_tail(n).await?)
}

/// The gateway's public key that seals are checked against (`signing.pub`).
pub fn verifying_key(dir: &DataDir) -> Result<VerifyingKey, OpError> {
    use ed25519_dalek::pkcs8::DecodePublicKey;
    let public = std::fs::read_to_string(dir.signing_public_key())
        .map_err(|e| OpError::SigningKey(e.to_string()))?;
    VerifyingKey::from_public_key_pem(&public).map_err(|e| OpError::SigningKey(e.to_string()))
}

async fn check_recordings(
    store: &dyn Store,
    root: &Path,
    key: &VerifyingKey,
) -> Result<SealsChecked, OpError> {
    let sealed = store.recording_seals().await?;
    let mut broken = Vec::new();
    for seal in &sealed {
        let checked = check_recording(root.to_owned(), key, &seal.statement, &seal.signature).await;
        if let Err(problem) = checked {
            broken.push(BrokenSeal {
                seq: seal.seq,
                subject: seal.session.to_string(),
                problem,
            });
        }
    }
    Ok(SealsChecked {
        sealed: sealed.len(),
        broken,
    })
}

/// One recording against its seal: the signature over the statement, then the files.
pub async fn check_recording(
    root: PathBuf,
    key: &VerifyingKey,
    statement: &str,
    signature: &str,
) -> Result<(), String> {
    let statement = recorder::Statement::parse(statement).map_err(|e| e.to_string())?;
    let bytes: [u8; 64] = hex::decode(signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| "malformed signature".to_owned())?;
    let signature = ed25519_dalek::Signature::from_bytes(&bytes);
    recorder::seal::verify(&statement, &signature, key).map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || recorder::seal::verify_files(&root, &statement))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

async fn check_reports(store: &dyn Store, key: &VerifyingKey) -> Result<SealsChecked, OpError> {
    let sealed = store.report_seals().await?;
    let mut broken = Vec::new();
    for seal in &sealed {
        let problem = match seal.subject.parse::<policy::ids::PlanId>() {
            Err(_) => Some("the record names no plan".to_owned()),
            Ok(plan) => match store.report(&plan).await? {
                None => Some("the report is missing".to_owned()),
                Some(report) if report.sha256 != seal.sha256 => {
                    Some("the stored report is not the one recorded".to_owned())
                }
                Some(report) => crate::report::body::open(&report, key).err(),
            },
        };
        if let Some(problem) = problem {
            broken.push(BrokenSeal {
                seq: seal.seq,
                subject: seal.subject.clone(),
                problem,
            });
        }
    }
    Ok(SealsChecked {
        sealed: sealed.len(),
        broken,
    })
}

/// The most records one page or one export reads.
pub const PAGE_MAX: u32 = 500;

/// One page of the records `filter` selects, newest first, below `before`.
pub async fn page(
    store: &dyn Store,
    filter: &store::AuditFilter,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditRecord>, OpError> {
    Ok(store
        .audit_records(filter, before, limit.min(PAGE_MAX))
        .await?)
}

/// Every record `filter` selects, oldest first, up to `max` (an export): read a page at a
/// time by `seq`.
pub async fn range(
    store: &dyn Store,
    filter: &store::AuditFilter,
    max: usize,
) -> Result<Vec<AuditRecord>, OpError> {
    let mut records: Vec<AuditRecord> = Vec::new();
    let mut before = None;
    while records.len() < max {
        let page = store.audit_records(filter, before, PAGE_MAX).await?;
        let Some(last) = page.last() else { break };
        before = Some(last.seq);
        records.extend(page);
    }
    records.truncate(max);
    records.reverse();
    Ok(records)
}
