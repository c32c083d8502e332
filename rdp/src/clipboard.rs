//! The clipboard channel (`cliprdr`, MS-RDPECLIP) with files judged like SFTP transfers
//! (issue 11, deliverable 6; R-10-6).
//!
//! A plan that allows upload and download keeps the clipboard. Text and images pass (a
//! paste is typing: it is in the keystroke timeline's reach and the report's honest
//! limits). A *file* copied through the clipboard travels in two parts: its name and size
//! in a file list (a Format Data Response for the format the source's Format List named
//! `FileGroupDescriptorW`), then its bytes as File Contents Responses (2.2.5.4) to the
//! receiver's File Contents Requests (2.2.5.3), by list index, size first then ranges.
//!
//! The gateway stands in the middle of the second part. The file list passes (it is read
//! on the way, so each index has a name and a size). No File Contents Request reaches the
//! source and no File Contents Response from it reaches the receiver: when the receiver
//! asks for a file, the gateway fetches the **whole** file itself (its own requests, its
//! own stream IDs, sequential ranges of [`FETCH_CHUNK`](files::FETCH_CHUNK) bytes), at
//! most [`ClipboardRules::max_file`] bytes, then judges it:
//!
//! - client → target is an upload: it needs `upload`, and its content is judged by the
//!   same content rules as an SFTP upload ([`policy::transfer::ContentJudge`],
//!   [`policy::transfer::judged_upload_allowed`]), then scanned by clamd when configured
//!   (the [`Step::Scan`] the relay performs);
//! - target → client is a download: it needs `download`.
//!
//! Either way it goes on record ([`Step::Record`]: direction, name, size, SHA-256 of the
//! bytes the receiver gets) before the receiver's requests are answered from the
//! gateway's copy. A refused file is on record with its reason, and every request for it
//! is answered CB_RESPONSE_FAIL: none of its bytes reach the receiver.
//!
//! Clipboard locking (CB_CAN_LOCK_CLIPDATA) is taken out of both sides' capabilities: the
//! gateway keeps one file list per source, so indexes always refer to the latest list.
//!
//! A cliprdr PDU may span several channel chunks (CHANNEL_PDU_HEADER, MS-RDPBCGR
//! 2.2.6.1.1): the first names the message type, later ones follow it until the one
//! flagged last. Text passes chunk by chunk as it comes; the PDUs the gateway reads whole
//! (capabilities, format lists, file lists, file contents) are gathered up to a bound. A
//! compressed chunk can't be read (compression is never negotiated) and is withheld with
//! the rest of its PDU.
//!
//! [`Clipboard`] is a state machine: chunks in, [`Step`]s out. It does no I/O; the relay
//! sends, scans and records.
//!
//! # What this does not do
//!
//! Stream a file: it is held whole in memory (one per source at a time) so that it is
//! judged whole before any of it goes on; larger files are for SFTP. Open a folder copied
//! to the clipboard: its files are listed one by one and each is judged on its own.

mod files;
mod pdu;

use std::borrow::Cow;

use bytes::Bytes;
use ironrdp_core::decode;
use ironrdp_pdu::mcs::{SendDataIndication, SendDataRequest};
use ironrdp_pdu::x224::X224;
use policy::plan::Allowances;
use recorder::format::transfers::TransferRecord;

pub use files::ClipRefusal;
pub use pdu::chunks;

use files::Source;
use pdu::{Chunk, ContentsRequest, Kind, Pdu};

/// The default for [`ClipboardRules::max_file`]: 64 MiB (the configuration's default,
/// `[transfers] clipboard_max_file`, where the choice is explained).
pub const DEFAULT_MAX_FILE: u64 = fumidai_core::config::DEFAULT_CLIPBOARD_MAX_FILE;

/// Violations put on record per session; past it they are only counted (a peer sending
/// garbage in a loop must not flood the audit trail).
const MAX_VIOLATIONS_ON_RECORD: u32 = 16;

/// What the clipboard's files are judged by.
#[derive(Debug, Clone)]
pub struct ClipboardRules {
    /// The plan's allowances: direction and declared content kinds.
    pub allow: Allowances,
    /// Files larger than this are refused (`[transfers] clipboard_max_file`).
    pub max_file: u64,
    /// clamd is configured: uploads are scanned before they go on.
    pub scan: bool,
}

