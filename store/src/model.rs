//! The plain records the [`Store`](crate::Store) takes and returns.

use std::fmt;
use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use policy::ids::{AccountKind, Login, OperatorRole, PlanId, SessionId, TargetName, VendorName};
use policy::limits::EndReason;
use policy::lockout::{AfterFailure, FailureState};
use policy::password::PasswordHash;
pub use policy::target::TargetProtocol;
use policy::target::{SshAddress, Tag, TargetAuth, TargetPin};
use policy::totp::{TimeStep, TotpSecret};
use secrecy::SecretBox;
use serde::Serialize;

/// Who did something, as the audit trail names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The gateway itself (start-up, time-outs).
    System,
    /// Someone at the gateway's command line, with the OS user running it.
    Cli {
        /// The OS user name.
        os_user: String,
    },
    /// A logged-in engineer or operator.
    Person(Login),
    /// A connection not yet tied to a person, by source address.
    Peer(SocketAddr),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::System => f.write_str("system"),
            Self::Cli { os_user } => write!(f, "cli:{os_user}"),
            Self::Person(login) => write!(f, "person:{login}"),
            Self::Peer(addr) => write!(f, "peer:{addr}"),
        }
    }
}

/// A vendor to register.
#[derive(Debug, Clone)]
pub struct NewVendor {
    /// Short name.
    pub name: VendorName,
    /// Source networks its engineers may connect from; empty allows any (R-10.2-PATH).
    pub allow_from: Vec<IpNet>,
    /// Whether its engineers may declare emergency access (R-10.1-APPROVE 事後承認).
    pub emergency_allowed: bool,
}

/// A registered vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vendor {
    /// Short name.
    pub name: VendorName,
    /// Source networks its engineers may connect from; empty allows any.
    pub allow_from: Vec<IpNet>,
    /// Whether its engineers may declare emergency access.
    pub emergency_allowed: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// A disabled vendor's engineers can't log in (R-14-8).
    pub enabled: bool,
    /// The contract's end: its engineers can't log in from then on (R-14-8).
    pub contract_end: Option<DateTime<Utc>>,
}

/// What `vendor set|disable|enable` changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorChange {
    /// Enable or disable it.
    pub enabled: Option<bool>,
    /// Set (`Some(Some(end))`) or clear (`Some(None)`) the contract's end.
    pub contract_end: Option<Option<DateTime<Utc>>>,
    /// Replace the source allow list.
    pub allow_from: Option<Vec<IpNet>>,
    /// Allow or forbid emergency access.
    pub emergency_allowed: Option<bool>,
}

/// How an account's password was set, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSet {
    /// An operator set a new initial password after checking the person's identity
    /// (§14 ⑥(4)); the person must change it at their next login.
    ResetByOperator {
        /// How the identity was checked, as the operator recorded it.
        note: String,
    },
    /// The person changed their own password (§14 ⑥(5)).
    ChangedByOwner,
}

/// An account to create.
#[derive(Debug)]
pub struct NewAccount {
    /// Login, also the client certificate's CN.
    pub login: Login,
    /// Engineer or operator.
    pub kind: AccountKind,
    /// The person's name, for reports.
    pub display_name: Option<String>,
    /// An engineer's vendor; `None` for operators.
    pub vendor: Option<VendorName>,
    /// An operator's role; `None` for engineers.
    pub role: Option<OperatorRole>,
    /// Argon2id hash of the password.
    pub password_hash: PasswordHash,
    /// TOTP secret, sealed under the master key before it is stored.
    pub totp_secret: TotpSecret,
}

/// An account, without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Login.
    pub login: Login,
    /// Engineer or operator.
    pub kind: AccountKind,
    /// The person's name.
    pub display_name: Option<String>,
    /// An engineer's vendor.
    pub vendor: Option<VendorName>,
    /// An operator's role.
    pub role: Option<OperatorRole>,
    /// Disabled accounts can't log in.
    pub enabled: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// While in the future, logins are refused.
    pub locked_until: Option<DateTime<Utc>>,
    /// An operator set the password (creation or reset): the person must change it before
    /// any session is admitted (§14 ⑥(5)).
    pub must_change_password: bool,
}

/// What a login check needs to know about an account.
#[derive(Debug)]
pub struct Credentials {
    /// The account.
    pub account: Account,
    /// Argon2id hash.
    pub password_hash: PasswordHash,
    /// The unsealed TOTP secret.
    pub totp_secret: TotpSecret,
    /// Step of the last accepted code (replay refusal).
    pub last_totp_step: Option<TimeStep>,
    /// Failure count and lock.
    pub failures: FailureState,
    /// The vendor's allow list (empty for operators and unrestricted vendors).
    pub allow_from: Vec<IpNet>,
    /// The vendor is enabled (true for operators, who have none).
    pub vendor_enabled: bool,
    /// The vendor's contract end, if any.
    pub contract_end: Option<DateTime<Utc>>,
}

