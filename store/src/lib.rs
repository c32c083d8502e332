//! fumidai's persistence: one schema on SQLite (the single-box default) or PostgreSQL
//! (scale-out), the hash-chained audit log, and secrets sealed under the master key.
//!
//! The gateway and the web UI talk to an [`Arc<dyn Store>`](Store); no `sqlx` type crosses
//! that trait, so callers can't tell (or care) which database is behind it.
//!
//! # Layout
//!
//! - [`model`]: the plain records the trait takes and returns.
//! - [`audit`]: audit event kinds, the chain's hashing and verification (R-17-2).
//! - [`connection`]: logged-in SSH connections without a session (issue 12).
//! - [`console`]: signed-in sessions of the operator web console (issue 15).
//! - [`sealing`]: the master key and the AEAD that seals TOTP seeds and target credentials.
//! - `sql`: the [`SqlStore`] implementation on `sqlx::Any`, with per-database migrations
//!   (`migrations/sqlite`, `migrations/postgres`: one schema in two dialects).
//!
//! # What this crate does not do
//!
//! It makes no decisions: whether a login succeeds, whether an account locks, is decided by
//! `policy`; the store records the outcome atomically with its audit event, so a change
//! is never stored without its record nor recorded without being stored (R-17-2).

pub mod audit;
pub mod connection;
pub mod console;
pub mod error;
pub mod model;
pub mod sealing;
pub mod session_query;
mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use policy::admission::AdmissionFacts;
use policy::ids::{AccountKind, Login, OperatorRole, PlanId, SessionId, TargetName, VendorName};
use policy::limits::EndReason;
use policy::lockout::LockoutPolicy;
use policy::login::LoginRejection;
use policy::password::PasswordHash;
use policy::plan::{Plan, PlanStatus};
use policy::totp::{TimeStep, TotpSecret};
use secrecy::SecretBox;

pub use audit::{
    AuditEvent, AuditFilter, AuditKind, AuditRecord, AuditVerification, ChainBreak, ChainVerifier,
};
pub use connection::{ConnectionRecord, NewConnection};
pub use console::{ConsoleEnd, ConsoleSession, ConsoleSessionId, NewConsoleSession, TokenDigest};
pub use error::{Error, Result};
pub use model::*;
pub use sealing::MasterKey;
pub use session_query::{
    FindingsFilter, ListedSession, SessionCursor, SessionFilter, SessionPage, SessionState,
};
pub use sql::{Backend, SqlStore};

/// The store as the rest of fumidai sees it.
#[async_trait]
pub trait Store: Send + Sync {
    /// Checks the database answers; `/healthz` and fail-closed admission use it.
    async fn ping(&self) -> Result<()>;

    /// Registers a vendor company. Fails with [`Error::AlreadyExists`] on a duplicate name.
    async fn add_vendor(&self, vendor: NewVendor, actor: &Actor) -> Result<Vendor>;
    /// A vendor by name.
    async fn vendor(&self, name: &VendorName) -> Result<Option<Vendor>>;
    /// All vendors, by name.
    async fn vendors(&self) -> Result<Vec<Vendor>>;

    /// Creates an engineer or operator account with its hashed password and sealed TOTP
    /// secret. An engineer's vendor must exist ([`Error::NotFound`]).
    async fn add_account(&self, account: NewAccount, actor: &Actor) -> Result<Account>;
    /// An account by login, without secrets.
    async fn account(&self, login: &Login) -> Result<Option<Account>>;
    /// All accounts of a kind (or all), by login.
    async fn accounts(&self, kind: Option<AccountKind>) -> Result<Vec<Account>>;
    /// What a login check needs: hash, unsealed TOTP secret, last used step, failure state
    /// and the vendor's allow list. `None` for an unknown login.
    async fn credentials(&self, login: &Login) -> Result<Option<Credentials>>;

