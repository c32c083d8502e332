//! Reading whole RDP frames off a byte stream: TPKT (X.224) and fast-path frames, found by
//! their length headers (`ironrdp_pdu::find_size`), and CredSSP's DER-framed TsRequests.

use bytes::{Bytes, BytesMut};
use ironrdp_pdu::Action;
use tokio::io::{AsyncRead, AsyncReadExt as _};

/// Largest frame accepted: a TPKT frame is at most 64 KiB, a fast-path frame 32 KiB;
/// TsRequests with certificates stay far below.
const MAX_FRAME: usize = 64 * 1024;

/// Bytes read from one direction of a connection, cut into frames.
#[derive(Debug, Default)]
pub struct FrameReader {
    buffer: BytesMut,
}

/// One frame and what kind it is.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Slow path (X.224) or fast path.
    pub action: Action,
    /// The whole frame, headers included.
    pub bytes: Bytes,
}

impl FrameReader {
    /// Reads the next RDP frame; `Ok(None)` at a clean end of stream between frames.
    pub async fn read_frame<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
    ) -> std::io::Result<Option<Frame>> {
        loop {
            if let Some(info) = ironrdp_pdu::find_size(&self.buffer).map_err(invalid)? {
                if info.length > MAX_FRAME || info.length == 0 {
                    return Err(invalid(format!("frame of {} bytes", info.length)));
                }
                if self.buffer.len() >= info.length {
                    let bytes = self.buffer.split_to(info.length).freeze();
                    return Ok(Some(Frame {
                        action: info.action,
                        bytes,
                    }));
                }
            }
            if !self.fill(stream).await? {
                return if self.buffer.is_empty() {
                    Ok(None)
                } else {
                    Err(std::io::ErrorKind::UnexpectedEof.into())
                };
            }
        }
    }

    /// Reads the next CredSSP TsRequest (a DER SEQUENCE).
    pub async fn read_ts_request<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
    ) -> std::io::Result<Bytes> {
        loop {
            match ironrdp_connector::sspi::credssp::TsRequest::read_length(&self.buffer[..]) {
                Ok(length) if length > MAX_FRAME => {
                    return Err(invalid(format!("TsRequest of {length} bytes")));
                }
                Ok(length) if self.buffer.len() >= length => {
                    return Ok(self.buffer.split_to(length).freeze());
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
                Err(e) => return Err(e),
            }
            if !self.fill(stream).await? {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Bytes read but not yet returned (a TLS handshake must not start with any).
    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    async fn fill<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> std::io::Result<bool> {
        if self.buffer.len() > MAX_FRAME * 2 {
            return Err(invalid("unframed data"));
        }
        self.buffer.reserve(16 * 1024);
        let n = stream.read_buf(&mut self.buffer).await?;
        Ok(n > 0)
    }
}

fn invalid(error: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_cut_at_their_lengths_across_reads() {
        // Two TPKT frames (version 3, length 7 and 8) and a fast-path frame (length 3).
        let bytes: Vec<u8> = [
            &[3, 0, 0, 7, 1, 2, 3][..],
            &[3, 0, 0, 8, 9, 9, 9, 9][..],
            &[0x00, 3, 0xAA][..],
        ]
        .concat();
        let (mut client, mut server) = tokio::io::duplex(4);
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt as _;
            client.write_all(&bytes).await.unwrap();
        });
        let mut reader = FrameReader::default();
        let a = reader.read_frame(&mut server).await.unwrap().unwrap();
        let b = reader.read_frame(&mut server).await.unwrap().unwrap();
        let c = reader.read_frame(&mut server).await.unwrap().unwrap();
        assert_eq!((a.bytes.len(), b.bytes.len(), c.bytes.len()), (7, 8, 3));
        assert_eq!(c.action, Action::FastPath);
        assert!(reader.read_frame(&mut server).await.unwrap().is_none());
    }
}
