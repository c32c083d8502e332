//! Files that go (fetched whole, recorded, answered from the gateway's copy) and files
//! refused (none of their bytes pass).

use policy::transfer::ContentKind;
use recorder::format::transfers::{TransferDirection, TransferOutcome};

use super::*;

#[test]
fn text_passes_and_locking_is_taken_out() {
    let mut clip = Clipboard::new(rules());
    for kind in [0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x000A] {
        assert_forwarded(&clip.chunk(Side::Client, &chunks(&pdu(kind, 0, b"abcd"))[0]));
    }
    // A long text's later chunks follow their first.
    let long = pdu(0x0005, 1, &[b'a'; 4000]);
    let steps = send(&mut clip, Side::Target, &long);
    assert_eq!(steps.len(), 3);
    assert_forwarded(&steps);
}

#[test]
fn a_clean_upload_is_fetched_whole_recorded_and_answered_from_the_gateways_copy() {
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let mut clip = listed(Side::Client, &[("logs\\notes.txt", Some(200_000))], rules());
    // The target asks for the size: nothing reaches the client but the gateway's own
    // request.
    let steps = send(&mut clip, Side::Target, &request(7, 0, SIZE, 0, 8));
    assert!(sent(&steps, Side::Target).is_empty());
    let steps = serve(&mut clip, Side::Client, steps, &content, &honest);
    let recorded = records(&steps);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].direction, TransferDirection::Upload);
    assert_eq!(recorded[0].path, "logs\\notes.txt");
    assert_eq!(recorded[0].size, 200_000);
    assert_eq!(recorded[0].sha256, Some(Sha256Digest::of(&content)));
    assert_eq!(recorded[0].outcome, TransferOutcome::Completed);
    // The record comes before the answer.
    assert!(matches!(steps[0], Step::Record(_)));
    assert_eq!(
        answers(&steps, Side::Target),
        [(7, Some(200_000u64.to_le_bytes().to_vec()))]
    );
    // Ranges are answered from the copy, the client is not asked again.
    let steps = send(
        &mut clip,
        Side::Target,
        &request(8, 0, RANGE, 65_536, 70_000),
    );
    assert!(sent(&steps, Side::Client).is_empty());
    assert_eq!(
        answers(&steps, Side::Target),
        [(8, Some(content[65_536..135_536].to_vec()))]
    );
    let steps = send(
        &mut clip,
        Side::Target,
        &request(9, 0, RANGE, 190_000, 65_536),
    );
    assert_eq!(
        answers(&steps, Side::Target),
        [(9, Some(content[190_000..].to_vec()))]
    );
}

#[test]
fn a_download_is_fetched_whole_and_recorded_with_its_digest() {
    let content = b"#!/bin/sh\necho not judged on the way down\n".to_vec();
    let mut clip = listed(Side::Target, &[("run.sh", Some(42))], rules());
    let steps = send(&mut clip, Side::Client, &request(1, 0, SIZE, 0, 8));
    let steps = serve(&mut clip, Side::Target, steps, &content, &honest);
    let recorded = records(&steps);
    assert_eq!(recorded[0].direction, TransferDirection::Download);
    assert_eq!(recorded[0].sha256, Some(Sha256Digest::of(&content)));
    assert_eq!(
        answers(&steps, Side::Client),
        [(1, Some(42u64.to_le_bytes().to_vec()))]
    );
}