    /// Records a successful login: claims the TOTP step atomically (refusing a step at or
    /// before the last one claimed, so two parallel logins can't share a code), resets the
    /// failure count, and appends `login.success`. Returns [`StepClaim::AlreadyUsed`] —
    /// having changed nothing — when the step was claimed meanwhile; the caller then
    /// records a failure with [`LoginRejection::ReplayedCode`]. An unknown login is
    /// [`Error::NotFound`].
    async fn record_login_success(
        &self,
        login: &Login,
        step: TimeStep,
        attempt: &LoginAttempt,
    ) -> Result<StepClaim>;
    /// Records a failed login: appends `login.failure`; when the reason counts towards the
    /// lock-out and the account exists, increments its failure count atomically and applies
    /// `policy::lockout::after_failure`, appending `account.locked` when that locks it.
    /// `attempted` is the login as typed, which may name no account.
    async fn record_login_failure(
        &self,
        attempted: &str,
        reason: LoginRejection,
        attempt: &LoginAttempt,
        lockout: &LockoutPolicy,
    ) -> Result<FailureRecorded>;
    /// Each login's latest successful login, by login, read from the audit trail's
    /// `login.success` records (so it is as trustworthy as the chain). Logins that never
    /// succeeded are absent. The account review (R-14-8) uses it.
    async fn last_logins(&self) -> Result<Vec<(Login, DateTime<Utc>)>>;

    /// Records an issued client certificate, with its audit event. The login must name an
    /// account ([`Error::NotFound`]); a serial already recorded is [`Error::AlreadyExists`].
    async fn add_certificate(
        &self,
        cert: NewCertificate,
        actor: &Actor,
    ) -> Result<CertificateRecord>;
    /// Revokes every unrevoked certificate of a login, or the one with a serial. Returns
    /// those revoked now (empty when there were none). Takes effect at the next handshake.
    async fn revoke_certificates(
        &self,
        which: &RevokeSelector,
        reason: &str,
        actor: &Actor,
    ) -> Result<Vec<CertificateRecord>>;
    /// All certificates, newest first.
    async fn certificates(&self) -> Result<Vec<CertificateRecord>>;
    /// Serials of all revoked certificates, for the front door's handshake check.
    async fn revoked_serials(&self) -> Result<Vec<CertSerial>>;

    /// Registers a target with its pinned host key, sealing the credential under the master
    /// key (context `target:<name>`), and appends `target.added` — whose detail holds the
    /// address, login, auth, host key and tags, never the credential. A credential must be
    /// given exactly when the auth needs one ([`Error::CredentialMismatch`]). A name in use
    /// is [`Error::AlreadyExists`]; a removed target's name is [`Error::NameRetired`].
    async fn add_target(&self, target: NewTarget, actor: &Actor) -> Result<Target>;
    /// Changes a registered target's address, login, credential or pin in place (the name
    /// and its history stay) and appends `target.updated` naming what changed (the pin's
    /// old and new fingerprints; never the credential). The pin keeps its protocol
    /// ([`Error::InvalidTransition`] otherwise); a credential must match its auth
    /// ([`Error::CredentialMismatch`]). Unknown or removed: [`Error::NotFound`].
    async fn update_target(
        &self,
        name: &TargetName,
        update: TargetUpdate,
        actor: &Actor,
    ) -> Result<Target>;
    /// A registered, not removed target, without its credential.
    async fn target(&self, name: &TargetName) -> Result<Option<Target>>;
    /// All registered, not removed targets, by name.
    async fn targets(&self) -> Result<Vec<Target>>;
    /// Removes a target (softly: its name stays in plans, sessions and the audit trail, and
    /// is never reused), drops its sealed credential, and appends `target.removed`. Removed
    /// targets are not listed and not admissible. Unknown or already removed:
    /// [`Error::NotFound`].
    async fn remove_target(&self, name: &TargetName, actor: &Actor) -> Result<Target>;
    /// The target's credential, unsealed, for logging in to it: the OpenSSH private key
    /// file's text for `key` auth, the password for `password` auth. `None` for `cert` auth
    /// and for unknown or removed targets. A credential that doesn't open (wrong master key,
    /// tampered or moved row) is [`Error::Unseal`]. Never log it.
    async fn target_credential(&self, name: &TargetName) -> Result<Option<SecretBox<Vec<u8>>>>;

