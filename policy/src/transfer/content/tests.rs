//! Issue 11, reproduction 4 and deliverable 1: archives judged by their entries (R-10-6).

mod build;

use build::{Method, TarStyle, ZipEntry, elf, gzip, tar, tar_data, tar_header, text, zip};

use super::*;
use crate::transfer::ContentKind::{Archive, Executable, OfficeMacro, Script};

fn kinds(list: &[ContentKind]) -> ContentKinds {
    list.iter().copied().collect()
}

/// Feeds `bytes` in chunks of `chunk` bytes; the verdict and why it is unreadable.
fn judge_in(
    path: &str,
    bytes: &[u8],
    chunk: usize,
    bounds: Bounds,
) -> (Judgement, Option<Unreadable>) {
    let mut judge = ContentJudge::with_bounds(path, bounds);
    for piece in bytes.chunks(chunk.max(1)) {
        judge.feed(piece);
    }
    let judgement = judge.finish();
    (judgement, judge.found.unreadable)
}

fn judge(path: &str, bytes: &[u8]) -> (Judgement, Option<Unreadable>) {
    judge_in(path, bytes, bytes.len(), Bounds::DEFAULT)
}

fn docx_with(extra: Vec<ZipEntry>) -> Vec<u8> {
    let mut entries = vec![
        ZipEntry::new(
            "word/document.xml",
            &text("<w:document>hello</w:document>"),
            Method::Deflated,
        ),
        ZipEntry::new("[Content_Types].xml", b"<Types></Types>", Method::Deflated),
    ];
    entries.extend(extra);
    zip(&entries)
}

fn nested_zips(levels: usize, inner: &[u8]) -> Vec<u8> {
    (0..levels).fold(inner.to_vec(), |data, i| {
        zip(&[ZipEntry::new(
            &format!("level{i}.zip"),
            &data,
            Method::Deflated,
        )])
    })
}

struct Case {
    what: &'static str,
    path: &'static str,
    bytes: Vec<u8>,
    kinds: ContentKinds,
    unreadable: Option<Unreadable>,
}

fn case(
    what: &'static str,
    path: &'static str,
    bytes: Vec<u8>,
    found: &[ContentKind],
    unreadable: Option<Unreadable>,
) -> Case {
    Case {
        what,
        path,
        bytes,
        kinds: kinds(found),
        unreadable,
    }
}

