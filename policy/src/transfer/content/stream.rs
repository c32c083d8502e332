//! One stream of bytes — the uploaded file, an archive entry, a gzip's inner stream —
//! whose first bytes say what it is and, for an archive the judge can open, which walker
//! reads the rest.

use crate::transfer::{ContentKind, HEAD_LEN, by_content, by_name};

use super::gzip::Gzip;
use super::tar::{self, Tar};
use super::zip::Zip;
use super::{Findings, Unreadable};

/// A stream being judged: its head first, then its walker if it is an archive.
#[derive(Debug)]
pub(super) struct Stream {
    /// Its name (the path, an entry's name): a gzip inside names its inner stream after it.
    name: String,
    /// Archives around it: 0 for the uploaded file.
    depth: u8,
    /// The first [`HEAD_LEN`] bytes (fewer for a shorter stream).
    head: Vec<u8>,
    /// The kind its content says, once the head is complete.
    own: Option<ContentKind>,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Collecting the head.
    Sniffing,
    /// Nothing more to learn from the rest of the bytes.
    Opaque,
    Zip(Box<Zip>),
    Tar(Box<Tar>),
    Gzip(Box<Gzip>),
    /// Seen to its end.
    Finished,
}

impl Stream {
    /// The uploaded file at `path`; its name's kind is the judge's to weigh.
    pub(super) fn root(path: &str) -> Self {
        Self::new(path, 0)
    }

    /// An entry named `name` inside an archive at `depth - 1`; its name's kind counts at
    /// once, whatever its content (an entry `run.sh` unpacks as a script).
    pub(super) fn entry(name: &str, depth: u8, found: &mut Findings) -> Self {
        found.found(by_name(name));
        Self::new(name, depth)
    }

    fn new(name: &str, depth: u8) -> Self {
        Stream {
            name: name.to_owned(),
            depth,
            head: Vec::with_capacity(HEAD_LEN),
            own: None,
            state: State::Sniffing,
        }
    }

    /// The first bytes seen (up to [`HEAD_LEN`]).
    pub(super) fn head(&self) -> &[u8] {
        &self.head
    }

    /// The kind its content says (a tar with no magic included), once its head is known.
    pub(super) fn own_kind(&self) -> Option<ContentKind> {
        self.own
    }

    /// Whether more bytes could still change the verdict (its head is incomplete, or it is
    /// an archive being walked).
    pub(super) fn wants_more(&self) -> bool {
        matches!(
            self.state,
            State::Sniffing | State::Zip(_) | State::Tar(_) | State::Gzip(_)
        )
    }

    /// The next bytes of the stream, in order.
    pub(super) fn feed(&mut self, mut data: &[u8], found: &mut Findings) {
        if matches!(self.state, State::Sniffing) {
            let take = HEAD_LEN.saturating_sub(self.head.len()).min(data.len());
            let (now, rest) = data.split_at(take);
            self.head.extend_from_slice(now);
            data = rest;
            if self.head.len() < HEAD_LEN {
                return;
            }
            self.decide(found);
            walk(&mut self.state, &self.head, found);
        }
        walk(&mut self.state, data, found);
    }

    /// The end of the stream.
    pub(super) fn finish(&mut self, found: &mut Findings) {
        if matches!(self.state, State::Sniffing) {
            self.decide(found);
            walk(&mut self.state, &self.head, found);
        }
        let ended = match &mut self.state {
            State::Zip(zip) => zip.finish(found),
            State::Tar(tar) => tar.finish(found),
            State::Gzip(gzip) => gzip.finish(found),
            State::Sniffing | State::Opaque | State::Finished => Ok(()),
        };
        if let Err(why) = ended {
            found.fail(why);
        }
        self.state = State::Finished;
    }

    /// The head is complete: what the stream is, and how the rest is read.
    fn decide(&mut self, found: &mut Findings) {
        let format = Format::of(&self.head);
        self.own = by_content(&self.head).or(match format {
            Some(Format::Tar) => Some(ContentKind::Archive),
            _ => None,
        });
        found.found(self.own);
        let inner = self.depth.saturating_add(1);
        self.state = match format {
            Some(_) if self.depth >= found.bounds.depth => {
                found.fail(Unreadable::TooDeep);
                State::Opaque
            }
            Some(Format::Zip) => State::Zip(Box::new(Zip::new(inner))),
            Some(Format::Tar) => State::Tar(Box::new(Tar::new(inner))),
            Some(Format::Gzip) => State::Gzip(Box::new(Gzip::new(&self.name, inner))),
            None => {
                if self.own == Some(ContentKind::Archive) {
                    // bzip2, xz, 7z, RAR, …: compressed or archived, and not opened here.
                    found.fail(Unreadable::Format);
                }
                State::Opaque
            }
        };
    }
}

/// Feeds `data` to the stream's walker, if it has one; a walker that fails leaves the
/// stream opaque and the file unreadable.
fn walk(state: &mut State, data: &[u8], found: &mut Findings) {
    let walked = match state {
        State::Zip(zip) => zip.feed(data, found),
        State::Tar(tar) => tar.feed(data, found),
        State::Gzip(gzip) => gzip.feed(data, found),
        State::Sniffing | State::Opaque | State::Finished => Ok(()),
    };
    if let Err(why) = walked {
        found.fail(why);
        *state = State::Opaque;
    }
}

/// The archive formats the judge opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Zip,
    Tar,
    Gzip,
}

impl Format {
    /// The format a stream's head shows, if it is one the judge opens.
    fn of(head: &[u8]) -> Option<Format> {
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Some(Format::Zip)
        } else if head.starts_with(b"\x1f\x8b") {
            Some(Format::Gzip)
        } else if tar::recognise(head) {
            Some(Format::Tar)
        } else {
            None
        }
    }
}
