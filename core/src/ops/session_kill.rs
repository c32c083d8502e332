//! Asking the gateway that holds a session, or a logged-in connection without one
//! (issue 12), to end it. The request is recorded at once (`session.killed`, actor: the
//! person); the node holding the connection acts on it within about a second. Optionally
//! the engineer is barred from the session's plan, so they can't come back under it
//! (`plan.engineer_blocked`). A kill asks for no fresh code: it must be instant.

use policy::authority::Action;
use policy::ids::SessionId;
use policy::limits::{EndReason, KillReason};
use store::{ConnectionRecord, KillRequest, SessionRecord, Store};

use super::{OpError, Person};

/// What was asked to end.
#[derive(Debug, Clone)]
pub enum KillRequested {
    /// A maintenance session; its end is recorded by the node that ends it.
    Session {
        /// The request as recorded.
        request: KillRequest,
        /// The session when the request was made.
        session: SessionRecord,
    },
    /// A logged-in connection without a session.
    Connection(ConnectionRecord),
}

/// Records a kill of `id` (a session, or else a login-only connection) as `person`; with
/// `block`, also bars the session's engineer from its plan.
pub async fn request(
    store: &dyn Store,
    person: &Person,
    id: &SessionId,
    reason: &KillReason,
    block: bool,
) -> Result<KillRequested, OpError> {
    person.may(Action::KillSession)?;
    let actor = person.actor();
    let Some(session) = store.session(id).await? else {
        if store.connections().await?.iter().any(|c| c.id == *id) {
            return request_connection(store, person, id, reason).await;
        }
        return Err(OpError::NotFound {
            kind: "session",
            kind_ja: "セッション",
            name: id.to_string(),
        });
    };
    if session.ended_at.is_some() {
        return Err(OpError::SessionEnded {
            id: *id,
            reason: session.end_reason.map_or("unknown", EndReason::as_str),
        });
    }
    let request = match store.request_kill(id, reason.as_str(), &actor).await {
        Ok(request) => request,
        Err(store::Error::KillPending { .. }) => {
            return Err(OpError::KillPending {
                kind: "session",
                kind_ja: "セッション",
                id: *id,
            });
        }
        // Ended between the read above and the request.
        Err(store::Error::InvalidTransition { .. }) => {
            return Err(OpError::SessionEnded {
                id: *id,
                reason: "unknown",
            });
        }
        Err(error) => return Err(error.into()),
    };
    if block {
        // After the kill request, so the session ends as killed; from now on admission
        // and the live re-check no longer see the plan for this engineer.
        match store
            .block_engineer(&session.plan, &session.engineer, reason.as_str(), &actor)
            .await
        {
            Ok(()) | Err(store::Error::AlreadyExists { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(KillRequested::Session { request, session })
}

async fn request_connection(
    store: &dyn Store,
    person: &Person,
    id: &SessionId,
    reason: &KillReason,
) -> Result<KillRequested, OpError> {
    match store
        .request_connection_kill(id, reason.as_str(), &person.actor())
        .await
    {
        Ok(record) => Ok(KillRequested::Connection(record)),
        Err(store::Error::KillPending { .. }) => Err(OpError::KillPending {
            kind: "connection",
            kind_ja: "接続",
            id: *id,
        }),
        Err(store::Error::NotFound { .. }) => Err(OpError::ConnectionClosed { id: *id }),
        Err(error) => Err(error.into()),
    }
}