/// One end of the clipboard channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The vendor's RDP client.
    Client,
    /// The target.
    Target,
}

impl Side {
    /// The other end.
    pub fn other(self) -> Self {
        match self {
            Side::Client => Side::Target,
            Side::Target => Side::Client,
        }
    }
}

/// What the relay does, in order, after a chunk.
#[derive(Debug)]
pub enum Step {
    /// Forward the chunk just judged, as it came.
    Forward,
    /// Send this whole cliprdr PDU to `to` (cut into [`chunks`]).
    Send {
        /// Where.
        to: Side,
        /// The PDU, header included.
        pdu: Vec<u8>,
    },
    /// Scan this upload with clamd, then give [`Clipboard::scanned`] the verdict.
    Scan {
        /// The side the file came from.
        source: Side,
        /// Which fetch.
        serial: u64,
        /// The whole file.
        content: Bytes,
    },
    /// Put this transfer on record before any later step (fail closed).
    Record(TransferRecord),
    /// A PDU a stock peer never sends; withheld or failed, put on record.
    Violation {
        /// Who sent it.
        from: Side,
        /// What was wrong.
        reason: Hostile,
    },
}

/// What a hostile or broken peer did on the clipboard channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// A File Contents Response to no request of the gateway's.
    UnexpectedResponse,
    /// A File Contents Request for an index not in the source's file list.
    UnknownFile,
    /// A File Contents Request reusing the stream ID of one still waiting.
    StreamReused,
    /// A File Contents Request asking neither for a size nor for a range.
    BadRequest,
    /// More File Contents Requests waiting than a receiver ever needs.
    TooManyRequests,
    /// A PDU that doesn't parse, or larger than its kind may be.
    Malformed,
    /// A compressed chunk (compression is never negotiated).
    Compressed,
}

impl Hostile {
    /// Stable name for the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Hostile::UnexpectedResponse => "clipboard_unexpected_response",
            Hostile::UnknownFile => "clipboard_unknown_file",
            Hostile::StreamReused => "clipboard_stream_reused",
            Hostile::BadRequest => "clipboard_bad_request",
            Hostile::TooManyRequests => "clipboard_too_many_requests",
            Hostile::Malformed => "clipboard_malformed",
            Hostile::Compressed => "clipboard_compressed",
        }
    }
}

/// Both directions of the clipboard channel.
#[derive(Debug)]
pub struct Clipboard {
    rules: ClipboardRules,
    /// The client as a source (its files go up).
    client: Source,
    /// The target as a source (its files go down).
    target: Source,
    /// The PDU being read from the client, and from the target.
    from_client: Reading,
    from_target: Reading,
    /// Violations seen (only the first [`MAX_VIOLATIONS_ON_RECORD`] go on record).
    violations: u32,
    /// Chunks withheld (for the session's log).
    pub withheld: u64,
}

/// How the PDU now arriving in chunks is handled.
#[derive(Debug, Default)]
struct Reading {
    mode: Mode,
    /// Its bytes so far, when it is read.
    buffer: Vec<u8>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Between PDUs.
    #[default]
    Idle,
    /// Forwarded as it comes; read too when `limit` is set (up to it).
    Pass { limit: Option<usize> },
    /// Gathered whole, then acted on; nothing of it forwarded. `response`: a File Contents
    /// Response, which a fetch waits for.
    Hold { limit: usize, response: bool },
    /// Withheld to its last chunk.
    Drop,
}

impl Clipboard {
    /// Nothing seen yet.
    pub fn new(rules: ClipboardRules) -> Self {
        Clipboard {
            rules,
            client: Source::new(Side::Client),
            target: Source::new(Side::Target),
            from_client: Reading::default(),
            from_target: Reading::default(),
            violations: 0,
            withheld: 0,
        }
    }

