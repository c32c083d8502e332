use policy::transfer::{ContentKind, ContentKinds};

use super::*;

fn allow(upload: bool, download: bool, content: &[ContentKind]) -> Allowances {
    Allowances {
        upload,
        download,
        content: content.iter().copied().collect::<ContentKinds>(),
        ..Allowances::default()
    }
}

fn elf(len: usize) -> Vec<u8> {
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.resize(len, 0x90);
    elf
}

/// Feeds `data` in 32 KiB chunks: the bytes accepted before the refusal, if any.
fn feed(streams: &mut ExecStreams, data: &[u8]) -> (usize, Option<StdinRefused>) {
    let mut passed = 0;
    for chunk in data.chunks(32 * 1024) {
        if let Err(refused) = streams.stdin(chunk) {
            return (passed, Some(refused));
        }
        passed += chunk.len();
    }
    (passed, None)
}

// Reproduction 5: `ssh gw 'cat > /tmp/t' < file` with no upload in the plan.
#[test]
fn stdin_past_the_limit_is_cut_without_upload() {
    let mut s = ExecStreams::new("cat > /tmp/t", allow(false, false, &[]));
    let text = vec![b'a'; 200 * 1024];
    let (passed, refused) = feed(&mut s, &text);
    assert_eq!(passed as u64, EXEC_STDIN_UNPLANNED_MAX);
    let refused = refused.unwrap();
    assert_eq!(refused.record.reason.as_deref(), Some("stdin_over_limit"));
    assert_eq!(refused.record.outcome, TransferOutcome::Refused);
    assert!(refused.message.contains("64 KiB"));
    // Nothing more passes.
    assert!(s.stdin(b"x").is_err());
    assert!(s.finish().is_empty());
}

#[test]
fn an_undeclared_kind_in_stdin_is_cut_at_its_head() {
    for plan in [allow(false, false, &[]), allow(true, false, &[])] {
        let mut s = ExecStreams::new("cat > /tmp/t", plan);
        let (passed, refused) = feed(&mut s, &elf(40_000));
        assert_eq!(passed, 0);
        assert_eq!(
            refused.unwrap().record.reason.as_deref(),
            Some("executable_not_declared")
        );
    }
}

#[test]
fn a_small_script_piped_to_a_shell_passes_without_upload() {
    let mut s = ExecStreams::new("sh", allow(false, false, &[]));
    assert_eq!(feed(&mut s, b"df -h\nuptime\n").1, None);
    assert!(s.finish().is_empty());
}

#[test]
fn with_upload_stdin_is_a_transfer_on_record() {
    let mut s = ExecStreams::new("cat > /tmp/data.csv", allow(true, false, &[]));
    let data = vec![b'x'; 300_000];
    assert_eq!(feed(&mut s, &data).1, None);
    let records = s.finish();
    let [(record, via)] = &records[..] else {
        panic!("{records:?}");
    };
    assert_eq!(*via, StreamVia::ExecStdin);
    assert_eq!(record.direction, TransferDirection::Upload);
    assert_eq!(record.size, 300_000);
    assert!(record.sha256.is_some());
    assert_eq!(record.outcome, TransferOutcome::Completed);
}

// Reproduction 5: `ssh gw cat /srv/patients.csv`.
#[test]
fn bulk_stdout_is_a_download_on_record() {
    let mut small = ExecStreams::new("df", allow(false, false, &[]));
    small.stdout(&[b'x'; 10_000]);
    assert!(small.finish().is_empty());
    let mut s = ExecStreams::new("cat /srv/patients.csv", allow(false, false, &[]));
    for _ in 0..40 {
        s.stdout(&[b'y'; 32 * 1024]);
    }
    let records = s.finish();
    let [(record, via)] = &records[..] else {
        panic!("{records:?}");
    };
    assert_eq!(*via, StreamVia::ExecStdout);
    assert_eq!(record.direction, TransferDirection::Download);
    assert_eq!(record.size, 40 * 32 * 1024);
    assert_eq!(record.path, "cat /srv/patients.csv");
    assert!(record.sha256.is_some());
}
