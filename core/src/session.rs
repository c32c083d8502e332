//! The maintenance session's life cycle, the same for SSH and RDP (R-7-12, R-10.1-APPROVE,
//! R-10-3, R-10.2-TIMEOUT):
//!
//! 1. **admit** — the plan that admits this engineer on this target now, or an emergency
//!    plan opened on their declaration, or the refusal, audited ([`Sessions::admit`],
//!    [`Sessions::readmit_emergency`]);
//! 2. **ensure recordable** — no session that can't be recorded (fail closed,
//!    [`Sessions::ensure_recordable`]);
//! 3. **start** — the session's row in the store ([`Sessions::start`]); the protocol then
//!    registers it live (`crate::live`) and relays;
//! 4. **seal** — each recording's signed statement into the audit chain
//!    ([`Sessions::record_seal`]);
//! 5. **end** — with a typed [`EndReason`] ([`Sessions::end`]).
//!
//! The protocols (the SSH and RDP crates) do the network side of each step — connecting to
//! the target, its host key or certificate pin, the relay — and call these for the rest.
//!
//! # What this module does not do
//!
//! It opens no connection and decides nothing itself: admission is
//! `policy::admission::admit`, emergencies `policy::plan::emergency`.

mod admission;
mod emergency;
mod lifecycle;
pub mod tickets;

use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use recorder::sink::RecordingStorage;
use store::Store;
use tracing::warn;

pub use admission::Admitted;
pub use policy::limits::EndReason;
pub use tickets::{Ticket, Tickets};

use crate::alerts::Alerts;
use crate::clamd::Scanner;
use crate::live::Registry;

/// What opening, running and ending a session needs, shared by every connection of both
/// protocols. One per gateway.
pub struct Sessions {
    /// Plans, targets, credentials, sessions, the audit trail.
    pub store: Arc<dyn Store>,
    /// Where recordings go and what seals them.
    pub recording: Arc<RecordingSettings>,
    /// The live sessions, watched for idle time-out, window end, maximum length and kills.
    pub live: Registry,
    /// Where a host key mismatch and an emergency are raised (R-17.1-ALERT).
    pub alerts: Alerts,
    /// How long an emergency session may last (`[limits] emergency_max`, R-10.1-APPROVE).
    pub emergency_max: chrono::Duration,
    /// How long a target may take to answer.
    pub connect_timeout: Duration,
    /// clamd, when `[transfers] clamd_socket` is set: every upload is scanned and refused
    /// unless the verdict is clean; any scanner error refuses it too (R-10-6, fail closed).
    pub scanner: Option<Arc<Scanner>>,
    /// Single-use RDP credentials, issued over SSH (`rdp-ticket`) and taken by the RDP
    /// service.
    pub rdp_tickets: Tickets,
}

/// Where recordings go and what seals them; shared by every session.
pub struct RecordingSettings {
    /// The storage (local disk for one box).
    pub storage: Arc<dyn RecordingStorage>,
    /// The gateway's Ed25519 key that signs each recording's statement.
    pub signing_key: Arc<SigningKey>,
}

/// The remote-access protocol a session runs over, as the audit trail names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// SSH (terminal, SFTP/SCP, forwarding).
    Ssh,
    /// RDP (desktop).
    Rdp,
}

impl Protocol {
    /// The name in audit records (`"protocol": …`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ssh => "ssh",
            Self::Rdp => "rdp",
        }
    }
}

/// Why no session was opened; `message` is for the engineer, in Japanese and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Stable reason for logs and metrics.
    pub reason: &'static str,
    /// What the engineer reads.
    pub message: String,
}

impl Refusal {
    /// The message on one line (RDP errors end a connection with one log line).
    pub fn one_line(&self) -> String {
        self.message.trim_end().replace("\r\n", " ")
    }
}

/// The refusal for an internal failure (store, vault, CA): the engineer reads that the
/// operator must look; the log says what failed.
pub fn unavailable(what: &str, error: &dyn std::fmt::Display) -> Refusal {
    warn!(%error, "{what} unavailable; session refused");
    Refusal {
        reason: "unavailable",
        message: "fumidai の内部エラーのため接続できません。運用担当者に連絡してください。\r\n\
                  fumidai cannot open the session (internal error); please contact the operator.\r\n"
            .to_owned(),
    }
}
