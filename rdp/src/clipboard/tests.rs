//! The clipboard's state machine driven with the PDUs a stock peer sends and the ones a
//! hostile peer does. This file holds the PDU builders and step readers; the tests are in
//! `transfers` (files that go, files refused), `hostile` (sequences a stock peer never
//! sends, scanning) and `framing` (chunks, padding, a new list, bounds).

use policy::transfer::ContentKinds;
use recorder::digest::Sha256Digest;
use recorder::format::transfers::TransferOutcome;

use super::pdu::{ContentsRequest, Pdu, RANGE, SIZE};
use super::*;

mod framing;
mod hostile;
mod transfers;

const FILE_FORMAT: u32 = 0xC0BC;

fn rules() -> ClipboardRules {
    ClipboardRules {
        allow: Allowances {
            upload: true,
            download: true,
            forward: false,
            content: ContentKinds::NONE,
        },
        max_file: 1 << 20,
        scan: false,
    }
}

fn pdu(kind: u16, flags: u16, body: &[u8]) -> Vec<u8> {
    pdu::encode(kind, flags, body)
}

fn chunk(total: usize, flags: u32, data: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(total).unwrap().to_le_bytes().to_vec();
    out.extend(flags.to_le_bytes());
    out.extend(data);
    out
}

/// A whole PDU from `from`, in the chunks the gateway itself would cut.
fn send(clip: &mut Clipboard, from: Side, pdu: &[u8]) -> Vec<Step> {
    chunks(pdu)
        .iter()
        .flat_map(|c| clip.chunk(from, c))
        .collect()
}

fn utf16z(text: &str) -> Vec<u8> {
    text.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

fn caps(flags: u32) -> Vec<u8> {
    let mut body = 1u16.to_le_bytes().to_vec();
    body.extend(0u16.to_le_bytes());
    body.extend(1u16.to_le_bytes());
    body.extend(12u16.to_le_bytes());
    body.extend(2u32.to_le_bytes());
    body.extend(flags.to_le_bytes());
    pdu(0x0007, 0, &body)
}

fn format_list() -> Vec<u8> {
    let mut body = 13u32.to_le_bytes().to_vec();
    body.extend(utf16z(""));
    body.extend(FILE_FORMAT.to_le_bytes());
    body.extend(utf16z("FileGroupDescriptorW"));
    pdu(0x0002, 0, &body)
}

fn file_list(files: &[(&str, Option<u64>)]) -> Vec<u8> {
    let mut body = u32::try_from(files.len()).unwrap().to_le_bytes().to_vec();
    for (name, size) in files {
        let mut d = vec![0u8; 592];
        let flags: u32 = 0x4 | if size.is_some() { 0x40 } else { 0 };
        d[0..4].copy_from_slice(&flags.to_le_bytes());
        let size = size.unwrap_or(0);
        d[64..68].copy_from_slice(&u32::try_from(size >> 32).unwrap().to_le_bytes());
        d[68..72].copy_from_slice(&u32::try_from(size & 0xffff_ffff).unwrap().to_le_bytes());
        let name = utf16z(name);
        d[72..72 + name.len()].copy_from_slice(&name);
        body.extend(d);
    }
    pdu(0x0005, 1, &body)
}

fn request(stream: u32, index: u32, flags: u32, position: u64, requested: u32) -> Vec<u8> {
    ContentsRequest {
        stream,
        index,
        flags,
        position,
        requested,
    }
    .encode()
}

fn response(stream: u32, data: Option<&[u8]>) -> Vec<u8> {
    pdu::encode_contents_response(stream, data)
}

/// A clipboard where `source` has listed `files` and the receiver has read the list.
fn listed(source: Side, files: &[(&str, Option<u64>)], rules: ClipboardRules) -> Clipboard {
    let mut clip = Clipboard::new(rules);
    for side in [Side::Target, Side::Client] {
        let steps = send(&mut clip, side, &caps(0x2 | 0x4 | 0x10));
        // Locking is taken out of what the other side sees.
        let [Step::Send { to, pdu }] = &steps[..] else {
            panic!("{steps:?}")
        };
        assert_eq!(*to, side.other());
        assert_eq!(pdu::general_flags(Pdu::parse(pdu).unwrap().body), Some(0x6));
    }
    assert_forwarded(&send(&mut clip, source, &format_list()));
    let ask = pdu(0x0004, 0, &FILE_FORMAT.to_le_bytes());
    assert_forwarded(&send(&mut clip, source.other(), &ask));
    assert_forwarded(&send(&mut clip, source, &file_list(files)));
    clip
}

fn assert_forwarded(steps: &[Step]) {
    assert!(
        steps.iter().all(|s| matches!(s, Step::Forward)) && !steps.is_empty(),
        "{steps:?}"
    );
}

/// What the steps send to `to`, parsed.
fn sent(steps: &[Step], to: Side) -> Vec<Vec<u8>> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Send { to: t, pdu } if *t == to => Some(pdu.clone()),
            _ => None,
        })
        .collect()
}

