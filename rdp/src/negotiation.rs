//! The X.224 connection request and confirm on both legs: towards the vendor's client
//! fumidai selects CredSSP (NLA) and nothing weaker; towards the target it asks for TLS
//! (xrdp has no NLA; Windows targets that insist on NLA are not served yet).

use ironrdp_core::{decode, encode_vec};
use ironrdp_pdu::nego::{
    ConnectionConfirm, ConnectionRequest, FailureCode, RequestFlags, ResponseFlags,
    SecurityProtocol,
};
use ironrdp_pdu::x224::X224;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use super::frames::FrameReader;

/// Why a negotiation ended without a connection.
#[derive(Debug, thiserror::Error)]
pub enum NegotiationError {
    /// The client asked for something fumidai refuses; it was told so.
    #[error("refused: {0}")]
    Refused(&'static str),
    /// The target selected no protocol fumidai can use.
    #[error("the target {0}")]
    Target(String),
    /// Bytes that are not RDP, or the peer went away.
    #[error("{0}")]
    Protocol(String),
}

/// What the vendor's client asked for.
#[derive(Debug, Clone, Copy)]
pub struct ClientRequest {
    /// The protocols it offered (echoed back to it in the Connect Response).
    pub protocols: SecurityProtocol,
}

/// Reads the client's connection request and answers it: CredSSP (HYBRID) or a refusal.
/// Restricted Admin and Remote Credential Guard requests are refused: both mean the
/// client's own credentials or tickets would act on the target (rdp-findings.md).
pub async fn accept_client<S>(
    stream: &mut S,
    reader: &mut FrameReader,
) -> Result<ClientRequest, NegotiationError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = reader
        .read_frame(stream)
        .await
        .map_err(|e| NegotiationError::Protocol(e.to_string()))?
        .ok_or_else(|| NegotiationError::Protocol("closed before the request".to_owned()))?;
    let request = decode::<X224<ConnectionRequest>>(&frame.bytes)
        .map_err(|e| NegotiationError::Protocol(e.to_string()))?
        .0;
    let refusal = client_refusal(&request);
    let confirm = match refusal {
        Some((code, _)) => ConnectionConfirm::Failure { code },
        None => ConnectionConfirm::Response {
            flags: ResponseFlags::EXTENDED_CLIENT_DATA_SUPPORTED,
            protocol: SecurityProtocol::HYBRID,
        },
    };
    let bytes =
        encode_vec(&X224(confirm)).map_err(|e| NegotiationError::Protocol(e.to_string()))?;
    stream
        .write_all(&bytes)
        .await
        .map_err(|e| NegotiationError::Protocol(e.to_string()))?;
    stream
        .flush()
        .await
        .map_err(|e| NegotiationError::Protocol(e.to_string()))?;
    match refusal {
        Some((_, why)) => Err(NegotiationError::Refused(why)),
        None => Ok(ClientRequest {
            protocols: request.protocol,
        }),
    }
}

/// The client-side rule, pure: what is refused and with which failure code.
pub fn client_refusal(request: &ConnectionRequest) -> Option<(FailureCode, &'static str)> {
    if request.flags.intersects(
        RequestFlags::RESTRICTED_ADMIN_MODE_REQUIRED
            | RequestFlags::REDIRECTED_AUTHENTICATION_MODE_REQUIRED,
    ) {
        return Some((
            FailureCode::HYBRID_REQUIRED_BY_SERVER,
            "restricted admin / remote credential guard requested",
        ));
    }
    if !request.protocol.contains(SecurityProtocol::HYBRID) {
        return Some((
            FailureCode::HYBRID_REQUIRED_BY_SERVER,
            "the client did not offer NLA (CredSSP)",
        ));
    }
    None
}

/// Offers the target TLS and CredSSP (HYBRID) and returns what it selected: xrdp takes TLS
/// (it has no NLA), a Windows server requiring NLA takes CredSSP.
pub async fn connect_target<S>(
    stream: &mut S,
    reader: &mut FrameReader,
) -> Result<SecurityProtocol, NegotiationError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let request = ConnectionRequest {
        nego_data: None,
        flags: RequestFlags::empty(),
        protocol: SecurityProtocol::SSL | SecurityProtocol::HYBRID,
        correlation_info: None,
    };
    let bytes =
        encode_vec(&X224(request)).map_err(|e| NegotiationError::Protocol(e.to_string()))?;
    stream
        .write_all(&bytes)
        .await
        .map_err(|e| NegotiationError::Protocol(e.to_string()))?;
    let frame = reader
        .read_frame(stream)
        .await
        .map_err(|e| NegotiationError::Protocol(e.to_string()))?
        .ok_or_else(|| NegotiationError::Protocol("the target closed the connection".to_owned()))?;
    match decode::<X224<ConnectionConfirm>>(&frame.bytes)
        .map_err(|e| NegotiationError::Protocol(e.to_string()))?
        .0
    {
        ConnectionConfirm::Response { protocol, .. }
            if protocol == SecurityProtocol::SSL || protocol == SecurityProtocol::HYBRID =>
        {
            Ok(protocol)
        }
        ConnectionConfirm::Response { protocol, .. } => Err(NegotiationError::Target(format!(
            "selected {protocol:?}; fumidai offers TLS or CredSSP only"
        ))),
        ConnectionConfirm::Failure { code } => Err(NegotiationError::Target(format!(
            "refused both TLS and CredSSP (failure code {code:?})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(flags: RequestFlags, protocol: SecurityProtocol) -> ConnectionRequest {
        ConnectionRequest {
            nego_data: None,
            flags,
            protocol,
            correlation_info: None,
        }
    }

    #[test]
    fn only_nla_without_restricted_admin_is_accepted() {
        let nla = SecurityProtocol::SSL | SecurityProtocol::HYBRID;
        assert!(client_refusal(&request(RequestFlags::empty(), nla)).is_none());
        assert!(client_refusal(&request(RequestFlags::empty(), SecurityProtocol::SSL)).is_some());
        assert!(
            client_refusal(&request(RequestFlags::empty(), SecurityProtocol::empty())).is_some(),
            "standard RDP security"
        );
        for flags in [
            RequestFlags::RESTRICTED_ADMIN_MODE_REQUIRED,
            RequestFlags::REDIRECTED_AUTHENTICATION_MODE_REQUIRED,
        ] {
            assert!(client_refusal(&request(flags, nla)).is_some(), "{flags:?}");
        }
    }
}
