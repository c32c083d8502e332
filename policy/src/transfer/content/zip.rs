//! A ZIP archive walked as it streams: each local header and its entry's data, then the
//! central directory, whose names are judged too and which may only point at entries the
//! stream carried (else an entry could hide inside another's data, unjudged).

use super::gather::{Gather, le16, le32, le64};
use super::inflate::Inflater;
use super::stream::Stream;
use super::{Findings, Unreadable};
use crate::transfer::{ContentKind, by_name};

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const ZIP64_END: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const SIGNATURE: u32 = 0x0505_4b50;
/// An encrypted central directory's header.
const EXTRA_DATA: u32 = 0x0806_4b50;
const DESCRIPTOR: u32 = 0x0807_4b50;

/// A 32-bit size or offset that means "see the ZIP64 extra field".
const ZIP64_MARK: u32 = u32::MAX;
/// The ZIP64 extended information extra field.
const ZIP64_EXTRA: u16 = 0x0001;
/// A ZIP64 end-of-central-directory record bigger than this is not one.
const ZIP64_END_MAX: u64 = 64 * 1024;

const LOCAL_LEN: usize = 30;
const CENTRAL_LEN: usize = 46;
const END_LEN: usize = 22;

/// General-purpose flag bits.
const ENCRYPTED: u16 = 1;
const HAS_DESCRIPTOR: u16 = 1 << 3;

/// Walks one ZIP archive.
#[derive(Debug)]
pub(super) struct Zip {
    /// Depth of its entries.
    depth: u8,
    /// Bytes of the archive consumed so far.
    pos: u64,
    /// Where the record being gathered starts.
    record_at: u64,
    /// Where each local header started, ascending: the central directory may name only
    /// these.
    locals: Vec<u64>,
    phase: Phase,
}

#[derive(Debug)]
enum Phase {
    /// The next record's signature.
    Signature(Gather),
    Local(Gather),
    Data(Box<Entry>),
    Descriptor(Descriptor),
    Central(Gather),
    End(Gather),
    Zip64End(Gather),
    Zip64Locator(Gather),
    Signed(Gather),
    /// After the end of central directory record: whatever follows is not unpacked.
    Ended,
}

/// One entry's data as it streams.
#[derive(Debug)]
struct Entry {
    stream: Stream,
    body: Body,
    /// Compressed bytes still to come, when the local header says.
    left: Option<u64>,
    /// Compressed bytes seen, checked against the data descriptor.
    seen: u64,
    /// Sizes are 64-bit (the descriptor's too).
    zip64: bool,
}

#[derive(Debug)]
enum Body {
    Stored,
    Deflated(Inflater),
    /// Encrypted or compressed with a method the judge can't read: skipped.
    Unread,
}

/// The data descriptor after an entry whose sizes came late.
#[derive(Debug)]
struct Descriptor {
    gather: Gather,
    zip64: bool,
    /// Compressed bytes the entry had.
    seen: u64,
}

impl Zip {
    /// A walker at the start of a ZIP archive whose entries are at `depth`.
    pub(super) fn new(depth: u8) -> Self {
        Zip {
            depth,
            pos: 0,
            record_at: 0,
            locals: Vec::new(),
            phase: Phase::Signature(Gather::new(4)),
        }
    }

    /// The archive's next bytes.
    pub(super) fn feed(&mut self, mut data: &[u8], found: &mut Findings) -> Result<(), Unreadable> {
        while !data.is_empty() && !matches!(self.phase, Phase::Ended) {
            let before = data.len();
            let stepped = self.step(&mut data, found);
            self.pos = self.pos.saturating_add((before - data.len()) as u64);
            stepped?;
        }
        Ok(())
    }

    /// The end of the archive: it must have reached its end record.
    pub(super) fn finish(&mut self, found: &mut Findings) -> Result<(), Unreadable> {
        match &mut self.phase {
            Phase::Ended => Ok(()),
            Phase::Data(entry) => {
                // What its head showed still counts.
                entry.stream.finish(found);
                Err(Unreadable::Truncated)
            }
            _ => Err(Unreadable::Truncated),
        }
    }

