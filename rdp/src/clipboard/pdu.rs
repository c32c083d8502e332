//! The cliprdr PDUs the gateway reads and writes (MS-RDPECLIP 2.2), and the channel chunks
//! (CHANNEL_PDU_HEADER, MS-RDPBCGR 2.2.6.1.1) they travel in. Parsing only: every
//! function takes bytes that came from a peer and answers `None` for what doesn't hold up.

/// CHANNEL_FLAG_FIRST.
pub(super) const FIRST: u32 = 0x0000_0001;
/// CHANNEL_FLAG_LAST.
pub(super) const LAST: u32 = 0x0000_0002;
/// CHANNEL_PACKET_COMPRESSED: the chunk can't be read (compression is never negotiated:
/// the Client Info rewrite clears it).
pub(super) const COMPRESSED: u32 = 0x0020_0000;
/// The most PDU bytes the gateway puts in one chunk: CHANNEL_CHUNK_LENGTH, the size every
/// peer accepts whatever it announced in its Virtual Channel capability.
const CHUNK_LENGTH: usize = 1600;

/// The cliprdr message types (msgType, 2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// CB_FORMAT_LIST: the source's clipboard formats.
    FormatList,
    /// CB_FORMAT_DATA_REQUEST: the receiver asks for one format.
    FormatDataRequest,
    /// CB_FORMAT_DATA_RESPONSE: that format's data (a file list for FileGroupDescriptorW).
    FormatDataResponse,
    /// CB_CLIP_CAPS.
    Capabilities,
    /// CB_FILECONTENTS_REQUEST.
    FileContentsRequest,
    /// CB_FILECONTENTS_RESPONSE.
    FileContentsResponse,
    /// Anything else (monitor ready, format list response, lock, unlock, temp directory).
    Other,
}

impl Kind {
    pub(super) fn of(msg_type: u16) -> Self {
        match msg_type {
            0x0002 => Kind::FormatList,
            0x0004 => Kind::FormatDataRequest,
            0x0005 => Kind::FormatDataResponse,
            0x0007 => Kind::Capabilities,
            0x0008 => Kind::FileContentsRequest,
            0x0009 => Kind::FileContentsResponse,
            _ => Kind::Other,
        }
    }
}

/// CB_FILECONTENTS_RESPONSE's msgType.
const FILE_CONTENTS_RESPONSE: u16 = 0x0009;
/// CB_FILECONTENTS_REQUEST's msgType.
const FILE_CONTENTS_REQUEST: u16 = 0x0008;
/// CB_RESPONSE_OK.
const RESPONSE_OK: u16 = 0x0001;
/// CB_RESPONSE_FAIL.
pub(super) const RESPONSE_FAIL: u16 = 0x0002;
/// CB_ASCII_NAMES: a short format list's names are ASCII.
const ASCII_NAMES: u16 = 0x0004;
/// CB_USE_LONG_FORMAT_NAMES (general capability flag).
pub(super) const USE_LONG_FORMAT_NAMES: u32 = 0x0000_0002;
/// CB_CAN_LOCK_CLIPDATA (general capability flag).
const CAN_LOCK_CLIPDATA: u32 = 0x0000_0010;
/// FILECONTENTS_SIZE.
pub(super) const SIZE: u32 = 0x0000_0001;
/// FILECONTENTS_RANGE.
pub(super) const RANGE: u32 = 0x0000_0002;
/// The file list's format name (CFSTR_FILEDESCRIPTORW).
pub(super) const FILE_LIST_FORMAT: &str = "FileGroupDescriptorW";

/// One channel chunk: its header and data.
#[derive(Debug)]
pub(super) struct Chunk<'a> {
    /// The whole PDU's length (CHANNEL_PDU_HEADER.length).
    pub(super) total: u32,
    /// CHANNEL_FLAG_*.
    pub(super) flags: u32,
    /// This chunk's part of the PDU.
    pub(super) data: &'a [u8],
}

impl<'a> Chunk<'a> {
    pub(super) fn parse(bytes: &'a [u8]) -> Option<Self> {
        Some(Chunk {
            total: u32_at(bytes, 0)?,
            flags: u32_at(bytes, 4)?,
            data: bytes.get(8..)?,
        })
    }
}

/// Zero bytes a PDU may carry after the dataLen its header gives (xrdp's pad).
const MAX_PAD: usize = 4;

/// A whole cliprdr PDU: its header (2.2.1) and body.
#[derive(Debug)]
pub(super) struct Pdu<'a> {
    pub(super) kind: Kind,
    pub(super) flags: u16,
    pub(super) body: &'a [u8],
}

impl<'a> Pdu<'a> {
    /// A PDU whose dataLen matches the bytes that follow its header, save for up to
    /// [`MAX_PAD`] zero bytes after them: xrdp's channel server (0.9.21) ends every
    /// cliprdr PDU with four zero bytes that dataLen does not count (seen end to end:
    /// Monitor Ready arrives as 12 bytes with dataLen 0), and FreeRDP and Windows read
    /// dataLen and ignore the rest. The pad is not part of the body.
    pub(super) fn parse(bytes: &'a [u8]) -> Option<Self> {
        let kind = Kind::of(u16_at(bytes, 0)?);
        let flags = u16_at(bytes, 2)?;
        let len = usize::try_from(u32_at(bytes, 4)?).ok()?;
        let rest = bytes.get(8..)?;
        let body = rest.get(..len)?;
        let pad = rest.get(len..)?;
        (pad.len() <= MAX_PAD && pad.iter().all(|&b| b == 0)).then_some(Pdu { kind, flags, body })
    }
}

