//! A tar archive walked as it streams: 512-byte headers (v7 with no magic, ustar, GNU,
//! pax), each entry's name judged and each file's data judged as a stream of its own.

use super::gather::Gather;
use super::stream::Stream;
use super::{Findings, Unreadable};
use crate::transfer::{HEAD_LEN, by_name};

const BLOCK: usize = 512;
/// A GNU long name (`L`) longer than this is not a path.
const LONG_NAME_MAX: u64 = 64 * 1024;
/// A pax extended header (`x`) bigger than this is not one we read.
const PAX_MAX: u64 = 1024 * 1024;

/// Whether a stream's head is a tar header: the ustar magic, or (v7, which has none) a
/// header whose checksum and numeric fields hold up.
pub(super) fn recognise(head: &[u8]) -> bool {
    let Some(header) = head.get(..BLOCK) else {
        return false;
    };
    if header.get(257..262) == Some(b"ustar") {
        return true;
    }
    let numeric = [100..108, 108..116, 116..124, 124..136, 136..148];
    let sane = header.first().is_some_and(|b| *b != 0)
        && numeric
            .into_iter()
            .all(|r| header.get(r).and_then(octal).is_some())
        && matches!(header.get(156), Some(0 | b'0'..=b'7'));
    sane && checksum_ok(header)
}

/// Walks one tar archive.
#[derive(Debug)]
pub(super) struct Tar {
    /// Depth of its entries.
    depth: u8,
    phase: Phase,
    /// The next entry's name, from a GNU `L` entry or a pax `path`.
    next_name: Option<String>,
    /// The next entry's size, from a pax `size`.
    next_size: Option<u64>,
}

#[derive(Debug)]
enum Phase {
    Header(Gather),
    Data {
        left: u64,
        /// Zero bytes after the data, to the next 512-byte boundary.
        pad: u64,
        body: Body,
    },
    Pad(u64),
    /// After the first zero block: tar reads no further.
    Ended,
}

#[derive(Debug)]
enum Body {
    File(Box<Stream>),
    LongName(Vec<u8>),
    Pax(Vec<u8>),
    Skip,
}

impl Tar {
    /// A walker at the start of a tar archive whose entries are at `depth`.
    pub(super) fn new(depth: u8) -> Self {
        Tar {
            depth,
            phase: Phase::Header(Gather::new(BLOCK)),
            next_name: None,
            next_size: None,
        }
    }

    /// The archive's next bytes.
    pub(super) fn feed(&mut self, mut data: &[u8], found: &mut Findings) -> Result<(), Unreadable> {
        while !data.is_empty() {
            match &mut self.phase {
                Phase::Header(gather) => {
                    if gather.fill(&mut data) {
                        let header = gather.bytes().to_vec();
                        self.phase = self.header(&header, found)?;
                    }
                }
                Phase::Data { left, pad, body } => {
                    let n = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
                    let (now, rest) = data.split_at(n);
                    data = rest;
                    *left -= n as u64;
                    body.feed(now, found);
                    if *left == 0 {
                        let pad = *pad;
                        let body = std::mem::replace(body, Body::Skip);
                        self.end_entry(body, found)?;
                        self.phase = after_data(pad);
                    }
                }
                Phase::Pad(left) => {
                    let n = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
                    data = data.get(n..).unwrap_or_default();
                    *left -= n as u64;
                    if *left == 0 {
                        self.phase = Phase::Header(Gather::new(BLOCK));
                    }
                }
                Phase::Ended => data = &[],
            }
        }
        Ok(())
    }

    /// The end of the archive: at a header boundary (with or without the zero blocks).
    pub(super) fn finish(&mut self, found: &mut Findings) -> Result<(), Unreadable> {
        match &mut self.phase {
            Phase::Ended => Ok(()),
            Phase::Header(gather) if gather.is_empty() => Ok(()),
            Phase::Data {
                body: Body::File(stream),
                ..
            } => {
                // What its head showed still counts.
                stream.finish(found);
                Err(Unreadable::Truncated)
            }
            _ => Err(Unreadable::Truncated),
        }
    }

    /// A whole header: what follows it.
    fn header(&mut self, header: &[u8], found: &mut Findings) -> Result<Phase, Unreadable> {
        if header.iter().all(|b| *b == 0) {
            return Ok(Phase::Ended);
        }
        if !checksum_ok(header) {
            return Err(Unreadable::Corrupt);
        }
        found.entry()?;
        let size = match self.next_size.take() {
            Some(size) => size,
            None => size(header).ok_or(Unreadable::Corrupt)?,
        };
        let typeflag = header.get(156).copied().unwrap_or(0);
        let body = match typeflag {
            b'L' if size <= LONG_NAME_MAX => Body::LongName(Vec::new()),
            b'x' if size <= PAX_MAX => Body::Pax(Vec::new()),
            b'L' | b'x' => return Err(Unreadable::Corrupt),
            // A long link target, global pax settings, a GNU dump directory, a volume label.
            b'K' | b'g' | b'D' | b'V' => Body::Skip,
            _ => {
                let name = self.next_name.take().unwrap_or_else(|| name(header));
                match typeflag {
                    // Links, devices, directories, FIFOs: a name and no data. Data here
                    // would be read as headers by one tar and skipped by another.
                    b'1'..=b'6' => {
                        found.found(by_name(&name));
                        if size != 0 {
                            return Err(Unreadable::Corrupt);
                        }
                        Body::Skip
                    }
                    // Sparse and multi-volume continuation entries: their data isn't the
                    // file's bytes in order.
                    b'S' | b'M' => {
                        found.found(by_name(&name));
                        found.fail(Unreadable::Method);
                        Body::Skip
                    }
                    // Regular files, and any other type, which tar unpacks as one.
                    _ => Body::File(Box::new(Stream::entry(&name, self.depth, found))),
                }
            }
        };
        let pad = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
        if size == 0 {
            self.end_entry(body, found)?;
            return Ok(after_data(pad));
        }
        Ok(Phase::Data {
            left: size,
            pad,
            body,
        })
    }

