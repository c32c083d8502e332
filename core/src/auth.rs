//! The login procedure: certificate + password + TOTP code, shared by SSH, RDP and the
//! vendor portal.
//!
//! Every attempt does the same work, whatever fails first: it looks the account up,
//! verifies the password with Argon2id (against a dummy hash for an unknown login),
//! checks the code (against a dummy secret for an unknown login), and only then lets
//! [`policy::login::decide`] pick the outcome. So the time a refusal takes says nothing
//! about which fact failed (R-14-6, STYLE.md §7); the protocol adds a fixed rejection
//! delay on top. The outcome, and why, is recorded in the store with its audit event.
//! The one exception is an empty answer ([`policy::login::screen_answers`]): it is
//! refused before that work and never counts towards the lock-out — it tells the person
//! at the keyboard nothing they did not type, and the protocol's delay still applies.
//!
//! # What this module does not do
//!
//! Before any of that, the certificate's budget of failed logins is consulted
//! ([`budget`], [`policy::flood`]): a device that failed too often is refused without
//! work and without a record per attempt; the exhaustion is recorded once
//! (`login.budget_exhausted`).
//!
//! It holds no rule of its own (those are `policy`'s), talks to no client, and never
//! logs, returns or keeps the password, the code or the TOTP secret.

mod budget;

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::Utc;
use policy::flood::{self, FailureBudget};
use policy::ids::{AccountKind, Login};
use policy::lockout::{AfterFailure, LockoutPolicy};
use policy::login::{LoginDecision, LoginFacts, LoginRejection, Screening};
use policy::totp::TotpSecret;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use store::{
    Account, Actor, AuditEvent, AuditKind, Credentials, FailureRecorded, LoginAttempt, StepClaim,
    Store,
};
use tracing::{debug, instrument, warn};

pub use budget::{Attempt, Budgets};
pub use peer::PeerIdentity;
pub use slot::UnauthenticatedSlot;

mod peer;
mod slot;

use crate::alerts::{Alert, Alerts};
use crate::metrics as m;

/// Login results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a login could not be decided. The caller must refuse the login (fail closed).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store could not be read or written; nothing can be decided or recorded.
    #[error("store unavailable during login: {0}")]
    Store(#[from] store::Error),
    /// The password verification task died (a panic, or the runtime shutting down).
    #[error("password verification did not complete")]
    Verification,
}

/// One login attempt, as a protocol received it.
pub struct LoginRequest {
    /// The login as typed (for SSH, the engineer part of the user name). May name no
    /// account, or not even be a valid login.
    pub login: String,
    /// Where the person came in: the front door (certificate and address) or the
    /// gateway's own console.
    pub entrance: Entrance,
    /// The password as typed.
    pub password: SecretString,
    /// The TOTP code as typed.
    pub code: SecretString,
    /// The protocol logged in through (`ssh`, `rdp`, `https`), for the audit trail.
    pub protocol: &'static str,
    /// The kind of account this entrance admits (engineers for SSH and RDP).
    pub admits: AccountKind,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The typed login may be a mistyped password: not printed either.
        f.debug_struct("LoginRequest")
            .field(
                "client_addr",
                &match &self.entrance {
                    Entrance::Certificate { client_addr, .. } => Some(client_addr),
                    Entrance::Console => None,
                },
            )
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// Where a login attempt came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entrance {
    /// The mutual-TLS front door: the client certificate presented (its CN must be the
    /// login, R-10.2-PRIV) and the connection's address (the vendor's allow list).
    Certificate {
        /// The client certificate.
        certificate: PeerIdentity,
        /// Where the connection came from.
        client_addr: SocketAddr,
    },
    /// The `fumidai` command on the gateway host, for hospital-side people acting in their
    /// own name (R-14-1): no certificate and no network address; password and code only.
    Console,
}

impl Entrance {
    /// The connection's address; none at the console.
    fn client_addr(&self) -> Option<SocketAddr> {
        match self {
            Self::Certificate { client_addr, .. } => Some(*client_addr),
            Self::Console => None,
        }
    }

    /// The device certificate's serial; none at the console.
    fn certificate_serial(&self) -> Option<store::CertSerial> {
        match self {
            Self::Certificate { certificate, .. } => Some(certificate.serial.clone()),
            Self::Console => None,
        }
    }
}