#[test]
fn files_that_may_not_go_are_refused_on_record_and_none_of_their_bytes_pass() {
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.extend([0x41; 600]);
    let text = b"plain text, honest size".to_vec();
    let no_upload = ClipboardRules {
        allow: Allowances {
            upload: false,
            ..rules().allow
        },
        ..rules()
    };
    let no_download = ClipboardRules {
        allow: Allowances {
            download: false,
            ..rules().allow
        },
        ..rules()
    };
    let small_cap = ClipboardRules {
        max_file: 100,
        ..rules()
    };
    let exec = elf.len() as u64;
    let len = text.len() as u64;
    let wrong_size = |r: &ContentsRequest, d: Vec<u8>| {
        if r.flags == SIZE {
            1000u64.to_le_bytes().to_vec()
        } else {
            d
        }
    };
    let short_range = |r: &ContentsRequest, d: Vec<u8>| {
        if r.flags == RANGE {
            d[..d.len() - 1].to_vec()
        } else {
            d
        }
    };
    let long_range = |r: &ContentsRequest, mut d: Vec<u8>| {
        if r.flags == RANGE {
            d.push(0);
        }
        d
    };
    let shrunk_size = |r: &ContentsRequest, d: Vec<u8>| {
        if r.flags == SIZE {
            5u64.to_le_bytes().to_vec()
        } else {
            d
        }
    };
    let big = vec![b'x'; 150];
    type Lie = fn(&ContentsRequest, Vec<u8>) -> Vec<u8>;
    /// Name, source, rules, listed size, content, how the source lies, reason on record.
    type Case<'a> = (
        &'a str,
        Side,
        ClipboardRules,
        Option<u64>,
        &'a [u8],
        Lie,
        &'a str,
    );
    let cases: Vec<Case<'_>> = vec![
        // An ELF under a .txt name: judged by its content.
        (
            "notes.txt",
            Side::Client,
            rules(),
            Some(exec),
            &elf,
            honest as Lie,
            "executable_not_declared",
        ),
        (
            "notes.txt",
            Side::Client,
            no_upload,
            Some(len),
            &text,
            honest as Lie,
            "upload_not_allowed",
        ),
        (
            "notes.txt",
            Side::Target,
            no_download,
            Some(len),
            &text,
            honest as Lie,
            "download_not_allowed",
        ),
        // Over the cap, by the list's size, and by the size answered when the list has none.
        (
            "big.log",
            Side::Client,
            small_cap.clone(),
            Some(150),
            &big,
            honest as Lie,
            "too_large",
        ),
        (
            "big.log",
            Side::Client,
            small_cap,
            None,
            &big,
            honest as Lie,
            "too_large",
        ),
        // Sizes that lie: the size answered, a range shorter or longer than asked.
        (
            "a.txt",
            Side::Client,
            rules(),
            Some(len),
            &text,
            wrong_size as Lie,
            "size_mismatch",
        ),
        (
            "a.txt",
            Side::Client,
            rules(),
            Some(len),
            &text,
            shrunk_size as Lie,
            "size_mismatch",
        ),
        (
            "a.txt",
            Side::Client,
            rules(),
            Some(len),
            &text,
            short_range as Lie,
            "size_mismatch",
        ),
        (
            "a.txt",
            Side::Target,
            rules(),
            Some(len),
            &text,
            long_range as Lie,
            "malformed_response",
        ),
    ];
    for (name, source, rules, size, content, lie, reason) in cases {
        let mut clip = listed(source, &[(name, size)], rules);
        let receiver = source.other();
        let steps = send(&mut clip, receiver, &request(3, 0, SIZE, 0, 8));
        let steps = serve(&mut clip, source, steps, content, &lie);
        assert_refused(&steps, receiver, reason, content);
        // Asked again: failed at once, the source not asked again.
        let steps = send(&mut clip, receiver, &request(4, 0, RANGE, 0, 64));
        assert!(sent(&steps, source).is_empty(), "{name}: {steps:?}");
        assert_eq!(answers(&steps, receiver), [(4, None)], "{reason}");
    }
}

#[test]
fn an_executable_passes_when_the_plan_declares_it() {
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.extend([0x41; 100]);
    let mut declared = rules();
    declared.allow.content = ContentKinds::NONE.with(ContentKind::Executable);
    let mut clip = listed(Side::Client, &[("tool", Some(108))], declared);
    let steps = send(&mut clip, Side::Target, &request(3, 0, RANGE, 0, 4096));
    let steps = serve(&mut clip, Side::Client, steps, &elf, &honest);
    assert_eq!(answers(&steps, Side::Target), [(3, Some(elf))]);
}
