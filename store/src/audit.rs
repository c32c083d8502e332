//! The hash-chained audit log (R-17-2: prevent improper deletion, alteration or addition).
//!
//! Each record's `hash = SHA-256(prev_hash ‖ canonical JSON of {seq, at, actor, kind,
//! subject, detail})`, with `prev_hash` of the first record all zeros. Changing, removing or
//! inserting a row breaks the link at or after it, and [`verify_chain`] names the first
//! broken one. (Cutting records off the *end* leaves a shorter valid chain; the head hash
//! printed by `audit verify` is what an auditor notes down to catch that.)

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::model::Actor;

/// The `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened. Stored as the dotted name from [`AuditKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AuditKind {
    /// The gateway started serving.
    GatewayStarted,
    /// A configuration file was loaded (detail: its SHA-256).
    ConfigLoaded,
    /// A data directory was initialised.
    Initialised,
    /// A login succeeded.
    LoginSuccess,
    /// A login failed (detail: reason).
    LoginFailure,
    /// An account was locked out after repeated failures (R-14-6(6)); raises an alert.
    AccountLocked,
    /// A vendor was registered.
    VendorAdded,
    /// An account was created.
    AccountAdded,
    /// A client certificate was issued.
    CertificateIssued,
    /// A client certificate was revoked.
    CertificateRevoked,
    /// A connection was refused before any login (revoked certificate, address not allowed,
    /// protocol not offered).
    ConnectionRefused,
    /// A target was registered (detail: address, login, auth, host key; never the credential).
    TargetAdded,
    /// A target's address, login, credential or pin was changed (`target update`).
    TargetUpdated,
    /// A target was removed (soft: its name stays in history).
    TargetRemoved,
    /// A work plan was submitted.
    PlanSubmitted,
    /// A work plan was approved (R-10.1-APPROVE).
    PlanApproved,
    /// A work plan was rejected.
    PlanRejected,
    /// A plan's first session started: the plan is active.
    PlanActivated,
    /// A plan closed: its window is over and its sessions ended.
    PlanClosed,
    /// A plan's reconciliation report was produced and sealed (R-10-5; detail: SHA-256,
    /// signature, audit head, finding counts).
    ReportProduced,
    /// The planning manager confirmed a plan's report (R-10-5; detail: their findings).
    ReportConfirmed,
    /// An engineer attested the data deletion (R-10-1).
    PlanAttested,
    /// An engineer declared an emergency and an emergency plan was opened (R-10.1-APPROVE,
    /// R-11-1); raises an alert.
    EmergencyAccess,
    /// A session started under a plan.
    SessionStarted,
    /// A session ended (detail: reason; the recording's digest and signature once sealed).
    SessionEnded,
    /// A session was refused at admission (detail: the denial reason).
    SessionDenied,
    /// A single-use RDP credential was issued after a login (detail: target, plan,
    /// expiry; never the credential).
    RdpCredentialIssued,
    /// An operator killed a live session (detail: who and why).
    SessionKilled,
    /// A hospital-side person started watching a live session's terminal read-only at the
    /// console (R-10.2-REVIEW; actor: the person; detail: `session_id`, `watch_id`). On
    /// record at once, so a watch is known even if its end is never written.
    SessionWatchStarted,
    /// A watch ended (detail: `session_id`, `watch_id`, `from`, `to`, why it ended); the
    /// report lists it as "watched by … from … to …".
    SessionWatchEnded,
    /// A target presented another host key than the pinned one; raises an alert.
    HostKeyMismatch,
    /// A file went through SFTP/SCP (detail: path, direction, size, SHA-256).
    Transfer,
    /// A peer broke a file-transfer protocol (reused request ID, unknown handle, a reply
    /// to nothing): the channel was ended (detail: reason, session, channel).
    TransferProtocolViolation,
    /// A recording was closed and sealed (detail: SHA-256 and signature).
    RecordingSealed,
    /// A person played a recording at the console (R-17-2: who watched which recording;
    /// detail: the recording, its seal state, whether a broken seal was overridden).
    RecordingPlayed,
    /// A person chose to play a recording whose seal is broken (detail: the recording,
    /// the seal's problem, their reason). A `recording.played` follows.
    RecordingSealOverridden,
    /// A TCP forward to the target host was opened (detail: session, host, port).
    ForwardOpened,
    /// A TCP forward ended (detail: session, host, port, bytes each way).
    ForwardClosed,
    /// A TCP forward was refused (detail: reason, host, port).
    ForwardRefused,
    // Issue 11, RDP (kept together at the end for an easy merge).
    /// An RDP client asked the target for something fumidai does not pass on (detail: the
    /// alternate shell, working directory and RemoteApp it asked for, control characters
    /// escaped); the target got its desktop instead.
    RdpClientInfoRewritten,
    /// An RDP client sent a frame fumidai can't read as the target would (undecodable
    /// input, an unknown channel); the session was ended (detail: the reason and what was
    /// wrong with the frame).
    RdpProtocolViolation,
    // Issue 12, emergency limits (kept together at the end for an easy merge).
    /// A target was added to a vendor's contracted targets (detail: the target), on which
    /// its engineers may declare emergencies (R-11-1).
    VendorTargetAdded,
    /// A target was taken off a vendor's contracted targets (detail: the target).
    VendorTargetRemoved,
    /// An account was disabled: it can't log in (R-14-8).
    AccountDisabled,
    /// A disabled account was enabled again.
    AccountEnabled,
    /// A vendor was changed: enabled, contract end, allow list, emergency (detail: what).
    VendorChanged,
    /// An operator set a new initial password after an identity check (§14 ⑥(4); detail:
    /// the note).
    PasswordReset,
    /// A person changed their own password (§14 ⑥(5)).
    PasswordChanged,
    /// An operator re-enrolled a person's TOTP (break-glass for a lost device, R-14-3;
    /// detail: the identity-check note); raises an alert.
    TotpReset,
    /// An operator account's role changed (detail: from, to).
    RoleChanged,
    /// An approved or active plan was withdrawn (detail: reason).
    PlanWithdrawn,
    /// A person asked to choose a new password at their next login (`ssh ENGINEER@gw
    /// password`).
    PasswordChangeRequested,
    // Issue 12, live authority (kept together at the end for an easy merge).
    /// fumidai closed a logged-in connection that held no session (detail: the reason —
    /// `killed`, `revoked`, `disabled`, `no_channel` after the login grace — and who asked).
    ConnectionClosed,
    /// An engineer was withdrawn from a plan by `session kill --block` (detail: the plan,
    /// the reason); admission no longer sees the plan for them.
    PlanEngineerBlocked,
    // Issue 12, floods (kept together at the end for an easy merge).
    /// A client certificate used up its budget of failed logins: further attempts are
    /// refused without work, and without a `login.failure` each, until the block ends
    /// (detail: serial, failures, window, block, blocked until, source address).
    LoginBudgetExhausted,
    /// An RDP session started on a target whose previous session was not logged off
    /// (fumidai cannot log an RDP desktop off): it may have resumed the desktop that session
    /// left (issue 12; detail: the previous session, its engineer and end).
    RdpDesktopMayResume,
    // Issue 13, login feedback (kept together at the end for an easy merge).
    /// An operator lifted a lock-out before its end (detail: when the lock would have
    /// ended).
    AccountUnlocked,
    // Issue 15, the operator web console (kept together at the end for an easy merge).
    /// A hospital-side person signed in to the web console with password + TOTP (actor:
    /// the person; detail: the console session's ID and the browser's address).
    ConsoleSignedIn,
    /// A console session ended: signed out by the person, or after the idle time-out
    /// (R-12.3.2; actor: the system then). Detail: the session, the reason, last request.
    ConsoleSignedOut,
}

