use super::*;

fn allow(upload: bool, download: bool, content: &[ContentKind]) -> Allowances {
    Allowances {
        upload,
        download,
        content: content.iter().copied().collect(),
        ..Allowances::default()
    }
}

fn zip_with_first_entry(name: &str) -> Vec<u8> {
    let mut head = b"PK\x03\x04".to_vec();
    head.extend_from_slice(&[0u8; 22]);
    let len = u16::try_from(name.len()).unwrap_or(u16::MAX);
    head.extend_from_slice(&len.to_le_bytes());
    head.extend_from_slice(&[0, 0]);
    head.extend_from_slice(name.as_bytes());
    head
}

#[test]
fn content_decides_before_the_name() {
    let mut tar = vec![0u8; 512];
    tar[257..262].copy_from_slice(b"ustar");
    let table: &[(&str, &[u8], Option<ContentKind>)] = &[
        (
            "notes.txt",
            b"\x7fELF\x02\x01\x01",
            Some(ContentKind::Executable),
        ),
        ("notes.txt", b"MZ\x90\0", Some(ContentKind::Executable)),
        (
            "fix.txt",
            b"#!/bin/sh\nrm -rf /\n",
            Some(ContentKind::Script),
        ),
        (
            "a.txt",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            Some(ContentKind::OfficeMacro),
        ),
        ("logs.txt", b"\x1f\x8b\x08\0", Some(ContentKind::Archive)),
        ("x", b"\xfd7zXZ\0\0", Some(ContentKind::Archive)),
        ("x", &tar, Some(ContentKind::Archive)),
        (
            "x",
            &zip_with_first_entry("bin/tool"),
            Some(ContentKind::Archive),
        ),
        (
            "report.docx",
            &zip_with_first_entry("[Content_Types].xml"),
            None,
        ),
        ("sheet.ods", &zip_with_first_entry("mimetype"), None),
        ("notes.txt", b"just text\n", None),
        ("image.png", b"\x89PNG\r\n\x1a\n", None),
        // The name speaks when the content doesn't.
        ("fix.sh", b"echo hi\n", Some(ContentKind::Script)),
        ("SETUP.PS1", b"Write-Host hi", Some(ContentKind::Script)),
        ("C:\\tmp\\tool.EXE", b"", Some(ContentKind::Executable)),
        ("/tmp/book.xlsm", b"", Some(ContentKind::OfficeMacro)),
        ("/tmp/logs.tar.gz", b"", Some(ContentKind::Archive)),
        ("/tmp/.bashrc", b"", None),
        ("/tmp/Makefile", b"", None),
        ("/tmp/dir.d/file", b"", None),
    ];
    for (path, head, expected) in table {
        assert_eq!(classify(path, head), *expected, "{path} {head:?}");
    }
}

#[test]
fn downloads_and_changes_need_the_plan() {
    let none = allow(false, false, &[]);
    assert_eq!(
        download_allowed(&none),
        Err(TransferRefusal::DownloadNotAllowed)
    );
    assert_eq!(
        change_allowed(&none),
        Err(TransferRefusal::UploadNotAllowed)
    );
    assert_eq!(
        upload_allowed(&none, None),
        Err(TransferRefusal::UploadNotAllowed)
    );
    let down = allow(false, true, &[]);
    assert_eq!(download_allowed(&down), Ok(()));
    assert_eq!(
        change_allowed(&down),
        Err(TransferRefusal::UploadNotAllowed)
    );
}

// R-10-6: executables, scripts, macros and archives only when the plan declares them.
#[test]
fn undeclared_content_is_refused_on_upload() {
    let up = allow(true, false, &[]);
    assert_eq!(upload_allowed(&up, None), Ok(()));
    for kind in ContentKind::ALL {
        assert_eq!(
            upload_allowed(&up, Some(kind)),
            Err(TransferRefusal::ContentNotDeclared(kind))
        );
        let declared = allow(true, false, &[kind]);
        assert_eq!(upload_allowed(&declared, Some(kind)), Ok(()));
        for other in ContentKind::ALL.into_iter().filter(|o| *o != kind) {
            assert!(
                upload_allowed(&declared, Some(other)).is_err(),
                "{kind} {other}"
            );
        }
    }
    // Declaring content doesn't stand in for `upload`.
    let no_upload = allow(false, true, &ContentKind::ALL);
    assert_eq!(
        upload_allowed(&no_upload, Some(ContentKind::Script)),
        Err(TransferRefusal::UploadNotAllowed)
    );
}

#[test]
fn unseen_uploads_pass_only_when_everything_is_declared() {
    assert_eq!(
        unseen_upload_allowed(&allow(true, false, &[ContentKind::Executable])),
        Err(TransferRefusal::ContentUnseen)
    );
    assert_eq!(
        unseen_upload_allowed(&allow(true, false, &ContentKind::ALL)),
        Ok(())
    );
    assert_eq!(
        unseen_upload_allowed(&allow(false, false, &ContentKind::ALL)),
        Err(TransferRefusal::UploadNotAllowed)
    );
}

#[test]
fn content_kinds_round_trip_as_a_list() {
    let set: ContentKinds = [ContentKind::Archive, ContentKind::Executable]
        .into_iter()
        .collect();
    assert_eq!(set.to_list(), "executable,archive");
    assert_eq!(ContentKinds::from_list("executable,archive"), Ok(set));
    assert_eq!(ContentKinds::from_list(""), Ok(ContentKinds::NONE));
    assert!(ContentKinds::from_list("executable,worm").is_err());
    let json = serde_json::to_string(&set).unwrap_or_default();
    assert_eq!(json, r#"["executable","archive"]"#);
    assert_eq!(serde_json::from_str::<ContentKinds>(&json).ok(), Some(set));
}

#[test]
fn a_macro_part_is_found_even_split_across_chunks() {
    let doc = b"PK\x03\x04....word/document.xml....PK\x03\x04....word/vbaProject.bin....";
    for split in 0..doc.len() {
        let (a, b) = doc.split_at(split);
        let mut scan = MacroScan::new();
        let found = scan.feed(a) | scan.feed(b);
        assert!(found, "split at {split}");
    }
    let mut clean = MacroScan::new();
    assert!(!clean.feed(b"PK\x03\x04word/document.xml"));
    assert!(!clean.feed(b"vbaProject"));
    assert!(!clean.feed(b".txt"));
    // Tiny chunks, one byte at a time.
    let mut slow = MacroScan::new();
    let mut found = false;
    for b in doc {
        found |= slow.feed(&[*b]);
    }
    assert!(found);
}

#[test]
fn refusal_messages_are_bilingual_and_name_the_switch() {
    let m = TransferRefusal::ContentNotDeclared(ContentKind::Executable).message();
    assert!(
        m.contains("実行ファイル") && m.contains("--allow executable"),
        "{m}"
    );
    assert!(!m.contains('\n'));
    assert!(
        TransferRefusal::DownloadNotAllowed
            .message()
            .contains("ダウンロード")
    );
}
