//! What lets a browser fetch a recording's data (an SSH cast, RDP stills): a grant made
//! when the playback page was shown — after the seal was checked and the playback
//! recorded (`recording.played`, R-17-2) — bound to that console session, session and
//! recording, for a while. So no byte of a recording leaves without a playback on record,
//! and a broken seal's override covers that one playback only.
//!
//! Grants live in this node's memory: behind a load balancer, the page and its data
//! must reach the same node (a reload makes a new grant where it lands).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use fumidai_core::ops::playback::{OverrideReason, Which};
use policy::ids::SessionId;
use rand::RngCore;
use store::ConsoleSessionId;

/// How long a grant lasts (a long recording is watched within it, or the page reloaded).
const LIFETIME_HOURS: i64 = 4;

/// Grants held at most; the oldest go first (a signed-in person reloading a page in a
/// loop can't grow this without bound).
const MAX_GRANTS: usize = 10_000;

/// A playback's permission to fetch its recording's data.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) console_session: ConsoleSessionId,
    pub(crate) session: SessionId,
    pub(crate) which: Which,
    /// The reason given to override a broken seal, if one was.
    pub(crate) reason: Option<OverrideReason>,
    pub(crate) expires: DateTime<Utc>,
}

/// This node's grants, by token.
#[derive(Debug, Default)]
pub(crate) struct Grants {
    held: Mutex<HashMap<String, Grant>>,
}

impl Grants {
    /// Makes a grant for `grant`'s fields, expiring [`LIFETIME_HOURS`] after `now`;
    /// returns its token.
    pub(crate) fn issue(
        &self,
        console_session: ConsoleSessionId,
        session: SessionId,
        which: Which,
        reason: Option<OverrideReason>,
        now: DateTime<Utc>,
    ) -> String {
        let mut bytes = [0_u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let grant = Grant {
            console_session,
            session,
            which,
            reason,
            expires: now + Duration::hours(LIFETIME_HOURS),
        };
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.retain(|_, g| g.expires > now);
        if held.len() >= MAX_GRANTS {
            let oldest = held
                .iter()
                .min_by_key(|(_, g)| g.expires)
                .map(|(t, _)| t.clone());
            if let Some(oldest) = oldest {
                held.remove(&oldest);
            }
        }
        held.insert(token.clone(), grant);
        token
    }

    /// The grant `token` names, if it is live and was made for this console session,
    /// session and recording.
    pub(crate) fn check(
        &self,
        token: &str,
        console_session: &ConsoleSessionId,
        session: SessionId,
        which: Which,
        now: DateTime<Utc>,
    ) -> Option<Grant> {
        let held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.get(token)
            .filter(|g| {
                g.expires > now
                    && &g.console_session == console_session
                    && g.session == session
                    && g.which == which
            })
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_is_for_one_console_session_session_and_recording() {
        let grants = Grants::default();
        let now = Utc::now();
        let (me, other) = (ConsoleSessionId::generate(), ConsoleSessionId::generate());
        let session = SessionId::generate();
        let token = grants.issue(me, session, Which::Channel(0), None, now);
        assert!(
            grants
                .check(&token, &me, session, Which::Channel(0), now)
                .is_some()
        );
        assert!(
            grants
                .check(&token, &other, session, Which::Channel(0), now)
                .is_none()
        );
        assert!(
            grants
                .check(&token, &me, SessionId::generate(), Which::Channel(0), now)
                .is_none()
        );
        assert!(
            grants
                .check(&token, &me, session, Which::Channel(1), now)
                .is_none()
        );
        assert!(
            grants
                .check("guess", &me, session, Which::Channel(0), now)
                .is_none()
        );
        let later = now + Duration::hours(LIFETIME_HOURS);
        assert!(
            grants
                .check(&token, &me, session, Which::Channel(0), later)
                .is_none()
        );
    }
}
