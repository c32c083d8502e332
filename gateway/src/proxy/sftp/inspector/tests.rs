use policy::transfer::ContentKinds;
use sha2::{Digest, Sha256};

use super::*;
use crate::proxy::sftp::wire::build;

fn allow(upload: bool, download: bool, content: &[ContentKind]) -> Allowances {
    Allowances {
        upload,
        download,
        content: content.iter().copied().collect::<ContentKinds>(),
        ..Allowances::default()
    }
}

/// Runs the engineer's packets and the target's replies through one inspector, in turn.
struct Scene {
    inspector: SftpInspector,
    actions: Vec<Action>,
}

impl Scene {
    fn new(allow: Allowances) -> Self {
        let mut scene = Self {
            inspector: SftpInspector::new(allow, false),
            actions: Vec::new(),
        };
        scene.engineer(&build::init());
        scene.target(&build::version());
        scene.actions.clear();
        scene
    }

    fn engineer(&mut self, packet: &[u8]) -> Vec<Action> {
        let actions = self.inspector.from_engineer(packet).unwrap();
        self.actions.extend(actions.clone());
        actions
    }

    fn target(&mut self, packet: &[u8]) -> Vec<Action> {
        let actions = self.inspector.from_target(packet).unwrap();
        self.actions.extend(actions.clone());
        actions
    }

    fn forwarded(actions: &[Action]) -> bool {
        actions.iter().any(|a| matches!(a, Action::ToTarget(_)))
    }

    fn denied(actions: &[Action]) -> Option<u32> {
        actions.iter().find_map(|a| match a {
            Action::ToEngineer(p) => {
                let mut f = Fields::of(p).ok()?;
                (f.kind() == kind::STATUS).then_some(())?;
                f.u32().ok()?;
                f.u32().ok()
            }
            _ => None,
        })
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

    /// Opens `path` with `flags` and returns the handle the target gave, if it was let
    /// through.
    fn open(&mut self, id: u32, path: &str, flags: u32) -> Option<Bytes> {
        let a = self.engineer(&build::open(id, path, flags));
        if !Self::forwarded(&a) {
            return None;
        }
        let handle = Bytes::from(format!("h{id}"));
        self.target(&build::handle(id, &handle));
        Some(handle)
    }

    fn upload(&mut self, path: &str, content: &[u8]) -> Option<u32> {
        let handle = self.open(1, path, WRITE)?;
        let mut denied = None;
        for (i, chunk) in content.chunks(32 * 1024).enumerate() {
            let id = 10 + u32::try_from(i).unwrap();
            let offset = (i * 32 * 1024) as u64;
            let a = self.engineer(&build::write(id, &handle, offset, chunk));
            if let Some(code) = Self::denied(&a) {
                denied.get_or_insert(code);
            } else {
                self.target(&build::status(id, status::OK));
            }
        }
        self.engineer(&build::close(2, &handle));
        self.target(&build::status(2, status::OK));
        denied
    }
}

const WRITE: u32 = pflags::WRITE | pflags::CREAT | pflags::TRUNC;

#[test]
fn an_upload_is_recorded_with_size_and_sha256() {
    let mut s = Scene::new(allow(true, false, &[]));
    let content: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
    assert_eq!(s.upload("/tmp/data.csv", &content), None);
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
    let mut s = Scene::new(allow(false, true, &[]));
    let h = s.open(1, "/var/log/app.log", pflags::READ).unwrap();
    s.engineer(&build::read(5, &h, 0, 4));
    s.engineer(&build::read(6, &h, 4, 4));
    s.target(&build::data(5, b"abcd"));
    s.target(&build::data(6, b"ef"));
    s.engineer(&build::read(7, &h, 6, 4));
    s.target(&build::status(7, 1));
    s.engineer(&build::close(8, &h));
    s.target(&build::status(8, status::OK));
    let t = s.transfers();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].direction, TransferDirection::Download);
    assert_eq!(t[0].size, 6);
    assert_eq!(
        t[0].sha256.unwrap().to_string(),
        hex::encode(Sha256::digest(b"abcdef"))
    );
}

// §7 ②: nothing leaves the hospital unless the plan says so.
#[test]
fn downloads_are_refused_without_download_in_the_plan() {
    let mut s = Scene::new(allow(true, false, &[]));
    let a = s.engineer(&build::open(1, "/etc/shadow", pflags::READ));
    assert!(!Scene::forwarded(&a));
    assert_eq!(Scene::denied(&a), Some(status::PERMISSION_DENIED));
    assert!(
        a.iter()
            .any(|x| matches!(x, Action::Tell(m) if m.contains("ダウンロード")))
    );
    let t = s.transfers();
    assert_eq!(t[0].outcome, TransferOutcome::Refused);
    assert_eq!(t[0].reason.as_deref(), Some("download_not_allowed"));
    // Read-write opens need download too.
    let a = s.engineer(&build::open(2, "/etc/hosts", pflags::READ | pflags::WRITE));
    assert!(!Scene::forwarded(&a));
}

