//! Channel framing: PDUs over several chunks, compressed chunks, xrdp's padding, a new
//! file list, and the bound on violations on record.

use super::*;

#[test]
fn pdus_spanning_chunks_are_gathered_and_compressed_chunks_withheld() {
    let mut clip = listed(Side::Client, &[("a.txt", Some(5))], rules());
    // A request cut in three chunks.
    let whole = request(7, 0, SIZE, 0, 8);
    let (a, rest) = whole.split_at(5);
    let (b, c) = rest.split_at(10);
    assert!(
        clip.chunk(Side::Target, &chunk(whole.len(), pdu::FIRST, a))
            .is_empty()
    );
    assert!(
        clip.chunk(Side::Target, &chunk(whole.len(), 0, b))
            .is_empty()
    );
    let steps = clip.chunk(Side::Target, &chunk(whole.len(), pdu::LAST, c));
    let asked = sent(&steps, Side::Client);
    assert_eq!(asked.len(), 1);
    let stream = ContentsRequest::parse(&Pdu::parse(&asked[0]).unwrap())
        .unwrap()
        .stream;
    // A compressed chunk in the answer: withheld with the rest of its PDU, on record.
    let answer = response(stream, Some(&5u64.to_le_bytes()));
    let steps = clip.chunk(
        Side::Client,
        &chunk(answer.len(), pdu::FIRST | pdu::COMPRESSED, &answer[..6]),
    );
    assert_eq!(violations(&steps), [Hostile::Compressed]);
    let steps = clip.chunk(Side::Client, &chunk(answer.len(), pdu::LAST, &answer[6..]));
    assert!(steps.is_empty(), "{steps:?}");
    // Its uncompressed retelling, in two chunks, is read.
    let steps = clip.chunk(Side::Client, &chunk(answer.len(), pdu::FIRST, &answer[..6]));
    assert!(steps.is_empty());
    let steps = clip.chunk(Side::Client, &chunk(answer.len(), pdu::LAST, &answer[6..]));
    let steps = serve(&mut clip, Side::Client, steps, b"hello", &honest);
    assert_eq!(
        answers(&steps, Side::Target),
        [(7, Some(5u64.to_le_bytes().to_vec()))]
    );
    // The gateway's own PDUs longer than a chunk are cut.
    let steps = send(&mut clip, Side::Target, &request(8, 0, RANGE, 0, 5));
    let answer = &sent(&steps, Side::Target)[0];
    assert_eq!(chunks(answer).len(), 1);
    assert_eq!(chunks(&[0; 4000]).len(), 3);
    assert_eq!(chunks(&[]).len(), 1);
}

#[test]
fn a_new_clipboard_fails_waiting_requests_and_forgets_the_old_list() {
    let mut clip = listed(Side::Client, &[("a.txt", Some(3))], rules());
    let steps = send(&mut clip, Side::Target, &request(7, 0, SIZE, 0, 8));
    let stream = ContentsRequest::parse(&Pdu::parse(&sent(&steps, Side::Client)[0]).unwrap())
        .unwrap()
        .stream;
    let steps = send(&mut clip, Side::Client, &format_list());
    assert!(matches!(steps[0], Step::Forward));
    assert_eq!(answers(&steps[1..], Side::Target), [(7, None)]);
    // The late answer to the abandoned fetch is dropped quietly.
    let steps = send(
        &mut clip,
        Side::Client,
        &response(stream, Some(&3u64.to_le_bytes())),
    );
    assert!(steps.is_empty(), "{steps:?}");
    // No list now: index 0 is unknown.
    let steps = send(&mut clip, Side::Target, &request(8, 0, SIZE, 0, 8));
    assert_eq!(violations(&steps), [Hostile::UnknownFile]);
}

#[test]
fn violations_on_record_are_bounded() {
    let mut clip = Clipboard::new(rules());
    let on_record: usize = (0..100)
        .map(|_| violations(&clip.chunk(Side::Client, &[1, 2, 3])).len())
        .sum();
    assert_eq!(on_record, 16);
    assert_eq!(clip.withheld, 100);
}

/// `pdu` with `pad` after it, as one chunk, the way xrdp's channel server sends it.
fn padded(pdu: &[u8], pad: &[u8]) -> Vec<u8> {
    let mut whole = pdu.to_vec();
    whole.extend(pad);
    chunk(whole.len(), 0x3, &whole)
}

// xrdp 0.9.21 ends every cliprdr PDU with four zero bytes its dataLen doesn't count. Seen
// end to end: its capabilities were withheld as malformed and every session with it put
// a protocol violation on record; its file contents (downloads) could never be read.
#[test]
fn xrdps_four_zero_bytes_after_a_pdu_are_read_as_padding_and_nothing_more_is() {
    let cases: [(&[u8], bool); 4] = [
        (&[], true),
        (&[0, 0, 0, 0], true),
        (&[0, 0, 0, 1], false),
        (&[0; 8], false),
    ];
    for (pad, read) in cases {
        let mut clip = Clipboard::new(rules());
        let steps = clip.chunk(Side::Target, &padded(&caps(0x2 | 0x4 | 0x10), pad));
        if read {
            let [Step::Send { to, pdu }] = &steps[..] else {
                panic!("{pad:?}: {steps:?}")
            };
            assert_eq!(*to, Side::Client);
            // The pad is not passed on.
            assert_eq!(*pdu, caps(0x2 | 0x4), "{pad:?}");
        } else {
            assert_eq!(violations(&steps), [Hostile::Malformed], "{pad:?}");
        }
    }
    // A download from a source that pads its responses.
    let content = b"ordinary log line\n".to_vec();
    let mut clip = listed(Side::Target, &[("app.log", Some(18))], rules());
    let mut steps = send(&mut clip, Side::Client, &request(1, 0, SIZE, 0, 8));
    let mut out = Vec::new();
    for _ in 0..10 {
        let mut next = Vec::new();
        for step in steps {
            match step {
                Step::Send {
                    to: Side::Target,
                    pdu,
                } => {
                    let request = ContentsRequest::parse(&Pdu::parse(&pdu).unwrap()).unwrap();
                    let data = if request.flags == SIZE {
                        18u64.to_le_bytes().to_vec()
                    } else {
                        content.clone()
                    };
                    let answer = response(request.stream, Some(&data));
                    next.extend(clip.chunk(Side::Target, &padded(&answer, &[0; 4])));
                }
                other => out.push(other),
            }
        }
        steps = next;
    }
    assert!(violations(&out).is_empty(), "{out:?}");
    let recorded = records(&out);
    assert_eq!(recorded[0].sha256, Some(Sha256Digest::of(&content)));
}