impl AuditKind {
    /// Every kind, for parsing stored names.
    pub const ALL: [Self; 59] = [
        Self::GatewayStarted,
        Self::ConfigLoaded,
        Self::Initialised,
        Self::LoginSuccess,
        Self::LoginFailure,
        Self::AccountLocked,
        Self::VendorAdded,
        Self::AccountAdded,
        Self::CertificateIssued,
        Self::CertificateRevoked,
        Self::ConnectionRefused,
        Self::TargetAdded,
        Self::TargetUpdated,
        Self::TargetRemoved,
        Self::PlanSubmitted,
        Self::PlanApproved,
        Self::PlanRejected,
        Self::PlanActivated,
        Self::PlanClosed,
        Self::ReportProduced,
        Self::ReportConfirmed,
        Self::PlanAttested,
        Self::EmergencyAccess,
        Self::SessionStarted,
        Self::SessionEnded,
        Self::SessionDenied,
        Self::RdpCredentialIssued,
        Self::SessionKilled,
        Self::SessionWatchStarted,
        Self::SessionWatchEnded,
        Self::HostKeyMismatch,
        Self::Transfer,
        Self::TransferProtocolViolation,
        Self::RecordingSealed,
        Self::RecordingPlayed,
        Self::RecordingSealOverridden,
        Self::ForwardOpened,
        Self::ForwardClosed,
        Self::ForwardRefused,
        Self::RdpClientInfoRewritten,
        Self::RdpProtocolViolation,
        Self::VendorTargetAdded,
        Self::VendorTargetRemoved,
        Self::AccountDisabled,
        Self::AccountEnabled,
        Self::VendorChanged,
        Self::PasswordReset,
        Self::PasswordChanged,
        Self::TotpReset,
        Self::RoleChanged,
        Self::PlanWithdrawn,
        Self::PasswordChangeRequested,
        Self::ConnectionClosed,
        Self::PlanEngineerBlocked,
        Self::LoginBudgetExhausted,
        Self::RdpDesktopMayResume,
        Self::AccountUnlocked,
        Self::ConsoleSignedIn,
        Self::ConsoleSignedOut,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GatewayStarted => "gateway.started",
            Self::ConfigLoaded => "config.loaded",
            Self::Initialised => "gateway.initialised",
            Self::LoginSuccess => "login.success",
            Self::LoginFailure => "login.failure",
            Self::AccountLocked => "account.locked",
            Self::VendorAdded => "vendor.added",
            Self::AccountAdded => "account.added",
            Self::CertificateIssued => "certificate.issued",
            Self::CertificateRevoked => "certificate.revoked",
            Self::ConnectionRefused => "connection.refused",
            Self::TargetAdded => "target.added",
            Self::TargetUpdated => "target.updated",
            Self::TargetRemoved => "target.removed",
            Self::PlanSubmitted => "plan.submitted",
            Self::PlanApproved => "plan.approved",
            Self::PlanRejected => "plan.rejected",
            Self::PlanActivated => "plan.activated",
            Self::PlanClosed => "plan.closed",
            Self::ReportProduced => "report.produced",
            Self::ReportConfirmed => "report.confirmed",
            Self::PlanAttested => "plan.attested",
            Self::EmergencyAccess => "plan.emergency",
            Self::SessionStarted => "session.started",
            Self::SessionEnded => "session.ended",
            Self::SessionDenied => "session.denied",
            Self::RdpCredentialIssued => "rdp.credential_issued",
            Self::SessionKilled => "session.killed",
            Self::SessionWatchStarted => "session.watch_started",
            Self::SessionWatchEnded => "session.watch_ended",
            Self::HostKeyMismatch => "host_key.mismatch",
            Self::Transfer => "transfer",
            Self::TransferProtocolViolation => "transfer.protocol_violation",
            Self::RecordingSealed => "recording.sealed",
            Self::RecordingPlayed => "recording.played",
            Self::RecordingSealOverridden => "recording.seal_overridden",
            Self::ForwardOpened => "forward.opened",
            Self::ForwardClosed => "forward.closed",
            Self::ForwardRefused => "forward.refused",
            Self::RdpClientInfoRewritten => "rdp.client_info_rewritten",
            Self::RdpProtocolViolation => "rdp.protocol_violation",
            Self::VendorTargetAdded => "vendor.target_added",
            Self::VendorTargetRemoved => "vendor.target_removed",
            Self::AccountDisabled => "account.disabled",
            Self::AccountEnabled => "account.enabled",
            Self::VendorChanged => "vendor.changed",
            Self::PasswordReset => "account.password_reset",
            Self::PasswordChanged => "account.password_changed",
            Self::TotpReset => "account.totp_reset",
            Self::RoleChanged => "account.role_changed",
            Self::PlanWithdrawn => "plan.withdrawn",
            Self::PasswordChangeRequested => "account.password_change_requested",
            Self::ConnectionClosed => "connection.closed",
            Self::PlanEngineerBlocked => "plan.engineer_blocked",
            Self::LoginBudgetExhausted => "login.budget_exhausted",
            Self::RdpDesktopMayResume => "rdp.desktop_may_resume",
            Self::AccountUnlocked => "account.unlocked",
            Self::ConsoleSignedIn => "console.signed_in",
            Self::ConsoleSignedOut => "console.signed_out",
        }
    }
}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// What happened.
    pub kind: AuditKind,
    /// Who did it.
    pub actor: Actor,
    /// What it was done to (a login, a serial, a vendor name).
    pub subject: String,
    /// Anything else worth keeping. Never a secret.
    pub detail: Value,
}

