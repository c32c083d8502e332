//! Files over the clipboard channel (`cliprdr`, MS-RDPECLIP), withheld until they can be
//! judged (issue 11, deliverable 6; R-10-6).
//!
//! A plan that allows upload and download keeps the clipboard. Text and images pass (a
//! paste is typing: it is in the keystroke timeline's reach and the report's honest
//! limits). A *file* copied through the clipboard travels as File Contents Request and
//! Response PDUs (2.2.5.3, 2.2.5.4), in either direction, and nothing here judges,
//! records or scans their content yet, so both are withheld in both directions: the
//! requesting side gets no answer and its paste fails. The file list (a Format Data
//! Response holding a `FileGroupDescriptorW`) still passes: it names files, it carries
//! none of their bytes.
//!
//! A cliprdr PDU may span several channel chunks (CHANNEL_PDU_HEADER, MS-RDPBCGR
//! 2.2.6.1.1): the first names the message type, later ones follow it until the one
//! flagged last. [`Clipboard`] keeps that state per direction.
//!
//! # What this does not do
//!
//! Judge file contents by the content rules, record them as transfers with SHA-256, or
//! scan them with clamd. That is the next step (see the module's tests for the PDUs).

use std::borrow::Cow;

use ironrdp_core::decode;
use ironrdp_pdu::mcs::{SendDataIndication, SendDataRequest};
use ironrdp_pdu::x224::X224;

/// CHANNEL_FLAG_FIRST.
const FIRST: u32 = 0x0000_0001;
/// CHANNEL_FLAG_LAST.
const LAST: u32 = 0x0000_0002;
/// CHANNEL_PACKET_COMPRESSED: the chunk can't be read (compression is never negotiated:
/// the Client Info rewrite clears it).
const COMPRESSED: u32 = 0x0020_0000;
/// CB_FILECONTENTS_REQUEST.
const FILE_CONTENTS_REQUEST: u16 = 0x0008;
/// CB_FILECONTENTS_RESPONSE.
const FILE_CONTENTS_RESPONSE: u16 = 0x0009;

/// What to do with one chunk of the clipboard channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    /// Forward it.
    Forward,
    /// Drop it: part of a file's contents (or a request for them), or unreadable.
    Withhold,
}

/// One direction of the clipboard channel.
#[derive(Debug, Default)]
pub struct Clipboard {
    /// Within a withheld PDU: its remaining chunks are withheld too.
    withholding: bool,
    /// How many file-content PDUs were withheld (for the session's log).
    pub withheld: u64,
}

impl Clipboard {
    /// Judges one chunk (the MCS Send Data user data on the cliprdr channel).
    pub fn judge(&mut self, chunk: &[u8]) -> Chunk {
        let Some(flags) = read_u32(chunk, 4) else {
            return Chunk::Withhold;
        };
        if flags & COMPRESSED != 0 {
            self.withholding = flags & LAST == 0;
            return Chunk::Withhold;
        }
        if flags & FIRST != 0 {
            let kind = chunk
                .get(8..10)
                .and_then(|b| b.try_into().ok())
                .map(u16::from_le_bytes);
            self.withholding = match kind {
                Some(FILE_CONTENTS_REQUEST | FILE_CONTENTS_RESPONSE) | None => {
                    self.withheld += 1;
                    true
                }
                Some(_) => false,
            };
        }
        let verdict = if self.withholding {
            Chunk::Withhold
        } else {
            Chunk::Forward
        };
        if flags & LAST != 0 {
            self.withholding = false;
        }
        verdict
    }
}

/// The channel and user data of a client's MCS Send Data Request.
pub fn request_data(frame: &[u8]) -> Option<(u16, Cow<'_, [u8]>)> {
    let X224(request) = decode::<X224<SendDataRequest<'_>>>(frame).ok()?;
    Some((request.channel_id, request.user_data))
}