/// What became of a login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Logged in; the code's step is claimed and the success recorded.
    Accept {
        /// The account that logged in.
        account: Account,
    },
    /// Refused, and recorded with this reason. The client must not learn the reason.
    Reject(LoginRejection),
}

/// Runs logins against the store.
pub struct Authenticator {
    /// Accounts, secrets, failure counts and the audit trail.
    store: Arc<dyn Store>,
    /// How many failures lock an account, and for how long (R-14-6(6)).
    lockout: LockoutPolicy,
    /// Caps concurrent Argon2id verifications. Each takes ~19 MiB for tens of
    /// milliseconds; without a cap, a burst of attempts on many connections would
    /// allocate gigabytes at once. Extra attempts queue here instead.
    hashing: Arc<tokio::sync::Semaphore>,
    /// Checked instead of a real secret for an unknown login, so the TOTP work is done
    /// for every attempt. Random per process; a match with it can't admit anyone, since
    /// the login is refused as an unknown account first.
    dummy_totp: TotpSecret,
    /// Where a lock-out is raised (R-17.1-ALERT); only logged unless set.
    alerts: Alerts,
    /// Failed logins per client certificate, with back-off (issue 12: floods are
    /// bounded). In memory, per node.
    budgets: Arc<Budgets>,
}

/// The password side of an attempt.
enum Password {
    /// Typed now: verified against the stored hash.
    Typed(SecretString),
    /// Verified when the console session began (a step-up asks for a code only).
    Established,
}

/// What the audit trail records as the attempted login when the typed text is not a valid
/// login: such text names no account, and may be a password typed into the wrong field.
const UNPARSABLE_LOGIN: &str = "(invalid login)";

impl Authenticator {
    /// An authenticator over `store`, locking accounts by `lockout`.
    pub fn new(store: Arc<dyn Store>, lockout: LockoutPolicy) -> Self {
        let parallel = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Self {
            store,
            lockout,
            hashing: Arc::new(tokio::sync::Semaphore::new(parallel)),
            dummy_totp: TotpSecret::generate(),
            alerts: Alerts::log_only(),
            budgets: Budgets::new(FailureBudget::default()),
        }
    }

    /// Bounds failed logins per client certificate by `budget` instead of the default.
    #[must_use]
    pub fn with_failure_budget(mut self, budget: FailureBudget) -> Self {
        self.budgets = Budgets::new(budget);
        self
    }

    /// Raises lock-outs through `alerts` (R-17.1-ALERT).
    #[must_use]
    pub fn with_alerts(mut self, alerts: Alerts) -> Self {
        self.alerts = alerts;
        self
    }

    /// Decides and records one login attempt. See the module documentation for the
    /// procedure. An `Err` means nothing could be decided: refuse the login.
    #[instrument(skip_all, fields(protocol = req.protocol))]
    pub async fn login(&self, req: LoginRequest) -> Result<LoginOutcome> {
        let LoginRequest {
            login,
            entrance,
            password,
            code,
            protocol,
            admits,
        } = req;
        self.decide(
            login,
            entrance,
            Password::Typed(password),
            code,
            (protocol, admits),
        )
        .await
    }

    /// A fresh TOTP code from someone signed in at the console already (their password was
    /// checked at sign-in, their session holds): the step-up an action asks for. Decided
    /// and recorded like a console login — the same code rules (single use, replay
    /// refused), lock-out counting, account state and audit records — except the password,
    /// which is not asked again.
    #[instrument(skip_all, fields(protocol))]
    pub async fn confirm_code(
        &self,
        login: &Login,
        code: SecretString,
        protocol: &'static str,
    ) -> Result<LoginOutcome> {
        self.decide(
            login.to_string(),
            Entrance::Console,
            Password::Established,
            code,
            (protocol, AccountKind::Operator),
        )
        .await
    }