impl AuditEvent {
    /// An event with an empty detail.
    pub fn new(kind: AuditKind, actor: Actor, subject: impl Into<String>) -> Self {
        Self {
            kind,
            actor,
            subject: subject.into(),
            detail: json!({}),
        }
    }

    /// The same event with `detail`.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When it was appended.
    pub at: DateTime<Utc>,
    /// Who, as [`Actor`]'s display form.
    pub actor: String,
    /// What, as [`AuditKind::as_str`].
    pub kind: String,
    /// To what.
    pub subject: String,
    /// Detail.
    pub detail: Value,
    /// The previous record's hash.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// Which audit records to read (`Store::audit_records`); every field narrows, `None`
/// doesn't.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exactly this kind (`plan.approved`, …).
    pub kind: Option<String>,
    /// Exactly this actor (`person:olga`, `system`, …).
    pub actor: Option<String>,
    /// Exactly this subject (a plan, session or account).
    pub subject: Option<String>,
    /// Appended at or after.
    pub from: Option<DateTime<Utc>>,
    /// Appended before.
    pub to: Option<DateTime<Utc>>,
}

/// The chain's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AuditVerification {
    /// Every link holds.
    Intact {
        /// Records checked.
        records: u64,
        /// The last record's hash (note it down to detect truncation later).
        head: String,
    },
    /// The first broken link.
    Broken {
        /// The sequence number of the first record that fails.
        seq: i64,
        /// What is wrong with it.
        problem: ChainBreak,
    },
}

