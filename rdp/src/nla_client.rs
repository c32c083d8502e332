//! NLA towards targets that require it (Windows with "Network Level Authentication"):
//! CredSSP with NTLM, client side, delegating the target's own credential — never the
//! engineer's — after the pinned TLS handshake, bound to the target certificate's public
//! key as CredSSP requires.

use ironrdp_connector::credssp::CredsspSequence;
use ironrdp_connector::{Credentials, ServerName};
use ironrdp_core::WriteBuf;
use ironrdp_pdu::nego::SecurityProtocol;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use super::frames::FrameReader;
use super::rewrite::TargetLogon;

/// Why NLA towards the target failed.
#[derive(Debug, thiserror::Error)]
#[error("NLA towards the target failed: {0}")]
pub struct TargetNlaError(String);

fn fail(error: impl std::fmt::Display) -> TargetNlaError {
    TargetNlaError(error.to_string())
}

/// Runs CredSSP as a client on `stream` (the target's TLS, whose certificate's
/// SubjectPublicKey is `public_key`) with the target's credential.
pub async fn authenticate<S>(
    stream: &mut S,
    reader: &mut FrameReader,
    logon: &TargetLogon,
    host: &str,
    public_key: Vec<u8>,
    protocol: SecurityProtocol,
) -> Result<(), TargetNlaError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let credentials = Credentials::UsernamePassword {
        username: logon.user.clone(),
        password: logon.password.clone(),
    };
    let (mut sequence, first) = CredsspSequence::init(
        credentials,
        logon.domain.as_deref(),
        protocol,
        ServerName::new(host),
        public_key,
        None,
    )
    .map_err(fail)?;
    let mut request = Some(first);
    loop {
        // The client speaks first: the initial (empty) request, then each reply.
        let state = {
            let Some(request) = request.take() else {
                break;
            };
            sequence
                .process_ts_request(request)
                .resolve_to_result()
                .map_err(fail)?
        };
        let mut output = WriteBuf::new();
        sequence
            .handle_process_result(state, &mut output)
            .map_err(fail)?;
        if !output.filled().is_empty() {
            stream.write_all(output.filled()).await.map_err(fail)?;
            stream.flush().await.map_err(fail)?;
        }
        if sequence.next_pdu_hint().is_none() {
            break;
        }
        let message = reader.read_ts_request(stream).await.map_err(fail)?;
        request = sequence.decode_server_message(&message).map_err(fail)?;
    }
    Ok(())
}

/// The SubjectPublicKey bits of a DER certificate (what CredSSP's pubKeyAuth covers).
pub fn subject_public_key(der: &[u8]) -> Option<Vec<u8>> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(certificate.public_key().subject_public_key.data.to_vec())
}