    /// Stores a plan built by `policy::plan::submit` and appends `plan.submitted`. Checks in
    /// the same transaction that the vendor exists, every engineer is an engineer of that
    /// vendor ([`Error::NotFound`], [`Error::EngineerOfOtherVendor`]) and every target is
    /// registered and not removed. A plan not in `submitted` state is
    /// [`Error::InvalidTransition`]; a duplicate ID [`Error::AlreadyExists`].
    async fn submit_plan(&self, plan: Plan, actor: &Actor) -> Result<Plan>;
    /// Stores the decision `policy::plan::approve`/`reject` returned (only the decision
    /// columns: status, decided by, reason, time) and appends `plan.approved` or
    /// `plan.rejected`. Compare-and-set: if the stored plan is no longer `submitted` —
    /// someone decided first — nothing changes and the result is
    /// [`Error::InvalidTransition`] naming its stored state. Returns the stored plan.
    async fn decide_plan(&self, decided: Plan, actor: &Actor) -> Result<Plan>;
    /// Stores a plan's step after approval that `policy::plan::lifecycle` returned —
    /// closed, confirmed, or attested (same status, attestation set) — compare-and-set on
    /// `from` (and, for an attestation, on none being stored yet), and appends
    /// `plan.closed`, `report.confirmed` or `plan.attested`. Someone else moved first:
    /// [`Error::InvalidTransition`] naming the stored state. (A plan becomes active inside
    /// [`start_session`](Store::start_session); it is reported by
    /// [`store_report`](Store::store_report).)
    async fn advance_plan(&self, updated: Plan, from: PlanStatus, actor: &Actor) -> Result<Plan>;
    /// Stores a plan's sealed report and moves the plan from closed to reported (as
    /// `policy::plan::lifecycle::reported` returned it) in one transaction, appending
    /// `report.produced` with the digest, signature and audit head, plus `summary`'s fields
    /// (finding counts). `summary`'s `session_findings` (session ID → findings about it)
    /// is also stored on the plan's sessions (those it doesn't name: 0), for the session
    /// list's findings filter ([`session_page`](Store::session_page)). Not closed any more, or a report already stored:
    /// [`Error::InvalidTransition`] / [`Error::AlreadyExists`].
    async fn store_report(
        &self,
        reported: Plan,
        report: StoredReport,
        summary: serde_json::Value,
        actor: &Actor,
    ) -> Result<Plan>;
    /// A plan's stored report.
    async fn report(&self, plan: &PlanId) -> Result<Option<StoredReport>>;
    /// A plan by ID.
    async fn plan(&self, id: &PlanId) -> Result<Option<Plan>>;
    /// All plans, by window start.
    async fn plans(&self) -> Result<Vec<Plan>>;
    /// The plans naming this engineer, in any state, by window start.
    async fn plans_for_engineer(&self, engineer: &Login) -> Result<Vec<Plan>>;
    /// Everything `policy::admission::admit` needs for one request: whether the target is
    /// registered and not removed, and the plans naming the engineer.
    async fn admission_facts(
        &self,
        engineer: &Login,
        target: &TargetName,
    ) -> Result<AdmissionFacts>;

