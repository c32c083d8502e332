//! One clipboard source's files: its latest file list, the file the gateway is fetching
//! from it, the verdicts on the files fetched, and the receiver's requests waiting for
//! them. Requests are answered only from a fetched, judged and recorded file; nothing the
//! source sends as file contents goes to the receiver as such.

use std::collections::HashMap;

use bytes::Bytes;
use policy::transfer::{ContentJudge, judged_upload_allowed};
use policy::transfer::{TransferRefusal, change_allowed, download_allowed};
use recorder::digest::Sha256Digest;
use recorder::format::transfers::{TransferDirection, TransferOutcome, TransferRecord};

use super::pdu::{self, ContentsRequest, Listed};
use super::{ClipboardRules, Hostile, Side, Step};

/// Bytes asked for per range request. 64 KiB: what xrdp and FreeRDP ask for themselves,
/// and a response that size is 41 channel chunks.
pub(super) const FETCH_CHUNK: u32 = 64 * 1024;
/// Receiver requests kept waiting while a file is fetched; past it they fail. A receiver
/// asks for one range at a time; 16 leaves room for one that asks ahead.
const MAX_WAITING: usize = 16;
/// Late responses to abandoned fetches dropped without a violation (a new clipboard
/// arrived while a range was on its way).
const MAX_STALE: usize = 4;

/// Why a file copied over the clipboard did not reach the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipRefusal {
    /// The plan's transfer rules (direction, content kinds, virus scan): the same reasons
    /// as SFTP.
    Policy(TransferRefusal),
    /// Larger than the configured maximum (`[transfers] clipboard_max_file`).
    TooLarge,
    /// The source's sizes disagree: the list's and the size it answered, or a range
    /// shorter than the size it answered.
    SizeMismatch,
    /// The source answered a range with more than was asked, or a size that isn't 8 bytes.
    Malformed,
    /// The source failed the gateway's request (the file went away, or the peer refused).
    SourceFailed,
}

impl ClipRefusal {
    /// Stable name for the audit trail (the SFTP names for policy refusals).
    pub fn as_str(self) -> &'static str {
        match self {
            ClipRefusal::Policy(refusal) => refusal.as_str(),
            ClipRefusal::TooLarge => "too_large",
            ClipRefusal::SizeMismatch => "size_mismatch",
            ClipRefusal::Malformed => "malformed_response",
            ClipRefusal::SourceFailed => "source_failed",
        }
    }
}

/// The verdict on a file of the current list.
#[derive(Debug)]
enum Judged {
    /// Fetched, judged and recorded: requests are answered from these bytes.
    Allowed(Bytes),
    /// Requests for it fail.
    Refused,
}

/// The file being fetched.
#[derive(Debug)]
struct Fetch {
    /// Names it for [`super::Clipboard::scanned`].
    serial: u64,
    index: u32,
    /// The stream ID of the gateway's outstanding request.
    stream: u32,
    /// How many bytes the outstanding range request asked for.
    asked: u32,
    stage: Stage,
    /// The size the source answered.
    size: u64,
    data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Size,
    Range,
    Scanning,
}

/// One side as a clipboard source.
#[derive(Debug)]
pub(super) struct Source {
    side: Side,
    /// Its general capability flags (CB_USE_LONG_FORMAT_NAMES matters).
    pub(super) caps: Option<u32>,
    /// The format ID its latest Format List gave FileGroupDescriptorW.
    pub(super) file_format: Option<u32>,
    /// The format the receiver asked it for last, not yet answered.
    pub(super) awaiting: Option<u32>,
    list: Vec<Listed>,
    judged: HashMap<u32, Judged>,
    fetch: Option<Fetch>,
    waiting: Vec<ContentsRequest>,
    stale: Vec<u32>,
    next_stream: u32,
    next_serial: u64,
}

impl Source {
    pub(super) fn new(side: Side) -> Self {
        Source {
            side,
            caps: None,
            file_format: None,
            awaiting: None,
            list: Vec::new(),
            judged: HashMap::new(),
            fetch: None,
            waiting: Vec::new(),
            stale: Vec::new(),
            next_stream: 1,
            next_serial: 1,
        }
    }

