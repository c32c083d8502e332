//! The inspector against a simulated target (`tests/target.rs`): every test checks what the
//! engineer was answered, what went on record, and what the target holds afterwards.

mod target;

use policy::transfer::ContentKinds;
use sha2::{Digest, Sha256};

use self::target::FakeTarget;
use super::*;
use crate::proxy::sftp::wire::{WireError, build};

fn allow(upload: bool, download: bool, content: &[ContentKind]) -> Allowances {
    Allowances {
        upload,
        download,
        content: content.iter().copied().collect::<ContentKinds>(),
        ..Allowances::default()
    }
}

const WRITE: u32 = pflags::WRITE | pflags::CREAT | pflags::TRUNC;

fn elf(len: usize) -> Vec<u8> {
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.resize(len, 0x90);
    elf
}

/// The engineer's packets through one inspector to a simulated target, and its replies
/// back, until nothing is in flight.
struct Scene {
    inspector: SftpInspector,
    target: FakeTarget,
    /// Everything the inspector asked for, in order.
    actions: Vec<Action>,
    /// Replies the engineer got, by request ID.
    replies: Vec<Bytes>,
    /// Scan verdicts asked for (the test answers them).
    verdicts: Vec<u64>,
}

impl Scene {
    fn new(allow: Allowances) -> Self {
        Self::with(allow, FakeTarget::default().with_dir("/tmp"), false)
    }

    fn with(allow: Allowances, target: FakeTarget, scanning: bool) -> Self {
        let mut scene = Self {
            inspector: SftpInspector::new(allow, scanning),
            target,
            actions: Vec::new(),
            replies: Vec::new(),
            verdicts: Vec::new(),
        };
        scene.send(&build::init()).unwrap();
        scene
    }

    /// Sends one packet of the engineer's; `Err` when the inspector ends the channel.
    fn send(&mut self, packet: &[u8]) -> Result<(), Violation> {
        let actions = self.inspector.from_engineer(packet)?;
        self.run(actions)
    }

    /// The reply to the engineer's request `id`, if one came.
    fn reply(&self, id: u32) -> Option<(u8, Option<u32>, Bytes)> {
        self.replies.iter().find_map(|p| {
            let mut f = Fields::of(p).ok()?;
            let op = f.kind();
            if op == kind::VERSION || f.u32().ok()? != id {
                return None;
            }
            let code = (op == kind::STATUS).then(|| f.u32().ok()).flatten();
            Some((op, code, p.clone()))
        })
    }

    fn status(&self, id: u32) -> Option<u32> {
        self.reply(id).and_then(|(_, code, _)| code)
    }

    fn handle(&self, id: u32) -> Option<Bytes> {
        let (op, _, packet) = self.reply(id)?;
        (op == kind::HANDLE).then(|| {
            let mut f = Fields::of(&packet).ok()?;
            f.u32().ok()?;
            Some(Bytes::copy_from_slice(f.string().ok()?))
        })?
    }

    fn run(&mut self, actions: Vec<Action>) -> Result<(), Violation> {
        let mut queue = std::collections::VecDeque::from(actions);
        while let Some(action) = queue.pop_front() {
            self.actions.push(action.clone());
            match action {
                Action::ToTarget(packet) => {
                    let answer = self.target.answer(&packet);
                    queue.extend(self.inspector.from_target(&answer)?);
                }
                Action::ToEngineer(packet) => self.replies.push(packet),
                Action::ScanVerdict { file } => self.verdicts.push(file),
                _ => {}
            }
        }
        Ok(())
    }