/// How a link is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainBreak {
    /// Its content no longer matches its hash: the row was altered.
    HashMismatch,
    /// Its `prev_hash` isn't the previous record's hash: a row was removed or inserted before it.
    PrevHashMismatch,
    /// Its sequence number doesn't follow the previous one: a row was removed or inserted.
    SequenceGap,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::HashMismatch => "content does not match its hash (altered)",
            Self::PrevHashMismatch => "does not link to the previous record (a record was removed or inserted)",
            Self::SequenceGap => "sequence number does not follow the previous record (a record was removed or inserted)",
        })
    }
}

/// The timestamp format hashed and stored: RFC 3339, microseconds, `Z`.
pub fn format_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Computes a record's hash from its fields and the previous hash.
pub fn record_hash(
    prev_hash: &str,
    seq: i64,
    at: &str,
    actor: &str,
    kind: &str,
    subject: &str,
    detail: &Value,
) -> String {
    // serde_json's Map is a BTreeMap here (no `preserve_order`), so keys serialise sorted:
    // the JSON is canonical for the values we store (no floats in details).
    let canonical = json!({
        "seq": seq,
        "at": at,
        "actor": actor,
        "kind": kind,
        "subject": subject,
        "detail": detail,
    });
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// Walks records in `seq` order and names the first broken link.
pub fn verify_chain<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> AuditVerification {
    let mut verifier = ChainVerifier::new();
    for r in records {
        if !verifier.push(r) {
            break;
        }
    }
    verifier.finish()
}

/// Checks a chain one record at a time, in `seq` order, so that a log of any length can be
/// verified page by page without holding it in memory. Once a link breaks, later records
/// are ignored: the first break is the one to report.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    /// Hash of the last record checked (the genesis hash before the first).
    prev_hash: String,
    /// Its sequence number (0 before the first).
    prev_seq: i64,
    /// Records checked and found intact.
    count: u64,
    /// The first broken link, once found.
    broken: Option<(i64, ChainBreak)>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    /// A verifier at the start of the chain.
    pub fn new() -> Self {
        Self {
            prev_hash: GENESIS_HASH.to_owned(),
            prev_seq: 0,
            count: 0,
            broken: None,
        }
    }

    /// Checks the next record. Returns whether the chain still holds.
    pub fn push(&mut self, r: &AuditRecord) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let problem = if r.seq != self.prev_seq.saturating_add(1) {
            Some(ChainBreak::SequenceGap)
        } else if r.prev_hash != self.prev_hash {
            Some(ChainBreak::PrevHashMismatch)
        } else if record_hash(
            &r.prev_hash,
            r.seq,
            &format_time(r.at),
            &r.actor,
            &r.kind,
            &r.subject,
            &r.detail,
        ) != r.hash
        {
            Some(ChainBreak::HashMismatch)
        } else {
            None
        };
        match problem {
            Some(problem) => {
                self.broken = Some((r.seq, problem));
                false
            }
            None => {
                self.prev_hash.clone_from(&r.hash);
                self.prev_seq = r.seq;
                self.count += 1;
                true
            }
        }
    }

    /// Records that the next stored row, numbered `seq`, could not even be read back into
    /// an [`AuditRecord`] (a timestamp out of range, a detail that isn't JSON): its content
    /// can't match its hash. Returns `false`, as the chain no longer holds.
    pub fn push_unreadable(&mut self, seq: i64) -> bool {
        if self.broken.is_none() {
            let problem = if seq != self.prev_seq.saturating_add(1) {
                ChainBreak::SequenceGap
            } else {
                ChainBreak::HashMismatch
            };
            self.broken = Some((seq, problem));
        }
        false
    }

    /// The verdict on everything pushed.
    pub fn finish(self) -> AuditVerification {
        match self.broken {
            Some((seq, problem)) => AuditVerification::Broken { seq, problem },
            None => AuditVerification::Intact {
                records: self.count,
                head: self.prev_hash,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::new();
        let mut prev = GENESIS_HASH.to_owned();
        for seq in 1..=n {
            let at = Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap()
                + chrono::Duration::seconds(seq);
            let detail = json!({"n": seq});
            let hash = record_hash(
                &prev,
                seq,
                &format_time(at),
                "system",
                "gateway.started",
                "x",
                &detail,
            );
            out.push(AuditRecord {
                seq,
                at,
                actor: "system".into(),
                kind: "gateway.started".into(),
                subject: "x".into(),
                detail,
                prev_hash: prev.clone(),
                hash: hash.clone(),
            });
            prev = hash;
        }
        out
    }

    #[test]
    fn kind_names_are_unique_and_dotted() {
        let mut names: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
        assert!(
            names.iter().all(|n| n
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')),
            "{names:?}"
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditKind::ALL.len());
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        assert!(matches!(
            verify_chain(&c),
            AuditVerification::Intact { records: 5, .. }
        ));
        assert!(matches!(
            verify_chain(&[]),
            AuditVerification::Intact { records: 0, .. }
        ));
    }

    #[test]
    fn tampering_is_named() {
        let mut altered = chain(5);
        altered[2].subject = "y".into();
        assert_eq!(
            verify_chain(&altered),
            AuditVerification::Broken {
                seq: 3,
                problem: ChainBreak::HashMismatch
            }
        );

        let mut removed = chain(5);
        removed.remove(2);
        assert_eq!(
            verify_chain(&removed),
            AuditVerification::Broken {
                seq: 4,
                problem: ChainBreak::SequenceGap
            }
        );

        // An inserted row renumbered to fit still fails to link.
        let mut inserted = chain(5);
        let mut fake = inserted[1].clone();
        fake.detail = json!({"forged": true});
        inserted.insert(2, fake);
        for (i, r) in inserted.iter_mut().enumerate() {
            r.seq = i as i64 + 1;
        }
        assert!(matches!(
            verify_chain(&inserted),
            AuditVerification::Broken { seq: 2 | 3, .. }
        ));
    }

    #[test]
    fn incremental_verifier_matches_and_keeps_the_first_break() {
        let c = chain(4);
        let mut v = ChainVerifier::new();
        assert!(c.iter().all(|r| v.push(r)));
        assert_eq!(v.finish(), verify_chain(&c));

        let mut v = ChainVerifier::new();
        assert!(v.push(&c[0]));
        assert!(!v.push_unreadable(2));
        assert!(!v.push(&c[2]));
        assert_eq!(
            v.finish(),
            AuditVerification::Broken {
                seq: 2,
                problem: ChainBreak::HashMismatch
            }
        );

        let mut v = ChainVerifier::new();
        assert!(v.push(&c[0]));
        assert!(!v.push_unreadable(3));
        assert_eq!(
            v.finish(),
            AuditVerification::Broken {
                seq: 3,
                problem: ChainBreak::SequenceGap
            }
        );
    }
}
