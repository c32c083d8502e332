use chrono::DateTime;

use super::*;

pub(crate) fn header() -> RdpHeader {
    RdpHeader {
        session_id: Uuid::from_u128(0x42),
        engineer: "alice".into(),
        target: "modality-01".into(),
        plan_id: "7".into(),
        started_at: DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
        gateway_version: "0.1.0".into(),
        may_resume: None,
    }
}

pub(crate) fn state() -> RdpState {
    RdpState {
        io_channel_id: 1003,
        user_channel_id: 1007,
        share_id: 0x1_03ea,
        desktop_width: 1024,
        desktop_height: 768,
        static_channels: vec![("rdpdr".into(), 1004), ("cliprdr".into(), 1005)],
    }
}

/// A recording with one record of each kind.
fn sample() -> Vec<u8> {
    let mut out = Vec::new();
    write_preamble(&mut out, &header()).unwrap();
    let state = state_payload(&state()).unwrap();
    write_record(&mut out, Duration::ZERO, RecordKind::State, &state).unwrap();
    write_record(
        &mut out,
        Duration::from_micros(1_500),
        RecordKind::Server,
        b"\x00\x05abc",
    )
    .unwrap();
    write_record(
        &mut out,
        Duration::from_micros(2_000_001),
        RecordKind::Client,
        b"\x04\x04\x00\x1e",
    )
    .unwrap();
    out
}

fn read_all(bytes: &[u8]) -> (RdpHeader, Vec<Result<Record>>, bool) {
    let (header, mut reader) = RdpReader::open(bytes).unwrap();
    let records: Vec<_> = reader.by_ref().collect();
    (header, records, reader.truncated())
}

#[test]
fn layout_is_as_documented() {
    let bytes = sample();
    let json = serde_json::to_vec(&header()).unwrap();
    assert_eq!(&bytes[..8], b"FUMIRDP\n");
    assert_eq!(&bytes[8..10], &[0, 1], "version 1");
    assert_eq!(&bytes[10..14], &(json.len() as u32).to_be_bytes());
    assert_eq!(&bytes[14..14 + json.len()], json.as_slice());
    assert_eq!(
        String::from_utf8(json).unwrap(),
        concat!(
            r#"{"session_id":"00000000-0000-0000-0000-000000000042","engineer":"alice","#,
            r#""target":"modality-01","plan_id":"7","started_at":"2026-01-01T00:00:00Z","#,
            r#""gateway_version":"0.1.0"}"#
        )
    );
    let last = &bytes[bytes.len() - 20..];
    assert_eq!(
        last,
        [
            0, 0, 0, 4, // len
            3, 0, 0, 0, // client, reserved
            0, 0, 0, 0, 0, 0x1e, 0x84, 0x81, // 2_000_001 µs
            4, 4, 0, 0x1e,
        ]
    );
    assert_eq!(
        String::from_utf8(state_payload(&state()).unwrap()).unwrap(),
        concat!(
            r#"{"io_channel_id":1003,"user_channel_id":1007,"share_id":66538,"#,
            r#""desktop_width":1024,"desktop_height":768,"#,
            r#""static_channels":[["rdpdr",1004],["cliprdr",1005]]}"#
        )
    );
}

#[test]
fn round_trip() {
    let (h, records, truncated) = read_all(&sample());
    assert_eq!(h, header());
    assert!(!truncated);
    let records: Vec<Record> = records.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        records,
        [
            Record {
                offset: Duration::ZERO,
                event: Event::State(state()),
            },
            Record {
                offset: Duration::from_micros(1_500),
                event: Event::Server(b"\x00\x05abc".to_vec()),
            },
            Record {
                offset: Duration::from_micros(2_000_001),
                event: Event::Client(b"\x04\x04\x00\x1e".to_vec()),
            },
        ]
    );
    assert_eq!(
        h.recording_id(),
        RecordingId::session(Uuid::from_u128(0x42))
    );
}

/// A crash cuts the file anywhere in the last record: everything before it reads, and the
/// cut is reported, not an error.
#[test]
fn truncated_tail_keeps_earlier_records() {
    let bytes = sample();
    let last_start = bytes.len() - 20;
    for cut in last_start + 1..bytes.len() {
        let (_, records, truncated) = read_all(&bytes[..cut]);
        assert_eq!(records.len(), 2, "cut at {cut}");
        assert!(records.iter().all(Result::is_ok), "cut at {cut}");
        assert!(truncated, "cut at {cut}");
    }
    // Cut exactly between records: a complete file, nothing lost.
    let (_, records, truncated) = read_all(&bytes[..last_start]);
    assert_eq!(records.len(), 2);
    assert!(!truncated);
}

