//! Playing a recording at the console (issue 15, R-17-2): the recording is found and
//! checked against its seal before anything is played — verified, not sealed yet (a live
//! session, or the gateway stopped first), or **broken** (it no longer matches: possible
//! tampering). A broken one is refused unless the person overrides with a reason; the
//! override is recorded (`recording.seal_overridden`), and every playback is recorded
//! (`recording.played`: who watched which recording).
//!
//! What reaches the browser is the screen only: an SSH channel's cast rewritten by
//! `recorder::player::browser` (input, markers and the vendor's header text dropped,
//! terminal queries removed, as `fumidai play` does), an RDP session's screen as PNG
//! stills (`recorder::rdp::still`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use policy::ids::{Login, SessionId};
use policy::reconcile::CommandFact;
pub use recorder::inventory::{ChannelKind, SealState};
pub use recorder::rdp::keys::Entry as KeyEntry;
use recorder::rdp::still::Still;
use serde_json::json;
use store::{Actor, AuditEvent, AuditKind, SessionRecord, Store};

use super::OpError;
use super::recordings::{self, SessionRecordings};
use crate::datadir::DataDir;

/// Which recording of a session: an SSH channel's, or the RDP session's one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Which {
    /// SSH channel `n`.
    Channel(u32),
    /// The RDP recording.
    Rdp,
}

impl FromStr for Which {
    type Err = OpError;

    /// `rdp`, or a channel number.
    fn from_str(s: &str) -> Result<Self, OpError> {
        match s {
            "rdp" => Ok(Self::Rdp),
            n if !n.is_empty() && n.len() <= 10 && n.bytes().all(|b| b.is_ascii_digit()) => {
                n.parse().map(Self::Channel).map_err(|_| not_found(s))
            }
            _ => Err(not_found(s)),
        }
    }
}

impl fmt::Display for Which {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Channel(n) => write!(f, "{n}"),
            Self::Rdp => f.write_str("rdp"),
        }
    }
}

/// Why a person gives for playing a recording whose seal is broken: one line of 4 to 500
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideReason(String);

impl OverrideReason {
    /// The reason as typed, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let chars = text.chars().count();
        ((4..=500).contains(&chars) && !text.chars().any(char::is_control))
            .then(|| Self(text.to_owned()))
    }

    /// The reason.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A recording, found and checked.
#[derive(Debug, Clone)]
pub struct Found {
    /// Its session.
    pub session: SessionRecord,
    /// Which recording.
    pub which: Which,
    /// The cast or `.rdp` file.
    pub path: PathBuf,
    /// Against its seal, now.
    pub seal: SealState,
    /// When it started (from its header), if readable.
    pub started: Option<DateTime<Utc>>,
    /// Its recorded length.
    pub duration: Duration,
    /// For an SSH channel: shell, exec or subsystem.
    pub kind: Option<ChannelKind>,
    /// For an SSH channel: the exec command as recorded (untrusted text).
    pub command: Option<String>,
    /// Why its header can't be read, if it can't.
    pub unreadable: Option<String>,
}

/// Whether a recording may be played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Play it; `overridden` when its seal is broken and a reason was given.
    Play {
        /// A broken seal was overridden.
        overridden: bool,
    },
    /// Its seal is broken and no reason was given: not played.
    Refuse {
        /// The file that does not match.
        file: String,
        /// How.
        problem: String,
    },
}

/// The seal decides (R-17-2): verified or not sealed yet plays; broken plays only with
/// an override reason.
pub fn decide(seal: &SealState, reason: Option<&OverrideReason>) -> Decision {
    match (seal, reason) {
        (SealState::Intact | SealState::Unsealed, _) => Decision::Play { overridden: false },
        (SealState::Broken { .. }, Some(_)) => Decision::Play { overridden: true },
        (SealState::Broken { file, problem }, None) => Decision::Refuse {
            file: file.clone(),
            problem: problem.clone(),
        },
    }
}

/// Finds session `id`'s recording `which` and checks it against its seal.
pub async fn find(
    store: &dyn Store,
    dir: &DataDir,
    id: SessionId,
    which: Which,
) -> Result<Found, OpError> {
    let SessionRecordings { session, found } = recordings::of_session(store, dir, id).await?;
    match which {
        Which::Rdp => {
            let rec = found.rdp.ok_or_else(|| not_found(&format!("{id}/rdp")))?;
            Ok(Found {
                session,
                which,
                started: rec.header.as_ref().ok().map(|h| h.started_at),
                unreadable: rec.header.as_ref().err().cloned(),
                path: rec.path,
                seal: rec.seal,
                duration: rec.duration,
                kind: None,
                command: None,
            })
        }
        Which::Channel(n) => {
            let channel = found
                .channels
                .into_iter()
                .find(|c| c.id.channel == Some(n))
                .ok_or_else(|| not_found(&format!("{id}/{n}")))?;
            Ok(Found {
                session,
                which,
                started: channel.started(),
                kind: channel.kind(),
                command: channel.header.as_ref().ok().and_then(|h| h.command.clone()),
                unreadable: channel.header.as_ref().err().cloned(),
                path: channel.cast,
                seal: channel.seal,
                duration: channel.duration,
            })
        }
    }
}

