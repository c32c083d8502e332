use std::fs;

use super::*;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn statement(root: &Path) -> Statement {
    fs::create_dir_all(root.join("2026/02/10")).unwrap();
    let mut files = Vec::new();
    for (name, content) in [
        ("2026/02/10/s.cast", &b"cast\n"[..]),
        ("2026/02/10/s.data", b"FUMIDAT1"),
    ] {
        fs::write(root.join(name), content).unwrap();
        files.push(FileDigest {
            name: name.into(),
            size: content.len() as u64,
            sha256: Sha256Digest::of(content),
        });
    }
    Statement {
        recording: RecordingId::channel(Uuid::from_u128(5), 3),
        files,
    }
}

#[test]
fn canonical_text_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let s = statement(tmp.path());
    let text = s.canonical();
    assert_eq!(
        text,
        format!(
            "fumidai recording seal v1\nsession 00000000-0000-0000-0000-000000000005\nchannel 3\n\
             file 2026/02/10/s.cast 5 {}\nfile 2026/02/10/s.data 8 {}\n",
            Sha256Digest::of(b"cast\n"),
            Sha256Digest::of(b"FUMIDAT1")
        )
    );
    assert_eq!(Statement::parse(&text).unwrap(), s);
    let no_channel = Statement {
        recording: RecordingId::session(Uuid::from_u128(5)),
        ..s
    };
    assert_eq!(
        Statement::parse(&no_channel.canonical()).unwrap(),
        no_channel
    );
}

#[test]
fn non_canonical_statements_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let text = statement(tmp.path()).canonical();
    let d = Sha256Digest::of(b"x").to_string();
    let cases = [
        ("", "line 1"),
        ("fumidai recording seal v2\n", "line 1"),
        (&text[..text.len() - 1], "line 5"),
        (&text.replace(" 5 ", " +5 "), "line 0"),
        (&text.replace(" 5 ", " 05 "), "line 0"),
        (
            &text.replace("channel 3\n", "channel 3\nchannel 4\n"),
            "line 4",
        ),
        (&text.replace("session ", "session  "), "line 2"),
        (
            &format!("{text}file ../../etc/passwd 1 {d}\n"),
            "invalid recording file name",
        ),
        (
            &format!("{text}file /etc/passwd 1 {d}\n"),
            "invalid recording file name",
        ),
        (
            &format!("{text}file a//b 1 {d}\n"),
            "invalid recording file name",
        ),
        (&format!("{text}extra\n"), "line 6"),
    ];
    for (bad, want) in cases {
        let err = Statement::parse(bad).unwrap_err().to_string();
        assert!(err.contains(want), "{bad:?}: {err}");
    }
    let upper = text.replace(
        &Sha256Digest::of(b"cast\n").to_string(),
        &Sha256Digest::of(b"cast\n").to_string().to_uppercase(),
    );
    assert!(
        Statement::parse(&upper).is_err(),
        "uppercase hex is not canonical"
    );
}

#[test]
fn signature_binds_the_statement() {
    let tmp = tempfile::tempdir().unwrap();
    let s = statement(tmp.path());
    let sealed = sign(s.clone(), &key());
    let public = key().verifying_key();
    verify(&sealed.statement, &sealed.signature, &public).unwrap();
    assert_eq!(sealed.signature_hex().len(), 128);

    let mut other = s.clone();
    other.files[0].size += 1;
    assert!(matches!(
        verify(&other, &sealed.signature, &public),
        Err(Error::BadSignature)
    ));
    let mut other = s.clone();
    other.recording.channel = None;
    assert!(matches!(
        verify(&other, &sealed.signature, &public),
        Err(Error::BadSignature)
    ));
    let stranger = SigningKey::from_bytes(&[8; 32]).verifying_key();
    assert!(matches!(
        verify(&s, &sealed.signature, &stranger),
        Err(Error::BadSignature)
    ));
}

#[test]
fn changed_files_are_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let s = statement(root);
    verify_files(root, &s).unwrap();
    let cast = root.join("2026/02/10/s.cast");
    let check = |want: Mismatch| match verify_files(root, &s) {
        Err(Error::Tampered { name, mismatch }) => {
            assert_eq!((name.as_str(), mismatch), ("2026/02/10/s.cast", want));
        }
        other => panic!("expected {want:?}, got {other:?}"),
    };
    fs::write(&cast, b"cAst\n").unwrap();
    check(Mismatch::Digest);
    fs::write(&cast, b"cast\nmore\n").unwrap();
    check(Mismatch::Size {
        expected: 5,
        actual: 10,
    });
    fs::remove_file(&cast).unwrap();
    check(Mismatch::Missing);
    fs::write(&cast, b"cast\n").unwrap();
    verify_files(root, &s).unwrap();
}

#[test]
fn from_files_matches_a_sealed_statement() {
    let tmp = tempfile::tempdir().unwrap();
    let s = statement(tmp.path());
    let names: Vec<String> = s.files.iter().map(|f| f.name.clone()).collect();
    assert_eq!(
        Statement::from_files(tmp.path(), s.recording, &names).unwrap(),
        s
    );
    let err = Statement::from_files(tmp.path(), s.recording, &["../x".into()]).unwrap_err();
    assert!(matches!(err, Error::BadFileName));
}