    /// An entry's data is over.
    fn end_entry(&mut self, body: Body, found: &mut Findings) -> Result<(), Unreadable> {
        match body {
            Body::File(mut stream) => stream.finish(found),
            Body::LongName(name) => {
                let name = name.split(|b| *b == 0).next().unwrap_or_default();
                self.next_name = Some(String::from_utf8_lossy(name).into_owned());
            }
            Body::Pax(records) => self.pax(&records, found)?,
            Body::Skip => {}
        }
        Ok(())
    }

    /// A pax extended header's records (`<len> <key>=<value>\n`): the next entry's path
    /// and size.
    fn pax(&mut self, mut records: &[u8], found: &mut Findings) -> Result<(), Unreadable> {
        while !records.is_empty() {
            let space = records
                .iter()
                .position(|b| *b == b' ')
                .ok_or(Unreadable::Corrupt)?;
            let len = std::str::from_utf8(records.get(..space).unwrap_or_default())
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .ok_or(Unreadable::Corrupt)?;
            let record = records.get(..len).ok_or(Unreadable::Corrupt)?;
            records = records.get(len..).unwrap_or_default();
            let body = record
                .get(space + 1..)
                .and_then(|r| r.strip_suffix(b"\n"))
                .ok_or(Unreadable::Corrupt)?;
            let eq = body
                .iter()
                .position(|b| *b == b'=')
                .ok_or(Unreadable::Corrupt)?;
            let (key, value) = body.split_at(eq);
            let value = value.get(1..).unwrap_or_default();
            match key {
                b"path" => self.next_name = Some(String::from_utf8_lossy(value).into_owned()),
                b"size" => {
                    let size = std::str::from_utf8(value)
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                        .ok_or(Unreadable::Corrupt)?;
                    self.next_size = Some(size);
                }
                key if key.starts_with(b"GNU.sparse.") => found.fail(Unreadable::Method),
                _ => {}
            }
        }
        Ok(())
    }
}

impl Body {
    fn feed(&mut self, data: &[u8], found: &mut Findings) {
        match self {
            Body::File(stream) if stream.wants_more() => stream.feed(data, found),
            Body::LongName(buf) | Body::Pax(buf) => buf.extend_from_slice(data),
            Body::File(_) | Body::Skip => {}
        }
    }
}

fn after_data(pad: u64) -> Phase {
    if pad == 0 {
        Phase::Header(Gather::new(BLOCK))
    } else {
        Phase::Pad(pad)
    }
}

/// The entry's name: ustar's prefix and name, or the name alone.
fn name(header: &[u8]) -> String {
    let field = |r: std::ops::Range<usize>| {
        let bytes = header.get(r).unwrap_or_default();
        bytes.split(|b| *b == 0).next().unwrap_or_default()
    };
    let name = String::from_utf8_lossy(field(0..100));
    // POSIX ustar ("ustar\0"); GNU ("ustar  ") keeps other fields where the prefix is.
    let prefix = if header.get(257..263) == Some(b"ustar\x0000") {
        field(345..500)
    } else {
        &[]
    };
    if prefix.is_empty() {
        name.into_owned()
    } else {
        format!("{}/{name}", String::from_utf8_lossy(prefix))
    }
}

/// The size field: octal, or GNU's base-256 (high bit set) for large files.
fn size(header: &[u8]) -> Option<u64> {
    let field = header.get(124..136)?;
    match field.split_first() {
        Some((first, rest)) if first & 0x80 != 0 => {
            rest.iter().try_fold(u64::from(first & 0x7f), |n, b| {
                n.checked_mul(256)?.checked_add(u64::from(*b))
            })
        }
        _ => octal(field),
    }
}

/// An octal field: optional leading spaces, digits, then spaces or NULs; empty is 0.
fn octal(field: &[u8]) -> Option<u64> {
    let start = field.iter().position(|b| *b != b' ').unwrap_or(field.len());
    let digits = field.get(start..).unwrap_or_default();
    let end = digits
        .iter()
        .position(|b| !(b'0'..=b'7').contains(b))
        .unwrap_or(digits.len());
    let (number, rest) = digits.split_at(end);
    if !rest.iter().all(|b| *b == b' ' || *b == 0) {
        return None;
    }
    number.iter().try_fold(0u64, |n, d| {
        n.checked_mul(8)?.checked_add(u64::from(d - b'0'))
    })
}

/// Whether the header's checksum matches (as an unsigned sum, or the signed sum some old
/// tars wrote), the checksum field counting as spaces.
fn checksum_ok(header: &[u8]) -> bool {
    let Some(stored) = header.get(148..156).and_then(octal) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, b) in header.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { *b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

const _: () = assert!(HEAD_LEN >= BLOCK, "a tar header must fit in the head");