/// Decides whether `viewer` may play `found` and records it: the override first when
/// the seal is broken and `reason` is given, then the playback. Refused: nothing
/// recorded.
pub async fn start(
    store: &dyn Store,
    viewer: &Login,
    found: &Found,
    reason: Option<&OverrideReason>,
) -> Result<Decision, OpError> {
    let decision = decide(&found.seal, reason);
    let subject = found.session.id.to_string();
    let actor = Actor::Person(viewer.clone());
    let base = json!({
        "recording": found.which.to_string(),
        "file": found.path.display().to_string(),
        "seal": found.seal.as_str(),
        "engineer": found.session.engineer.as_str(),
        "target": found.session.target.as_str(),
    });
    let Decision::Play { overridden } = decision else {
        return Ok(decision);
    };
    if let (true, SealState::Broken { file, problem }, Some(reason)) =
        (overridden, &found.seal, reason)
    {
        let mut detail = base.clone();
        if let Some(map) = detail.as_object_mut() {
            map.insert("seal_file".to_owned(), json!(file));
            map.insert("seal_problem".to_owned(), json!(problem));
            map.insert("reason".to_owned(), json!(reason.as_str()));
        }
        store
            .append_audit(
                AuditEvent::new(AuditKind::RecordingSealOverridden, actor.clone(), &subject)
                    .with_detail(detail),
            )
            .await?;
    }
    let mut detail = base;
    if let Some(map) = detail.as_object_mut() {
        map.insert("override".to_owned(), json!(overridden));
    }
    store
        .append_audit(
            AuditEvent::new(AuditKind::RecordingPlayed, actor, &subject).with_detail(detail),
        )
        .await?;
    Ok(decision)
}

/// An SSH channel's cast as the browser's player gets it (see the module's text).
pub async fn cast(found: &Found) -> Result<Vec<u8>, OpError> {
    let path = found.path.clone();
    tokio::task::spawn_blocking(move || -> Result<Vec<u8>, OpError> {
        Ok(recorder::player::browser::rewrite_file(&path)?)
    })
    .await
    .map_err(|_| OpError::Interrupted("recording read"))?
}

/// The RDP screen as of `at` (the last one when `None`), as a PNG.
pub async fn still(found: &Found, at: Option<Duration>) -> Result<Option<Still>, OpError> {
    let path = found.path.clone();
    tokio::task::spawn_blocking(move || -> Result<Option<Still>, OpError> {
        Ok(recorder::rdp::still::at_file(&path, at)?)
    })
    .await
    .map_err(|_| OpError::Interrupted("recording replay"))?
}

/// The commands `found` shows, offsets since the recording's start (an SSH channel's
/// lines; an RDP session's typed lines a risk rule or planned step matches): the
/// playback's side list. Lines typed without echo only when the report would show them.
pub async fn commands(store: &dyn Store, found: &Found) -> Result<Vec<CommandFact>, OpError> {
    let plan = store.plan(&found.session.plan).await?;
    let keystrokes = super::session_view::keystroke_filter(plan.as_ref());
    let (path, which) = (found.path.clone(), found.which);
    tokio::task::spawn_blocking(move || match which {
        Which::Channel(_) => crate::report::commands::of_cast(&path, &keystrokes).commands,
        Which::Rdp => crate::report::commands::of_rdp(&path, &keystrokes),
    })
    .await
    .map_err(|_| OpError::Interrupted("reading commands"))
}

/// The RDP recording's keystroke timeline (everything typed, passwords too: shown to the
/// hospital's reviewers as `fumidai play --keys` does).
pub async fn keys(found: &Found) -> Result<Vec<recorder::rdp::keys::Entry>, OpError> {
    let path = found.path.clone();
    tokio::task::spawn_blocking(move || -> Result<_, OpError> {
        Ok(recorder::rdp::keys::timeline_file(&path)?.entries)
    })
    .await
    .map_err(|_| OpError::Interrupted("keystroke read"))?
}

fn not_found(name: &str) -> OpError {
    OpError::NotFound {
        kind: "recording",
        kind_ja: "録画",
        name: name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_seal_plays_only_with_a_reason() {
        let broken = SealState::Broken {
            file: "/r/x.cast".into(),
            problem: "SHA-256 differs".into(),
        };
        let reason = OverrideReason::parse("incident 42: looking at the damage");
        assert!(reason.is_some());
        let table = [
            (
                SealState::Intact,
                None,
                Decision::Play { overridden: false },
            ),
            (
                SealState::Unsealed,
                None,
                Decision::Play { overridden: false },
            ),
            (
                SealState::Intact,
                reason.clone(),
                Decision::Play { overridden: false },
            ),
            (
                broken.clone(),
                None,
                Decision::Refuse {
                    file: "/r/x.cast".into(),
                    problem: "SHA-256 differs".into(),
                },
            ),
            (broken, reason, Decision::Play { overridden: true }),
        ];
        for (seal, reason, want) in table {
            assert_eq!(decide(&seal, reason.as_ref()), want, "{seal:?}");
        }
    }

    #[test]
    fn reasons_and_recordings_parse_once() {
        for bad in ["", "   ", "ab", "two\nlines", &"x".repeat(501)] {
            assert_eq!(OverrideReason::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            OverrideReason::parse("  check  ").map(|r| r.as_str().to_owned()),
            Some("check".to_owned())
        );
        assert_eq!("rdp".parse::<Which>().ok(), Some(Which::Rdp));
        assert_eq!("3".parse::<Which>().ok(), Some(Which::Channel(3)));
        for bad in ["", "-1", "x", "99999999999", "3 "] {
            assert!(bad.parse::<Which>().is_err(), "{bad:?}");
        }
    }
}
