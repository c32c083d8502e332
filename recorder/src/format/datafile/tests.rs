use super::*;

fn rec(stream: Stream, kind: RecordKind, offset: u64, t_us: u64, payload: &[u8]) -> DataRecord {
    DataRecord {
        header: RecordHeader {
            stream,
            kind,
            channel: 7,
            offset,
            t: Duration::from_micros(t_us),
        },
        payload: payload.to_vec(),
    }
}

fn encode(records: &[DataRecord]) -> Vec<u8> {
    let mut f = Vec::new();
    write_magic(&mut f).unwrap();
    for r in records {
        write_record(&mut f, &r.header, &r.payload).unwrap();
    }
    f
}

fn sample() -> Vec<DataRecord> {
    vec![
        rec(
            Stream::Input,
            RecordKind::Bulk,
            0,
            1,
            b"\x00\x01\xff binary",
        ),
        rec(Stream::Input, RecordKind::Bulk, 10, 2, &[0xAB; 40_000]),
        rec(Stream::Stderr, RecordKind::Bulk, 0, 3, b""),
        rec(
            Stream::Output,
            RecordKind::CastRaw,
            5,
            u64::MAX / 2,
            b"\xc3(",
        ),
    ]
}

#[test]
fn exact_layout() {
    let r = rec(Stream::Stderr, RecordKind::CastRaw, 0x0102, 0x0304, b"xyz");
    let f = encode(std::slice::from_ref(&r));
    let want: Vec<u8> = [
        &b"FUMIDAT1"[..],
        &[0, 0, 0, 3],             // len
        &[2, 1, 0, 0],             // stream, kind, reserved
        &[0, 0, 0, 7],             // channel
        &[0, 0, 0, 0, 0, 0, 1, 2], // offset
        &[0, 0, 0, 0, 0, 0, 3, 4], // t in microseconds
        b"xyz",
    ]
    .concat();
    assert_eq!(f, want);
}

#[test]
fn round_trip() {
    let records = sample();
    let f = encode(&records);
    let mut reader = DataReader::open(&f[..]).unwrap();
    let back: Vec<_> = reader.by_ref().map(Result::unwrap).collect();
    assert_eq!(back, records);
    assert!(!reader.truncated());
}

/// A crash can cut the file anywhere: every complete record survives, the cut one is
/// reported.
#[test]
fn truncation_anywhere() {
    let records = sample();
    let f = encode(&records);
    let mut ends = vec![MAGIC.len()];
    for r in &records {
        ends.push(ends.last().unwrap() + RECORD_HEADER_LEN + r.payload.len());
    }
    for cut in MAGIC.len()..f.len() {
        let mut reader = DataReader::open(&f[..cut]).unwrap();
        let back: Vec<_> = reader.by_ref().map(Result::unwrap).collect();
        let whole = ends.iter().filter(|&&e| e <= cut).count() - 1;
        assert_eq!(back, records[..whole], "cut at {cut}");
        assert_eq!(reader.truncated(), !ends.contains(&cut), "cut at {cut}");
    }
}

#[test]
fn rejects_bad_input() {
    assert!(matches!(
        DataReader::open(&b"FUMIDAT"[..]),
        Err(Error::BadMagic)
    ));
    assert!(matches!(
        DataReader::open(&b"FUMIDAT2"[..]),
        Err(Error::BadMagic)
    ));
    let good = encode(&sample()[..1]);
    let corrupt = |i: usize, v: u8| {
        let mut f = good.clone();
        f[i] = v;
        let mut reader = DataReader::open(&f[..]).unwrap();
        reader.next().unwrap().unwrap_err().to_string()
    };
    let want = "malformed bulk data record at byte 8";
    assert_eq!(corrupt(8 + 4, 3), want, "unknown stream");
    assert_eq!(corrupt(8 + 5, 9), want, "unknown kind");
    assert_eq!(corrupt(8 + 7, 1), want, "reserved bits");
    assert_eq!(corrupt(8, 0x01), want, "payload over 16 MiB");
    let mut big = Vec::new();
    let header = sample()[0].header;
    let err = write_record(&mut big, &header, &vec![0; MAX_PAYLOAD as usize + 1]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}