/// The archives every judging test runs over, one-shot and chunked.
fn cases() -> Vec<Case> {
    let elf = elf();
    let mut descriptor_elf = ZipEntry::new("bin/tool", &elf, Method::Deflated);
    descriptor_elf.descriptor = true;
    let mut descriptor_stored = ZipEntry::new("notes.txt", b"hello", Method::Stored);
    descriptor_stored.descriptor = true;
    let mut encrypted = ZipEntry::new("secret.txt", &text("hello "), Method::Stored);
    encrypted.encrypted = true;
    let mut renamed = ZipEntry::new("notes.txt", b"hello", Method::Stored);
    renamed.central_name = Some("setup.exe".to_owned());

    let docx = docx_with(vec![]);
    let docx_elf = docx_with(vec![ZipEntry::new(
        "word/media/tool",
        &elf,
        Method::Deflated,
    )]);
    let mut misplaced = zip(&[ZipEntry::new("notes.txt", b"hello", Method::Stored)]);
    let central = misplaced
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .unwrap();
    misplaced[central + 42] = 1;

    let mut long_name = tar_header("././@LongLink", 40, b'L', TarStyle::Ustar);
    tar_data(
        &mut long_name,
        b"a/very/long/path/that/ends/in/setup.sh\0\0",
    );
    long_name.extend(tar_header("a/very/long", 8, b'0', TarStyle::Ustar));
    tar_data(&mut long_name, b"echo hi\n");
    long_name.extend([0; 1024]);

    let record = "21 path=tools/fix.py\n";
    let mut pax = tar_header("PaxHeaders/fix", record.len(), b'x', TarStyle::Ustar);
    tar_data(&mut pax, record.as_bytes());
    pax.extend(tar_header("fix", 6, b'0', TarStyle::Ustar));
    tar_data(&mut pax, b"print(1)");
    pax.extend([0; 1024]);

    let mut symlink_with_data = tar_header("link", 512, b'2', TarStyle::Ustar);
    symlink_with_data.extend(tar_header("tool", elf.len(), b'0', TarStyle::Ustar));
    tar_data(&mut symlink_with_data, &elf);

    let v7_elf = tar(
        &[("readme.txt", &text("hi ")), ("tool", &elf)],
        TarStyle::V7,
    );
    let mut unended_tar = v7_elf.clone();
    unended_tar.truncate(unended_tar.len() - 1024);
    let mut cut_tar = v7_elf.clone();
    cut_tar.truncate(512 * 6 + 600);

    let mut seven_zip = b"7z\xbc\xaf\x27\x1c\0\x04".to_vec();
    seven_zip.resize(600, 0);
    let mut gzip_garbage = gzip(b"hello", None);
    gzip_garbage.extend_from_slice(b"junk");
    let mut gzip_zeros = gzip(b"hello", None);
    gzip_zeros.extend_from_slice(&[0; 300]);

    vec![
        case("a plain .docx", "report.docx", docx.clone(), &[], None),
        case(
            "a .docx (first entry word/document.xml) carrying an ELF",
            "report.docx",
            docx_elf.clone(),
            &[Executable],
            None,
        ),
        case(
            "a v7 tar (no magic) named .dat carrying an ELF",
            "backup.dat",
            v7_elf.clone(),
            &[Archive, Executable],
            None,
        ),
        case(
            "a ustar entry named .sh without #!",
            "logs.tar",
            tar(&[("bin/run.sh", b"rm -rf /tmp/x\n")], TarStyle::Ustar),
            &[Archive, Script],
            None,
        ),
        case(
            "a ustar entry with #! named .txt",
            "logs.dat",
            tar(&[("notes.txt", b"#!/bin/sh\necho\n")], TarStyle::Ustar),
            &[Archive, Script],
            None,
        ),
        case(
            "a .tgz carrying an ELF",
            "tools.tgz",
            gzip(&tar(&[("tool", &elf)], TarStyle::Ustar), None),
            &[Archive, Executable],
            None,
        ),
        case(
            "a gzip whose FNAME is a script",
            "data.gz",
            gzip(&text("echo hi; "), Some("evil.sh")),
            &[Archive, Script],
            None,
        ),
        case(
            "a gzip of text, trailing zeros",
            "log.gz",
            gzip_zeros,
            &[Archive],
            None,
        ),
        case(
            "a gzip with trailing garbage",
            "log.gz",
            gzip_garbage,
            &[Archive],
            Some(Unreadable::Corrupt),
        ),
        case(
            "a ZIP in a ZIP carrying an ELF",
            "bundle.zip",
            nested_zips(2, &zip(&[ZipEntry::new("tool", &elf, Method::Stored)])),
            &[Archive, Executable],
            None,
        ),
        case(
            "a ZIP inside a .docx carrying an ELF",
            "report.docx",
            docx_with(vec![ZipEntry::new(
                "word/embeddings/pack.bin",
                &zip(&[ZipEntry::new("tool", &elf, Method::Deflated)]),
                Method::Stored,
            )]),
            &[Archive, Executable],
            None,
        ),
        case(
            "a .docm packed (deflated) inside a ZIP",
            "bundle.zip",
            zip(&[ZipEntry::new(
                "inner.bin",
                &docx_with(vec![ZipEntry::new(
                    "word/vbaProject.bin",
                    &text("macro"),
                    Method::Deflated,
                )]),
                Method::Deflated,
            )]),
            &[Archive, OfficeMacro],
            None,
        ),
        case(
            "archives nested past the depth bound",
            "deep.zip",
            nested_zips(6, b"hello"),
            &[Archive],
            Some(Unreadable::TooDeep),
        ),
        case(
            "a data-descriptor entry (deflated) carrying an ELF",
            "report.docx",
            docx_with(vec![descriptor_elf]),
            &[Executable],
            None,
        ),
        case(
            "a stored data-descriptor entry",
            "report.docx",
            docx_with(vec![descriptor_stored]),
            &[],
            Some(Unreadable::UnknownSize),
        ),
        case(
            "an encrypted entry",
            "report.docx",
            docx_with(vec![encrypted]),
            &[],
            Some(Unreadable::Encrypted),
        ),
        case(
            "a bzip2 entry",
            "report.docx",
            docx_with(vec![ZipEntry::new("tool", &elf, Method::Bzip2)]),
            &[],
            Some(Unreadable::Method),
        ),
        case(
            "a central directory naming another file than the local header",
            "report.docx",
            docx_with(vec![renamed]),
            &[Executable],
            None,
        ),
        case(
            "a central directory pointing where no entry was",
            "notes.zip",
            misplaced,
            &[Archive],
            Some(Unreadable::Corrupt),
        ),
        case(
            "a truncated .docx",
            "report.docx",
            docx_elf[..docx_elf.len() - 40].to_vec(),
            &[Executable],
            Some(Unreadable::Truncated),
        ),
        case(
            "a .docx cut inside an entry",
            "report.docx",
            docx[..200].to_vec(),
            &[],
            Some(Unreadable::Truncated),
        ),
        case(
            "a tar without its zero blocks",
            "backup.dat",
            unended_tar,
            &[Archive, Executable],
            None,
        ),
        case(
            "a tar cut inside an ELF entry",
            "backup.dat",
            cut_tar,
            &[Archive, Executable],
            Some(Unreadable::Truncated),
        ),
        case(
            "a GNU long name ending in .sh",
            "logs.tar",
            long_name,
            &[Archive, Script],
            None,
        ),
        case(
            "a pax path ending in .py",
            "logs.tar",
            pax,
            &[Archive, Script],
            None,
        ),
        case(
            "a symlink entry with data (headers hidden from one tar)",
            "logs.tar",
            symlink_with_data,
            &[Archive],
            Some(Unreadable::Corrupt),
        ),
        case(
            "a format the judge can't open",
            "x.7z",
            seven_zip,
            &[Archive],
            Some(Unreadable::Format),
        ),
        case(
            "an ELF named .txt, not an archive",
            "notes.txt",
            elf.clone(),
            &[Executable],
            None,
        ),
        case(
            "text named .sh: the name counts",
            "fix.sh",
            text("echo "),
            &[Script],
            None,
        ),
    ]
}