    fn transfers(&self) -> Vec<TransferRecord> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Transfer(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    fn changes(&self) -> Vec<FileChange> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Change(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    fn told(&self, text: &str) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, Action::Tell(m) if m.contains(text)))
    }

    /// Opens `path` with `flags` as request `id`: the handle, when the target gave one.
    fn open(&mut self, id: u32, path: &str, flags: u32) -> Option<Bytes> {
        self.send(&build::open(id, path, flags)).unwrap();
        self.handle(id)
    }

    /// Uploads `content` as OpenSSH's `sftp put` does: the status of the `CLOSE`.
    fn upload(&mut self, path: &str, content: &[u8]) -> Option<u32> {
        let Some(handle) = self.open(1, path, WRITE) else {
            return self.status(1);
        };
        for (i, chunk) in content.chunks(32 * 1024).enumerate() {
            let id = 10 + u32::try_from(i).unwrap();
            let offset = (i * 32 * 1024) as u64;
            self.send(&build::write(id, &handle, offset, chunk))
                .unwrap();
        }
        self.send(&build::close(2, &handle)).unwrap();
        self.status(2)
    }
}

#[test]
fn an_upload_is_staged_then_renamed_into_place_and_recorded_with_its_sha256() {
    let mut s = Scene::new(allow(true, false, &[]));
    let content: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
    assert_eq!(s.upload("/tmp/data.csv", &content), Some(status::OK));
    assert_eq!(s.target.file("/tmp/data.csv").unwrap().0, &content[..]);
    assert!(s.target.temp_files().is_empty(), "{:?}", s.target.entries);
    let t = s.transfers();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].direction, TransferDirection::Upload);
    assert_eq!(t[0].path, "/tmp/data.csv");
    assert_eq!(t[0].size, content.len() as u64);
    assert_eq!(t[0].outcome, TransferOutcome::Completed);
    let digest = t[0].sha256.unwrap().to_string();
    assert_eq!(digest, hex::encode(Sha256::digest(&content)));
}

#[test]
fn a_download_is_recorded_from_the_targets_data() {
    let target = FakeTarget::default().with_file("/var/log/app.log", b"abcdef", 0o644);
    let mut s = Scene::with(allow(false, true, &[]), target, false);
    let h = s.open(1, "/var/log/app.log", pflags::READ).unwrap();
    s.send(&build::read(5, &h, 0, 4)).unwrap();
    s.send(&build::read(6, &h, 4, 4)).unwrap();
    s.send(&build::read(7, &h, 6, 4)).unwrap();
    assert_eq!(s.status(7), Some(status::EOF));
    s.send(&build::close(8, &h)).unwrap();
    let t = s.transfers();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].direction, TransferDirection::Download);
    assert_eq!(t[0].size, 6);
    assert_eq!(
        t[0].sha256.unwrap().to_string(),
        hex::encode(Sha256::digest(b"abcdef"))
    );
}

// §7 ②, reproduction 2: a handle that can read is a download, whatever else it can do.
#[test]
fn any_handle_that_can_read_needs_download() {
    let target = FakeTarget::default().with_file("/srv/patients.csv", b"secret", 0o644);
    let mut s = Scene::with(allow(true, false, &ContentKind::ALL), target, false);
    for (id, flags) in [
        (1, pflags::READ),
        (2, 0),
        (3, pflags::READ | pflags::WRITE),
        (
            4,
            pflags::READ | pflags::WRITE | pflags::CREAT | pflags::TRUNC,
        ),
    ] {
        assert_eq!(
            s.open(id, "/srv/patients.csv", flags),
            None,
            "pflags {flags:#x}"
        );
        assert_eq!(s.status(id), Some(status::PERMISSION_DENIED));
    }
    assert!(s.told("ダウンロード"));
    let t = s.transfers();
    assert!(t.iter().all(|t| t.outcome == TransferOutcome::Refused));
    assert_eq!(t[0].reason.as_deref(), Some("download_not_allowed"));
    assert_eq!(t[0].direction, TransferDirection::Download);
    assert_eq!(s.target.file("/srv/patients.csv").unwrap().0, b"secret");
}

