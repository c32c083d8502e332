use super::*;
use crate::format::cast_reader::{CastReader, EventKind};
use crate::format::datafile::{DataReader, DataRecord};
use crate::format::reassemble::reassemble;
use crate::format::transfers::{TransferDirection, TransferOutcome};
use crate::test_support::header;

enum Op {
    Data(u64, Stream, &'static [u8]),
    Resize(u64, u16, u16),
    Transfer(u64),
}

/// Runs `ops` (times in ms) through an encoder; returns cast events and side-file records.
fn run(
    mode: DataMode,
    bulk: BulkPolicy,
    ops: &[Op],
) -> (Vec<(u64, EventKind)>, Vec<DataRecord>, Vec<u8>) {
    let mut h = header();
    h.fumidai.data = mode;
    let mut p = Pending::default();
    let mut enc = Encoder::new(&h, bulk, &mut p).unwrap();
    let ms = Duration::from_millis;
    let mut end = Duration::ZERO;
    for op in ops {
        match *op {
            Op::Data(t, s, b) => enc.data(&mut p, ms(t), s, b).unwrap(),
            Op::Resize(t, c, r) => enc.resize(&mut p, ms(t), c, r).unwrap(),
            Op::Transfer(t) => {
                let rec = TransferRecord {
                    direction: TransferDirection::Upload,
                    path: "/tmp/f".into(),
                    size: 3,
                    sha256: None,
                    outcome: TransferOutcome::Completed,
                    reason: None,
                };
                enc.transfer(&mut p, ms(t), &rec).unwrap();
            }
        }
        end = end.max(ms(match *op {
            Op::Data(t, ..) | Op::Resize(t, ..) | Op::Transfer(t) => t,
        }));
    }
    enc.end(&mut p, end).unwrap();
    let (_, reader) = CastReader::open(&p.cast[..]).unwrap();
    let events = reader
        .map(|e| e.unwrap())
        .map(|e| (e.t.as_millis() as u64, e.kind))
        .collect();
    let records = DataReader::open(&p.data[..])
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (events, records, p.transfers)
}

fn o(t: u64, s: &str) -> (u64, EventKind) {
    (t, EventKind::Output(s.into()))
}

fn m(t: u64, s: &str) -> (u64, EventKind) {
    (t, EventKind::Marker(s.into()))
}

#[test]
fn interactive_events() {
    let ops = [
        Op::Data(10, Stream::Output, b"caf\xc3"),
        Op::Data(20, Stream::Output, b"\xa9\r\n"),
        Op::Data(30, Stream::Input, b"l"),
        Op::Data(40, Stream::Stderr, b"err\xff"),
        Op::Resize(50, 100, 30),
        // Clamped: never earlier than the last event.
        Op::Data(45, Stream::Input, b"\xe2\x82"),
    ];
    let (events, records, _) = run(DataMode::Interactive, BulkPolicy::default(), &ops);
    assert_eq!(
        events,
        [
            o(10, "caf"),
            o(20, "é\r\n"),
            (30, EventKind::Input("l".into())),
            o(40, "err\u{fffd}"),
            (
                50,
                EventKind::Resize {
                    cols: 100,
                    rows: 30
                }
            ),
            (50, EventKind::Input("\u{fffd}".into())),
        ]
    );
    let raws: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r.header.stream,
                r.header.kind,
                r.header.offset,
                &r.payload[..],
            )
        })
        .collect();
    assert_eq!(
        raws,
        [
            (Stream::Output, RecordKind::CastRaw, 7, &b"err\xff"[..]),
            (Stream::Input, RecordKind::CastRaw, 1, &b"\xe2\x82"[..]),
        ]
    );
}

#[test]
fn interactive_streams_reassemble_exactly() {
    let ops = [
        Op::Data(1, Stream::Output, b"a\xf0\x9f"),
        Op::Data(2, Stream::Output, b"\x98\x80\xff\xfe ok \xc3"),
        Op::Data(3, Stream::Output, b"\xa9 \xef\xbf\xbd"),
        Op::Data(4, Stream::Input, b"\x1b[A\x80"),
        Op::Data(5, Stream::Output, b"\xe2"),
    ];
    let (events, records, _) = run(DataMode::Interactive, BulkPolicy::default(), &ops);
    let events: Vec<_> = events
        .into_iter()
        .map(|(t, kind)| {
            Ok(crate::format::cast_reader::Event {
                t: Duration::from_millis(t),
                kind,
            })
        })
        .collect();
    for (stream, want) in [
        (
            Stream::Output,
            &b"a\xf0\x9f\x98\x80\xff\xfe ok \xc3\xa9 \xef\xbf\xbd\xe2"[..],
        ),
        (Stream::Input, b"\x1b[A\x80"),
    ] {
        let mut out = Vec::new();
        let n = reassemble(
            DataMode::Interactive,
            stream,
            events.clone(),
            records.iter().cloned().map(Ok),
            &mut out,
        )
        .unwrap();
        assert_eq!((out.as_slice(), n), (want, want.len() as u64), "{stream:?}");
    }
}

#[test]
fn bulk_records_markers_and_preview() {
    let bulk = BulkPolicy {
        marker_every: Duration::from_secs(1),
        preview_bytes: 5,
    };
    let ops = [
        Op::Data(0, Stream::Input, b"\x00\x01"),
        Op::Data(100, Stream::Output, b"hel"),
        Op::Data(200, Stream::Output, b"lo world"),
        Op::Data(1100, Stream::Stderr, b"!"),
        Op::Data(1200, Stream::Input, b"\xff"),
        Op::Transfer(1300),
    ];
    let (events, records, transfers) = run(DataMode::Bulk, bulk, &ops);
    let totals = |i, o, e| {
        format!(
            "fumidai bulk: stdin {i} B, stdout {o} B, stderr {e} B (raw bytes in the .data side file)"
        )
    };
    assert_eq!(
        events,
        [
            m(0, &totals(2, 0, 0)),
            o(100, "hel"),
            o(200, "lo"),
            m(
                200,
                "fumidai: output preview ends here, the rest is in the side file"
            ),
            m(1100, &totals(2, 11, 1)),
            m(1300, "fumidai transfer: upload \"/tmp/f\", 3 B, completed"),
            m(1300, &totals(3, 11, 1)),
        ]
    );
    let rows: Vec<_> = records
        .iter()
        .map(|r| (r.header.stream, r.header.offset, r.payload.len()))
        .collect();
    assert_eq!(
        rows,
        [
            (Stream::Input, 0, 2),
            (Stream::Output, 0, 3),
            (Stream::Output, 3, 8),
            (Stream::Stderr, 0, 1),
            (Stream::Input, 2, 1),
        ]
    );
    assert!(
        records
            .iter()
            .all(|r| r.header.kind == RecordKind::Bulk && r.header.channel == 0)
    );
    assert_eq!(String::from_utf8(transfers).unwrap().lines().count(), 1);
    let mut out = Vec::new();
    reassemble(
        DataMode::Bulk,
        Stream::Output,
        [],
        records.into_iter().map(Ok),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, b"hello world");
}
