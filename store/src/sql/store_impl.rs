//! [`Store`] for [`SqlStore`]: each method forwards to the file that owns its concern.

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

use super::{SqlStore, audit_log};
use crate::Store;
use crate::audit::{AuditEvent, AuditRecord, AuditVerification};
use crate::connection::{ConnectionRecord, NewConnection};
use crate::console::{
    ConsoleEnd, ConsoleSession, ConsoleSessionId, NewConsoleSession, TokenDigest,
};
use crate::error::Result;
use crate::model::{
    Account, Actor, CertSerial, CertificateRecord, Credentials, FailureRecorded, KillRequest,
    LoginAttempt, NewAccount, NewCertificate, NewSession, NewTarget, NewVendor, RecordingSeal,
    RevokeSelector, SessionRecord, StepClaim, StoredReport, Target, Vendor,
};
use crate::model::{PasswordSet, ReportSeal, Seal, TargetUpdate, VendorChange};
use crate::session_query::{SessionCursor, SessionFilter, SessionPage};

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn add_vendor(&self, vendor: NewVendor, actor: &Actor) -> Result<Vendor> {
        self.insert_vendor(vendor, actor).await
    }

    async fn vendor(&self, name: &VendorName) -> Result<Option<Vendor>> {
        self.select_vendor(name).await
    }

    async fn vendors(&self) -> Result<Vec<Vendor>> {
        self.select_vendors().await
    }

    async fn add_account(&self, account: NewAccount, actor: &Actor) -> Result<Account> {
        self.insert_account(account, actor).await
    }

    async fn account(&self, login: &Login) -> Result<Option<Account>> {
        self.select_account(login).await
    }

    async fn accounts(&self, kind: Option<AccountKind>) -> Result<Vec<Account>> {
        self.select_accounts(kind).await
    }

    async fn credentials(&self, login: &Login) -> Result<Option<Credentials>> {
        self.select_credentials(login).await
    }

    async fn record_login_success(
        &self,
        login: &Login,
        step: TimeStep,
        attempt: &LoginAttempt,
    ) -> Result<StepClaim> {
        self.claim_login(login, step, attempt).await
    }

    async fn record_login_failure(
        &self,
        attempted: &str,
        reason: LoginRejection,
        attempt: &LoginAttempt,
        lockout: &LockoutPolicy,
    ) -> Result<FailureRecorded> {
        self.record_failure(attempted, reason, attempt, lockout)
            .await
    }

    async fn last_logins(&self) -> Result<Vec<(Login, DateTime<Utc>)>> {
        self.select_last_logins().await
    }

    async fn add_certificate(
        &self,
        cert: NewCertificate,
        actor: &Actor,
    ) -> Result<CertificateRecord> {
        self.insert_certificate(cert, actor).await
    }

    async fn revoke_certificates(
        &self,
        which: &RevokeSelector,
        reason: &str,
        actor: &Actor,
    ) -> Result<Vec<CertificateRecord>> {
        self.revoke(which, reason, actor).await
    }

    async fn certificates(&self) -> Result<Vec<CertificateRecord>> {
        self.select_certificates().await
    }

    async fn revoked_serials(&self) -> Result<Vec<CertSerial>> {
        self.select_revoked_serials().await
    }

    async fn add_target(&self, target: NewTarget, actor: &Actor) -> Result<Target> {
        self.insert_target(target, actor).await
    }

    async fn update_target(
        &self,
        name: &TargetName,
        update: TargetUpdate,
        actor: &Actor,
    ) -> Result<Target> {
        self.write_target_update(name, update, actor).await
    }

    async fn target(&self, name: &TargetName) -> Result<Option<Target>> {
        self.select_target(name).await
    }

    async fn targets(&self) -> Result<Vec<Target>> {
        self.select_targets().await
    }

    async fn remove_target(&self, name: &TargetName, actor: &Actor) -> Result<Target> {
        self.soft_remove_target(name, actor).await
    }

    async fn target_credential(&self, name: &TargetName) -> Result<Option<SecretBox<Vec<u8>>>> {
        self.select_target_credential(name).await
    }

    async fn submit_plan(&self, plan: Plan, actor: &Actor) -> Result<Plan> {
        self.insert_plan(plan, actor).await
    }

    async fn decide_plan(&self, decided: Plan, actor: &Actor) -> Result<Plan> {
        self.record_decision(decided, actor).await
    }

    async fn advance_plan(&self, updated: Plan, from: PlanStatus, actor: &Actor) -> Result<Plan> {
        self.write_plan_step(updated, from, actor).await
    }

    async fn store_report(
        &self,
        reported: Plan,
        report: StoredReport,
        summary: serde_json::Value,
        actor: &Actor,
    ) -> Result<Plan> {
        self.insert_report(reported, report, summary, actor).await
    }

    async fn report(&self, plan: &PlanId) -> Result<Option<StoredReport>> {
        self.select_report(plan).await
    }

    async fn plan(&self, id: &PlanId) -> Result<Option<Plan>> {
        self.select_plan(id).await
    }

    async fn plans(&self) -> Result<Vec<Plan>> {
        self.select_plans().await
    }

    async fn plans_for_engineer(&self, engineer: &Login) -> Result<Vec<Plan>> {
        self.select_plans_for_engineer(engineer).await
    }

    async fn admission_facts(
        &self,
        engineer: &Login,
        target: &TargetName,
    ) -> Result<AdmissionFacts> {
        self.select_admission_facts(engineer, target).await
    }

    async fn start_session(&self, session: NewSession) -> Result<SessionRecord> {
        self.insert_session(session).await
    }

    async fn end_session(
        &self,
        id: &SessionId,
        reason: EndReason,
        seal: Option<RecordingSeal>,
    ) -> Result<SessionRecord> {
        self.finish_session(id, reason, seal, None).await
    }

    fn set_node(&self, node: &str) -> Result<()> {
        self.claim_node(node)
    }

    async fn end_orphaned_sessions(
        &self,
        reason: EndReason,
        cause: &str,
    ) -> Result<Vec<SessionRecord>> {
        self.finish_orphaned_sessions(reason, cause).await
    }

    async fn sessions(&self, live_only: bool) -> Result<Vec<SessionRecord>> {
        self.select_sessions(live_only).await
    }

    async fn sessions_of_plan(&self, plan: &PlanId) -> Result<Vec<SessionRecord>> {
        self.select_sessions_of_plan(plan).await
    }

    async fn session(&self, id: &SessionId) -> Result<Option<SessionRecord>> {
        self.select_session(id).await
    }

    async fn latest_session_on_target(&self, target: &TargetName) -> Result<Option<SessionRecord>> {
        self.select_latest_session_on_target(target).await
    }

    async fn request_kill(
        &self,
        id: &SessionId,
        reason: &str,
        actor: &Actor,
    ) -> Result<KillRequest> {
        self.insert_kill_request(id, reason, actor).await
    }

    async fn pending_kills(&self) -> Result<Vec<KillRequest>> {
        self.select_pending_kills().await
    }

    async fn add_vendor_targets(
        &self,
        vendor: &VendorName,
        targets: &[TargetName],
        actor: &Actor,
    ) -> Result<Vec<TargetName>> {
        self.insert_vendor_targets(vendor, targets, actor).await
    }

    async fn remove_vendor_targets(
        &self,
        vendor: &VendorName,
        targets: &[TargetName],
        actor: &Actor,
    ) -> Result<Vec<TargetName>> {
        self.delete_vendor_targets(vendor, targets, actor).await
    }

    async fn vendor_targets(&self, vendor: &VendorName) -> Result<Vec<TargetName>> {
        self.select_vendor_targets(vendor).await
    }

    async fn emergency_facts(
        &self,
        engineer: &Login,
        target: &TargetName,
    ) -> Result<policy::plan::emergency::EmergencyFacts> {
        self.select_emergency_facts(engineer, target).await
    }

    async fn append_audit(&self, event: AuditEvent) -> Result<AuditRecord> {
        let mut tx = self.write().await?;
        let record = audit_log::append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn audit_tail(&self, n: u32) -> Result<Vec<AuditRecord>> {
        audit_log::tail(&self.pool, n).await
    }

    async fn audit_records(
        &self,
        filter: &crate::audit::AuditFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>> {
        audit_log::select(&self.pool, filter, before, limit).await
    }

    async fn verify_audit(&self) -> Result<AuditVerification> {
        audit_log::verify(&self.pool).await
    }

    async fn session_seals(&self, session: &SessionId) -> Result<Vec<Seal>> {
        self.select_session_seals(session).await
    }

    async fn recording_seals(&self) -> Result<Vec<Seal>> {
        self.select_recording_seals().await
    }

    async fn report_seals(&self) -> Result<Vec<ReportSeal>> {
        self.select_report_seals().await
    }

    async fn session_page(
        &self,
        filter: &SessionFilter,
        after: Option<&SessionCursor>,
        limit: u32,
    ) -> Result<SessionPage> {
        self.select_session_page(filter, after, limit).await
    }

    async fn session_transfers(&self, session: &SessionRecord) -> Result<Vec<AuditRecord>> {
        self.select_session_transfers(session).await
    }

    async fn set_account_enabled(
        &self,
        login: &Login,
        enabled: bool,
        actor: &Actor,
    ) -> Result<Account> {
        self.write_account_enabled(login, enabled, actor).await
    }

    async fn change_vendor(
        &self,
        name: &VendorName,
        change: &VendorChange,
        actor: &Actor,
    ) -> Result<Vendor> {
        self.write_vendor_change(name, change, actor).await
    }

    async fn set_password(
        &self,
        login: &Login,
        hash: &PasswordHash,
        how: &PasswordSet,
        actor: &Actor,
    ) -> Result<()> {
        self.write_password(login, hash, how, actor).await
    }

    async fn reset_totp(
        &self,
        login: &Login,
        secret: &TotpSecret,
        note: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.write_totp_secret(login, secret, note, actor).await
    }

    async fn set_role(&self, login: &Login, role: OperatorRole, actor: &Actor) -> Result<Account> {
        self.write_role(login, role, actor).await
    }

    async fn require_password_change(&self, login: &Login, actor: &Actor) -> Result<()> {
        self.write_password_change_request(login, actor).await
    }

    async fn unlock_account(
        &self,
        login: &Login,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Account> {
        self.write_unlock(login, now, actor).await
    }

    async fn add_connection(&self, connection: NewConnection) -> Result<()> {
        self.insert_connection(connection).await
    }

    async fn remove_connection(&self, id: &SessionId) -> Result<()> {
        self.delete_connection(id).await
    }

    async fn connections(&self) -> Result<Vec<ConnectionRecord>> {
        self.select_connections().await
    }

    async fn request_connection_kill(
        &self,
        id: &SessionId,
        reason: &str,
        actor: &Actor,
    ) -> Result<ConnectionRecord> {
        self.insert_connection_kill(id, reason, actor).await
    }

    async fn remove_orphaned_connections(&self) -> Result<u64> {
        self.delete_orphaned_connections().await
    }

    async fn block_engineer(
        &self,
        plan: &PlanId,
        engineer: &Login,
        reason: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.insert_plan_block(plan, engineer, reason, actor).await
    }

    async fn start_console_session(&self, session: NewConsoleSession) -> Result<ConsoleSession> {
        self.insert_console_session(session).await
    }

    async fn console_session(&self, token: &TokenDigest) -> Result<Option<ConsoleSession>> {
        self.select_console_session(token).await
    }

    async fn touch_console_session(&self, id: &ConsoleSessionId, at: DateTime<Utc>) -> Result<()> {
        self.update_console_last_seen(id, at).await
    }

    async fn end_console_session(
        &self,
        id: &ConsoleSessionId,
        end: ConsoleEnd,
        actor: &Actor,
    ) -> Result<ConsoleSession> {
        self.finish_console_session(id, end, actor).await
    }
}