    /// Records an admitted session's start and appends `session.started` (actor: the
    /// engineer). The engineer, target and plan must exist ([`Error::NotFound`]); a
    /// duplicate ID is [`Error::AlreadyExists`].
    async fn start_session(&self, session: NewSession) -> Result<SessionRecord>;
    /// Records a live session's end with its reason and, when sealed, the recording's digest and signature, and appends
    /// `session.ended` carrying them. An emergency plan closes with its session (R-11-1:
    /// it covers that session only), appending `plan.closed`. A session already ended is
    /// [`Error::InvalidTransition`] and changes nothing; an unknown one [`Error::NotFound`].
    async fn end_session(
        &self,
        id: &SessionId,
        reason: EndReason,
        seal: Option<RecordingSeal>,
    ) -> Result<SessionRecord>;
    /// Names the gateway node this store serves from now on (`serve` does, once, before
    /// any session starts). [`start_session`](Store::start_session) stores the name with
    /// each session, so that [`end_orphaned_sessions`](Store::end_orphaned_sessions) after
    /// a crash ends that node's sessions only, never another node's sharing a PostgreSQL
    /// store. Naming another node afterwards is [`Error::InvalidTransition`].
    fn set_node(&self, node: &str) -> Result<()>;
    /// Ends, with `reason` (and `cause` in the `session.ended` detail), every session still
    /// live that this node started: a gateway that died (SIGKILL, power loss) could not end
    /// them, and a node that starts holds none yet. Appends `session.ended` for each and
    /// returns them. Without [`set_node`](Store::set_node) first: [`Error::NotFound`].
    async fn end_orphaned_sessions(
        &self,
        reason: EndReason,
        cause: &str,
    ) -> Result<Vec<SessionRecord>>;
    /// Sessions, newest first; only those not ended when `live_only`.
    async fn sessions(&self, live_only: bool) -> Result<Vec<SessionRecord>>;
    /// A session by ID.
    async fn session(&self, id: &SessionId) -> Result<Option<SessionRecord>>;
    /// The latest session on a target (live or ended), if any: an RDP desktop it left may be
    /// resumed by the next one.
    async fn latest_session_on_target(&self, target: &TargetName) -> Result<Option<SessionRecord>>;
    /// The sessions under a plan, oldest first.
    async fn sessions_of_plan(&self, plan: &PlanId) -> Result<Vec<SessionRecord>>;
    /// Asks for a live session to be killed, and appends `session.killed` (actor: who
    /// asked; detail: the reason) in the same transaction. The gateway holding the session
    /// sees the request through [`pending_kills`](Store::pending_kills) and ends it with
    /// reason `killed`. A session already ended, or with a kill already pending, is
    /// [`Error::InvalidTransition`] and changes nothing; an unknown one [`Error::NotFound`].
    async fn request_kill(
        &self,
        id: &SessionId,
        reason: &str,
        actor: &Actor,
    ) -> Result<KillRequest>;
    /// Kill requests for sessions not yet ended, oldest first. Every gateway polls this.
    async fn pending_kills(&self) -> Result<Vec<KillRequest>>;

    /// Adds targets to the vendor's contracted targets (R-11-1: emergencies only there),
    /// appending `vendor.target_added` for each one not listed yet; returns those. An
    /// unknown vendor, or a target not registered or removed, is [`Error::NotFound`] and
    /// changes nothing.
    async fn add_vendor_targets(
        &self,
        vendor: &VendorName,
        targets: &[TargetName],
        actor: &Actor,
    ) -> Result<Vec<TargetName>>;
    /// Takes targets off the vendor's contracted targets, appending
    /// `vendor.target_removed` for each. One not listed is [`Error::NotFound`] and changes
    /// nothing.
    async fn remove_vendor_targets(
        &self,
        vendor: &VendorName,
        targets: &[TargetName],
        actor: &Actor,
    ) -> Result<Vec<TargetName>>;
    /// The vendor's contracted targets, by name (removed targets included: their rows stay).
    async fn vendor_targets(&self, vendor: &VendorName) -> Result<Vec<TargetName>>;
    /// Everything `policy::plan::emergency::check_limits` needs for one declaration: the
    /// engineer's vendor and whether it allows emergencies, whether the target is one of
    /// its contracted targets (registered, not removed) and tagged `personal-data`, and
    /// the plans naming the engineer.
    async fn emergency_facts(
        &self,
        engineer: &Login,
        target: &TargetName,
    ) -> Result<policy::plan::emergency::EmergencyFacts>;

