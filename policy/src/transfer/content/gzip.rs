//! A gzip stream inflated as it streams: its members' bodies make one inner stream, judged
//! like a file of its own (a `.tar.gz`'s tar is walked in turn).

use super::gather::{Gather, le16};
use super::inflate::Inflater;
use super::stream::Stream;
use super::{Findings, Unreadable};

const HEADER_LEN: usize = 10;
/// The original file name (FNAME) longer than this is not a name.
const NAME_MAX: usize = 4096;

/// Header flag bits (RFC 1952, 2.3.1).
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const RESERVED: u8 = 0xe0;

/// Walks one gzip stream.
#[derive(Debug)]
pub(super) struct Gzip {
    /// The gzip's own name, whose inner stream is named after it when no FNAME says.
    outer: String,
    /// Depth of the inner stream.
    depth: u8,
    phase: Phase,
    /// Header parts still to read in this member.
    pending: u8,
    /// The first member's FNAME.
    fname: Option<String>,
    inflater: Inflater,
    /// The inflated bytes, once the first member's header is read.
    inner: Option<Box<Stream>>,
}

#[derive(Debug)]
enum Phase {
    Header(Gather),
    ExtraLen(Gather),
    Extra(usize),
    Name(Vec<u8>),
    Comment,
    HeaderCrc(Gather),
    Body,
    Trailer(Gather),
    /// After a member: another member, trailing zeros, or the end.
    Between,
    /// Zeros after the last member, which gzip ignores.
    Zeros,
}

impl Gzip {
    /// A walker at the start of a gzip stream named `outer`, its inner stream at `depth`.
    pub(super) fn new(outer: &str, depth: u8) -> Self {
        Gzip {
            outer: outer.to_owned(),
            depth,
            phase: Phase::Header(Gather::new(HEADER_LEN)),
            pending: 0,
            fname: None,
            inflater: Inflater::new(),
            inner: None,
        }
    }

    /// The stream's next bytes.
    pub(super) fn feed(&mut self, mut data: &[u8], found: &mut Findings) -> Result<(), Unreadable> {
        while !data.is_empty() {
            self.step(&mut data, found)?;
        }
        Ok(())
    }

    /// The end of the stream: after a whole member.
    pub(super) fn finish(&mut self, found: &mut Findings) -> Result<(), Unreadable> {
        if let Some(inner) = &mut self.inner {
            inner.finish(found);
        }
        match self.phase {
            Phase::Between | Phase::Zeros => Ok(()),
            _ => Err(Unreadable::Truncated),
        }
    }

    fn step(&mut self, data: &mut &[u8], found: &mut Findings) -> Result<(), Unreadable> {
        match &mut self.phase {
            Phase::Header(gather) => {
                if gather.fill(data) {
                    let header = gather.bytes();
                    let flags = header.get(3).copied().unwrap_or(0);
                    if !header.starts_with(b"\x1f\x8b\x08") || flags & RESERVED != 0 {
                        return Err(Unreadable::Corrupt);
                    }
                    self.pending = flags;
                    self.next_part(found);
                }
            }
            Phase::ExtraLen(gather) => {
                if gather.fill(data) {
                    self.phase = Phase::Extra(usize::from(le16(gather.bytes(), 0)));
                }
            }
            Phase::Extra(left) => {
                let n = (*left).min(data.len());
                *data = data.get(n..).unwrap_or_default();
                *left -= n;
                if *left == 0 {
                    self.next_part(found);
                }
            }
            Phase::Name(name) => {
                let end = data.iter().position(|b| *b == 0);
                let (part, rest) = data.split_at(end.unwrap_or(data.len()));
                name.extend_from_slice(part);
                *data = rest.get(1..).unwrap_or_default();
                if name.len() > NAME_MAX {
                    return Err(Unreadable::Corrupt);
                }
                if end.is_some() {
                    if self.fname.is_none() && self.inner.is_none() {
                        self.fname = Some(String::from_utf8_lossy(name).into_owned());
                    }
                    self.next_part(found);
                }
            }
            Phase::Comment => {
                let end = data.iter().position(|b| *b == 0);
                *data = end.and_then(|end| data.get(end + 1..)).unwrap_or_default();
                if end.is_some() {
                    self.next_part(found);
                }
            }
            Phase::HeaderCrc(gather) => {
                if gather.fill(data) {
                    self.next_part(found);
                }
            }
            Phase::Body => {
                let inner = self.inner.as_mut().ok_or(Unreadable::Corrupt)?;
                self.inflater.inflate(data, found, |out, found| {
                    if inner.wants_more() {
                        inner.feed(out, found);
                    }
                })?;
                if self.inflater.ended() {
                    // CRC-32 and size of the member's data.
                    self.phase = Phase::Trailer(Gather::new(8));
                }
            }
            Phase::Trailer(gather) => {
                if gather.fill(data) {
                    self.phase = Phase::Between;
                }
            }
            Phase::Between => {
                self.phase = match data.first() {
                    Some(0x1f) => Phase::Header(Gather::new(HEADER_LEN)),
                    Some(0) => Phase::Zeros,
                    _ => return Err(Unreadable::Corrupt),
                };
            }
            Phase::Zeros => {
                if data.iter().any(|b| *b != 0) {
                    return Err(Unreadable::Corrupt);
                }
                *data = &[];
            }
        }
        Ok(())
    }

    /// The member header's next optional part, in RFC 1952 order, or the body.
    fn next_part(&mut self, found: &mut Findings) {
        let part = [FEXTRA, FNAME, FCOMMENT, FHCRC]
            .into_iter()
            .find(|flag| self.pending & flag != 0);
        if let Some(flag) = part {
            self.pending &= !flag;
        }
        self.phase = match part {
            Some(FEXTRA) => Phase::ExtraLen(Gather::new(2)),
            Some(FNAME) => Phase::Name(Vec::new()),
            Some(FCOMMENT) => Phase::Comment,
            Some(_) => Phase::HeaderCrc(Gather::new(2)),
            None => {
                if self.inner.is_none() {
                    let name = self.fname.take().unwrap_or_else(|| inner_name(&self.outer));
                    self.inner = Some(Box::new(Stream::entry(&name, self.depth, found)));
                }
                self.inflater = Inflater::new();
                Phase::Body
            }
        };
    }
}

/// What gunzip names the inner file when the header doesn't: `x.tgz` → `x.tar`,
/// `x.sh.gz` → `x.sh`.
fn inner_name(outer: &str) -> String {
    let lower = outer.to_ascii_lowercase();
    if lower.ends_with(".tgz") || lower.ends_with(".taz") {
        let stem = outer.get(..outer.len() - 4).unwrap_or_default();
        return format!("{stem}.tar");
    }
    for suffix in [".gz", "-gz", ".z", "-z", "_z"] {
        if lower.ends_with(suffix) {
            return outer
                .get(..outer.len() - suffix.len())
                .unwrap_or_default()
                .to_owned();
        }
    }
    outer.to_owned()
}