    /// One chunk (an MCS Send Data's user data on the cliprdr channel) from `from`.
    pub fn chunk(&mut self, from: Side, bytes: &[u8]) -> Vec<Step> {
        let mut steps = Vec::new();
        let Some(chunk) = Chunk::parse(bytes) else {
            self.withheld += 1;
            return self.violation(from, Hostile::Malformed, steps);
        };
        let last = chunk.flags & pdu::LAST != 0;
        if chunk.flags & pdu::COMPRESSED != 0 {
            self.withheld += 1;
            self.reading(from).mode = if last { Mode::Idle } else { Mode::Drop };
            return self.violation(from, Hostile::Compressed, steps);
        }
        if chunk.flags & pdu::FIRST != 0 {
            let mode = match pdu::msg_type(chunk.data) {
                Some(kind) => self.mode(from, Kind::of(kind)),
                None => {
                    steps = self.violation(from, Hostile::Malformed, steps);
                    Mode::Drop
                }
            };
            let reading = self.reading(from);
            reading.mode = mode;
            reading.buffer.clear();
            // A PDU that says it is larger than its kind may be is not gathered.
            let total = usize::try_from(chunk.total).unwrap_or(usize::MAX);
            match mode {
                Mode::Pass { limit: Some(limit) } if total > limit => {
                    reading.mode = Mode::Pass { limit: None };
                }
                Mode::Hold { limit, response } if total > limit => {
                    reading.mode = Mode::Drop;
                    steps = self.oversized(from, response, steps);
                }
                _ => {}
            }
        }
        let reading = self.reading(from);
        match reading.mode {
            Mode::Idle | Mode::Drop => {
                self.withheld += 1;
                if last {
                    self.reading(from).mode = Mode::Idle;
                }
                return steps;
            }
            Mode::Pass { limit } => {
                if let Some(limit) = limit {
                    reading.buffer.extend_from_slice(chunk.data);
                    if reading.buffer.len() > limit {
                        reading.mode = Mode::Pass { limit: None };
                        reading.buffer = Vec::new();
                    }
                }
                steps.push(Step::Forward);
            }
            Mode::Hold { limit, response } => {
                reading.buffer.extend_from_slice(chunk.data);
                let over = reading.buffer.len() > limit;
                self.withheld += 1;
                if over {
                    let reading = self.reading(from);
                    reading.mode = Mode::Drop;
                    reading.buffer = Vec::new();
                    steps = self.oversized(from, response, steps);
                    if last {
                        self.reading(from).mode = Mode::Idle;
                    }
                    return steps;
                }
            }
        }
        if last {
            let reading = self.reading(from);
            let mode = std::mem::take(&mut reading.mode);
            let buffer = std::mem::take(&mut reading.buffer);
            let read = matches!(mode, Mode::Hold { .. } | Mode::Pass { limit: Some(_) });
            if read {
                steps = self.complete(from, &buffer, steps);
            }
        }
        steps
    }

    /// The virus scan asked for by [`Step::Scan`] ended: `Err` with why the file is not
    /// clean (a signature, or no verdict).
    pub fn scanned(&mut self, source: Side, serial: u64, verdict: Result<(), String>) -> Vec<Step> {
        let rules = &self.rules;
        match source {
            Side::Client => self.client.scanned(serial, verdict, rules),
            Side::Target => self.target.scanned(serial, verdict, rules),
        }
    }

    fn reading(&mut self, from: Side) -> &mut Reading {
        match from {
            Side::Client => &mut self.from_client,
            Side::Target => &mut self.from_target,
        }
    }

    fn source(&mut self, side: Side) -> &mut Source {
        match side {
            Side::Client => &mut self.client,
            Side::Target => &mut self.target,
        }
    }

    /// How a PDU of `kind` from `from` is handled, decided on its first chunk.
    fn mode(&mut self, from: Side, kind: Kind) -> Mode {
        match kind {
            Kind::Capabilities => Mode::Hold {
                limit: 1024,
                response: false,
            },
            Kind::FormatList => Mode::Pass {
                limit: Some(64 * 1024),
            },
            Kind::FormatDataRequest => Mode::Pass { limit: Some(64) },
            Kind::FormatDataResponse => {
                let source = self.source(from);
                let asked = source.awaiting.take();
                if asked.is_some() && asked == source.file_format {
                    Mode::Pass {
                        limit: Some(pdu_len(pdu::MAX_LISTED)),
                    }
                } else {
                    Mode::Pass { limit: None }
                }
            }
            Kind::FileContentsRequest => Mode::Hold {
                limit: 64,
                response: false,
            },
            Kind::FileContentsResponse => Mode::Hold {
                limit: usize::try_from(files::FETCH_CHUNK).unwrap_or(usize::MAX) + 16,
                response: true,
            },
            Kind::Other => Mode::Pass { limit: None },
        }
    }