#[test]
fn uploads_and_changes_are_refused_without_upload_in_the_plan() {
    let target = FakeTarget::default()
        .with_dir("/tmp")
        .with_file("/etc/passwd", b"root", 0o644)
        .with_file("/a", b"a", 0o644);
    let mut s = Scene::with(allow(false, true, &[]), target, false);
    assert_eq!(s.open(1, "/tmp/x", WRITE), None);
    assert_eq!(s.open(9, "/a", pflags::WRITE), None);
    for (id, packet) in [
        (2, build::path_op(kind::REMOVE, 2, "/etc/passwd")),
        (3, build::path_op(kind::MKDIR, 3, "/tmp/d")),
        (4, build::path_op(kind::RMDIR, 4, "/tmp")),
        (5, build::rename(5, "/a", "/b")),
        (
            6,
            build::extended(
                6,
                "posix-rename@openssh.com",
                &[&build::string(b"/a"), &build::string(b"/b")],
            ),
        ),
        (7, build::setstat(7, "/a", 0o600)),
    ] {
        s.send(&packet).unwrap();
        assert_eq!(
            s.status(id),
            Some(status::PERMISSION_DENIED),
            "request {id}"
        );
    }
    // The target is as it was; looking around is not a change.
    assert_eq!(s.target.entries.len(), 3);
    s.send(&build::path_op(kind::STAT, 8, "/etc")).unwrap();
    assert_eq!(s.reply(8).map(|r| r.0), Some(kind::STATUS));
}

// R-10-6, reproduction 7: a refused upload leaves nothing, not even a truncated file.
#[test]
fn an_elf_upload_is_refused_whatever_its_name_and_leaves_the_old_file_untouched() {
    let target = FakeTarget::default().with_dir("/tmp").with_file(
        "/tmp/readme.txt",
        b"the old readme",
        0o644,
    );
    let mut s = Scene::with(allow(true, false, &[]), target, false);
    let denied = s.upload("/tmp/readme.txt", &elf(100_000));
    assert_eq!(denied, Some(status::PERMISSION_DENIED));
    assert!(s.told("実行ファイル") || s.told("executable"));
    assert_eq!(
        s.target.file("/tmp/readme.txt").unwrap().0,
        b"the old readme"
    );
    assert!(s.target.temp_files().is_empty(), "{:?}", s.target.entries);
    let t = s.transfers();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].outcome, TransferOutcome::Refused);
    assert_eq!(t[0].reason.as_deref(), Some("executable_not_declared"));
    assert_eq!(t[0].sha256, None);

    let mut declared = Scene::new(allow(true, false, &[ContentKind::Executable]));
    assert_eq!(
        declared.upload("/tmp/tool", &elf(100_000)),
        Some(status::OK)
    );
    assert_eq!(declared.transfers()[0].outcome, TransferOutcome::Completed);
    assert_eq!(
        declared.target.file("/tmp/tool").unwrap().0,
        &elf(100_000)[..]
    );
}

// Reproduction 3: the head rewritten after the fact is judged on the final content.
#[test]
fn a_head_rewritten_at_offset_zero_is_judged_on_what_the_target_holds() {
    for (first, fix, kind) in [
        (
            &b"?ELF\x02\x01\x01\0"[..],
            &b"\x7f"[..],
            "executable_not_declared",
        ),
        (&b"X!/bin/sh\nid\n"[..], &b"#"[..], "script_not_declared"),
    ] {
        let mut s = Scene::new(allow(true, false, &[]));
        let h = s.open(1, "/tmp/notes", WRITE).unwrap();
        let mut body = first.to_vec();
        body.resize(4096, b'a');
        s.send(&build::write(2, &h, 0, &body)).unwrap();
        s.send(&build::write(3, &h, 0, fix)).unwrap();
        assert_eq!(s.status(3), Some(status::OK));
        s.send(&build::close(4, &h)).unwrap();
        assert_eq!(s.status(4), Some(status::PERMISSION_DENIED), "{kind}");
        assert!(s.target.file("/tmp/notes").is_none());
        assert!(s.target.temp_files().is_empty(), "{:?}", s.target.entries);
        let t = s.transfers();
        assert_eq!(t[0].reason.as_deref(), Some(kind));
    }
}

