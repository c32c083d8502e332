//! A session's recordings, found and checked against their seals (R-17-2): what `fumidai
//! play` lists and plays and what the console's playback shows before it plays. Read-only;
//! the caller audits a playback (who watched which recording).

use chrono::Utc;
use policy::ids::SessionId;
use recorder::inventory::{Inventory, SealRecord};
use store::{SessionRecord, Store};

use super::OpError;
use crate::datadir::DataDir;

/// A session and its recordings.
#[derive(Debug)]
pub struct SessionRecordings {
    /// The session as stored.
    pub session: SessionRecord,
    /// Its recordings, each sealed (and checked) or not sealed yet, with warnings.
    pub found: Inventory,
}

/// Finds session `id`'s recordings under the data directory and checks each sealed one
/// against the seal the audit chain holds for it (found by kind and session, not by
/// reading the chain).
pub async fn of_session(
    store: &dyn Store,
    dir: &DataDir,
    id: SessionId,
) -> Result<SessionRecordings, OpError> {
    let session = store.session(&id).await?.ok_or_else(|| OpError::NotFound {
        kind: "session",
        kind_ja: "セッション",
        name: id.to_string(),
    })?;
    let seals: Vec<SealRecord> = store
        .session_seals(&id)
        .await?
        .into_iter()
        .map(|s| SealRecord {
            seq: s.seq,
            statement: s.statement,
            signature: s.signature,
        })
        .collect();
    let key = super::audit::verifying_key(dir)?;
    let root = dir.recordings();
    let days = (
        session.started_at.date_naive(),
        session.ended_at.unwrap_or_else(Utc::now).date_naive(),
    );
    let uuid = *id.as_uuid();
    let found = tokio::task::spawn_blocking(move || {
        recorder::inventory::inventory(&root, uuid, days, &seals, &key)
    })
    .await
    .map_err(|_| OpError::Interrupted("recording check"))??;
    Ok(SessionRecordings { session, found })
}