    /// Appends an event that records no other change (configuration load, refused
    /// connection, start-up).
    async fn append_audit(&self, event: AuditEvent) -> Result<AuditRecord>;
    /// The last `n` audit records, oldest first.
    async fn audit_tail(&self, n: u32) -> Result<Vec<AuditRecord>>;
    /// The records `filter` selects, newest first, with `seq` below `before` when given
    /// (keyset paging: pass the last page's smallest `seq`), at most `limit`.
    async fn audit_records(
        &self,
        filter: &audit::AuditFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>>;
    /// Walks the whole chain and names the first broken link.
    async fn verify_audit(&self) -> Result<AuditVerification>;
    /// The seals of `session`'s recordings (its `recording.sealed` audit records), oldest
    /// first; found by kind and session, without reading the rest of the chain.
    async fn session_seals(&self, session: &SessionId) -> Result<Vec<Seal>>;
    /// Every recording seal in the chain, oldest first (`audit verify` checks them all).
    async fn recording_seals(&self) -> Result<Vec<Seal>>;
    /// Every reconciliation report's seal in the chain (`report.produced`), oldest first,
    /// found by kind (`audit verify` checks each stored report against it).
    async fn report_seals(&self) -> Result<Vec<ReportSeal>>;
    /// One page of the sessions `filter` lets through, newest first (`started_at`, then
    /// ID, descending), at most `limit`, starting after `after` (issue 15: paged by
    /// index, never by offset), each with its target's protocol, its plan's vendor and
    /// its findings once the plan is reported.
    async fn session_page(
        &self,
        filter: &SessionFilter,
        after: Option<&SessionCursor>,
        limit: u32,
    ) -> Result<SessionPage>;
    /// `session`'s `transfer` audit records (direction, path, size, SHA-256, outcome),
    /// oldest first; found by kind and target, then by the session in the detail.
    async fn session_transfers(&self, session: &SessionRecord) -> Result<Vec<AuditRecord>>;

    // Account and vendor life cycle (R-14-8, §14.2).

    /// Disables or enables an account and appends `account.disabled` / `account.enabled`.
    /// A disabled account can't log in. Unknown: [`Error::NotFound`].
    async fn set_account_enabled(
        &self,
        login: &Login,
        enabled: bool,
        actor: &Actor,
    ) -> Result<Account>;
    /// Changes a vendor (enabled, contract end, allow list, emergency) and appends
    /// `vendor.changed` naming what changed. Unknown: [`Error::NotFound`].
    async fn change_vendor(
        &self,
        name: &VendorName,
        change: &VendorChange,
        actor: &Actor,
    ) -> Result<Vendor>;
    /// Stores a new password hash and appends `account.password_reset` (an operator set
    /// it; the person must change it at the next login) or `account.password_changed`.
    /// Clears the failure count and lock. Unknown: [`Error::NotFound`].
    async fn set_password(
        &self,
        login: &Login,
        hash: &PasswordHash,
        how: &PasswordSet,
        actor: &Actor,
    ) -> Result<()>;
    /// Re-enrols an account's TOTP with a new secret (sealed), clears the lock, and
    /// appends `account.totp_reset` with the identity-check note (R-14-3). Unknown:
    /// [`Error::NotFound`].
    async fn reset_totp(
        &self,
        login: &Login,
        secret: &TotpSecret,
        note: &str,
        actor: &Actor,
    ) -> Result<()>;
    /// Changes an operator account's role and appends `account.role_changed`. Not an
    /// operator account: [`Error::NotFound`].
    async fn set_role(&self, login: &Login, role: OperatorRole, actor: &Actor) -> Result<Account>;
    /// Marks that the account must choose a new password at its next login, and appends
    /// `account.password_change_requested`. Unknown: [`Error::NotFound`].
    async fn require_password_change(&self, login: &Login, actor: &Actor) -> Result<()>;
    /// Lifts `login`'s lock-out before its end (R-14-6(6)): clears the lock and the failure
    /// count and appends `account.unlocked` (detail: when the lock would have ended) in
    /// one transaction. Only an account locked at `now` is unlocked — read and changed
    /// under the row's lock, so of two racing unlocks one succeeds — otherwise
    /// [`Error::InvalidTransition`]; unknown: [`Error::NotFound`].
    async fn unlock_account(
        &self,
        login: &Login,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Account>;
    /// Records a logged-in SSH connection that holds no maintenance session yet, on this
    /// node (issue 12), so that another process lists and kills it. A duplicate ID fails.
    async fn add_connection(&self, connection: NewConnection) -> Result<()>;
    /// Forgets a connection: it opened its session (listed as that from now on) or closed.
    /// An unknown ID is no error.
    async fn remove_connection(&self, id: &SessionId) -> Result<()>;
    /// The logged-in connections without a session, on every node, oldest first. Every
    /// gateway polls this for kill requests.
    async fn connections(&self) -> Result<Vec<ConnectionRecord>>;
    /// Asks for a connection to be closed, and appends `session.killed` (actor: who asked;
    /// detail: the reason, state `logged_in_no_channel`) in the same transaction. Unknown:
    /// [`Error::NotFound`]; a kill already pending: [`Error::InvalidTransition`].
    async fn request_connection_kill(
        &self,
        id: &SessionId,
        reason: &str,
        actor: &Actor,
    ) -> Result<ConnectionRecord>;
    /// Forgets every connection this node recorded (at start: those of a crashed run).
    /// Returns how many. Without [`set_node`](Store::set_node) first: [`Error::NotFound`].
    async fn remove_orphaned_connections(&self) -> Result<u64>;
    /// Withdraws `engineer` from `plan` (`session kill --block`, issue 12) and appends
    /// `plan.engineer_blocked` in the same transaction: from now on
    /// [`admission_facts`](Store::admission_facts) leaves that plan out for them, so
    /// admission and the live re-check refuse it. Blocking twice changes nothing and is
    /// [`Error::AlreadyExists`]; an unknown plan [`Error::NotFound`].
    async fn block_engineer(
        &self,
        plan: &PlanId,
        engineer: &Login,
        reason: &str,
        actor: &Actor,
    ) -> Result<()>;

    // Issue 15, the operator web console (kept together at the end for an easy merge).

    /// Records a console sign-in (the person was authenticated just before) and appends
    /// `console.signed_in` with the person as actor. The login must name an account
    /// ([`Error::Database`] otherwise: a foreign key); a duplicate ID or token
    /// [`Error::AlreadyExists`].
    async fn start_console_session(&self, session: NewConsoleSession) -> Result<ConsoleSession>;
    /// The live (not ended) console session whose token has this digest.
    async fn console_session(&self, token: &TokenDigest) -> Result<Option<ConsoleSession>>;
    /// Notes a request of a live console session at `at` (its idle clock restarts). An
    /// ended or unknown session, or an earlier `at`, changes nothing. No audit record.
    async fn touch_console_session(&self, id: &ConsoleSessionId, at: DateTime<Utc>) -> Result<()>;
    /// Ends a live console session and appends `console.signed_out` (detail: `end`, the
    /// last request) in one transaction; returns it as it was. Compare-and-set: ended
    /// already is [`Error::InvalidTransition`] and changes nothing; unknown
    /// [`Error::NotFound`].
    async fn end_console_session(
        &self,
        id: &ConsoleSessionId,
        end: ConsoleEnd,
        actor: &Actor,
    ) -> Result<ConsoleSession>;
}

/// Opens the store at `url` (`sqlite://PATH` or `postgres://…`), creating a SQLite file if
/// missing and applying pending migrations.
pub async fn open(url: &str, master_key: MasterKey) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(SqlStore::open(url, master_key).await?))
}
