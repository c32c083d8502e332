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
    /// The target selected a protocol fumidai can't use.
    #[error("the target selected {0:?}; fumidai offers TLS or CredSSP only")]
    TargetSelected(SecurityProtocol),
    /// The target refused both TLS and CredSSP.
    #[error("the target refused both TLS and CredSSP (failure code {0:?})")]
    TargetRefused(FailureCode),
    /// The peer closed the connection before answering.
    #[error("closed before the {0}")]
    Closed(&'static str),
    /// Bytes that are not an X.224 connection request or confirm (peer fault).
    #[error("not RDP: {0}")]
    Decode(#[from] ironrdp_core::DecodeError),
    /// fumidai's own PDU could not be encoded.
    #[error("encode: {0}")]
    Encode(#[from] ironrdp_core::EncodeError),
    /// Reading or writing the connection failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
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
        .await?
        .ok_or(NegotiationError::Closed("request"))?;
    let request = decode::<X224<ConnectionRequest>>(&frame.bytes)?.0;
    let refusal = client_refusal(&request);
    let confirm = match refusal {
        Some((code, _)) => ConnectionConfirm::Failure { code },
        None => ConnectionConfirm::Response {
            flags: ResponseFlags::EXTENDED_CLIENT_DATA_SUPPORTED,
            protocol: SecurityProtocol::HYBRID,
        },
    };
    let bytes = encode_vec(&X224(confirm))?;
    stream.write_all(&bytes).await?;
    stream.flush().await?;
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
    let bytes = encode_vec(&X224(request))?;
    stream.write_all(&bytes).await?;
    let frame = reader
        .read_frame(stream)
        .await?
        .ok_or(NegotiationError::Closed("target's answer"))?;
    match decode::<X224<ConnectionConfirm>>(&frame.bytes)?.0 {
        ConnectionConfirm::Response { protocol, .. }
            if protocol == SecurityProtocol::SSL || protocol == SecurityProtocol::HYBRID =>
        {
            Ok(protocol)
        }
        ConnectionConfirm::Response { protocol, .. } => {
            Err(NegotiationError::TargetSelected(protocol))
        }
        ConnectionConfirm::Failure { code } => Err(NegotiationError::TargetRefused(code)),
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
