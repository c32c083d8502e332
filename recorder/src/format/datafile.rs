//! The bulk data side file (`<recording>.data`): raw stream bytes, framed.
//!
//! An exec channel carrying a file (`scp`, `cat > f`) would turn into ~1.4× its size as
//! JSON strings, and binary does not survive UTF-8 anyway; so its bytes go here, verbatim,
//! and the cast keeps only counts. The file also holds the exact bytes of interactive cast
//! events that contained invalid UTF-8 (shown as U+FFFD in the cast).
//!
//! # Framing (version 1)
//!
//! The file starts with the 8 magic bytes `FUMIDAT1`, then records until end of file.
//! Integers are big-endian; a record is a 28-byte header followed by the payload:
//!
//! | offset | size | field    | meaning                                                   |
//! |-------:|-----:|----------|-----------------------------------------------------------|
//! | 0      | 4    | `len`    | payload length N, at most [`MAX_PAYLOAD`]                 |
//! | 4      | 1    | `stream` | 0 input (client → target), 1 output, 2 stderr             |
//! | 5      | 1    | `kind`   | 0 bulk bytes, 1 raw copy of a lossy cast event            |
//! | 6      | 2    | reserved | 0                                                         |
//! | 8      | 4    | `channel`| SSH channel number (0 when the recording has none)        |
//! | 12     | 8    | `offset` | position of the payload's first byte within the stream    |
//! | 20     | 8    | `t`      | microseconds since the start of the recording            |
//! | 28     | N    | payload  | the raw bytes                                             |
//!
//! Bulk records of one stream are contiguous (`offset` of one = `offset + len` of the
//! previous), so a gap is detectable. A record cut short by a crash ends the file:
//! [`DataReader::truncated`] reports it and the records before it are intact.

use std::io::{self, Read, Write};
use std::time::Duration;

use super::micros;
use crate::error::{Error, Result};

/// The first 8 bytes of every side file; the trailing digit is the framing version.
pub const MAGIC: [u8; 8] = *b"FUMIDAT1";
/// Size of a record header.
pub const RECORD_HEADER_LEN: usize = 28;
/// Largest payload a record may carry (the writer uses at most one chunk, 32 KiB).
pub const MAX_PAYLOAD: u32 = 16 << 20;

/// Which byte stream of the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Client to target (the engineer's keystrokes, an upload).
    Input = 0,
    /// Target to client, channel data. In interactive recordings, the terminal output
    /// (stdout and stderr as the engineer saw them, in arrival order).
    Output = 1,
    /// Target to client, extended data (stderr), kept apart in bulk recordings.
    Stderr = 2,
}

impl Stream {
    /// All streams.
    pub const ALL: [Stream; 3] = [Stream::Input, Stream::Output, Stream::Stderr];

    fn from_byte(b: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as u8 == b)
    }

    /// A short lowercase name for markers and logs.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Input => "stdin",
            Stream::Output => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Why a record is in the side file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// Stream bytes stored only here (bulk recordings).
    Bulk = 0,
    /// The exact bytes of one cast event whose text had U+FFFD replacements.
    CastRaw = 1,
}

impl RecordKind {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(RecordKind::Bulk),
            1 => Some(RecordKind::CastRaw),
            _ => None,
        }
    }
}

/// Everything about a record but its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Which stream.
    pub stream: Stream,
    /// Why it is here.
    pub kind: RecordKind,
    /// SSH channel number.
    pub channel: u32,
    /// Position of the first payload byte in the stream.
    pub offset: u64,
    /// Time since the start of the recording (stored in microseconds).
    pub t: Duration,
}

/// A record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRecord {
    /// The header fields.
    pub header: RecordHeader,
    /// The raw bytes.
    pub payload: Vec<u8>,
}

/// Writes the magic bytes that start a side file.
pub fn write_magic(w: &mut impl Write) -> io::Result<()> {
    w.write_all(&MAGIC)
}

/// Writes one record. Fails with `InvalidInput` if `payload` exceeds [`MAX_PAYLOAD`].
pub fn write_record(w: &mut impl Write, header: &RecordHeader, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|n| *n <= MAX_PAYLOAD)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "record payload too large"))?;
    let mut h = [0u8; RECORD_HEADER_LEN];
    let fields: [&[u8]; 7] = [
        &len.to_be_bytes(),
        &[header.stream as u8],
        &[header.kind as u8],
        &[0, 0],
        &header.channel.to_be_bytes(),
        &header.offset.to_be_bytes(),
        &micros(header.t).to_be_bytes(),
    ];
    let mut cursor = h.as_mut_slice();
    for f in fields {
        cursor.write_all(f)?;
    }
    w.write_all(&h)?;
    w.write_all(payload)
}

/// Reads records back, in file order.
#[derive(Debug)]
pub struct DataReader<R> {
    reader: R,
    /// Byte position of the next record header.
    position: u64,
    truncated: bool,
    done: bool,
}

impl<R: Read> DataReader<R> {
    /// Checks the magic bytes.
    pub fn open(mut reader: R) -> Result<Self> {
        let mut magic = [0u8; 8];
        if read_full(&mut reader, &mut magic)? != magic.len() || magic != MAGIC {
            return Err(Error::BadMagic);
        }
        Ok(Self {
            reader,
            position: MAGIC.len() as u64,
            truncated: false,
            done: false,
        })
    }

    /// Whether the file ended inside a record (which was dropped).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    fn read_record(&mut self) -> Result<Option<DataRecord>> {
        let mut h = [0u8; RECORD_HEADER_LEN];
        let n = read_full(&mut self.reader, &mut h)?;
        if n == 0 {
            return Ok(None);
        }
        if n < h.len() {
            self.truncated = true;
            return Ok(None);
        }
        let bad = Error::BadRecord {
            position: self.position,
        };
        let u32_at = |i: usize| {
            h.get(i..i + 4)
                .and_then(|s| s.try_into().ok())
                .map(u32::from_be_bytes)
        };
        let u64_at = |i: usize| {
            h.get(i..i + 8)
                .and_then(|s| s.try_into().ok())
                .map(u64::from_be_bytes)
        };
        let (Some(len), Some(channel), Some(offset), Some(t)) =
            (u32_at(0), u32_at(8), u64_at(12), u64_at(20))
        else {
            return Err(bad);
        };
        let stream = h.get(4).copied().and_then(Stream::from_byte);
        let kind = h.get(5).copied().and_then(RecordKind::from_byte);
        let (Some(stream), Some(kind)) = (stream, kind) else {
            return Err(bad);
        };
        if len > MAX_PAYLOAD || h.get(6..8) != Some(&[0, 0]) {
            return Err(bad);
        }
        let mut payload = vec![0u8; len as usize];
        if read_full(&mut self.reader, &mut payload)? < payload.len() {
            self.truncated = true;
            return Ok(None);
        }
        self.position += (RECORD_HEADER_LEN as u64) + u64::from(len);
        let header = RecordHeader {
            stream,
            kind,
            channel,
            offset,
            t: Duration::from_micros(t),
        };
        Ok(Some(DataRecord { header, payload }))
    }
}

impl<R: Read> Iterator for DataReader<R> {
    type Item = Result<DataRecord>;

    fn next(&mut self) -> Option<Result<DataRecord>> {
        if self.done {
            return None;
        }
        let r = self.read_record().transpose();
        if !matches!(r, Some(Ok(_))) {
            // End, truncation or a bad header: framing is lost, stop.
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
