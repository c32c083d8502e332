//! The compliance evidence (適合状況) for an inspector: every requirement ID, whether this
//! installation meets it, and the evidence — configuration values, counts from the store,
//! and the audit chain verified now with its head. `crate::compliance` assesses; this
//! gathers the facts. Read-only.

use chrono::{DateTime, Duration, Utc};
use policy::ids::{AccountKind, OperatorRole};
use policy::plan::{PlanKind, PlanStatus, emergency};
use policy::review::Thresholds;
use policy::target::TargetAuth;
use store::Store;

use super::OpError;
use crate::compliance::{self, AuditHead, Compliance, Counts, OVERDUE_DAYS};
use crate::config::Config;

/// The evidence now. Succeeds even when a requirement is not met (the document says so);
/// a broken audit chain is shown in it, not hidden behind an error.
pub async fn gather(
    store: &dyn Store,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Compliance, OpError> {
    let verification = store.verify_audit().await?;
    let head_seq = store.audit_tail(1).await?.first().map(|r| r.seq);
    let audit = AuditHead {
        verification,
        head_seq,
    };
    let counts = counts(store, now).await?;
    Ok(compliance::evidence(
        &compliance::Settings::of(config),
        &counts,
        audit,
        now,
    ))
}

/// What the store holds, counted.
pub async fn counts(store: &dyn Store, now: DateTime<Utc>) -> Result<Counts, OpError> {
    let vendors = store.vendors().await?;
    let accounts: Vec<_> = store
        .accounts(None)
        .await?
        .into_iter()
        .filter(|a| a.enabled)
        .collect();
    let targets = store.targets().await?;
    let certificates = store.certificates().await?;
    let plans = store.plans().await?;
    let sessions = store.sessions(false).await?;
    let overdue_before = now - Duration::days(OVERDUE_DAYS);
    let decided_approved = |p: &&policy::plan::Plan| {
        p.decided_by.is_some() && !matches!(p.status, PlanStatus::Submitted | PlanStatus::Rejected)
    };
    Ok(Counts {
        vendors: vendors.len(),
        vendors_without_allow_list: vendors.iter().filter(|v| v.allow_from.is_empty()).count(),
        vendors_allowed_emergency: vendors.iter().filter(|v| v.emergency_allowed).count(),
        engineers: accounts
            .iter()
            .filter(|a| a.kind == AccountKind::Engineer)
            .count(),
        operators: accounts
            .iter()
            .filter(|a| a.kind == AccountKind::Operator)
            .count(),
        managers: accounts
            .iter()
            .filter(|a| a.role == Some(OperatorRole::Manager))
            .count(),
        targets: targets.len(),
        targets_rdp: targets
            .iter()
            .filter(|t| t.protocol == policy::target::TargetProtocol::Rdp)
            .count(),
        targets_cert_auth: targets
            .iter()
            .filter(|t| t.auth == TargetAuth::Cert)
            .count(),
        targets_personal_data: targets
            .iter()
            .filter(|t| t.tags.iter().any(|tag| tag.as_str() == "personal-data"))
            .count(),
        targets_factory_login: targets
            .iter()
            .filter(|t| policy::target::shared_admin::is_factory_login(&t.login))
            .count(),
        certificates_valid: certificates
            .iter()
            .filter(|c| c.revoked_at.is_none() && c.not_after > now)
            .count(),
        certificates_revoked: certificates
            .iter()
            .filter(|c| c.revoked_at.is_some())
            .count(),
        plans_approved: plans.iter().filter(decided_approved).count(),
        plans_rejected: plans
            .iter()
            .filter(|p| p.status == PlanStatus::Rejected)
            .count(),
        plans_personal_data: plans.iter().filter(|p| p.personal_data.is_some()).count(),
        plans_attested: plans.iter().filter(|p| p.attestation.is_some()).count(),
        emergency_plans: plans
            .iter()
            .filter(|p| p.kind == PlanKind::Emergency)
            .count(),
        emergency_awaiting_approval: plans
            .iter()
            .filter(|p| emergency::approval(p) == Some(emergency::Approval::Pending))
            .count(),
        sessions: sessions.len(),
        sessions_sealed: sessions.iter().filter(|s| s.seal.is_some()).count(),
        sessions_live: sessions.iter().filter(|s| s.ended_at.is_none()).count(),
        reports_awaiting: plans
            .iter()
            .filter(|p| p.status == PlanStatus::Reported)
            .count(),
        reports_overdue: plans
            .iter()
            .filter(|p| {
                p.status == PlanStatus::Reported
                    && p.reported_at.is_some_and(|at| at < overdue_before)
            })
            .count(),
        reports_confirmed: plans
            .iter()
            .filter(|p| p.status == PlanStatus::Confirmed)
            .count(),
        review_items: super::account_review::items(store, &Thresholds::default(), now)
            .await?
            .len(),
    })
}