#[test]
fn writes_out_of_order_are_judged_by_reading_the_file_back() {
    let mut s = Scene::new(allow(true, false, &[]));
    let h = s.open(1, "/tmp/data.bin", WRITE).unwrap();
    let content: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    s.send(&build::write(2, &h, 40_000, &content[40_000..]))
        .unwrap();
    s.send(&build::write(3, &h, 0, &content[..40_000])).unwrap();
    s.send(&build::close(4, &h)).unwrap();
    assert_eq!(s.status(4), Some(status::OK));
    assert_eq!(s.target.file("/tmp/data.bin").unwrap().0, &content[..]);
    let t = s.transfers();
    assert_eq!(t[0].outcome, TransferOutcome::Completed);
    assert_eq!(
        t[0].sha256.unwrap().to_string(),
        hex::encode(Sha256::digest(&content))
    );
}

#[test]
fn uploads_changed_in_place_need_every_kind_declared() {
    let target = FakeTarget::default().with_file("/tmp/y", b"old", 0o644);
    let mut s = Scene::with(allow(true, false, &[]), target, false);
    assert_eq!(s.open(1, "/tmp/x", pflags::WRITE | pflags::APPEND), None);
    // Opening for writing changes nothing yet; writing in place is refused, and the file
    // stays as it was.
    let h = s.open(2, "/tmp/y", pflags::WRITE).unwrap();
    s.send(&build::write(3, &h, 0, b"new")).unwrap();
    assert_eq!(s.status(3), Some(status::PERMISSION_DENIED));
    s.send(&build::close(4, &h)).unwrap();
    assert_eq!(s.status(4), Some(status::OK));
    assert_eq!(s.target.file("/tmp/y").unwrap().0, b"old");
    assert_eq!(
        s.transfers().last().unwrap().reason.as_deref(),
        Some("content_unseen")
    );
    let target = FakeTarget::default().with_file("/tmp/y", b"old", 0o644);
    let mut all = Scene::with(allow(true, false, &ContentKind::ALL), target, false);
    assert!(all.open(2, "/tmp/y", pflags::WRITE).is_some());
}

// Reproduction 4: names a change gives a file are judged like an upload's.
#[test]
fn links_and_renames_are_judged_by_the_name_they_give() {
    let target =
        FakeTarget::default()
            .with_dir("/tmp")
            .with_file("/tmp/fix.txt", b"rm -rf /", 0o644);
    let mut s = Scene::with(allow(true, false, &[]), target, false);
    for (id, packet) in [
        (1, build::rename(1, "/tmp/fix.txt", "/tmp/fix.sh")),
        (
            2,
            build::extended(
                2,
                "posix-rename@openssh.com",
                &[
                    &build::string(b"/tmp/fix.txt"),
                    &build::string(b"/tmp/x.php"),
                ],
            ),
        ),
        (
            3,
            build::extended(
                3,
                "hardlink@openssh.com",
                &[
                    &build::string(b"/tmp/fix.txt"),
                    &build::string(b"/tmp/x.py"),
                ],
            ),
        ),
        // OpenSSH's order: the link's target, then the link. Either name may be refused.
        (4, symlink(4, "/tmp/shell.php", "/tmp/notes.txt")),
        (5, symlink(5, "/tmp/notes.txt", "/tmp/run.sh")),
    ] {
        s.send(&packet).unwrap();
        assert_eq!(
            s.status(id),
            Some(status::PERMISSION_DENIED),
            "request {id}"
        );
    }
    assert_eq!(s.target.entries.len(), 2, "{:?}", s.target.entries);
    assert!(s.changes().iter().all(|c| c.refused.is_some()));
    s.send(&build::rename(6, "/tmp/fix.txt", "/tmp/fix.conf"))
        .unwrap();
    assert_eq!(s.status(6), Some(status::OK));
    assert!(s.target.file("/tmp/fix.conf").is_some());
}