/// The msgType of a PDU's first chunk.
pub(super) fn msg_type(first_chunk_data: &[u8]) -> Option<u16> {
    u16_at(first_chunk_data, 0)
}

/// The general capability flags of a Clipboard Capabilities PDU's body.
pub(super) fn general_flags(body: &[u8]) -> Option<u32> {
    general_flags_at(body).and_then(|at| u32_at(body, at))
}

/// The Clipboard Capabilities PDU without CB_CAN_LOCK_CLIPDATA: the gateway keeps one
/// file list per source, so file contents are always asked for by the latest list's index.
pub(super) fn capabilities_without_locking(pdu: &Pdu<'_>) -> Option<Vec<u8>> {
    let at = general_flags_at(pdu.body)?;
    let mut body = pdu.body.to_vec();
    let flags = u32_at(&body, at)? & !CAN_LOCK_CLIPDATA;
    body.get_mut(at..at.checked_add(4)?)?
        .copy_from_slice(&flags.to_le_bytes());
    Some(encode(0x0007, pdu.flags, &body))
}

/// Where the general flags are in a capabilities body: cCapabilitiesSets (2), pad (2),
/// then sets of type (2), length (2), and for CB_CAPSTYPE_GENERAL version (4), flags (4).
fn general_flags_at(body: &[u8]) -> Option<usize> {
    let count = u16_at(body, 0)?;
    let mut at = 4usize;
    for _ in 0..count {
        let kind = u16_at(body, at)?;
        let len = usize::from(u16_at(body, at.checked_add(2)?)?);
        if kind == 1 && len >= 12 {
            let flags = at.checked_add(8)?;
            u32_at(body, flags)?;
            return Some(flags);
        }
        if len < 4 {
            return None;
        }
        at = at.checked_add(len)?;
    }
    None
}

/// The format ID a Format List names FileGroupDescriptorW with, if it does. `long` when
/// both sides announced CB_USE_LONG_FORMAT_NAMES.
pub(super) fn file_list_format(pdu: &Pdu<'_>, long: bool) -> Option<u32> {
    let mut at = 0usize;
    let body = pdu.body;
    while at < body.len() {
        let id = u32_at(body, at)?;
        at = at.checked_add(4)?;
        let name = if long {
            let (name, used) = utf16_until_nul(body.get(at..)?)?;
            at = at.checked_add(used)?;
            name
        } else {
            let raw = body.get(at..at.checked_add(32)?)?;
            at = at.checked_add(32)?;
            if pdu.flags & ASCII_NAMES != 0 {
                raw.iter()
                    .take_while(|b| **b != 0)
                    .map(|b| char::from(*b))
                    .collect()
            } else {
                utf16_until_nul(raw).map_or_else(|| utf16(raw), |(name, _)| name)
            }
        };
        // A short name holds 15 characters: FileGroupDescriptorW arrives cut.
        let named = name == FILE_LIST_FORMAT
            || (!long && name.len() >= 15 && FILE_LIST_FORMAT.starts_with(&name));
        if named {
            return Some(id);
        }
    }
    None
}

/// The requested format of a Format Data Request.
pub(super) fn requested_format(pdu: &Pdu<'_>) -> Option<u32> {
    u32_at(pdu.body, 0)
}

/// One file of a file list (FILEDESCRIPTORW, 2.2.5.2.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Listed {
    /// The name the source gave it (a relative path with `\` for a folder's files).
    pub(super) name: String,
    /// Its size, when the source said (FD_FILESIZE).
    pub(super) size: Option<u64>,
    /// A folder: it has no contents.
    pub(super) directory: bool,
}

/// The most files one list may name (a bigger list is not read: its files can't be
/// fetched). 4096 entries take 2.4 MB.
pub(super) const MAX_LISTED: u32 = 4096;
/// FILEDESCRIPTORW's length.
const DESCRIPTOR: usize = 592;

/// A Format Data Response holding a file list (CLIPRDR_FILELIST).
pub(super) fn file_list(pdu: &Pdu<'_>) -> Option<Vec<Listed>> {
    if pdu.flags & RESPONSE_FAIL != 0 {
        return None;
    }
    let count = u32_at(pdu.body, 0)?;
    if count > MAX_LISTED {
        return None;
    }
    let descriptors = pdu.body.get(4..)?;
    if descriptors.len() != usize::try_from(count).ok()?.checked_mul(DESCRIPTOR)? {
        return None;
    }
    descriptors
        .chunks_exact(DESCRIPTOR)
        .map(|d| {
            const FD_ATTRIBUTES: u32 = 0x0000_0004;
            const FD_FILESIZE: u32 = 0x0000_0040;
            const DIRECTORY: u32 = 0x0000_0010;
            let flags = u32_at(d, 0)?;
            let attributes = u32_at(d, 36)?;
            let high = u64::from(u32_at(d, 64)?);
            let low = u64::from(u32_at(d, 68)?);
            let (name, _) = utf16_until_nul(d.get(72..)?)?;
            Some(Listed {
                name,
                size: (flags & FD_FILESIZE != 0).then_some(high << 32 | low),
                directory: flags & FD_ATTRIBUTES != 0 && attributes & DIRECTORY != 0,
            })
        })
        .collect()
}

