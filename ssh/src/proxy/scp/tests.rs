#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::panic,
    reason = "unit tests: a failure must fail the test loudly"
)]

use recorder::Sha256Digest;

use super::*;

fn records(actions: &[Action]) -> Vec<TransferRecord> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Transfer(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// Feeds `stream` to a fresh inspector in chunks of `chunk` bytes; returns every record
/// and checks the bytes were forwarded unchanged.
fn feed(command: &str, stream: &[u8], chunk: usize) -> Vec<TransferRecord> {
    let mut scp = ScpSourceInspector::new(command);
    let mut forwarded = Vec::new();
    let mut out = Vec::new();
    for part in stream.chunks(chunk) {
        let actions = scp.from_target(part).unwrap();
        for a in &actions {
            if let Action::ToEngineer(b) = a {
                forwarded.extend_from_slice(b);
            }
        }
        out.extend(records(&actions));
    }
    out.extend(records(&scp.finish()));
    assert_eq!(forwarded, stream, "bytes must pass unchanged");
    out
}

fn file(name: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!("C0644 {} {name}\n", body.len()).into_bytes();
    v.extend_from_slice(body);
    v.push(0);
    v
}

#[test]
fn one_file_is_recorded_with_its_full_path_size_and_digest_in_any_chunking() {
    let mut stream = b"T1700000000 0 1700000000 0\n".to_vec();
    stream.extend(file("patients.csv", b"id,name\n1,Yamada\n"));
    for chunk in [1, 3, 7, 4096] {
        let got = feed("scp -f /srv/data/patients.csv", &stream, chunk);
        assert_eq!(got.len(), 1, "chunk {chunk}");
        let r = &got[0];
        assert_eq!(r.path, "/srv/data/patients.csv");
        assert_eq!(r.direction, TransferDirection::Download);
        assert_eq!(r.size, 17);
        assert_eq!(r.sha256, Some(Sha256Digest::of(b"id,name\n1,Yamada\n")));
        assert_eq!(r.outcome, TransferOutcome::Completed);
    }
}

#[test]
fn recursive_downloads_name_files_inside_their_directories() {
    let mut stream = b"D0755 0 logs\n".to_vec();
    stream.extend(file("a.log", b"aaa"));
    stream.extend(b"D0755 0 old\n");
    stream.extend(file("b.log", b""));
    stream.extend(b"E\n");
    stream.extend(b"E\n");
    let got = feed("scp -r -f -- '/var/log/logs'", &stream, 5);
    let paths: Vec<_> = got.iter().map(|r| (r.path.as_str(), r.size)).collect();
    assert_eq!(
        paths,
        [("/var/log/logs/a.log", 3), ("/var/log/logs/old/b.log", 0)]
    );
}

#[test]
fn patterns_and_quoted_names_resolve_to_the_operands_directory() {
    let got = feed("scp -f /var/log/*.log", &file("syslog.log", b"x"), 64);
    assert_eq!(got[0].path, "/var/log/syslog.log");
    let got = feed(
        r#"scp -f "/srv/my files/a b.txt""#,
        &file("a b.txt", b"x"),
        64,
    );
    assert_eq!(got[0].path, "/srv/my files/a b.txt");
    let got = feed("scp -f -- relative.txt", &file("relative.txt", b"x"), 64);
    assert_eq!(got[0].path, "relative.txt");
}

#[test]
fn a_file_the_source_fails_on_midway_is_recorded_aborted_with_its_message() {
    let mut stream = b"C0644 10 big.bin\n".to_vec();
    stream.extend(b"0123456789");
    stream.extend(b"\x01scp: /srv/big.bin: Input/output error\n");
    let got = feed("scp -f /srv/big.bin", &stream, 4);
    assert_eq!(got[0].outcome, TransferOutcome::Aborted);
    assert_eq!(
        got[0].reason.as_deref(),
        Some("scp: /srv/big.bin: Input/output error")
    );
}

#[test]
fn a_channel_ending_mid_file_records_what_passed_as_aborted() {
    let got = feed("scp -f /srv/big.bin", b"C0644 100 big.bin\n0123", 64);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].outcome, TransferOutcome::Aborted);
    assert_eq!(got[0].size, 4);
}

#[test]
fn warnings_from_the_source_pass_without_a_record() {
    let got = feed(
        "scp -f /nope",
        b"\x01scp: /nope: No such file or directory\n",
        64,
    );
    assert!(got.is_empty());
}

#[test]
fn what_is_not_scp_ends_the_channel() {
    let mut scp = ScpSourceInspector::new("scp -f /x");
    assert!(scp.from_target(b"hello world\n").is_err());
    let mut scp = ScpSourceInspector::new("scp -f /x");
    assert!(scp.from_target(b"C0644 notanumber x\n").is_err());
    let mut scp = ScpSourceInspector::new("scp -f /x");
    assert!(scp.from_target(&vec![b'T'; MAX_LINE + 2]).is_err());
}

// A legacy upload (`scp -t` on the target) in any wrapping: the engineer's stream names its
// files under the destination operand.
#[test]
fn an_upload_to_a_wrapped_scp_sink_is_recorded_under_its_destination() {
    let stream = b"C0755 5 tool\nhello\0";
    for (command, path) in [
        ("scp -t /tmp/up/", "/tmp/up/tool"),
        ("exec scp -d -t /tmp/up", "/tmp/up/tool"),
        ("sh -c 'scp -t /tmp/up/'", "/tmp/up/tool"),
        ("scp -t /tmp/renamed", "/tmp/renamed"),
    ] {
        let mut scp = ScpSourceInspector::sink(command);
        let got = records(&scp.from_target(stream).unwrap());
        assert_eq!(got.len(), 1, "{command}");
        assert_eq!(got[0].direction, TransferDirection::Upload);
        assert_eq!(got[0].path, path, "{command}");
        assert_eq!(got[0].size, 5);
    }
}