fn symlink(id: u32, target: &str, link: &str) -> Bytes {
    let mut body = vec![kind::SYMLINK];
    body.extend_from_slice(&id.to_be_bytes());
    body.extend_from_slice(&build::string(target.as_bytes()));
    body.extend_from_slice(&build::string(link.as_bytes()));
    let mut packet = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    Bytes::from(packet)
}

// Reproduction 4: an execute bit makes a file a program.
#[test]
fn an_execute_bit_is_judged_like_an_upload_of_a_program() {
    let target = FakeTarget::default()
        .with_dir("/tmp")
        .with_dir("/tmp/d")
        .with_file("/tmp/old", b"echo hi", 0o644);
    let mut s = Scene::with(allow(true, false, &[]), target, false);
    // A script with no #! and no telling name, uploaded, then chmod 755.
    assert_eq!(
        s.upload("/tmp/tool", b"id > /tmp/pwned\n"),
        Some(status::OK)
    );
    s.send(&build::setstat(3, "/tmp/tool", 0o755)).unwrap();
    assert_eq!(s.status(3), Some(status::PERMISSION_DENIED));
    assert_eq!(s.target.file("/tmp/tool").unwrap().1, 0o644);
    // A file this channel didn't write: the target says what it is first.
    s.send(&build::setstat(4, "/tmp/old", 0o700)).unwrap();
    assert_eq!(s.status(4), Some(status::PERMISSION_DENIED));
    assert_eq!(s.target.file("/tmp/old").unwrap().1, 0o644);
    // A directory may be made searchable.
    s.send(&build::setstat(5, "/tmp/d", 0o755)).unwrap();
    assert_eq!(s.status(5), Some(status::OK));
    // Created executable, or made so through the handle: judged at the close.
    s.send(&build::open_with(6, "/tmp/t2", WRITE, 0o755))
        .unwrap();
    let h = s.handle(6).unwrap();
    s.send(&build::write(7, &h, 0, b"id\n")).unwrap();
    s.send(&build::close(8, &h)).unwrap();
    assert_eq!(s.status(8), Some(status::PERMISSION_DENIED));
    assert!(s.target.file("/tmp/t2").is_none());
    assert!(s.target.temp_files().is_empty());
    // Declared: it goes through.
    let mut ok = Scene::new(allow(true, false, &[ContentKind::Script]));
    assert_eq!(ok.upload("/tmp/tool", b"id\n"), Some(status::OK));
    ok.send(&build::setstat(3, "/tmp/tool", 0o755)).unwrap();
    assert_eq!(ok.status(3), Some(status::OK));
    assert_eq!(ok.target.file("/tmp/tool").unwrap().1, 0o755);
}

#[test]
fn a_docx_with_a_macro_part_is_refused() {
    let mut doc = b"PK\x03\x04".to_vec();
    doc.extend_from_slice(&[0u8; 22]);
    doc.extend_from_slice(&19u16.to_le_bytes());
    doc.extend_from_slice(&[0, 0]);
    doc.extend_from_slice(b"[Content_Types].xml");
    doc.resize(70_000, b'x');
    doc.extend_from_slice(b"PK\x03\x04....word/vbaProject.bin");
    doc.resize(140_000, b'y');
    let mut s = Scene::new(allow(true, false, &[]));
    assert_eq!(
        s.upload("/tmp/report.docx", &doc),
        Some(status::PERMISSION_DENIED)
    );
    assert!(s.target.file("/tmp/report.docx").is_none());
}

