//! The session list as the console pages it (issue 15, R-17-1): a filter of typed values,
//! a page of sessions newest first, and the cursor to the next page — the last row's
//! `(started_at, id)`, never an offset, so a page holds still while sessions start and
//! reading page 500 costs what page 1 does.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use policy::ids::{Login, PlanId, SessionId, TargetName, VendorName};
use policy::limits::EndReason;
use policy::target::TargetProtocol;

use crate::model::SessionRecord;

/// Which sessions to list; every field set narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// By this engineer.
    pub engineer: Option<Login>,
    /// Under a plan of this vendor.
    pub vendor: Option<VendorName>,
    /// On this target.
    pub target: Option<TargetName>,
    /// Under this plan.
    pub plan: Option<PlanId>,
    /// Over this protocol (the target's).
    pub protocol: Option<TargetProtocol>,
    /// Started at or after this instant.
    pub started_from: Option<DateTime<Utc>>,
    /// Started before this instant.
    pub started_before: Option<DateTime<Utc>>,
    /// Live, or ended for this reason.
    pub state: Option<SessionState>,
    /// With or without findings in the plan's report.
    pub findings: Option<FindingsFilter>,
}

/// A session's state, for the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Not ended yet.
    Live,
    /// Ended for this reason.
    Ended(EndReason),
}

/// Findings, for the filter (R-10.2-REVIEW: the sessions to review first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingsFilter {
    /// The plan's report raised at least one finding about the session.
    Some,
    /// The plan is reported and raised none about the session.
    None,
    /// The plan is not reported yet.
    NotReported,
}

/// Where a page ends: the last session shown. The next page holds the sessions after it,
/// newest first: started earlier, or at the same microsecond with a smaller ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCursor {
    /// The last session's start, to the microsecond (as stored).
    pub started_at: DateTime<Utc>,
    /// The last session's ID.
    pub id: SessionId,
}

impl SessionCursor {
    /// The cursor after `session`.
    pub fn after(session: &SessionRecord) -> Self {
        Self {
            started_at: session.started_at,
            id: session.id,
        }
    }
}

impl fmt::Display for SessionCursor {
    /// `MICROS_ID`: the start in microseconds since the epoch and the session ID.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.started_at.timestamp_micros(), self.id)
    }
}

/// A cursor that doesn't parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed session cursor")]
pub struct BadCursor;

impl FromStr for SessionCursor {
    type Err = BadCursor;

    fn from_str(s: &str) -> Result<Self, BadCursor> {
        let (micros, id) = s.split_once('_').ok_or(BadCursor)?;
        let micros: i64 = micros.parse().map_err(|_| BadCursor)?;
        Ok(Self {
            started_at: DateTime::from_timestamp_micros(micros).ok_or(BadCursor)?,
            id: id.parse().map_err(|_| BadCursor)?,
        })
    }
}

/// A session as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSession {
    /// The session as stored.
    pub session: SessionRecord,
    /// Its target's protocol.
    pub protocol: TargetProtocol,
    /// Its plan's vendor.
    pub vendor: VendorName,
    /// Findings about it in its plan's report; `None` until the plan is reported.
    pub findings: Option<u32>,
}

/// One page of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPage {
    /// The sessions, newest first.
    pub sessions: Vec<ListedSession>,
    /// Where the next page starts, when there is one.
    pub next: Option<SessionCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let id = SessionId::generate();
        let at = DateTime::from_timestamp_micros(1_796_000_000_123_456).unwrap();
        let cursor = SessionCursor { started_at: at, id };
        assert_eq!(cursor.to_string().parse::<SessionCursor>(), Ok(cursor));
        for bad in [
            "",
            "_",
            "12",
            "x_y",
            &format!("12_{}", "nope"),
            &id.to_string(),
        ] {
            assert_eq!(bad.parse::<SessionCursor>(), Err(BadCursor), "{bad}");
        }
    }
}