/// Where a login attempt came from, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    /// The client's address as the front door saw it; `None` at the gateway's console.
    pub client_addr: Option<SocketAddr>,
    /// Serial of the client certificate presented.
    pub certificate_serial: Option<CertSerial>,
    /// The protocol logged in through (`ssh`, later `rdp`, `https`).
    pub protocol: &'static str,
    /// When the attempt was decided.
    pub at: DateTime<Utc>,
}

/// Whether a TOTP step could be claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepClaim {
    /// Claimed; the login is recorded as a success.
    Claimed,
    /// Another login claimed this step (or a later one) first; nothing was changed.
    AlreadyUsed,
}

/// What recording a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureRecorded {
    /// The login names no account: only the audit event was written.
    UnknownAccount,
    /// The failure doesn't count towards the lock-out (e.g. already locked).
    NotCounted,
    /// Applied to the account; see whether it locked.
    Applied(AfterFailure),
}

/// A certificate serial number, as lowercase hex without separators.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CertSerial(String);

impl CertSerial {
    /// From the serial's big-endian bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        // Leading zero bytes (DER sign padding) are not part of the number.
        let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
            Some(first) => bytes.get(first..).unwrap_or_default(),
            None => &[0],
        };
        Self(hex::encode(trimmed))
    }

    /// From hex typed by an operator (`:` separators and case are ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let cleaned: String = text
            .chars()
            .filter(|c| *c != ':')
            .collect::<String>()
            .to_ascii_lowercase();
        let bytes = hex::decode(&cleaned).ok()?;
        if bytes.is_empty() {
            return None;
        }
        Some(Self::from_bytes(&bytes))
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CertSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client certificate just issued.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    /// Serial number.
    pub serial: CertSerial,
    /// Whose device it is (the CN).
    pub login: Login,
    /// Validity start.
    pub not_before: DateTime<Utc>,
    /// Validity end.
    pub not_after: DateTime<Utc>,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
}

/// A certificate as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateRecord {
    /// Serial number.
    pub serial: CertSerial,
    /// Whose device it is.
    pub login: Login,
    /// Validity start.
    pub not_before: DateTime<Utc>,
    /// Validity end.
    pub not_after: DateTime<Utc>,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why.
    pub revocation_reason: Option<String>,
}

/// Which certificates to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeSelector {
    /// Every unrevoked certificate of this login.
    Login(Login),
    /// The certificate with this serial.
    Serial(CertSerial),
}

/// A target server to register.
#[derive(Debug)]
pub struct NewTarget {
    /// Short name, typed after `:` in the SSH user name.
    pub name: TargetName,
    /// Where its SSH server listens.
    pub address: SshAddress,
    /// The account fumidai logs in as (never the engineer's own).
    pub login: String,
    /// How fumidai logs in.
    pub auth: TargetAuth,
    /// For [`TargetAuth::Key`] the OpenSSH private key file's text, for
    /// [`TargetAuth::Password`] the password (UTF-8, no line ending); `None` for
    /// [`TargetAuth::Cert`]. Sealed under the master key, bound to `target:<name>`.
    pub credential: Option<SecretBox<Vec<u8>>>,
    /// What is pinned now and checked at every connection: the SSH host key or the RDP
    /// certificate's digest (which also says the protocol).
    pub pin: TargetPin,
    /// Labels such as `personal-data`.
    pub tags: Vec<Tag>,
    /// Why a factory account (`root`, `Administrator`, `admin`) is the login, when it is
    /// (R-10.1-NODEFAULT: `target add --allow-shared-admin`); stored and audited.
    pub shared_admin_reason: Option<String>,
}

/// What `target update` changes; `None` keeps a field as it is.
#[derive(Debug, Default)]
pub struct TargetUpdate {
    /// A new address (SSH: `HOST:PORT`; RDP: its `HOST:PORT`).
    pub address: Option<SshAddress>,
    /// A new login, with the reason when it is a factory account (R-10.1-NODEFAULT).
    pub login: Option<(String, Option<String>)>,
    /// A new way of logging in and its credential, as for [`NewTarget`].
    pub credential: Option<(TargetAuth, Option<SecretBox<Vec<u8>>>)>,
    /// A new pin, of the same protocol (a reinstalled server's host key or certificate).
    pub pin: Option<TargetPin>,
}

impl TargetUpdate {
    /// Whether anything changes.
    pub fn is_empty(&self) -> bool {
        self.address.is_none()
            && self.login.is_none()
            && self.credential.is_none()
            && self.pin.is_none()
    }
}