/// The channel and user data of a server's MCS Send Data Indication.
pub fn indication_data(frame: &[u8]) -> Option<(u16, Cow<'_, [u8]>)> {
    let X224(indication) = decode::<X224<SendDataIndication<'_>>>(frame).ok()?;
    Some((indication.channel_id, indication.user_data))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(total: u32, flags: u32, data: &[u8]) -> Vec<u8> {
        let mut out = total.to_le_bytes().to_vec();
        out.extend(flags.to_le_bytes());
        out.extend(data);
        out
    }

    fn pdu(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut out = kind.to_le_bytes().to_vec();
        out.extend(0u16.to_le_bytes());
        out.extend(u32::try_from(body.len()).unwrap().to_le_bytes());
        out.extend(body);
        out
    }

    #[test]
    fn text_and_format_lists_pass_file_contents_do_not() {
        let mut clip = Clipboard::default();
        // Format List, Format Data Response (text or a file list): forwarded.
        for kind in [0x0002, 0x0005, 0x0007] {
            let data = pdu(kind, b"abc");
            let len = u32::try_from(data.len()).unwrap();
            assert_eq!(clip.judge(&chunk(len, FIRST | LAST, &data)), Chunk::Forward);
        }
        // File Contents Request and Response: withheld.
        for kind in [FILE_CONTENTS_REQUEST, FILE_CONTENTS_RESPONSE] {
            let data = pdu(kind, &[0; 24]);
            let len = u32::try_from(data.len()).unwrap();
            assert_eq!(
                clip.judge(&chunk(len, FIRST | LAST, &data)),
                Chunk::Withhold
            );
        }
        assert_eq!(clip.withheld, 2);
    }

    #[test]
    fn every_chunk_of_a_withheld_pdu_is_withheld_and_the_next_pdu_judged_afresh() {
        let mut clip = Clipboard::default();
        let body = vec![0x7f; 3000];
        let data = pdu(FILE_CONTENTS_RESPONSE, &body);
        let total = u32::try_from(data.len()).unwrap();
        let (first, rest) = data.split_at(1600);
        let (middle, last) = rest.split_at(1000);
        assert_eq!(clip.judge(&chunk(total, FIRST, first)), Chunk::Withhold);
        assert_eq!(clip.judge(&chunk(total, 0, middle)), Chunk::Withhold);
        assert_eq!(clip.judge(&chunk(total, LAST, last)), Chunk::Withhold);
        let text = pdu(0x0005, b"hello");
        let len = u32::try_from(text.len()).unwrap();
        assert_eq!(clip.judge(&chunk(len, FIRST | LAST, &text)), Chunk::Forward);
        // A long text's later chunks follow their first.
        let long = pdu(0x0005, &[b'a'; 2000]);
        let total = u32::try_from(long.len()).unwrap();
        let (first, last) = long.split_at(1600);
        assert_eq!(clip.judge(&chunk(total, FIRST, first)), Chunk::Forward);
        assert_eq!(clip.judge(&chunk(total, LAST, last)), Chunk::Forward);
    }

    #[test]
    fn unreadable_chunks_are_withheld() {
        let mut clip = Clipboard::default();
        assert_eq!(clip.judge(&[1, 2, 3]), Chunk::Withhold);
        // A first chunk too short to hold a message type.
        assert_eq!(clip.judge(&chunk(1, FIRST | LAST, &[2])), Chunk::Withhold);
        // Compressed, and the chunks after it until the last.
        let data = pdu(0x0005, b"x");
        assert_eq!(
            clip.judge(&chunk(9, FIRST | COMPRESSED, &data)),
            Chunk::Withhold
        );
        assert_eq!(clip.judge(&chunk(9, 0, &data)), Chunk::Withhold);
        assert_eq!(clip.judge(&chunk(9, LAST, &data)), Chunk::Withhold);
        assert_eq!(clip.judge(&chunk(9, FIRST | LAST, &data)), Chunk::Forward);
    }
}