#[test]
fn archives_are_judged_by_their_entries() {
    for case in cases() {
        let (judgement, why) = judge(case.path, &case.bytes);
        assert_eq!(judgement.kinds, case.kinds, "{}", case.what);
        assert_eq!(why, case.unreadable, "{}", case.what);
        assert_eq!(
            judgement.unreadable,
            case.unreadable.is_some(),
            "{}",
            case.what
        );
    }
}

#[test]
fn chunking_never_changes_the_verdict() {
    for case in cases() {
        let whole = judge(case.path, &case.bytes);
        for chunk in 1..=case.bytes.len() {
            let chunked = judge_in(case.path, &case.bytes, chunk, Bounds::DEFAULT);
            assert_eq!(chunked, whole, "{} in chunks of {chunk}", case.what);
        }
    }
}

#[test]
fn splitting_anywhere_never_changes_the_verdict() {
    for case in cases() {
        let whole = judge(case.path, &case.bytes);
        for at in 0..=case.bytes.len() {
            let (first, second) = case.bytes.split_at(at);
            let mut judge = ContentJudge::new(case.path);
            judge.feed(first);
            judge.feed(second);
            let split = (judge.finish(), judge.found.unreadable);
            assert_eq!(split, whole, "{} split at {at}", case.what);
        }
    }
}

#[test]
fn every_cut_of_an_archive_is_unreadable() {
    // Whatever point an upload stops at, the judge never calls a half archive clean.
    let tgz = gzip(&tar(&[("tool", &elf())], TarStyle::Ustar), None);
    let docx = docx_with(vec![ZipEntry::new(
        "word/media/tool",
        &elf(),
        Method::Deflated,
    )]);
    for (path, bytes) in [("tools.tgz", tgz), ("report.docx", docx)] {
        // From the fourth byte on, the format's magic is there.
        for cut in 4..bytes.len() {
            let (judgement, _) = judge(path, &bytes[..cut]);
            assert!(judgement.unreadable, "{path} cut at {cut}");
        }
    }
}

#[test]
fn inflating_past_the_bound_is_unreadable() {
    let zeros = vec![0u8; 4 << 20];
    let small = Bounds {
        inflated: 1 << 20,
        ..Bounds::DEFAULT
    };
    let bomb = gzip(&zeros, None);
    assert!(bomb.len() < 16 * 1024, "a bomb: small in, large out");
    assert_eq!(
        judge_in("zeros.gz", &bomb, 4096, small).1,
        Some(Unreadable::TooLarge)
    );
    assert_eq!(judge_in("zeros.gz", &bomb, 4096, Bounds::DEFAULT).1, None);

    // A ZIP entry whose end is found only by inflating it is bounded too.
    let mut entry = ZipEntry::new("zeros.bin", &zeros, Method::Deflated);
    entry.descriptor = true;
    let bomb = zip(&[entry]);
    assert_eq!(
        judge_in("zeros.zip", &bomb, 4096, small).1,
        Some(Unreadable::TooLarge)
    );
    assert_eq!(judge_in("zeros.zip", &bomb, 4096, Bounds::DEFAULT).1, None);
}