    /// The procedure behind [`login`](Self::login) and [`confirm_code`](Self::confirm_code).
    async fn decide(
        &self,
        typed: String,
        entrance: Entrance,
        password: Password,
        code: SecretString,
        (protocol, admits): (&'static str, AccountKind),
    ) -> Result<LoginOutcome> {
        // Before any work: a certificate that used up its budget gets nothing (no hash, no
        // store, no record); its exhaustion was recorded once. The console has no
        // certificate: its attempts count towards the account's lock-out only.
        let reserved = match &entrance {
            Entrance::Certificate { certificate, .. } => {
                match self.budgets.begin(&certificate.serial, Utc::now()) {
                    Ok(reserved) => Some(reserved),
                    Err(until) => {
                        debug!(certificate_serial = %certificate.serial.as_str(), %until, "login refused: failure budget used up");
                        metrics::counter!(m::LOGINS, "outcome" => LoginRejection::FailureBudgetExhausted.as_str(), "protocol" => protocol)
                            .increment(1);
                        return Ok(LoginOutcome::Reject(LoginRejection::FailureBudgetExhausted));
                    }
                }
            }
            Entrance::Console => None,
        };
        let login = typed.parse::<Login>().ok();
        // An empty answer guesses nothing: refused before the account, the hash and the
        // code are looked at, and not counted towards the lock-out (`policy::login`). It
        // still spends the certificate's budget and is recorded, so a flood of them stays
        // bounded; the protocol's rejection time makes it take as long as any refusal.
        // An established password is not empty: only the code is screened then.
        let typed_password = match &password {
            Password::Typed(password) => password.expose_secret(),
            Password::Established => "(established at sign-in)",
        };
        if let Screening::Reject(reason) =
            policy::login::screen_answers(typed_password, code.expose_secret())
        {
            drop((password, code));
            let attempt = LoginAttempt {
                client_addr: entrance.client_addr(),
                certificate_serial: entrance.certificate_serial(),
                protocol,
                at: Utc::now(),
            };
            let attempted = login.as_ref().map_or(UNPARSABLE_LOGIN, Login::as_str);
            return self.reject(attempted, reason, &attempt, reserved).await;
        }
        let credentials = match &login {
            Some(login) => self.store.credentials(login).await?,
            None => None,
        };

        let password_ok = {
            let _permit = self
                .hashing
                .acquire()
                .await
                .map_err(|_| Error::Verification)?;
            match password {
                Password::Typed(password) => {
                    verify_password(credentials.as_ref(), password).await?
                }
                // Checked when the console session began; the account must still exist.
                Password::Established => credentials.is_some(),
            }
        };
        // The decision's time is taken after the slow hash, so a code that was current when
        // typed is judged against the clock at the moment of the check.
        let now = Utc::now();
        let totp = policy::totp::verify(
            credentials
                .as_ref()
                .map_or(&self.dummy_totp, |c| &c.totp_secret),
            code.expose_secret(),
            now,
            credentials.as_ref().and_then(|c| c.last_totp_step),
        );
        drop(code);
        let (certificate_matches, source_allowed) = match &entrance {
            Entrance::Certificate {
                certificate,
                client_addr,
            } => (
                login.as_ref() == Some(&certificate.login),
                policy::network::source_allowed(
                    credentials
                        .as_ref()
                        .map_or(&[], |c| c.allow_from.as_slice()),
                    client_addr.ip(),
                ),
            ),
            // No device and no network path to check: the person is at the gateway.
            Entrance::Console => (true, true),
        };
        let facts = LoginFacts {
            account_enabled: credentials.as_ref().is_some_and(|c| c.account.enabled),
            vendor_active: credentials.as_ref().is_some_and(|c| {
                policy::login::vendor_active(c.vendor_enabled, c.contract_end, now)
            }),
            kind_admitted: credentials
                .as_ref()
                .is_some_and(|c| c.account.kind == admits),
            certificate_matches,
            locked: credentials
                .as_ref()
                .is_some_and(|c| policy::lockout::is_locked(&c.failures, now)),
            source_allowed,
            password_ok,
            totp,
        };
        let attempt = LoginAttempt {
            client_addr: entrance.client_addr(),
            certificate_serial: entrance.certificate_serial(),
            protocol,
            at: now,
        };
        let attempted = login.as_ref().map_or(UNPARSABLE_LOGIN, Login::as_str);

        match (policy::login::decide(&facts), credentials) {
            (LoginDecision::Accept { totp_step }, Some(credentials)) => {
                let account = credentials.account;
                match self
                    .store
                    .record_login_success(&account.login, totp_step, &attempt)
                    .await?
                {
                    StepClaim::Claimed => {
                        if let Some(reserved) = reserved {
                            reserved.succeeded();
                        }
                        metrics::counter!(m::LOGINS, "outcome" => "accept", "protocol" => protocol)
                            .increment(1);
                        Ok(LoginOutcome::Accept { account })
                    }
                    // A parallel login with the same code got there first.
                    StepClaim::AlreadyUsed => {
                        self.reject(attempted, LoginRejection::ReplayedCode, &attempt, reserved)
                            .await
                    }
                }
            }
            // `decide` accepts only an enabled account, which only credentials give; this
            // arm is unreachable but refuses rather than trusts that.
            (LoginDecision::Accept { .. }, None) => {
                self.reject(
                    attempted,
                    LoginRejection::UnknownAccount,
                    &attempt,
                    reserved,
                )
                .await
            }
            (LoginDecision::Reject(reason), _) => {
                self.reject(attempted, reason, &attempt, reserved).await
            }
        }
    }

    /// Records a refusal and returns it.
    async fn reject(
        &self,
        attempted: &str,
        reason: LoginRejection,
        attempt: &LoginAttempt,
        reserved: Option<Attempt>,
    ) -> Result<LoginOutcome> {
        let recorded = self
            .store
            .record_login_failure(attempted, reason, attempt, &self.lockout)
            .await?;
        if let Some(flood::AfterFailure::Exhaust { state, block }) =
            reserved.map(|r| r.failed(attempt.at))
        {
            self.record_exhaustion(attempted, attempt, state.blocked_until, block)
                .await;
        }
        metrics::counter!(m::LOGINS, "outcome" => reason.as_str(), "protocol" => attempt.protocol)
            .increment(1);
        if let FailureRecorded::Applied(AfterFailure::Lock(state)) = recorded {
            // R-14-6(6): a lock-out is worth an operator's attention (R-17.1-ALERT).
            match attempted.parse::<Login>() {
                Ok(login) => self.alerts.raise(Alert::lock_out(
                    &login,
                    attempt.client_addr,
                    state.locked_until,
                )),
                Err(_) => warn!(
                    engineer = attempted,
                    client_addr = ?attempt.client_addr,
                    locked_until = ?state.locked_until,
                    "account locked after repeated failures"
                ),
            }
        }
        Ok(LoginOutcome::Reject(reason))
    }

    /// Records, once, that a certificate used up its budget: the attempts refused during
    /// the block get no record each.
    async fn record_exhaustion(
        &self,
        attempted: &str,
        attempt: &LoginAttempt,
        blocked_until: Option<chrono::DateTime<Utc>>,
        block: chrono::Duration,
    ) {
        let serial = attempt
            .certificate_serial
            .as_ref()
            .map_or("", |s| s.as_str());
        let budget = self.budgets.budget();
        warn!(certificate_serial = serial, client_addr = ?attempt.client_addr, ?blocked_until, "certificate used up its failed-login budget; attempts refused without work");
        // Budgets exist for certificates only, which always come with an address.
        let actor = match attempt.client_addr {
            Some(addr) => Actor::Peer(addr),
            None => Actor::Cli {
                os_user: "console".to_owned(),
            },
        };
        let event =
            AuditEvent::new(AuditKind::LoginBudgetExhausted, actor, serial).with_detail(json!({
                "certificate_serial": serial,
                "last_login_tried": attempted,
                "protocol": attempt.protocol,
                "failures": budget.failures,
                "window_secs": budget.window.num_seconds(),
                "block_secs": block.num_seconds(),
                "blocked_until": blocked_until.map(|t| t.to_rfc3339()),
            }));
        if let Err(error) = self.store.append_audit(event).await {
            warn!(%error, "could not audit a used-up failure budget");
        }
    }
}

/// Argon2id on the blocking pool (about 19 MiB and tens of milliseconds), against the
/// stored hash or, for an unknown login, a dummy one.
async fn verify_password(
    credentials: Option<&Credentials>,
    password: SecretString,
) -> Result<bool> {
    let stored = credentials.map(|c| c.password_hash.clone());
    tokio::task::spawn_blocking(move || policy::password::verify(stored.as_ref(), &password))
        .await
        .map_err(|_| Error::Verification)
}

#[cfg(test)]
mod tests;