    /// A new clipboard (Format List) or a new file list: what was fetched or judged
    /// belongs to the old one; waiting requests fail.
    pub(super) fn reset(&mut self, list: Vec<Listed>) -> Vec<Step> {
        self.list = list;
        self.judged.clear();
        if let Some(fetch) = self.fetch.take()
            && fetch.stage != Stage::Scanning
        {
            if self.stale.len() >= MAX_STALE {
                self.stale.remove(0);
            }
            self.stale.push(fetch.stream);
        }
        let to = self.side.other();
        self.waiting.drain(..).map(|r| fail(to, r.stream)).collect()
    }

    /// The receiver asks for part of file `request.index`.
    pub(super) fn request(
        &mut self,
        request: ContentsRequest,
        rules: &ClipboardRules,
    ) -> Vec<Step> {
        let to = self.side.other();
        let hostile = |reason| {
            vec![
                fail(to, request.stream),
                Step::Violation { from: to, reason },
            ]
        };
        if request.flags & (pdu::SIZE | pdu::RANGE) == 0 {
            return hostile(Hostile::BadRequest);
        }
        if self.waiting.iter().any(|w| w.stream == request.stream) {
            return hostile(Hostile::StreamReused);
        }
        let Some(listed) = usize::try_from(request.index)
            .ok()
            .and_then(|i| self.list.get(i))
        else {
            return hostile(Hostile::UnknownFile);
        };
        if listed.directory {
            return hostile(Hostile::UnknownFile);
        }
        match self.judged.get(&request.index) {
            Some(Judged::Allowed(content)) => vec![answer(to, &request, content)],
            Some(Judged::Refused) => vec![fail(to, request.stream)],
            None if self.waiting.len() >= MAX_WAITING => hostile(Hostile::TooManyRequests),
            None => {
                self.waiting.push(request);
                if self.fetch.is_none() {
                    self.start(request.index, rules)
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// The source answers one of the gateway's requests (`None` data: CB_RESPONSE_FAIL).
    pub(super) fn response(
        &mut self,
        stream: u32,
        data: Option<&[u8]>,
        rules: &ClipboardRules,
    ) -> Vec<Step> {
        let Some(fetch) = self
            .fetch
            .as_mut()
            .filter(|f| f.stream == stream && f.stage != Stage::Scanning)
        else {
            if let Some(at) = self.stale.iter().position(|s| *s == stream) {
                self.stale.remove(at);
                return Vec::new();
            }
            return vec![Step::Violation {
                from: self.side,
                reason: Hostile::UnexpectedResponse,
            }];
        };
        let Some(data) = data else {
            return self.refuse(ClipRefusal::SourceFailed, rules);
        };
        let listed = usize::try_from(fetch.index)
            .ok()
            .and_then(|i| self.list.get(i))
            .and_then(|l| l.size);
        match fetch.stage {
            Stage::Size => {
                let Some(size) = <[u8; 8]>::try_from(data).ok().map(u64::from_le_bytes) else {
                    return self.refuse(ClipRefusal::Malformed, rules);
                };
                if listed.is_some_and(|l| l != size) {
                    return self.refuse(ClipRefusal::SizeMismatch, rules);
                }
                if size > rules.max_file {
                    fetch.size = size;
                    return self.refuse(ClipRefusal::TooLarge, rules);
                }
                fetch.size = size;
                fetch.stage = Stage::Range;
            }
            Stage::Range => {
                let got = u32::try_from(data.len()).unwrap_or(u32::MAX);
                if got > fetch.asked {
                    return self.refuse(ClipRefusal::Malformed, rules);
                }
                if got < fetch.asked {
                    return self.refuse(ClipRefusal::SizeMismatch, rules);
                }
                fetch.data.extend_from_slice(data);
            }
            Stage::Scanning => return Vec::new(),
        }
        self.next(rules)
    }

    /// The virus scan of fetch `serial` ended.
    pub(super) fn scanned(
        &mut self,
        serial: u64,
        verdict: Result<(), String>,
        rules: &ClipboardRules,
    ) -> Vec<Step> {
        let Some(fetch) = self
            .fetch
            .as_mut()
            .filter(|f| f.serial == serial && f.stage == Stage::Scanning)
        else {
            return Vec::new();
        };
        match verdict {
            Ok(()) => {
                let content = Bytes::from(std::mem::take(&mut fetch.data));
                self.allow(content, rules)
            }
            Err(why) => {
                tracing::warn!(why, "clipboard upload refused by the virus scan");
                self.refuse(ClipRefusal::Policy(TransferRefusal::ScanFailed), rules)
            }
        }
    }

    /// The source sent a response the gateway can't read: the fetch is refused.
    pub(super) fn abandon(&mut self, rules: &ClipboardRules) -> Vec<Step> {
        if self
            .fetch
            .as_ref()
            .is_some_and(|f| f.stage != Stage::Scanning)
        {
            self.refuse(ClipRefusal::Malformed, rules)
        } else {
            Vec::new()
        }
    }

    /// The direction a file from this source goes.
    fn direction(&self) -> TransferDirection {
        match self.side {
            Side::Client => TransferDirection::Upload,
            Side::Target => TransferDirection::Download,
        }
    }

    fn name(&self, index: u32) -> String {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.list.get(i))
            .map_or_else(|| format!("#{index}"), |l| l.name.clone())
    }

    /// Starts fetching file `index`: the plan's direction first, the list's size, then
    /// the source is asked for the size.
    fn start(&mut self, index: u32, rules: &ClipboardRules) -> Vec<Step> {
        let serial = self.next_serial;
        self.next_serial = self.next_serial.wrapping_add(1);
        self.fetch = Some(Fetch {
            serial,
            index,
            stream: 0,
            asked: 0,
            stage: Stage::Size,
            size: 0,
            data: Vec::new(),
        });
        let allowed = match self.direction() {
            TransferDirection::Upload => change_allowed(&rules.allow),
            TransferDirection::Download => download_allowed(&rules.allow),
        };
        if let Err(refusal) = allowed {
            return self.refuse(ClipRefusal::Policy(refusal), rules);
        }
        let listed = usize::try_from(index)
            .ok()
            .and_then(|i| self.list.get(i))
            .and_then(|l| l.size);
        if let Some(size) = listed.filter(|s| *s > rules.max_file) {
            if let Some(fetch) = self.fetch.as_mut() {
                fetch.size = size;
            }
            return self.refuse(ClipRefusal::TooLarge, rules);
        }
        let stream = self.stream();
        let Some(fetch) = self.fetch.as_mut() else {
            return Vec::new();
        };
        fetch.stream = stream;
        let request = ContentsRequest {
            stream,
            index,
            flags: pdu::SIZE,
            position: 0,
            requested: 8,
        };
        vec![Step::Send {
            to: self.side,
            pdu: request.encode(),
        }]
    }

    /// The next range, or the whole file judged.
    fn next(&mut self, rules: &ClipboardRules) -> Vec<Step> {
        let stream = self.stream();
        let upload = self.direction() == TransferDirection::Upload;
        let Some(fetch) = self.fetch.as_mut() else {
            return Vec::new();
        };
        let have = u64::try_from(fetch.data.len()).unwrap_or(u64::MAX);
        if have < fetch.size {
            let asked = u32::try_from((fetch.size - have).min(u64::from(FETCH_CHUNK)))
                .unwrap_or(FETCH_CHUNK);
            fetch.stream = stream;
            fetch.asked = asked;
            let request = ContentsRequest {
                stream,
                index: fetch.index,
                flags: pdu::RANGE,
                position: have,
                requested: asked,
            };
            return vec![Step::Send {
                to: self.side,
                pdu: request.encode(),
            }];
        }
        // The whole file: judged like an SFTP upload, or a download as it is.
        if upload {
            let index = fetch.index;
            let mut judge = ContentJudge::new(&self.name(index));
            if let Some(fetch) = self.fetch.as_ref() {
                judge.feed(&fetch.data);
            }
            if let Err(refusal) = judged_upload_allowed(&rules.allow, &judge.finish()) {
                return self.refuse(ClipRefusal::Policy(refusal), rules);
            }
            if rules.scan
                && let Some(fetch) = self.fetch.as_mut()
            {
                fetch.stage = Stage::Scanning;
                return vec![Step::Scan {
                    source: self.side,
                    serial: fetch.serial,
                    content: Bytes::copy_from_slice(&fetch.data),
                }];
            }
        }
        let content = self
            .fetch
            .as_mut()
            .map(|f| Bytes::from(std::mem::take(&mut f.data)))
            .unwrap_or_default();
        self.allow(content, rules)
    }

    /// The file may go: on record, kept (alone: any other kept file is dropped and fetched
    /// again if asked for), and every waiting request for it answered.
    fn allow(&mut self, content: Bytes, rules: &ClipboardRules) -> Vec<Step> {
        let Some(fetch) = self.fetch.take() else {
            return Vec::new();
        };
        let record = TransferRecord {
            direction: self.direction(),
            path: self.name(fetch.index),
            size: u64::try_from(content.len()).unwrap_or(u64::MAX),
            sha256: Some(Sha256Digest::of(&content)),
            outcome: TransferOutcome::Completed,
            reason: None,
        };
        let mut steps = vec![Step::Record(record)];
        let to = self.side.other();
        let (answered, waiting) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|r| r.index == fetch.index);
        self.waiting = waiting;
        steps.extend(
            answered
                .iter()
                .map(|r: &ContentsRequest| answer(to, r, &content)),
        );
        self.judged.retain(|_, j| matches!(j, Judged::Refused));
        self.judged.insert(fetch.index, Judged::Allowed(content));
        steps.extend(self.resume(rules));
        steps
    }

    /// The file being fetched may not go: on record, and every request for it fails.
    fn refuse(&mut self, why: ClipRefusal, rules: &ClipboardRules) -> Vec<Step> {
        let Some(fetch) = self.fetch.take() else {
            return Vec::new();
        };
        let record = TransferRecord {
            direction: self.direction(),
            path: self.name(fetch.index),
            size: fetch.size,
            sha256: None,
            outcome: if why == ClipRefusal::SourceFailed {
                TransferOutcome::Aborted
            } else {
                TransferOutcome::Refused
            },
            reason: Some(why.as_str().to_owned()),
        };
        let mut steps = vec![Step::Record(record)];
        let to = self.side.other();
        let (failed, waiting) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|r| r.index == fetch.index);
        self.waiting = waiting;
        steps.extend(failed.iter().map(|r: &ContentsRequest| fail(to, r.stream)));
        self.judged.insert(fetch.index, Judged::Refused);
        steps.extend(self.resume(rules));
        steps
    }

    /// After a file is judged: the next file a waiting request asks for.
    fn resume(&mut self, rules: &ClipboardRules) -> Vec<Step> {
        match self.waiting.first() {
            Some(next) if self.fetch.is_none() => {
                let index = next.index;
                self.start(index, rules)
            }
            _ => Vec::new(),
        }
    }

    fn stream(&mut self) -> u32 {
        let stream = self.next_stream;
        self.next_stream = self.next_stream.wrapping_add(1);
        stream
    }
}

/// The receiver's request answered from a judged file.
fn answer(to: Side, request: &ContentsRequest, content: &[u8]) -> Step {
    let len = u64::try_from(content.len()).unwrap_or(u64::MAX);
    let pdu = if request.flags & pdu::SIZE != 0 {
        pdu::encode_contents_response(request.stream, Some(&len.to_le_bytes()))
    } else {
        let start = request.position.min(len);
        let end = request
            .position
            .saturating_add(u64::from(request.requested))
            .min(len);
        let range = usize::try_from(start)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(s, e)| content.get(s..e))
            .unwrap_or_default();
        pdu::encode_contents_response(request.stream, Some(range))
    };
    Step::Send { to, pdu }
}

/// CB_RESPONSE_FAIL for the receiver's request.
fn fail(to: Side, stream: u32) -> Step {
    Step::Send {
        to,
        pdu: pdu::encode_contents_response(stream, None),
    }
}