#[test]
fn entries_past_the_bound_are_unreadable() {
    let files: Vec<(String, Vec<u8>)> = (0..10)
        .map(|i| (format!("f{i}.txt"), b"hi".to_vec()))
        .collect();
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let archive = tar(&files, TarStyle::Ustar);
    let few = Bounds {
        entries: 5,
        ..Bounds::DEFAULT
    };
    let bytes = archive.len();
    assert_eq!(
        judge_in("x.tar", &archive, bytes, few).1,
        Some(Unreadable::TooManyEntries)
    );
    assert_eq!(judge_in("x.tar", &archive, bytes, Bounds::DEFAULT).1, None);
}

#[test]
fn kinds_are_known_while_the_archive_still_streams() {
    // The gateway refuses mid-upload: an ELF entry is certain once its head has passed.
    let docx = docx_with(vec![ZipEntry::new(
        "word/media/tool",
        &elf(),
        Method::Deflated,
    )]);
    // Cut where the central directory starts: every entry has passed, the archive hasn't
    // ended (how far an inflater runs ahead of a cut inside an entry depends on its backend).
    let central = docx
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .expect("a central directory");
    let mut judge = ContentJudge::new("report.docx");
    judge.feed(&docx[..central]);
    // With miniz_oxide the ELF is known here; with C zlib (the workspace's flate2 backend,
    // unified from another dependency) only at the end. Either way no later than the end,
    // and never a kind the whole file doesn't have.
    let streaming = judge.kinds();
    assert!(
        streaming == kinds(&[Executable]) || streaming == kinds(&[]),
        "{streaming:?}"
    );
    judge.feed(&docx[central..]);
    assert_eq!(judge.finish().kinds, kinds(&[Executable]));
}

#[test]
fn macros_in_a_docx_are_still_found() {
    let docm = docx_with(vec![ZipEntry::new(
        "word/vbaProject.bin",
        &text("macro"),
        Method::Deflated,
    )]);
    let (judgement, why) = judge("report.docx", &docm);
    assert_eq!(judgement.kinds, kinds(&[OfficeMacro]));
    assert_eq!(why, None);
}

#[test]
fn v7_tar_is_recognised_by_its_checksum_only() {
    let header = tar_header("tool", 10, b'0', TarStyle::V7);
    assert!(tar::recognise(&header));
    let mut broken = header.clone();
    broken[0] ^= 1;
    assert!(!tar::recognise(&broken), "a checksum that doesn't match");
    assert!(!tar::recognise(&[0; 512]), "zeros");
    assert!(!tar::recognise(&text("hello ")), "text");
}

#[test]
fn unreadable_archives_need_archive_declared() {
    let allow = |content: &[ContentKind]| Allowances {
        upload: true,
        content: content.iter().copied().collect(),
        ..Allowances::default()
    };
    let unreadable = Judgement {
        kinds: ContentKinds::NONE,
        unreadable: true,
    };
    let exe = Judgement {
        kinds: kinds(&[Archive, Executable]),
        unreadable: true,
    };
    let table: &[(&Allowances, &Judgement, Result<(), TransferRefusal>)] = &[
        (
            &allow(&[]),
            &unreadable,
            Err(TransferRefusal::ArchiveUnreadable),
        ),
        (&allow(&[Archive]), &unreadable, Ok(())),
        (
            &allow(&[Archive]),
            &exe,
            Err(TransferRefusal::ContentNotDeclared(Executable)),
        ),
        (&allow(&[Archive, Executable]), &exe, Ok(())),
        (
            &Allowances::default(),
            &unreadable,
            Err(TransferRefusal::UploadNotAllowed),
        ),
    ];
    for (allow, judgement, verdict) in table {
        assert_eq!(
            judged_upload_allowed(allow, judgement),
            *verdict,
            "{judgement:?}"
        );
    }
}

#[test]
fn an_execute_bit_makes_a_program() {
    assert_eq!(made_executable(kinds(&[Executable, Archive])), Executable);
    assert_eq!(made_executable(ContentKinds::NONE), Script);
}
