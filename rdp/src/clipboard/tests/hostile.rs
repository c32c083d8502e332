//! Sequences a stock peer never sends, a failing source, and the clamd scan before a file
//! goes on.

use super::*;

#[test]
fn hostile_sequences_are_withheld_failed_and_on_record() {
    // A response to no request.
    let mut clip = listed(Side::Client, &[("a.txt", Some(3))], rules());
    let steps = send(&mut clip, Side::Client, &response(99, Some(b"abc")));
    assert!(sent(&steps, Side::Target).is_empty());
    assert!(!steps.iter().any(|s| matches!(s, Step::Forward)));
    assert_eq!(violations(&steps), [Hostile::UnexpectedResponse]);

    // A request for an index not in the list, and with no list at all.
    let steps = send(&mut clip, Side::Target, &request(5, 1, SIZE, 0, 8));
    assert_eq!(answers(&steps, Side::Target), [(5, None)]);
    assert!(sent(&steps, Side::Client).is_empty());
    assert_eq!(violations(&steps), [Hostile::UnknownFile]);
    let mut bare = Clipboard::new(rules());
    let steps = send(&mut bare, Side::Client, &request(5, 0, SIZE, 0, 8));
    assert_eq!(answers(&steps, Side::Client), [(5, None)]);
    assert_eq!(violations(&steps), [Hostile::UnknownFile]);

    // A stream ID reused while its request waits.
    let first = send(&mut clip, Side::Target, &request(7, 0, SIZE, 0, 8));
    assert_eq!(sent(&first, Side::Client).len(), 1);
    let steps = send(&mut clip, Side::Target, &request(7, 0, RANGE, 0, 3));
    assert_eq!(answers(&steps, Side::Target), [(7, None)]);
    assert_eq!(violations(&steps), [Hostile::StreamReused]);
    // The first still gets its answer.
    let steps = serve(&mut clip, Side::Client, first, b"abc", &honest);
    assert_eq!(
        answers(&steps, Side::Target),
        [(7, Some(3u64.to_le_bytes().to_vec()))]
    );

    // Neither size nor range.
    let steps = send(&mut clip, Side::Target, &request(11, 0, 0, 0, 8));
    assert_eq!(answers(&steps, Side::Target), [(11, None)]);
    assert_eq!(violations(&steps), [Hostile::BadRequest]);

    // A request that doesn't parse (its length).
    let steps = send(
        &mut clip,
        Side::Target,
        &pdu(0x0008, 0, &12u32.to_le_bytes()),
    );
    assert_eq!(answers(&steps, Side::Target), [(12, None)]);
    assert_eq!(violations(&steps), [Hostile::Malformed]);
}

#[test]
fn a_response_larger_than_asked_for_refuses_the_fetch() {
    let mut clip = listed(Side::Client, &[("a.txt", Some(3))], rules());
    let steps = send(&mut clip, Side::Target, &request(7, 0, SIZE, 0, 8));
    let stream = ContentsRequest::parse(&Pdu::parse(&sent(&steps, Side::Client)[0]).unwrap())
        .unwrap()
        .stream;
    let huge = vec![0u8; 100_000];
    let steps = send(&mut clip, Side::Client, &response(stream, Some(&huge)));
    assert_refused(&steps, Side::Target, "malformed_response", &huge);
    assert!(violations(&steps).contains(&Hostile::Malformed));
}

#[test]
fn the_source_failing_aborts_the_transfer() {
    let mut clip = listed(Side::Target, &[("gone.txt", Some(3))], rules());
    let steps = send(&mut clip, Side::Target.other(), &request(7, 0, SIZE, 0, 8));
    let stream = ContentsRequest::parse(&Pdu::parse(&sent(&steps, Side::Target)[0]).unwrap())
        .unwrap()
        .stream;
    let steps = send(&mut clip, Side::Target, &response(stream, None));
    assert_refused(&steps, Side::Client, "source_failed", b"");
    assert_eq!(records(&steps)[0].outcome, TransferOutcome::Aborted);
}

#[test]
fn uploads_are_scanned_before_they_go_on() {
    let content = b"an innocent looking file".to_vec();
    let scanning = ClipboardRules {
        scan: true,
        ..rules()
    };
    for (verdict, outcome) in [
        (Ok(()), TransferOutcome::Completed),
        (
            Err("virus found: Eicar".to_owned()),
            TransferOutcome::Refused,
        ),
    ] {
        let mut clip = listed(Side::Client, &[("a.txt", Some(24))], scanning.clone());
        let steps = send(&mut clip, Side::Target, &request(7, 0, SIZE, 0, 8));
        let steps = serve(&mut clip, Side::Client, steps, &content, &honest);
        // Nothing answered before the scan's verdict.
        let [
            Step::Scan {
                source,
                serial,
                content: scanned,
            },
        ] = &steps[..]
        else {
            panic!("{steps:?}")
        };
        assert_eq!((*source, &scanned[..]), (Side::Client, &content[..]));
        let steps = clip.scanned(Side::Client, *serial, verdict);
        assert_eq!(records(&steps)[0].outcome, outcome);
        let answered = answers(&steps, Side::Target);
        assert_eq!(answered.len(), 1);
        assert_eq!(
            answered[0].1.is_some(),
            outcome == TransferOutcome::Completed
        );
        if outcome == TransferOutcome::Refused {
            assert_eq!(records(&steps)[0].reason.as_deref(), Some("scan_failed"));
        }
    }
}