#[test]
fn unknown_operations_are_answered_not_forwarded() {
    let mut s = Scene::new(allow(true, true, &ContentKind::ALL));
    s.send(&build::extended(1, "copy-data", &[])).unwrap();
    assert_eq!(s.status(1), Some(status::OP_UNSUPPORTED));
    s.send(&build::path_op(99, 2, "/x")).unwrap();
    assert_eq!(s.status(2), Some(status::OP_UNSUPPORTED));
    assert!(
        !s.actions.iter().any(
            |a| matches!(a, Action::ToTarget(p) if Fields::of(p).unwrap().kind() != kind::INIT)
        )
    );
}

#[test]
fn a_channel_ended_mid_upload_leaves_its_temporary_file_for_removal() {
    let mut s = Scene::new(allow(true, false, &[]));
    let h = s.open(1, "/tmp/a", WRITE).unwrap();
    s.send(&build::write(2, &h, 0, b"partial")).unwrap();
    let leftovers = s.inspector.finish();
    assert_eq!(leftovers.records.len(), 1);
    assert_eq!(leftovers.records[0].outcome, TransferOutcome::Aborted);
    assert_eq!(leftovers.records[0].size, 7);
    assert_eq!(
        leftovers.temp_files.iter().collect::<Vec<_>>(),
        s.target.temp_files()
    );
    assert!(s.target.file("/tmp/a").is_none());
}

// R-10-6: a scanned upload's bytes go to the scanner; the file is renamed into place only
// on a clean verdict and removed otherwise.
#[test]
fn a_scanned_upload_is_put_in_place_only_on_a_clean_verdict() {
    for (verdict, expected) in [
        (Ok(()), status::OK),
        (
            Err("virus found: Test.Sig".to_owned()),
            status::PERMISSION_DENIED,
        ),
    ] {
        let target = FakeTarget::default().with_dir("/tmp");
        let mut s = Scene::with(allow(true, false, &[]), target, true);
        let h = s.open(1, "/tmp/report.txt", WRITE).unwrap();
        s.send(&build::write(2, &h, 0, b"EICAR-ish")).unwrap();
        assert!(
            s.actions
                .iter()
                .any(|a| matches!(a, Action::ScanFeed { data, .. } if &data[..] == b"EICAR-ish"))
        );
        s.send(&build::close(3, &h)).unwrap();
        assert_eq!(s.reply(3), None, "the close waits for the verdict");
        let [file] = s.verdicts[..] else {
            panic!("{:?}", s.verdicts);
        };
        let failed = verdict.is_err();
        let next = s.inspector.scanned(file, verdict);
        s.run(next).unwrap();
        assert_eq!(s.status(3), Some(expected));
        assert_eq!(s.target.file("/tmp/report.txt").is_some(), !failed);
        assert!(s.target.temp_files().is_empty());
        if failed {
            assert_eq!(
                s.transfers()[0].reason.as_deref(),
                Some("scan_failed: virus found: Test.Sig")
            );
        }
    }
}

// Reproduction 1 and the table the issue asks for: every malformed sequence ends the
// channel with its reason, and nothing it carried reaches the target.
#[test]
fn malformed_sequences_end_the_channel() {
    let second_init = vec![build::init()];
    let reused_id = vec![
        build::open(7, "/tmp/x", WRITE),
        build::path_op(kind::REMOVE, 7, "/tmp/nope"),
    ];
    let unknown_write = vec![build::write(3, b"1", 0, &elf(64))];
    let unknown_read = vec![build::read(3, b"1", 0, 64)];
    let unknown_close = vec![build::close(3, b"9")];
    let unknown_dir = vec![build::readdir(3, b"1")];
    let truncated = vec![Bytes::from_static(&[0, 0, 0, 3, kind::OPEN, 0, 0])];
    let oversized = vec![Bytes::from(vec![0x7f, 0xff, 0xff, 0xff])];
    for (name, packets, reason) in [
        ("second INIT", second_init, "malformed_packet"),
        ("reused id", reused_id, "duplicate_request_id"),
        ("write on unknown handle", unknown_write, "unknown_handle"),
        ("read on unknown handle", unknown_read, "unknown_handle"),
        ("close of unknown handle", unknown_close, "unknown_handle"),
        ("readdir on unknown handle", unknown_dir, "unknown_handle"),
        ("truncated packet", truncated, "malformed_packet"),
        ("oversized packet", oversized, "malformed_packet"),
    ] {
        let mut i = SftpInspector::new(allow(true, true, &ContentKind::ALL), false);
        let mut result = i.from_engineer(&build::init()).map(|_| ());
        i.from_target(&build::version()).unwrap();
        for packet in &packets {
            result = result.and_then(|()| i.from_engineer(packet).map(|_| ()));
        }
        let violation = result.expect_err(name);
        assert_eq!(violation.reason(), reason, "{name}");
    }
}

