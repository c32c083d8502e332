//! Network Level Authentication towards the vendor's client: CredSSP with NTLM, server
//! side, where the only accepted credentials are single-use [`Tickets`](super::tickets).
//!
//! NTLM needs the password (or its NT hash) to check the client's answer; fumidai keeps
//! engineers' passwords only as Argon2id hashes, which is why the client authenticates
//! with a ticket issued after a password + TOTP login (notes/rdp-findings.md).

use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use ironrdp_connector::sspi::credssp::{
    CredSspServer, CredentialsProxy, NStatusCode, ServerMode, ServerState, TsRequest,
};
use ironrdp_connector::sspi::{self, AuthIdentity, Secret, Username};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use super::frames::FrameReader;
use fumidai_core::session::tickets::{TakeRefused, Ticket, Tickets};
use policy::ids::{Login, TargetName};

/// Why NLA failed.
#[derive(Debug, thiserror::Error)]
pub enum NlaError {
    /// Unknown, expired, already used or wrong ticket; the client was told LOGON_FAILURE.
    #[error("the RDP credential was refused ({0})")]
    Refused(String),
    /// The client presented a ticket issued to another engineer; it was left unused.
    #[error("ticket of another engineer")]
    OtherEngineer {
        /// Where the ticket leads.
        target: TargetName,
    },
    /// The client broke the protocol or went away.
    #[error("CredSSP failed: {0}")]
    Protocol(String),
}

/// Looks the client's user name up among the tickets, taking it (single use).
#[derive(Debug)]
struct TicketLookup {
    tickets: Tickets,
    /// Whose connection this is: another engineer's ticket is refused and left waiting.
    engineer: Login,
    taken: Arc<Mutex<Option<Ticket>>>,
    /// The target of another engineer's ticket presented here, for the audit trail.
    foreign: Arc<Mutex<Option<TargetName>>>,
}

impl CredentialsProxy for TicketLookup {
    type AuthenticationData = AuthIdentity;

    fn auth_data_by_user(&mut self, username: &Username) -> std::io::Result<AuthIdentity> {
        let ticket =
            match self
                .tickets
                .take_for(username.account_name(), &self.engineer, Utc::now())
            {
                Ok(ticket) => ticket,
                Err(TakeRefused::Unknown) => return Err(std::io::Error::other("no such ticket")),
                Err(TakeRefused::OtherEngineer { target }) => {
                    *self.foreign.lock().unwrap_or_else(PoisonError::into_inner) = Some(target);
                    return Err(std::io::Error::other("no such ticket"));
                }
            };
        let identity = AuthIdentity {
            username: username.clone(),
            password: Secret::new(ticket.password().to_owned()),
        };
        *self.taken.lock().unwrap_or_else(PoisonError::into_inner) = Some(ticket);
        Ok(identity)
    }

    fn auth_data(&mut self) -> std::io::Result<Vec<AuthIdentity>> {
        // Only the by-user lookup makes sense for single-use tickets.
        Ok(Vec::new())
    }
}

/// Runs CredSSP to its end on `stream` (inside the client's TLS, whose certificate's
/// public key is `public_key`) and returns the ticket the client proved it holds.
pub async fn authenticate<S>(
    stream: &mut S,
    reader: &mut FrameReader,
    public_key: Vec<u8>,
    tickets: &Tickets,
    engineer: &Login,
) -> Result<Ticket, NlaError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let taken = Arc::new(Mutex::new(None));
    let foreign = Arc::new(Mutex::new(None));
    let lookup = TicketLookup {
        tickets: tickets.clone(),
        engineer: engineer.clone(),
        taken: Arc::clone(&taken),
        foreign: Arc::clone(&foreign),
    };
    let mode = ServerMode::Ntlm(sspi::ntlm::NtlmConfig::new("fumidai".to_owned()));
    let mut server = CredSspServer::new(public_key, lookup, mode)
        .map_err(|e| NlaError::Protocol(e.to_string()))?;
    loop {
        let message = reader
            .read_ts_request(stream)
            .await
            .map_err(|e| NlaError::Protocol(e.to_string()))?;
        let request =
            TsRequest::from_buffer(&message).map_err(|e| NlaError::Protocol(e.to_string()))?;
        let result = server.process(request).resolve_to_result();
        match result {
            Ok(ServerState::ReplyNeeded(reply)) => write_ts_request(stream, &reply).await?,
            Ok(ServerState::Finished(_identity)) => {
                let ticket = taken.lock().unwrap_or_else(PoisonError::into_inner).take();
                return ticket.ok_or_else(|| NlaError::Refused("no ticket".to_owned()));
            }
            Err(error) => {
                // An unknown ticket fails the lookup with LogonDenied; a known one with the
                // wrong proof fails after it was taken. Anything else is a protocol error.
                let refused = matches!(error.error.error_type, sspi::ErrorKind::LogonDenied)
                    || taken.lock().map(|t| t.is_some()).unwrap_or(true);
                if let Some(mut reply) = error.ts_request.map(|r| *r) {
                    if refused {
                        reply.error_code = Some(NStatusCode::LOGON_FAILURE);
                    }
                    write_ts_request(stream, &reply).await?;
                }
                let why = error.error.to_string();
                if let Some(target) = foreign
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
                {
                    return Err(NlaError::OtherEngineer { target });
                }
                return Err(if refused {
                    NlaError::Refused(why)
                } else {
                    NlaError::Protocol(why)
                });
            }
        }
    }
}

async fn write_ts_request<S: AsyncWrite + Unpin>(
    stream: &mut S,
    request: &TsRequest,
) -> Result<(), NlaError> {
    let length = usize::from(
        request
            .buffer_len()
            .map_err(|e| NlaError::Protocol(e.to_string()))?,
    );
    let mut buffer = Vec::with_capacity(length);
    request
        .encode_ts_request(&mut buffer)
        .map_err(|e| NlaError::Protocol(e.to_string()))?;
    stream
        .write_all(&buffer)
        .await
        .map_err(|e| NlaError::Protocol(e.to_string()))?;
    stream
        .flush()
        .await
        .map_err(|e| NlaError::Protocol(e.to_string()))
}
