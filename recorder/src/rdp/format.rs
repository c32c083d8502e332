//! The RDP recording file (`<session>.rdp`): a header, then timestamped PDUs.
//!
//! An RDP session is recorded as the protocol itself, not as video: every decrypted
//! server→client frame (what the engineer's client drew), every client→server input frame
//! (what the engineer typed and clicked), and the few facts a decoder needs that were
//! settled during connection ([`RdpState`]). Replay ([`super::replay`]) rebuilds the screen
//! from this, pixel for pixel as the client showed it; [`super::keys`] reads the keys.
//!
//! # Layout (version 1)
//!
//! Integers are big-endian.
//!
//! | offset | size | field        | meaning                                                |
//! |-------:|-----:|--------------|--------------------------------------------------------|
//! | 0      | 8    | magic        | `FUMIRDP\n` ([`MAGIC`])                                |
//! | 8      | 2    | `version`    | 1 ([`VERSION`]); a reader refuses any other            |
//! | 10     | 4    | `header_len` | H, at most [`MAX_HEADER`]                              |
//! | 14     | H    | header       | UTF-8 JSON object, [`RdpHeader`]                       |
//! | 14 + H |      | records      | until end of file                                      |
//!
//! A record is a 16-byte header followed by its payload:
//!
//! | offset | size | field    | meaning                                                     |
//! |-------:|-----:|----------|-------------------------------------------------------------|
//! | 0      | 4    | `len`    | payload length N, at most [`MAX_PAYLOAD`]                   |
//! | 4      | 1    | `kind`   | 1 state, 2 server frame, 3 client frame ([`RecordKind`])    |
//! | 5      | 3    | reserved | 0                                                           |
//! | 8      | 8    | `offset` | microseconds since the recording started; never decreasing |
//! | 16     | N    | payload  | see below                                                   |
//!
//! - **state**: UTF-8 JSON, [`RdpState`]. It comes before the first frame that depends on
//!   it, and again after every Deactivate All / Demand Active (a resize); it holds until the
//!   next one.
//! - **server**: one complete server→client frame as on the wire after TLS: a TPKT
//!   (X.224/MCS, "slow-path") frame or a fast-path output frame, told apart by its first
//!   byte (3 is TPKT; fast-path has 0 in its low two bits).
//! - **client**: one complete client→server frame carrying input: fast-path input, or a
//!   TPKT frame with an input PDU.
//!
//! The header's JSON and the state's JSON may gain fields in later versions of the same
//! layout; readers ignore fields they do not know. A change to the binary layout bumps
//! `version`.
//!
//! **Crash safety.** The writer appends whole records and hands them to the OS at least
//! once a second. A file cut by a crash ends inside a record: [`RdpReader`] returns every
//! record before it and reports [`RdpReader::truncated`].

use std::io::{self, Read, Write};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::format::micros;
use crate::id::RecordingId;

/// The first 8 bytes of every RDP recording.
pub const MAGIC: [u8; 8] = *b"FUMIRDP\n";
/// The layout version this crate writes and reads.
pub const VERSION: u16 = 1;
/// Largest JSON header a reader accepts.
pub const MAX_HEADER: u32 = 64 << 10;
/// Largest record payload. An RDP frame is at most 64 KiB (TPKT length is 16 bits); the
/// margin is for states with many channels, the limit for readers' allocations.
pub const MAX_PAYLOAD: u32 = 1 << 20;
/// Size of a record header.
pub const RECORD_HEADER_LEN: usize = 16;
/// Size of the fixed part before the JSON header.
const PREAMBLE_LEN: usize = 14;

/// Who and what was recorded: the JSON header, in the style of the asciicast header's
/// `fumidai` fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdpHeader {
    /// The gateway's session ID (also the file stem).
    pub session_id: Uuid,
    /// The engineer's login name.
    pub engineer: String,
    /// The target's name.
    pub target: String,
    /// The approved plan the session ran under.
    pub plan_id: String,
    /// When the recording started (record offsets count from here).
    pub started_at: DateTime<Utc>,
    /// The gateway's version, so a reader knows which proxy produced the frames.
    pub gateway_version: String,
    /// The desktop an earlier session on the same target may have left running, which
    /// this session may have resumed (the target keeps disconnected sessions; fumidai can't
    /// log them off). Absent when none was left, and in recordings from before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub may_resume: Option<LeftDesktop>,
}

/// An earlier RDP session whose desktop may still be running on the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftDesktop {
    /// That session's ID.
    pub session_id: Uuid,
    /// Who worked in it.
    pub engineer: String,
    /// How it ended (`killed`, `idle`, …), or `live`.
    pub end: String,
}

impl RdpHeader {
    /// The recording ID these fields name: the whole session, no channel.
    pub fn recording_id(&self) -> RecordingId {
        RecordingId::session(self.session_id)
    }
}

/// What a decoder needs besides the PDUs. The proxy learns it during connection and sends
/// it before the first PDU that depends on it, and again on every Deactivate All / Demand
/// Active (resize).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdpState {
    /// The MCS I/O channel (from the MCS Connect Response): share data, graphics.
    pub io_channel_id: u16,
    /// The MCS user channel (from the Attach User Confirm).
    pub user_channel_id: u16,
    /// The share ID (from the Demand Active).
    pub share_id: u32,
    /// Desktop width in pixels (from the Demand Active's bitmap capability).
    pub desktop_width: u16,
    /// Desktop height in pixels.
    pub desktop_height: u16,
    /// The static virtual channels joined: (name, MCS channel ID), e.g. `("rdpdr", 1004)`.
    /// Their PDUs are recorded but not drawn.
    pub static_channels: Vec<(String, u16)>,
}