/// A File Contents Request (2.2.5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ContentsRequest {
    pub(super) stream: u32,
    pub(super) index: u32,
    /// FILECONTENTS_SIZE or FILECONTENTS_RANGE.
    pub(super) flags: u32,
    pub(super) position: u64,
    pub(super) requested: u32,
}

impl ContentsRequest {
    pub(super) fn parse(pdu: &Pdu<'_>) -> Option<Self> {
        let body = pdu.body;
        // 24 bytes, or 28 with a clipDataId.
        if body.len() != 24 && body.len() != 28 {
            return None;
        }
        Some(ContentsRequest {
            stream: u32_at(body, 0)?,
            index: u32_at(body, 4)?,
            flags: u32_at(body, 8)?,
            position: u64::from(u32_at(body, 16)?) << 32 | u64::from(u32_at(body, 12)?),
            requested: u32_at(body, 20)?,
        })
    }

    /// The request as the gateway sends it (no clipDataId: locking is taken out).
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(24);
        body.extend(self.stream.to_le_bytes());
        body.extend(self.index.to_le_bytes());
        body.extend(self.flags.to_le_bytes());
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the low 32 bits, on purpose"
        )]
        body.extend((self.position as u32).to_le_bytes());
        body.extend(
            u32::try_from(self.position >> 32)
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        body.extend(self.requested.to_le_bytes());
        encode(FILE_CONTENTS_REQUEST, 0, &body)
    }
}

/// A File Contents Response (2.2.5.4): its stream and data, `None` data for a failure.
pub(super) fn contents_response<'a>(pdu: &Pdu<'a>) -> Option<(u32, Option<&'a [u8]>)> {
    let stream = u32_at(pdu.body, 0)?;
    if pdu.flags & RESPONSE_FAIL != 0 {
        return Some((stream, None));
    }
    Some((stream, Some(pdu.body.get(4..)?)))
}

/// A File Contents Response the gateway sends: `Some(data)` OK, `None` CB_RESPONSE_FAIL.
pub(super) fn encode_contents_response(stream: u32, data: Option<&[u8]>) -> Vec<u8> {
    let mut body = stream.to_le_bytes().to_vec();
    let flags = match data {
        Some(data) => {
            body.extend(data);
            RESPONSE_OK
        }
        None => RESPONSE_FAIL,
    };
    encode(FILE_CONTENTS_RESPONSE, flags, &body)
}

/// A whole PDU from its header fields and body.
pub(super) fn encode(msg_type: u16, flags: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len().saturating_add(8));
    out.extend(msg_type.to_le_bytes());
    out.extend(flags.to_le_bytes());
    out.extend(u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend(body);
    out
}

/// A PDU cut into channel chunks (each with its CHANNEL_PDU_HEADER), ready for MCS.
pub fn chunks(pdu: &[u8]) -> Vec<Vec<u8>> {
    let total = u32::try_from(pdu.len()).unwrap_or(u32::MAX);
    let count = pdu.len().div_ceil(CHUNK_LENGTH).max(1);
    let mut out = Vec::with_capacity(count);
    let mut pieces = pdu.chunks(CHUNK_LENGTH).peekable();
    let mut first = true;
    loop {
        let piece = pieces.next().unwrap_or_default();
        let mut flags = 0;
        if first {
            flags |= FIRST;
        }
        if pieces.peek().is_none() {
            flags |= LAST;
        }
        let mut chunk = Vec::with_capacity(piece.len().saturating_add(8));
        chunk.extend(total.to_le_bytes());
        chunk.extend(flags.to_le_bytes());
        chunk.extend(piece);
        out.push(chunk);
        first = false;
        if flags & LAST != 0 {
            return out;
        }
    }
}

/// UTF-16LE up to its NUL: the text and the bytes used, NUL included.
fn utf16_until_nul(bytes: &[u8]) -> Option<(String, usize)> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|b| {
            u16::from_le_bytes([
                b.first().copied().unwrap_or(0),
                b.last().copied().unwrap_or(0),
            ])
        })
        .take_while(|u| *u != 0)
        .collect();
    let used = units.len().checked_add(1)?.checked_mul(2)?;
    (used <= bytes.len()).then(|| (String::from_utf16_lossy(&units), used))
}

fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|b| {
            u16::from_le_bytes([
                b.first().copied().unwrap_or(0),
                b.last().copied().unwrap_or(0),
            ])
        })
        .collect();
    String::from_utf16_lossy(&units)
}

pub(super) fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(b.try_into().ok()?))
}

pub(super) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}