    fn step(&mut self, data: &mut &[u8], found: &mut Findings) -> Result<(), Unreadable> {
        match &mut self.phase {
            Phase::Signature(gather) => {
                if gather.is_empty() {
                    self.record_at = self.pos;
                }
                if !gather.fill(data) {
                    return Ok(());
                }
                let sig = gather.bytes().to_vec();
                let (want, next): (usize, fn(Gather) -> Phase) = match le32(&sig, 0) {
                    LOCAL => (LOCAL_LEN, Phase::Local),
                    CENTRAL => (CENTRAL_LEN, Phase::Central),
                    END => (END_LEN, Phase::End),
                    ZIP64_END => (12, Phase::Zip64End),
                    ZIP64_LOCATOR => (20, Phase::Zip64Locator),
                    SIGNATURE => (6, Phase::Signed),
                    EXTRA_DATA => return Err(Unreadable::Encrypted),
                    _ => return Err(Unreadable::Corrupt),
                };
                let mut gather = Gather::new(want);
                gather.fill(&mut sig.as_slice());
                self.phase = next(gather);
            }
            Phase::Local(gather) => {
                let tail = |b: &[u8]| usize::from(le16(b, 26)) + usize::from(le16(b, 28));
                if gather.fill_header(data, LOCAL_LEN, tail) {
                    let header = std::mem::replace(gather, Gather::new(0));
                    self.local(header.bytes(), found)?;
                }
            }
            Phase::Data(entry) => {
                if entry_data(entry, data, found)? {
                    self.phase = match entry.left {
                        Some(_) => Phase::Signature(Gather::new(4)),
                        None => Phase::Descriptor(Descriptor {
                            gather: Gather::new(4),
                            zip64: entry.zip64,
                            seen: entry.seen,
                        }),
                    };
                }
            }
            Phase::Descriptor(descriptor) => {
                if descriptor.fill(data)? {
                    self.phase = Phase::Signature(Gather::new(4));
                }
            }
            Phase::Central(gather) => {
                let tail = |b: &[u8]| {
                    usize::from(le16(b, 28)) + usize::from(le16(b, 30)) + usize::from(le16(b, 32))
                };
                if gather.fill_header(data, CENTRAL_LEN, tail) {
                    central(gather.bytes(), &self.locals, found)?;
                    self.phase = Phase::Signature(Gather::new(4));
                }
            }
            Phase::End(gather) => {
                if gather.fill_header(data, END_LEN, |b| usize::from(le16(b, 20))) {
                    self.phase = Phase::Ended;
                }
            }
            Phase::Zip64End(gather) => {
                let tail = |b: &[u8]| usize::try_from(le64(b, 4).min(ZIP64_END_MAX)).unwrap_or(0);
                if gather.fill_header(data, 12, tail) {
                    if le64(gather.bytes(), 4) > ZIP64_END_MAX {
                        return Err(Unreadable::Corrupt);
                    }
                    self.phase = Phase::Signature(Gather::new(4));
                }
            }
            Phase::Zip64Locator(gather) => {
                if gather.fill(data) {
                    self.phase = Phase::Signature(Gather::new(4));
                }
            }
            Phase::Signed(gather) => {
                if gather.fill_header(data, 6, |b| usize::from(le16(b, 4))) {
                    self.phase = Phase::Signature(Gather::new(4));
                }
            }
            Phase::Ended => *data = &[],
        }
        Ok(())
    }

    /// A whole local header: the entry it starts.
    fn local(&mut self, header: &[u8], found: &mut Findings) -> Result<(), Unreadable> {
        found.entry()?;
        self.locals.push(self.record_at);
        let flags = le16(header, 6);
        let method = le16(header, 8);
        let name_len = usize::from(le16(header, 26));
        let (name, extra) = header
            .get(LOCAL_LEN..)
            .unwrap_or_default()
            .split_at(name_len.min(header.len().saturating_sub(LOCAL_LEN)));
        let name = String::from_utf8_lossy(name);
        judge_name(&name, found);
        let stream = Stream::entry(&name, self.depth, found);

        let zip64 = extra_field(extra, ZIP64_EXTRA);
        let mut left = u64::from(le32(header, 18));
        if le32(header, 18) == ZIP64_MARK || le32(header, 22) == ZIP64_MARK {
            // A local header's ZIP64 field holds both sizes: uncompressed, compressed.
            let field = zip64.ok_or(Unreadable::Corrupt)?;
            if field.len() < 16 {
                return Err(Unreadable::Corrupt);
            }
            left = le64(field, 8);
        }
        let body = if flags & ENCRYPTED != 0 {
            found.fail(Unreadable::Encrypted);
            Body::Unread
        } else {
            match method {
                0 => Body::Stored,
                8 => Body::Deflated(Inflater::new()),
                _ => {
                    found.fail(Unreadable::Method);
                    Body::Unread
                }
            }
        };
        let left = if flags & HAS_DESCRIPTOR == 0 {
            Some(left)
        } else if matches!(body, Body::Deflated(_)) {
            // The deflate stream ends by itself; the sizes follow it.
            None
        } else if flags & ENCRYPTED != 0 {
            return Err(Unreadable::Encrypted);
        } else {
            return Err(Unreadable::UnknownSize);
        };
        let mut entry = Box::new(Entry {
            stream,
            body,
            left,
            seen: 0,
            zip64: zip64.is_some(),
        });
        if entry.left == Some(0) && entry_data(&mut entry, &mut &[][..], found)? {
            self.phase = Phase::Signature(Gather::new(4));
        } else {
            self.phase = Phase::Data(entry);
        }
        Ok(())
    }
}

