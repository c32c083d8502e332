//! Single-use RDP credentials ("tickets"): what a vendor's stock RDP client types instead of
//! a password. Issued after a password + TOTP login over SSH (`rdp-ticket`), bound to the
//! engineer, the target and the plan, valid for two minutes to start a connection, taken
//! (and gone) at the first NTLM attempt that names it, right or wrong. Held in this
//! process's memory only, never stored or logged (DESIGN.md "Recording", R-10.2-PRIV).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use policy::ids::{Login, PlanId, TargetName};
use rand::Rng as _;
use rand::distributions::Alphanumeric;
use secrecy::{ExposeSecret as _, SecretString};

/// How long a ticket may wait for its connection.
pub const TICKET_LIFETIME: Duration = Duration::minutes(2);

/// Ticket user names start with this, so they can't be mistaken for an account.
const USER_PREFIX: &str = "fdt-";

/// One issued ticket, as the gateway keeps it.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// The NTLM user name the client sends (`fdt-…`).
    pub user: String,
    /// The NTLM password (random, 32 characters).
    pub password: SecretString,
    /// Whose it is: the client certificate of the connection using it must name them.
    pub engineer: Login,
    /// Where it leads.
    pub target: TargetName,
    /// Under which plan it was issued (admission is decided again at connection).
    pub plan: PlanId,
    /// Declared emergency reason, when the ticket was issued under one.
    pub emergency: Option<String>,
    /// Unusable after this.
    pub expires_at: DateTime<Utc>,
}

/// The tickets of this gateway process. Cheap to clone; clones share the tickets.
#[derive(Debug, Clone, Default)]
pub struct Tickets {
    inner: Arc<Mutex<HashMap<String, Ticket>>>,
}

impl Tickets {
    /// Issues a ticket valid until `now + TICKET_LIFETIME`, dropping expired ones.
    pub fn issue(
        &self,
        engineer: &Login,
        target: &TargetName,
        plan: PlanId,
        emergency: Option<String>,
        now: DateTime<Utc>,
    ) -> Ticket {
        let mut rng = rand::thread_rng();
        let mut random = |n: usize| -> String {
            (&mut rng)
                .sample_iter(Alphanumeric)
                .take(n)
                .map(char::from)
                .collect()
        };
        let user = format!("{USER_PREFIX}{}", random(16).to_lowercase());
        let ticket = Ticket {
            user: user.clone(),
            password: SecretString::from(random(32)),
            engineer: engineer.clone(),
            target: target.clone(),
            plan,
            emergency,
            expires_at: now + TICKET_LIFETIME,
        };
        let mut map = self.lock();
        map.retain(|_, t| t.expires_at > now);
        map.insert(user, ticket.clone());
        ticket
    }

    /// Takes the ticket named `user` if it has not expired: it can be tried once only.
    pub fn take(&self, user: &str, now: DateTime<Utc>) -> Option<Ticket> {
        let mut map = self.lock();
        let ticket = map.remove(&user.to_ascii_lowercase())?;
        (ticket.expires_at > now).then_some(ticket)
    }

    /// Takes the ticket named `user` for `engineer`'s connection: as [`take`](Self::take),
    /// but a ticket issued to someone else stays waiting for its owner (issue 12: a ticket
    /// presented through another engineer's tunnel is refused without being used up).
    pub fn take_for(
        &self,
        user: &str,
        engineer: &Login,
        now: DateTime<Utc>,
    ) -> Result<Ticket, TakeRefused> {
        let mut map = self.lock();
        let key = user.to_ascii_lowercase();
        let ticket = map.get(&key).ok_or(TakeRefused::Unknown)?;
        if ticket.expires_at <= now {
            map.remove(&key);
            return Err(TakeRefused::Unknown);
        }
        if &ticket.engineer != engineer {
            return Err(TakeRefused::OtherEngineer {
                target: ticket.target.clone(),
            });
        }
        map.remove(&key).ok_or(TakeRefused::Unknown)
    }

    /// The engineer's waiting tickets (copies), to vet before NLA.
    pub fn of_engineer(&self, engineer: &Login) -> Vec<Ticket> {
        self.lock()
            .values()
            .filter(|t| &t.engineer == engineer)
            .cloned()
            .collect()
    }

    /// Tickets waiting now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// No ticket is waiting.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Ticket>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why [`Tickets::take_for`] gave no ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakeRefused {
    /// No waiting ticket of that name (never issued, expired or used).
    Unknown,
    /// The ticket is another engineer's; it stays waiting for them.
    OtherEngineer {
        /// Where it leads, for the audit trail.
        target: TargetName,
    },
}

impl Ticket {
    /// The password, for the one answer that carries it to the engineer's tool.
    pub fn password(&self) -> &str {
        self.password.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(tickets: &Tickets, now: DateTime<Utc>) -> Ticket {
        tickets.issue(
            &"alice".parse().unwrap(),
            &"win01".parse().unwrap(),
            PlanId::generate(),
            None,
            now,
        )
    }

    #[test]
    fn another_engineers_connection_cannot_use_up_a_ticket() {
        let tickets = Tickets::default();
        let now = Utc::now();
        let t = issue(&tickets, now);
        let bob: Login = "bob".parse().unwrap();
        assert_eq!(
            tickets.take_for(&t.user, &bob, now).unwrap_err(),
            TakeRefused::OtherEngineer {
                target: t.target.clone()
            }
        );
        let alice: Login = "alice".parse().unwrap();
        assert_eq!(tickets.take_for(&t.user, &alice, now).unwrap().user, t.user);
        assert_eq!(
            tickets.take_for(&t.user, &alice, now).unwrap_err(),
            TakeRefused::Unknown
        );
    }

    #[test]
    fn a_ticket_is_taken_once() {
        let tickets = Tickets::default();
        let now = Utc::now();
        let t = issue(&tickets, now);
        assert!(t.user.starts_with("fdt-") && t.password().len() == 32);
        assert_eq!(
            tickets.take(&t.user, now).unwrap().engineer.as_str(),
            "alice"
        );
        assert!(tickets.take(&t.user, now).is_none(), "single use");
    }

    #[test]
    fn an_expired_ticket_is_refused_and_forgotten() {
        let tickets = Tickets::default();
        let now = Utc::now();
        let t = issue(&tickets, now);
        assert!(tickets.take(&t.user, now + TICKET_LIFETIME).is_none());
        let _old = issue(&tickets, now);
        let _new = issue(&tickets, now + TICKET_LIFETIME + Duration::seconds(1));
        assert_eq!(
            tickets.len(),
            1,
            "expired tickets are dropped at the next issue"
        );
    }

    #[test]
    fn tickets_are_distinct() {
        let tickets = Tickets::default();
        let now = Utc::now();
        let (a, b) = (issue(&tickets, now), issue(&tickets, now));
        assert_ne!(a.user, b.user);
        assert_ne!(a.password(), b.password());
    }
}