fn records(steps: &[Step]) -> Vec<TransferRecord> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Record(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn violations(steps: &[Step]) -> Vec<Hostile> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::Violation { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

/// The receiver's File Contents Responses in `steps`: (stream, data or failure).
fn answers(steps: &[Step], receiver: Side) -> Vec<(u32, Option<Vec<u8>>)> {
    sent(steps, receiver)
        .iter()
        .map(|p| {
            let pdu = Pdu::parse(p).unwrap();
            assert_eq!(pdu.kind, Kind::FileContentsResponse);
            let (stream, data) = pdu::contents_response(&pdu).unwrap();
            (stream, data.map(<[u8]>::to_vec))
        })
        .collect()
}

/// Plays the source: answers every request the gateway sends it from `content` (through
/// `lie`, which may change an answer), until the gateway asks no more. Returns every other
/// step.
fn serve(
    clip: &mut Clipboard,
    source: Side,
    mut steps: Vec<Step>,
    content: &[u8],
    lie: &dyn Fn(&ContentsRequest, Vec<u8>) -> Vec<u8>,
) -> Vec<Step> {
    let mut out = Vec::new();
    let mut rounds = 0;
    while !steps.is_empty() {
        // A gateway that never stops asking is a failure, not a hang.
        rounds += 1;
        assert!(rounds < 1000, "the gateway keeps asking");
        let mut next = Vec::new();
        for step in steps {
            match step {
                Step::Send { to, pdu } if to == source => {
                    let request = ContentsRequest::parse(&Pdu::parse(&pdu).unwrap()).unwrap();
                    let data = if request.flags == SIZE {
                        u64::try_from(content.len()).unwrap().to_le_bytes().to_vec()
                    } else {
                        let start = usize::try_from(request.position)
                            .unwrap()
                            .min(content.len());
                        let end = (start + usize::try_from(request.requested).unwrap())
                            .min(content.len());
                        content[start..end].to_vec()
                    };
                    let data = lie(&request, data);
                    next.extend(send(clip, source, &response(request.stream, Some(&data))));
                }
                other => out.push(other),
            }
        }
        steps = next;
    }
    out
}

fn honest(_: &ContentsRequest, data: Vec<u8>) -> Vec<u8> {
    data
}

/// What a refused file looks like: one refused record with `reason`, every request for it
/// failed, and none of its bytes sent to the receiver.
fn assert_refused(steps: &[Step], receiver: Side, reason: &str, secret: &[u8]) {
    let recorded = records(steps);
    assert_eq!(recorded.len(), 1, "{steps:?}");
    assert_ne!(recorded[0].outcome, TransferOutcome::Completed);
    assert_eq!(recorded[0].reason.as_deref(), Some(reason));
    assert_eq!(recorded[0].sha256, None);
    let answers = answers(steps, receiver);
    assert!(!answers.is_empty());
    assert!(
        answers.iter().all(|(_, data)| data.is_none()),
        "{answers:?}"
    );
    let head = &secret[..secret.len().min(8)];
    for pdu in sent(steps, receiver) {
        assert!(head.is_empty() || !pdu.windows(head.len()).any(|w| w == head));
    }
}