#[test]
fn replies_nobody_asked_for_end_the_channel() {
    let mut s = Scene::new(allow(true, true, &[]));
    assert_eq!(
        s.inspector.from_target(&build::status(42, status::OK)),
        Err(Violation::UnexpectedReply(42))
    );
    // A second handle reply to one open.
    let mut i = SftpInspector::new(allow(true, true, &[]), false);
    i.from_engineer(&build::init()).unwrap();
    i.from_target(&build::version()).unwrap();
    i.from_engineer(&build::open(1, "/tmp/x", pflags::READ))
        .unwrap();
    i.from_target(&build::handle(1, b"h")).unwrap();
    assert_eq!(
        i.from_target(&build::handle(1, b"h")),
        Err(Violation::UnexpectedReply(1))
    );
    let v6 = [0, 0, 0, 5, kind::VERSION, 0, 0, 0, 6];
    let mut i = SftpInspector::new(allow(true, true, &[]), false);
    assert_eq!(
        i.from_target(&v6),
        Err(Violation::Malformed(WireError::Version(6)))
    );
}

// Reproduction 1, whole: a second request under a pending ID never reaches the target.
#[test]
fn a_reused_id_does_not_let_an_elf_through() {
    let mut i = SftpInspector::new(allow(true, false, &[]), false);
    i.from_engineer(&build::init()).unwrap();
    i.from_target(&build::version()).unwrap();
    let opened = i.from_engineer(&build::open(7, "/tmp/x", WRITE)).unwrap();
    assert_eq!(opened.len(), 1);
    assert_eq!(
        i.from_engineer(&build::path_op(kind::REMOVE, 7, "/tmp/nope")),
        Err(Violation::DuplicateRequestId(7))
    );
}

// `scp` (SFTP mode) opens `WRITE|CREAT` without truncating and truncates at the end: staged
// too, as long as the file is written whole from offset 0.
#[test]
fn a_file_written_over_as_scp_does_is_staged_and_must_be_written_whole() {
    let flags = pflags::WRITE | pflags::CREAT;
    let target = FakeTarget::default().with_dir("/tmp").with_file(
        "/tmp/conf",
        b"a much longer old content",
        0o644,
    );
    let mut s = Scene::with(allow(true, false, &[]), target, false);
    let h = s.open(1, "/tmp/conf", flags).unwrap();
    s.send(&build::write(2, &h, 0, b"new")).unwrap();
    s.send(&build::close(3, &h)).unwrap();
    assert_eq!(s.status(3), Some(status::OK));
    assert_eq!(s.target.file("/tmp/conf").unwrap().0, b"new");
    // Written in parts, out of order: refused, the old file untouched.
    let h = s.open(4, "/tmp/conf", flags).unwrap();
    s.send(&build::write(5, &h, 2, b"w")).unwrap();
    s.send(&build::close(6, &h)).unwrap();
    assert_eq!(s.status(6), Some(status::PERMISSION_DENIED));
    assert_eq!(s.target.file("/tmp/conf").unwrap().0, b"new");
    assert!(s.target.temp_files().is_empty());
}