#[test]
fn a_cut_header_is_an_error() {
    let bytes = sample();
    let json_end = 14 + serde_json::to_vec(&header()).unwrap().len();
    for cut in [10, 12, 13, 14, json_end - 1] {
        let err = RdpReader::open(&bytes[..cut]).err().unwrap();
        assert!(
            matches!(err, Error::BadRdpHeader { .. }),
            "cut {cut}: {err:?}"
        );
    }
    let (_, records, truncated) = read_all(&bytes[..json_end]);
    assert!(
        records.is_empty() && !truncated,
        "header only: an empty recording"
    );
}

#[test]
fn wrong_magic_or_version_is_refused() {
    let mut v2 = sample();
    v2[9] = 2;
    match RdpReader::open(v2.as_slice()).err().unwrap() {
        Error::UnsupportedRdpVersion { version } => assert_eq!(version, 2),
        other => panic!("{other:?}"),
    }
    let not_ours: [&[u8]; 5] = [
        b"",
        b"FUMIRDP",
        b"FUMIDAT1\0\0\0\0",
        b"{\"version\": 2, \"width\": 80}\n",
        b"fumirdp\n\0\x01\0\0\0\x02{}",
    ];
    for bytes in not_ours {
        let err = RdpReader::open(bytes).err().unwrap();
        assert!(matches!(err, Error::NotRdpRecording), "{bytes:?}: {err:?}");
        assert_eq!(err.to_string(), "not a fumidai RDP recording");
    }
    let mut bad_json = MAGIC.to_vec();
    bad_json.extend_from_slice(&[0, 1, 0, 0, 0, 2]);
    bad_json.extend_from_slice(b"{]");
    let err = RdpReader::open(bad_json.as_slice()).err().unwrap();
    assert!(
        matches!(err, Error::BadRdpHeader { source: Some(_) }),
        "{err:?}"
    );
}

#[test]
fn unknown_header_fields_are_ignored() {
    let mut json = serde_json::to_value(header()).unwrap();
    json["client_addr"] = "192.0.2.1:50000".into();
    let json = serde_json::to_vec(&json).unwrap();
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&VERSION.to_be_bytes());
    bytes.extend_from_slice(&(json.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&json);
    let (h, records, _) = read_all(&bytes);
    assert_eq!(h, header());
    assert!(records.is_empty());
}

#[test]
fn malformed_records_stop_the_reader() {
    let bytes = sample();
    let last_start = bytes.len() - 20;
    let corrupt = |at: usize, value: u8| {
        let mut b = bytes.clone();
        b[at] = value;
        b
    };
    let cases = [
        ("kind 0", corrupt(last_start + 4, 0)),
        ("kind 4", corrupt(last_start + 4, 4)),
        ("reserved", corrupt(last_start + 6, 1)),
        ("oversized", corrupt(last_start, 0x10)),
    ];
    for (what, b) in cases {
        let (_, records, _) = read_all(&b);
        assert_eq!(records.len(), 3, "{what}");
        match &records[2] {
            Err(Error::BadRdpRecord { position }) => {
                assert_eq!(*position, last_start as u64, "{what}")
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    // A state record that is not an RdpState.
    let mut b = Vec::new();
    write_preamble(&mut b, &header()).unwrap();
    let position = b.len() as u64;
    write_record(
        &mut b,
        Duration::ZERO,
        RecordKind::State,
        b"{\"share_id\":1}",
    )
    .unwrap();
    write_record(&mut b, Duration::ZERO, RecordKind::Server, b"x").unwrap();
    let (_, records, _) = read_all(&b);
    assert_eq!(records.len(), 1, "stops at the bad record");
    assert!(
        matches!(records[0], Err(Error::BadRdpRecord { position: p }) if p == position),
        "{records:?}"
    );
}

#[test]
fn oversized_payloads_are_not_written() {
    let big = vec![0u8; MAX_PAYLOAD as usize + 1];
    let err = write_record(&mut Vec::new(), Duration::ZERO, RecordKind::Server, &big).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}