#[test]
fn uploads_and_changes_are_refused_without_upload_in_the_plan() {
    let mut s = Scene::new(allow(false, true, &[]));
    assert_eq!(s.open(1, "/tmp/x", WRITE), None);
    for packet in [
        build::path_op(kind::REMOVE, 2, "/etc/passwd"),
        build::path_op(kind::MKDIR, 3, "/tmp/d"),
        build::path_op(kind::RMDIR, 4, "/tmp/d"),
        build::rename(5, "/a", "/b"),
        build::extended(
            6,
            "posix-rename@openssh.com",
            &[&build::string(b"/a"), &build::string(b"/b")],
        ),
    ] {
        let a = s.engineer(&packet);
        assert!(!Scene::forwarded(&a));
        assert_eq!(Scene::denied(&a), Some(status::PERMISSION_DENIED));
    }
    // Looking around is not a change.
    assert!(Scene::forwarded(&s.engineer(&build::path_op(
        kind::STAT,
        7,
        "/etc"
    ))));
    assert!(Scene::forwarded(&s.engineer(&build::path_op(
        kind::OPENDIR,
        8,
        "/etc"
    ))));
}

// R-10-6: executables, scripts, macros and archives only when declared.
#[test]
fn an_elf_upload_is_refused_whatever_its_name() {
    let mut s = Scene::new(allow(true, false, &[]));
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.resize(100_000, 0x90);
    assert_eq!(
        s.upload("/tmp/readme.txt", &elf),
        Some(status::PERMISSION_DENIED)
    );
    let t = s.transfers();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].outcome, TransferOutcome::Refused);
    assert_eq!(t[0].reason.as_deref(), Some("executable_not_declared"));
    assert_eq!(t[0].sha256, None);
    // Not one byte of it was forwarded.
    let written = s.actions.iter().any(|a| match a {
        Action::ToTarget(p) => Fields::of(p)
            .map(|f| f.kind() == kind::WRITE)
            .unwrap_or(false),
        _ => false,
    });
    assert!(!written);

    let mut declared = Scene::new(allow(true, false, &[ContentKind::Executable]));
    assert_eq!(declared.upload("/tmp/tool", &elf), None);
    assert_eq!(declared.transfers()[0].outcome, TransferOutcome::Completed);
}

#[test]
fn a_script_name_is_refused_at_open_and_on_rename() {
    let mut s = Scene::new(allow(true, false, &[]));
    assert_eq!(s.open(1, "/tmp/fix.sh", WRITE), None);
    assert_eq!(s.upload("/tmp/fix.txt", b"rm -rf /var/lib/app\n"), None);
    let a = s.engineer(&build::rename(3, "/tmp/fix.txt", "/tmp/fix.sh"));
    assert_eq!(Scene::denied(&a), Some(status::PERMISSION_DENIED));
    let a = s.engineer(&build::rename(4, "/tmp/fix.txt", "/tmp/fix.conf"));
    assert!(Scene::forwarded(&a));
}

#[test]
fn a_header_written_late_is_still_judged() {
    let mut s = Scene::new(allow(true, false, &[]));
    let h = s.open(1, "/tmp/x", WRITE).unwrap();
    // Harmless bytes first, then the beginning rewritten as an ELF.
    assert!(Scene::forwarded(
        &s.engineer(&build::write(2, &h, 0, b"hello"))
    ));
    let a = s.engineer(&build::write(3, &h, 0, b"\x7fELF"));
    assert_eq!(Scene::denied(&a), Some(status::PERMISSION_DENIED));
    // And everything after is refused too.
    let a = s.engineer(&build::write(4, &h, 5, b"more"));
    assert_eq!(Scene::denied(&a), Some(status::PERMISSION_DENIED));
}

#[test]
fn uploads_whose_beginning_is_unseen_are_refused() {
    let mut s = Scene::new(allow(true, false, &[]));
    assert_eq!(s.open(1, "/tmp/x", pflags::WRITE | pflags::APPEND), None);
    let h = s.open(2, "/tmp/y", pflags::WRITE).unwrap();
    let a = s.engineer(&build::write(3, &h, 4096, b"resumed"));
    assert_eq!(Scene::denied(&a), Some(status::PERMISSION_DENIED));
    let mut all = Scene::new(allow(true, false, &ContentKind::ALL));
    let h = all.open(2, "/tmp/y", pflags::WRITE).unwrap();
    assert!(Scene::forwarded(
        &all.engineer(&build::write(3, &h, 4096, b"resumed"))
    ));
}