/// A registered target, without its credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// Short name.
    pub name: TargetName,
    /// Its protocol (follows from [`pin`](Self::pin)).
    pub protocol: TargetProtocol,
    /// Where its SSH or RDP server listens.
    pub address: SshAddress,
    /// The account fumidai logs in as.
    pub login: String,
    /// How fumidai logs in.
    pub auth: TargetAuth,
    /// The pinned host key (`TYPE BASE64`) or RDP certificate digest (`sha256:HEX`);
    /// `host_key` in JSON, as before RDP targets existed.
    #[serde(rename = "host_key")]
    pub pin: TargetPin,
    /// Labels.
    pub tags: Vec<Tag>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// Why a factory account is the login, when it is (R-10.1-NODEFAULT).
    pub shared_admin_reason: Option<String>,
}

/// A plan's sealed reconciliation report (R-10-5), as stored: the canonical JSON body
/// (HTML and text are rendered from it), its SHA-256 and the gateway's Ed25519 signature
/// over the digest, both hex, and the audit chain's head when it was produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredReport {
    /// Whose report.
    pub plan: PlanId,
    /// When it was produced.
    pub produced_at: DateTime<Utc>,
    /// The report, as canonical JSON.
    pub body: String,
    /// SHA-256 of `body`, hex.
    pub sha256: String,
    /// Ed25519 signature over the digest's bytes, hex.
    pub signature: String,
    /// `SEQ:HASH` of the audit chain's last record when it was produced.
    pub audit_head: String,
}

/// A session about to start, after admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Its identifier, chosen by the caller (the recording is named after it).
    pub id: SessionId,
    /// Who.
    pub engineer: Login,
    /// Where to.
    pub target: TargetName,
    /// Under which plan (what `policy::admission::admit` returned).
    pub plan: PlanId,
    /// The client's address as the front door saw it.
    pub client_addr: SocketAddr,
    /// The recording's file name, if one is written.
    pub recording: Option<String>,
}

/// A recording's seal: proof of what it held when the session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordingSeal {
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Ed25519 signature by the gateway's signing key, hex.
    pub signature: String,
}

/// A recording's seal as the audit chain holds it (a `recording.sealed` record): the
/// gateway's signed statement of the recording's files, their sizes and SHA-256 digests.
/// The store keeps the text; `recorder::Statement::parse` and `recorder::seal::verify`
/// read and check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seal {
    /// The audit record's sequence number, to name it in messages.
    pub seq: i64,
    /// The session whose recording it seals (the record's subject).
    pub session: SessionId,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The canonical statement text; empty if the record has none.
    pub statement: String,
    /// The Ed25519 signature over it, hex; empty if the record has none.
    pub signature: String,
}

/// A reconciliation report's seal as the audit chain recorded it (`report.produced`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSeal {
    /// The audit record's sequence number, to name it in messages.
    pub seq: i64,
    /// The record's subject: the plan ID as written (checked by the caller, so a record
    /// naming no plan is reported, not skipped).
    pub subject: String,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The SHA-256 the chain recorded for the report; empty if the record has none.
    pub sha256: String,
}

/// A session as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRecord {
    /// Identifier.
    pub id: SessionId,
    /// Who.
    pub engineer: Login,
    /// Where to.
    pub target: TargetName,
    /// Under which plan.
    pub plan: PlanId,
    /// The client's address.
    pub client_addr: SocketAddr,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended; `None` while live.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended (normal, idle, window-end, max-length, killed, error).
    pub end_reason: Option<EndReason>,
    /// The recording's file name.
    pub recording: Option<String>,
    /// The recording's seal, once sealed.
    pub seal: Option<RecordingSeal>,
}

/// An operator's request to kill a live session, as recorded by
/// [`Store::request_kill`](crate::Store::request_kill). It stays pending until the session
/// ends; the gateway holding the session executes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KillRequest {
    /// The session to end.
    pub session: SessionId,
    /// When the kill was asked for.
    pub requested_at: DateTime<Utc>,
    /// Who asked, as the audit trail names them (`cli:root`).
    pub requested_by: String,
    /// Why, as they gave it.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_normalise() {
        assert_eq!(CertSerial::from_bytes(&[0, 0x1a, 0x2b]).as_str(), "1a2b");
        assert_eq!(CertSerial::parse("1A:2B").unwrap().as_str(), "1a2b");
        assert_eq!(CertSerial::parse("001a2b").unwrap().as_str(), "1a2b");
        assert!(CertSerial::parse("xyz").is_none());
        assert!(CertSerial::parse("").is_none());
    }
}