/// Feeds an entry's data from the front of `data`; true when the entry is over.
fn entry_data(
    entry: &mut Entry,
    data: &mut &[u8],
    found: &mut Findings,
) -> Result<bool, Unreadable> {
    let Entry {
        stream,
        body,
        left,
        seen,
        ..
    } = entry;
    match left {
        Some(remaining) => {
            let n = usize::try_from(*remaining)
                .unwrap_or(usize::MAX)
                .min(data.len());
            let (mut now, rest) = data.split_at(n);
            *data = rest;
            *remaining -= n as u64;
            *seen = seen.saturating_add(n as u64);
            match body {
                Body::Stored if stream.wants_more() => stream.feed(now, found),
                Body::Deflated(inflater) if stream.wants_more() && !inflater.ended() => {
                    inflater.inflate(&mut now, found, |out, found| stream.feed(out, found))?;
                    if !now.is_empty() {
                        // Data after the deflate stream's end, inside the entry.
                        return Err(Unreadable::Corrupt);
                    }
                }
                _ => {}
            }
            if *remaining > 0 {
                return Ok(false);
            }
            if let Body::Deflated(inflater) = body
                && stream.wants_more()
                && !inflater.ended()
            {
                return Err(Unreadable::Corrupt);
            }
        }
        None => {
            let Body::Deflated(inflater) = body else {
                return Err(Unreadable::UnknownSize);
            };
            let before = data.len();
            inflater.inflate(data, found, |out, found| {
                if stream.wants_more() {
                    stream.feed(out, found);
                }
            })?;
            *seen = seen.saturating_add((before - data.len()) as u64);
            if !inflater.ended() {
                return Ok(false);
            }
        }
    }
    stream.finish(found);
    Ok(true)
}

impl Descriptor {
    /// Gathers the descriptor from the front of `data`; true when it is whole and agrees
    /// with the entry.
    fn fill(&mut self, data: &mut &[u8]) -> Result<bool, Unreadable> {
        if !self.gather.fill(data) {
            return Ok(false);
        }
        let signed = le32(self.gather.bytes(), 0) == DESCRIPTOR;
        // [signature] crc32, compressed size, uncompressed size.
        let sizes = if self.zip64 { 16 } else { 8 };
        let whole = if signed { 8 + sizes } else { 4 + sizes };
        if self.gather.want() < whole {
            self.gather.grow(whole - self.gather.want());
            if !self.gather.fill(data) {
                return Ok(false);
            }
        }
        let at = if signed { 8 } else { 4 };
        let size = if self.zip64 {
            le64(self.gather.bytes(), at)
        } else {
            u64::from(le32(self.gather.bytes(), at))
        };
        let seen = if self.zip64 {
            self.seen
        } else {
            self.seen & u64::from(u32::MAX)
        };
        if size != seen {
            return Err(Unreadable::Corrupt);
        }
        Ok(true)
    }
}

/// A whole central directory header: its name is judged, and it must point at a local
/// header the stream carried.
fn central(header: &[u8], locals: &[u64], found: &mut Findings) -> Result<(), Unreadable> {
    let name_len = usize::from(le16(header, 28));
    let extra_len = usize::from(le16(header, 30));
    let rest = header.get(CENTRAL_LEN..).unwrap_or_default();
    let name = rest.get(..name_len).unwrap_or_default();
    let extra = rest
        .get(name_len..name_len.saturating_add(extra_len))
        .unwrap_or_default();
    let name = String::from_utf8_lossy(name);
    judge_name(&name, found);
    found.found(by_name(&name));

    let mut offset = u64::from(le32(header, 42));
    if le32(header, 42) == ZIP64_MARK {
        // Only the fields whose 32-bit value is the mark are there, in this order.
        let field = extra_field(extra, ZIP64_EXTRA).ok_or(Unreadable::Corrupt)?;
        let mut at = 0;
        for size_at in [24, 20] {
            if le32(header, size_at) == ZIP64_MARK {
                at += 8;
            }
        }
        offset = field
            .get(at..at + 8)
            .map(|_| le64(field, at))
            .ok_or(Unreadable::Corrupt)?;
    }
    if locals.binary_search(&offset).is_err() {
        // An entry the stream didn't carry where unzip would look: hidden in another's data.
        return Err(Unreadable::Corrupt);
    }
    Ok(())
}

/// What an entry's name alone says about a document: a macro part (R-10-6).
fn judge_name(name: &str, found: &mut Findings) {
    if name.ends_with("vbaProject.bin") || name.ends_with("Basic/script-lc.xml") {
        found.found(Some(ContentKind::OfficeMacro));
    }
}

/// The data of the extra field `id` in `extra`.
fn extra_field(extra: &[u8], id: u16) -> Option<&[u8]> {
    let mut rest = extra;
    while rest.len() >= 4 {
        let len = usize::from(le16(rest, 2));
        let data = rest.get(4..4 + len)?;
        if le16(rest, 0) == id {
            return Some(data);
        }
        rest = rest.get(4 + len..)?;
    }
    None
}