#[test]
fn a_docx_with_a_macro_part_is_refused_and_a_plain_one_passes() {
    let mut doc = b"PK\x03\x04".to_vec();
    doc.extend_from_slice(&[0u8; 22]);
    doc.extend_from_slice(&19u16.to_le_bytes());
    doc.extend_from_slice(&[0, 0]);
    doc.extend_from_slice(b"[Content_Types].xml");
    doc.resize(70_000, b'x');
    let mut s = Scene::new(allow(true, false, &[]));
    assert_eq!(s.upload("/tmp/report.docx", &doc), None);
    doc.extend_from_slice(b"PK\x03\x04....word/vbaProject.bin");
    doc.resize(140_000, b'y');
    let mut s = Scene::new(allow(true, false, &[]));
    assert_eq!(
        s.upload("/tmp/report.docx", &doc),
        Some(status::PERMISSION_DENIED)
    );
    assert_eq!(
        s.transfers()[0].reason.as_deref(),
        Some("macro_not_declared")
    );
}

#[test]
fn unknown_operations_are_answered_not_forwarded() {
    let mut s = Scene::new(allow(true, true, &ContentKind::ALL));
    let a = s.engineer(&build::extended(1, "copy-data", &[]));
    assert!(!Scene::forwarded(&a));
    assert_eq!(Scene::denied(&a), Some(status::OP_UNSUPPORTED));
    let a = s.engineer(&build::path_op(99, 2, "/x"));
    assert_eq!(Scene::denied(&a), Some(status::OP_UNSUPPORTED));
}

#[test]
fn files_left_open_are_recorded_as_aborted() {
    let mut s = Scene::new(allow(true, false, &[]));
    let h = s.open(1, "/tmp/a", WRITE).unwrap();
    s.engineer(&build::write(2, &h, 0, b"partial"));
    let actions = s.inspector.finish();
    let Some(Action::Transfer(t)) = actions.first() else {
        panic!("{actions:?}");
    };
    assert_eq!(t.outcome, TransferOutcome::Aborted);
    assert_eq!(t.size, 7);
}

#[test]
fn another_protocol_version_ends_the_channel() {
    let mut i = SftpInspector::new(allow(true, true, &[]), false);
    let v6 = [0, 0, 0, 5, kind::VERSION, 0, 0, 0, 6];
    assert_eq!(i.from_target(&v6), Err(WireError::Version(6)));
}

// R-10-6: a scanned upload's bytes go to the scanner, its close waits for the verdict, and
// a refused file is removed with the engineer's close answered as refused.
#[test]
fn a_scanned_upload_is_held_at_close_and_quarantined_on_a_bad_verdict() {
    let mut s = Scene {
        inspector: SftpInspector::new(allow(true, false, &[]), true),
        actions: Vec::new(),
    };
    s.engineer(&build::init());
    s.target(&build::version());
    let h = s.open(1, "/tmp/report.txt", WRITE).unwrap();
    let a = s.engineer(&build::write(2, &h, 0, b"EICAR-ish"));
    assert!(matches!(&a[0], Action::ScanFeed { data, .. } if &data[..] == b"EICAR-ish"));
    assert!(Scene::forwarded(&a));
    s.target(&build::status(2, status::OK));
    let a = s.engineer(&build::close(3, &h));
    let [Action::ScanVerdict { handle, id: 3, .. }] = &a[..] else {
        panic!("{a:?}");
    };
    // Infected: the bridge forwards the close, then the removal.
    let removal = s
        .inspector
        .quarantine(handle, "virus found: Test.Sig".into());
    let [Action::ToTarget(remove)] = &removal[..] else {
        panic!("{removal:?}");
    };
    let mut f = Fields::of(remove).unwrap();
    assert_eq!(f.kind(), kind::REMOVE);
    let own_id = f.u32().unwrap();
    assert_eq!(f.text().unwrap(), "/tmp/report.txt");
    // The target's OK for the close becomes a refusal; the removal's reply is swallowed.
    let a = s.target(&build::status(3, status::OK));
    assert_eq!(Scene::denied(&a), Some(status::PERMISSION_DENIED));
    let a = s.target(&build::status(own_id, status::OK));
    assert!(a.is_empty(), "{a:?}");
    let t = s.transfers();
    assert_eq!(t[0].outcome, TransferOutcome::Refused);
    assert_eq!(
        t[0].reason.as_deref(),
        Some("scan_failed: virus found: Test.Sig")
    );
}