    /// A PDU read whole.
    fn complete(&mut self, from: Side, bytes: &[u8], mut steps: Vec<Step>) -> Vec<Step> {
        let Some(pdu) = Pdu::parse(bytes) else {
            return self.malformed(from, bytes, steps);
        };
        let rules = self.rules.clone();
        match pdu.kind {
            Kind::Capabilities => {
                self.source(from).caps = pdu::general_flags(pdu.body);
                match pdu::capabilities_without_locking(&pdu) {
                    Some(pdu) => steps.push(Step::Send {
                        to: from.other(),
                        pdu,
                    }),
                    None => return self.violation(from, Hostile::Malformed, steps),
                }
            }
            Kind::FormatList => {
                let long = [self.client.caps, self.target.caps]
                    .iter()
                    .all(|c| c.is_some_and(|c| c & pdu::USE_LONG_FORMAT_NAMES != 0));
                let source = self.source(from);
                source.file_format = pdu::file_list_format(&pdu, long);
                steps.extend(source.reset(Vec::new()));
            }
            Kind::FormatDataRequest => {
                self.source(from.other()).awaiting = pdu::requested_format(&pdu);
            }
            Kind::FormatDataResponse => {
                // Read only when it answers a request for the file list.
                let list = pdu::file_list(&pdu).unwrap_or_default();
                steps.extend(self.source(from).reset(list));
            }
            Kind::FileContentsRequest => match ContentsRequest::parse(&pdu) {
                Some(request) => {
                    steps.extend(self.source(from.other()).request(request, &rules));
                }
                None => return self.malformed(from, bytes, steps),
            },
            Kind::FileContentsResponse => match pdu::contents_response(&pdu) {
                Some((stream, data)) => {
                    steps.extend(self.source(from).response(stream, data, &rules));
                }
                None => return self.malformed(from, bytes, steps),
            },
            Kind::Other => {}
        }
        steps
    }

    /// A held PDU that doesn't parse: a request still gets its failure when its stream
    /// ID can be read.
    fn malformed(&mut self, from: Side, bytes: &[u8], mut steps: Vec<Step>) -> Vec<Step> {
        match pdu::msg_type(bytes).map(Kind::of) {
            Some(Kind::FileContentsRequest) => {
                if let Some(stream) = pdu::u32_at(bytes, 8) {
                    steps.push(Step::Send {
                        to: from,
                        pdu: pdu::encode_contents_response(stream, None),
                    });
                }
                self.violation(from, Hostile::Malformed, steps)
            }
            Some(Kind::FileContentsResponse) => self.oversized(from, true, steps),
            _ => self.violation(from, Hostile::Malformed, steps),
        }
    }

    /// A held PDU past its bound, or one that doesn't parse. A file contents response
    /// like that answers nothing the gateway asked: the fetch it may belong to would wait
    /// for ever, so it is refused.
    fn oversized(&mut self, from: Side, response: bool, steps: Vec<Step>) -> Vec<Step> {
        let mut steps = self.violation(from, Hostile::Malformed, steps);
        if response {
            let rules = self.rules.clone();
            steps.extend(self.source(from).abandon(&rules));
        }
        steps
    }

    fn violation(&mut self, from: Side, reason: Hostile, mut steps: Vec<Step>) -> Vec<Step> {
        self.violations = self.violations.saturating_add(1);
        if self.violations <= MAX_VIOLATIONS_ON_RECORD {
            steps.push(Step::Violation { from, reason });
        }
        steps
    }
}

/// A Format Data Response's length for a list of `files`: header, count, descriptors.
fn pdu_len(files: u32) -> usize {
    usize::try_from(files)
        .unwrap_or(usize::MAX)
        .saturating_mul(592)
        .saturating_add(12)
}

/// The channel, initiator and user data of a client's MCS Send Data Request.
pub fn request_data(frame: &[u8]) -> Option<(u16, u16, Cow<'_, [u8]>)> {
    let X224(request) = decode::<X224<SendDataRequest<'_>>>(frame).ok()?;
    Some((request.channel_id, request.initiator_id, request.user_data))
}

/// The channel, initiator and user data of a server's MCS Send Data Indication.
pub fn indication_data(frame: &[u8]) -> Option<(u16, u16, Cow<'_, [u8]>)> {
    let X224(indication) = decode::<X224<SendDataIndication<'_>>>(frame).ok()?;
    Some((
        indication.channel_id,
        indication.initiator_id,
        indication.user_data,
    ))
}

#[cfg(test)]
mod tests;