/// What a record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// An [`RdpState`], as JSON.
    State = 1,
    /// A server→client frame.
    Server = 2,
    /// A client→server input frame.
    Client = 3,
}

impl RecordKind {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::State),
            2 => Some(Self::Server),
            3 => Some(Self::Client),
            _ => None,
        }
    }
}

/// A record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Time since the recording started.
    pub offset: Duration,
    /// What it holds.
    pub event: Event,
}

/// A record's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The decoder state from here on.
    State(RdpState),
    /// A server→client frame.
    Server(Vec<u8>),
    /// A client→server input frame.
    Client(Vec<u8>),
}

/// Writes the magic, version and JSON header that start a recording.
pub fn write_preamble(w: &mut impl Write, header: &RdpHeader) -> io::Result<()> {
    let json = serde_json::to_vec(header)?;
    let len = u32::try_from(json.len())
        .ok()
        .filter(|n| *n <= MAX_HEADER)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "RDP header too large"))?;
    w.write_all(&MAGIC)?;
    w.write_all(&VERSION.to_be_bytes())?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(&json)
}

/// Writes one record. Fails with `InvalidInput` if `payload` exceeds [`MAX_PAYLOAD`].
pub fn write_record(
    w: &mut impl Write,
    offset: Duration,
    kind: RecordKind,
    payload: &[u8],
) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|n| *n <= MAX_PAYLOAD)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "RDP record too large"))?;
    let mut h = [0u8; RECORD_HEADER_LEN];
    let fields: [&[u8]; 4] = [
        &len.to_be_bytes(),
        &[kind as u8],
        &[0, 0, 0],
        &micros(offset).to_be_bytes(),
    ];
    let mut cursor = h.as_mut_slice();
    for f in fields {
        cursor.write_all(f)?;
    }
    w.write_all(&h)?;
    w.write_all(payload)
}

/// The JSON payload of a state record.
pub fn state_payload(state: &RdpState) -> io::Result<Vec<u8>> {
    Ok(serde_json::to_vec(state)?)
}

/// Reads a recording back, record by record, without loading it whole.
#[derive(Debug)]
pub struct RdpReader<R> {
    reader: R,
    /// Byte position of the next record header.
    position: u64,
    truncated: bool,
    done: bool,
}

impl<R: Read> RdpReader<R> {
    /// Checks magic and version and reads the header.
    pub fn open(mut reader: R) -> Result<(RdpHeader, Self)> {
        let mut pre = [0u8; PREAMBLE_LEN];
        let n = read_full(&mut reader, &mut pre)?;
        let [m0, m1, m2, m3, m4, m5, m6, m7, v0, v1, l0, l1, l2, l3] = pre;
        if n < MAGIC.len() || [m0, m1, m2, m3, m4, m5, m6, m7] != MAGIC {
            return Err(Error::NotRdpRecording);
        }
        let version = u16::from_be_bytes([v0, v1]);
        if n >= MAGIC.len() + 2 && version != VERSION {
            return Err(Error::UnsupportedRdpVersion { version });
        }
        let len = u32::from_be_bytes([l0, l1, l2, l3]);
        if n < PREAMBLE_LEN || len > MAX_HEADER {
            return Err(Error::BadRdpHeader { source: None });
        }
        let mut json = vec![0u8; len as usize];
        if read_full(&mut reader, &mut json)? < json.len() {
            return Err(Error::BadRdpHeader { source: None });
        }
        let header = serde_json::from_slice(&json).map_err(|e| Error::BadRdpHeader {
            source: Some(e.into()),
        })?;
        let reader = Self {
            reader,
            position: (PREAMBLE_LEN + json.len()) as u64,
            truncated: false,
            done: false,
        };
        Ok((header, reader))
    }

    /// Whether the file ended inside a record (which was dropped): the recording was cut
    /// by a crash, or is still being written.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    fn read_record(&mut self) -> Result<Option<Record>> {
        let mut h = [0u8; RECORD_HEADER_LEN];
        let n = read_full(&mut self.reader, &mut h)?;
        if n == 0 {
            return Ok(None);
        }
        if n < h.len() {
            self.truncated = true;
            return Ok(None);
        }
        let bad = Error::BadRdpRecord {
            position: self.position,
        };
        let [
            n0,
            n1,
            n2,
            n3,
            kind,
            r0,
            r1,
            r2,
            o0,
            o1,
            o2,
            o3,
            o4,
            o5,
            o6,
            o7,
        ] = h;
        let len = u32::from_be_bytes([n0, n1, n2, n3]);
        let offset = u64::from_be_bytes([o0, o1, o2, o3, o4, o5, o6, o7]);
        let Some(kind) = RecordKind::from_byte(kind) else {
            return Err(bad);
        };
        if len > MAX_PAYLOAD || [r0, r1, r2] != [0, 0, 0] {
            return Err(bad);
        }
        let mut payload = vec![0u8; len as usize];
        if read_full(&mut self.reader, &mut payload)? < payload.len() {
            self.truncated = true;
            return Ok(None);
        }
        let event = match kind {
            RecordKind::State => Event::State(serde_json::from_slice(&payload).map_err(|_| bad)?),
            RecordKind::Server => Event::Server(payload),
            RecordKind::Client => Event::Client(payload),
        };
        self.position += RECORD_HEADER_LEN as u64 + u64::from(len);
        Ok(Some(Record {
            offset: Duration::from_micros(offset),
            event,
        }))
    }
}

impl<R: Read> Iterator for RdpReader<R> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        if self.done {
            return None;
        }
        let r = self.read_record().transpose();
        if !matches!(r, Some(Ok(_))) {
            // End, truncation or a bad record: framing is lost, stop.
            self.done = true;
        }
        r
    }
}

/// Reads until `buf` is full or end of file; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|b| !b.is_empty()) {
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::read(e)),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests;
