//! The SFTP gate against a hand-written client (issue 11, reproductions 1–4 and 7; STYLE
//! 26): request IDs reused while pending, handles the target never gave, odd OPEN flags,
//! heads rewritten after the first WRITE, links and modes, archives judged by their
//! entries, and refused uploads that must leave nothing. Every test checks what the real
//! target sshd holds afterwards and what the audit trail says; the last one does the same
//! hand-made transfers with the plan allowing them.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fumidai_e2e::plan_report::{
    assert_completed_in_report, assert_nothing_moved_in_report, assert_refused_in_report, findings,
    findings_of, report_after_window,
};
use fumidai_e2e::sftp_raw::{Attrs, NoReply, Reply, SftpRaw, pflags, status, wire_path};
use fumidai_e2e::tools::poll;
use fumidai_e2e::transfer_audit::{
    refused_transfers, sha256_hex, transfer_records, wait_completed, wait_refusal, wait_violation,
};
use fumidai_e2e::{Engineer, Gateway, SshLogin, SshMaster, Sshd};
use serde_json::Value;

/// How long the gateway may take to close a channel it caught misbehaving.
const CLOSE_DEADLINE: Duration = Duration::from_secs(10);

/// Alice's approved plan on db01 allowing `allow`, and its ID.
fn setup(allow: &[&str]) -> (Gateway, Engineer, Sshd, String) {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01("Kaede-Hashira-7731");
    let plan = gw.plan_allowing("alice", "db01", -5, 60, Some("olga"), allow);
    gw.start();
    (gw, alice, sshd, plan)
}

/// The plan's reconciliation report, once the session (`master`) has gone.
fn report(gw: &Gateway, plan: &str, master: SshMaster) -> Value {
    drop(master);
    report_after_window(gw, plan)
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn login(alice: &Engineer) -> SshLogin {
    let mut l = SshLogin::engineer(alice);
    l.user = "alice:db01".into();
    l
}

/// A fresh, empty directory on the target (the test's sshd runs on this machine).
fn target_dir(sshd: &Sshd, name: &str) -> PathBuf {
    let dir = sshd.tmp.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    dir
}

/// The names in `dir`, to check that nothing (no temporary file) was left behind.
fn entries(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Any file in `dir` that holds an ELF: what must never land there.
fn elves_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            std::fs::read(p)
                .map(|b| b.starts_with(b"\x7fELF"))
                .unwrap_or(false)
        })
        .collect()
}

/// Whether any execute bit is set on `path` (following nothing: the file itself).
fn executable(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .map(|m| m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A real ELF under 64 KiB (`/usr/bin/true`).
fn elf() -> Vec<u8> {
    let bytes = std::fs::read("/usr/bin/true").unwrap();
    assert!(bytes.starts_with(b"\x7fELF") && bytes.len() < 64 << 10);
    bytes
}

fn p(path: &Path) -> String {
    wire_path(path)
}

/// Sends `open` and `then` without waiting in between, then takes the replies as they
/// come (until two, a silence or the channel's end); each handle that comes back is
/// used by `use_handle`. Returns whether the gateway closed the channel.
fn drive_pipelined(
    s: &mut SftpRaw,
    requests: impl FnOnce(&mut SftpRaw),
    mut use_handle: impl FnMut(&mut SftpRaw, Vec<u8>),
) -> bool {
    s.cork();
    requests(s);
    s.uncork();
    let mut handles = Vec::new();
    for _ in 0..2 {
        match s.recv(Duration::from_secs(5)) {
            Ok(Reply::Handle { handle, .. }) => handles.push(handle),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    for h in handles {
        use_handle(s, h);
    }
    s.wait_closed(CLOSE_DEADLINE)
}

// Reproduction 1: OPEN for writing and REMOVE share request ID 7 while the OPEN is
// pending. The old inspector overwrote its pending entry, never learnt the handle, and
// forwarded every WRITE to it uninspected: an ELF landed with no record.
#[test]
fn a_request_id_reused_while_pending_closes_the_channel_before_an_upload_lands() {
    let (gw, alice, sshd, plan) = setup(&["upload"]);
    let dir = target_dir(&sshd, "up");
    let master = login(&alice).master(&gw);
    let mut s = SftpRaw::subsystem(&master);
    let x = dir.join("x");
    let elf = elf();
    let closed = drive_pipelined(
        &mut s,
        |s| {
            s.send_open(
                7,
                &p(&x),
                pflags::WRITE | pflags::CREAT | pflags::TRUNC,
                Attrs::NONE,
            );
            s.send_remove(7, &p(&dir.join("nope")));
        },
        |s, h| {
            let _ = s.write_all(&h, 0, &elf);
            let _ = s.close(&h);
        },
    );
    assert_eq!(
        elves_in(&dir),
        Vec::<PathBuf>::new(),
        "the ELF reached the target"
    );
    assert!(closed, "the channel stayed open after a reused request ID");
    wait_violation(&gw, "duplicate_request_id");
    // The staged file the target opened is removed over a new channel once this one ends.
    let cleaned = poll(Duration::from_secs(10), || {
        entries(&dir).is_empty().then_some(())
    });
    assert!(cleaned.is_some(), "left on the target: {:?}", entries(&dir));
    drop(s);
    let report = report(&gw, &plan, master);
    assert_nothing_moved_in_report(&report, path_str(&x));
    // The planning manager reads it as what it was: a High finding.
    let violations = findings_of(&report, "protocol_violation");
    assert!(
        violations
            .iter()
            .any(|f| f["severity"] == "high" && f.to_string().contains("duplicate_request_id")),
        "no protocol_violation finding: {:#?}",
        findings(&report)
    );
}

// Reproduction 1, reading: two OPENs share ID 7, so the old inspector filed the first
// handle under the second path and never knew the second handle; the patient file was
// read with no record.
#[test]
fn a_request_id_reused_while_pending_closes_the_channel_before_a_download_leaks() {
    let (gw, alice, sshd, plan) = setup(&["download"]);
    let dir = target_dir(&sshd, "srv");
    let other = dir.join("motd.txt");
    std::fs::write(&other, "welcome\n").unwrap();
    let patients = dir.join("patients.csv");
    std::fs::write(&patients, "id,name\n1,Yamada-Hanako-PATIENT\n").unwrap();
    let master = login(&alice).master(&gw);
    let mut s = SftpRaw::subsystem(&master);
    let mut taken = Vec::new();
    let closed = drive_pipelined(
        &mut s,
        |s| {
            s.send_open(7, &p(&other), pflags::READ, Attrs::NONE);
            s.send_open(7, &p(&patients), pflags::READ, Attrs::NONE);
        },
        |s, h| {
            if let Ok(data) = s.read(&h, 0, 4096) {
                taken.extend_from_slice(&data);
            }
        },
    );
    let taken = String::from_utf8_lossy(&taken);
    assert!(
        !taken.contains("PATIENT") || !completed_for(&gw, &patients).is_empty(),
        "a patient file left with no record: {taken:?}"
    );
    assert!(
        !taken.contains("PATIENT"),
        "read after a reused ID: {taken:?}"
    );
    assert!(closed, "the channel stayed open after a reused request ID");
    wait_violation(&gw, "duplicate_request_id");
    drop(s);
    let report = report(&gw, &plan, master);
    assert_nothing_moved_in_report(&report, path_str(&patients));
}

fn completed_for(gw: &Gateway, path: &Path) -> Vec<(String, u64, String)> {
    fumidai_e2e::transfer_audit::completed_transfers(gw, path)
}

/// Sends one request on a handle.
type SendOn = fn(&mut SftpRaw, &[u8]);

// READ, WRITE and CLOSE on a handle the target never gave: forwarded by the old inspector
// (the target said "bad handle"); now each closes its channel, on record.
#[test]
fn requests_on_a_handle_the_target_never_gave_close_the_channel() {
    let (gw, alice, sshd, _plan) = setup(&["upload", "download"]);
    let dir = target_dir(&sshd, "up");
    let master = login(&alice).master(&gw);
    let forged: &[u8] = &[0, 0, 0, 0];
    let ops: [(&str, SendOn); 3] = [
        ("read", |s, h| s.send_read(3, h, 0, 4096)),
        ("write", |s, h| s.send_write(3, h, 0, b"\x7fELF forged")),
        ("close", |s, h| s.send_close(3, h)),
    ];
    for (op, send) in ops {
        let mut s = SftpRaw::subsystem(&master);
        // A real, inspected upload is open on the channel, so the forged handle is one
        // the target might know (internal-sftp numbers its handles from 0).
        let legit = s
            .open(
                &p(&dir.join(format!("{op}.txt"))),
                pflags::WRITE | pflags::CREAT | pflags::TRUNC,
                Attrs::NONE,
            )
            .unwrap_or_else(|e| panic!("{op}: open refused: {e:?}"));
        let forged = if legit.as_slice() == forged {
            vec![0, 0, 0, 1]
        } else {
            forged.to_vec()
        };
        send(&mut s, &forged);
        let answer = s.recv(Duration::from_secs(5));
        assert!(
            matches!(answer, Err(NoReply::Closed)) || s.wait_closed(CLOSE_DEADLINE),
            "{op} on a forged handle: the channel stayed open ({answer:?})"
        );
    }
    assert!(elves_in(&dir).is_empty(), "forged WRITE landed");
    let v = wait_violation(&gw, "unknown_handle");
    let all = fumidai_e2e::transfer_audit::protocol_violations(&gw);
    let channels: BTreeSet<u64> = all
        .iter()
        .filter(|e| e["detail"]["reason"] == "unknown_handle")
        .map(|e| e["detail"]["channel"].as_u64().unwrap())
        .collect();
    assert_eq!(
        channels.len(),
        3,
        "one violation per channel: {all:#?}\n{v:#}"
    );
}

// A packet that ends before its fields: the channel closes, with the reason on record.
#[test]
fn a_malformed_packet_closes_the_channel_on_record() {
    let (gw, alice, _sshd, _plan) = setup(&["upload"]);
    let master = login(&alice).master(&gw);
    let mut s = SftpRaw::subsystem(&master);
    // A WRITE whose length covers its type, ID and half a handle length.
    s.send_packet(&[6, 0, 0, 0, 9, 0, 0]);
    assert!(
        s.wait_closed(CLOSE_DEADLINE),
        "a malformed packet was accepted"
    );
    wait_violation(&gw, "malformed_packet");
}

// Reproduction 2: pflags 0 (neither READ nor WRITE) gives a handle the target lets you
// read; READ|WRITE needs download too. An upload-only plan gets neither.
#[test]
fn an_open_that_can_read_is_a_download_whatever_its_flags() {
    let (gw, alice, sshd, plan) = setup(&["upload"]);
    let dir = target_dir(&sshd, "srv");
    let patients = dir.join("patients.csv");
    let content = "id,name\n1,Yamada-Hanako-PATIENT\n";
    std::fs::write(&patients, content).unwrap();
    let master = login(&alice).master(&gw);
    let mut s = SftpRaw::subsystem(&master);
    for flags in [0, pflags::READ | pflags::WRITE] {
        let opened = s.open(&p(&patients), flags, Attrs::NONE);
        if let Ok(handle) = &opened {
            let (taken, _) = s.read_to_end(handle);
            panic!(
                "pflags {flags:#x} opened for reading on an upload-only plan; read {:?}",
                String::from_utf8_lossy(&taken)
            );
        }
        assert_eq!(
            opened.unwrap_err().map(|r| r.status()),
            Ok(Some(status::PERMISSION_DENIED)),
            "pflags {flags:#x}"
        );
    }
    let refusal = wait_refusal(&gw, &patients, &["download_not_allowed"]);
    assert_eq!(refusal["detail"]["direction"], "download", "{refusal:#}");
    let n = refused_transfers(&gw)
        .iter()
        .filter(|e| fumidai_e2e::transfer_audit::is_about(e, &patients))
        .count();
    assert_eq!(n, 2, "{:#?}", transfer_records(&gw));
    assert_eq!(std::fs::read_to_string(&patients).unwrap(), content);
    drop(s);
    let report = report(&gw, &plan, master);
    assert_refused_in_report(&report, path_str(&patients), &["download_not_allowed"]);
}

// CREAT|TRUNC without WRITE still changes the target: an upload, refused without
// `upload`; the existing file keeps its content, no new file appears.
#[test]
fn an_open_that_creates_or_truncates_is_an_upload_even_without_write() {
    let (gw, alice, sshd, plan) = setup(&["download"]);
    let dir = target_dir(&sshd, "srv");
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "original").unwrap();
    let master = login(&alice).master(&gw);
    let mut s = SftpRaw::subsystem(&master);
    for (path, flags) in [
        (&notes, pflags::CREAT | pflags::TRUNC),
        (&notes, pflags::TRUNC),
        (&notes, pflags::READ | pflags::WRITE),
        (&dir.join("new.sh"), pflags::CREAT),
    ] {
        let opened = s.open(&p(path), flags, Attrs::NONE);
        assert_eq!(
            opened.map_err(|e| e.map(|r| r.status())),
            Err(Ok(Some(status::PERMISSION_DENIED))),
            "{} with pflags {flags:#x}",
            path.display()
        );
    }
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "original");
    assert_eq!(entries(&dir), names(&["notes.txt"]));
    wait_refusal(&gw, &notes, &["upload_not_allowed"]);
    wait_refusal(&gw, &dir.join("new.sh"), &["upload_not_allowed"]);
    drop(s);
    let report = report(&gw, &plan, master);
    assert_refused_in_report(&report, path_str(&notes), &["upload_not_allowed"]);
    assert_refused_in_report(
        &report,
        path_str(&dir.join("new.sh")),
        &["upload_not_allowed"],
    );
}

// Reproduction 2: with both allowed, a READ|WRITE handle that was only read from is on
// record as the download it was (the old inspector wrote "upload, 0 bytes").
#[test]
fn a_read_write_open_is_on_record_as_the_download_it_was() {
    let (gw, alice, sshd, plan) = setup(&["upload", "download"]);
    let dir = target_dir(&sshd, "srv");
    let patients = dir.join("patients.csv");
    let content = "id,name\n1,Yamada-Hanako\n2,Sato-Taro\n".repeat(500);
    std::fs::write(&patients, &content).unwrap();
    let master = login(&alice).master(&gw);
    let mut s = SftpRaw::subsystem(&master);
    let h = s
        .open(&p(&patients), pflags::READ | pflags::WRITE, Attrs::NONE)
        .unwrap();
    let (taken, _) = s.read_to_end(&h);
    assert_eq!(taken, content.as_bytes());
    assert_eq!(s.close(&h), Ok(status::OK));
    let (_, size, sha) = wait_completed(&gw, &patients, "download");
    assert_eq!(
        (size, sha),
        (content.len() as u64, sha256_hex(content.as_bytes())),
        "{:#?}",
        transfer_records(&gw)
    );
    assert!(
        !completed_for(&gw, &patients)
            .iter()
            .any(|(d, _, _)| d == "upload"),
        "a read-only use of a READ|WRITE handle on record as an upload: {:#?}",
        transfer_records(&gw)
    );
    drop(s);
    let report = report(&gw, &plan, master);
    assert_completed_in_report(
        &report,
        path_str(&patients),
        "download",
        content.len() as u64,
        &sha256_hex(content.as_bytes()),
    );
}

/// Uploads `final_content` with its first byte replaced by `decoy`, then rewrites that
/// byte at offset 0; the status of each step (last WRITE, CLOSE).
fn upload_with_rewritten_head(
    s: &mut SftpRaw,
    path: &Path,
    final_content: &[u8],
    decoy: u8,
) -> (Result<u32, NoReply>, Result<u32, NoReply>) {
    let h = s
        .open(
            &p(path),
            pflags::WRITE | pflags::CREAT | pflags::TRUNC,
            Attrs::NONE,
        )
        .unwrap_or_else(|e| panic!("open {}: {e:?}", path.display()));
    let mut disguised = final_content.to_vec();
    disguised[0] = decoy;
    let first = s.write_all(&h, 0, &disguised);
    assert_eq!(first, Ok(status::OK), "the disguised content was refused");
    let rewrite = s.write(&h, 0, &final_content[..1]);
    (rewrite, s.close(&h))
}

// Reproduction 3: `?ELF…` then `\x7f` at 0 made a working ELF the old inspector never
// judged (its kind was taken from the first WRITE). Now the CLOSE judges the final
// content: refused, and nothing is left.
#[test]
fn a_head_rewritten_into_an_elf_or_a_script_is_refused_at_close_and_leaves_nothing() {
    let (gw, alice, sshd, plan) = setup(&["upload"]);
    let dir = target_dir(&sshd, "up");
    let master = login(&alice).master(&gw);
    let mut s = SftpRaw::subsystem(&master);

    let tool = dir.join("readme.txt");
    let (_, close) = upload_with_rewritten_head(&mut s, &tool, &elf(), b'?');
    assert_eq!(
        elves_in(&dir),
        Vec::<PathBuf>::new(),
        "the ELF reached the target"
    );
    assert_eq!(close, Ok(status::PERMISSION_DENIED));
    // The gateway doesn't read a file this channel didn't write: the refusal names a kind a
    // program needs (scripts are checked first).
    wait_refusal(
        &gw,
        &tool,
        &["executable_not_declared", "script_not_declared"],
    );

    let script = dir.join("maintenance");
    let body = b"#!/bin/sh\necho pwned > /tmp/fumidai-pwned\n";
    let (_, close) = upload_with_rewritten_head(&mut s, &script, body, b'X');
    let landed = std::fs::read(&script).unwrap_or_default();
    assert!(!landed.starts_with(b"#!"), "the script reached the target");
    assert_eq!(close, Ok(status::PERMISSION_DENIED));
    wait_refusal(&gw, &script, &["script_not_declared"]);

    assert!(
        entries(&dir).is_empty(),
        "left on the target: {:?}",
        entries(&dir)
    );
    drop(s);
    let report = report(&gw, &plan, master);
    assert_refused_in_report(&report, path_str(&tool), &["executable_not_declared"]);
    assert_refused_in_report(&report, path_str(&script), &["script_not_declared"]);
}

// Reproduction 7: a refused upload onto an existing file leaves it exactly as it was
// (the old inspector forwarded the OPEN with TRUNC first: the file was emptied), and a
// refused new file leaves no trace, temporary or not; by hand and by stock `sftp`.
#[test]
fn a_refused_upload_leaves_the_target_as_it_was() {
    let (gw, alice, sshd, plan) = setup(&["upload"]);
    let dir = target_dir(&sshd, "up");
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "original").unwrap();
    let master = login(&alice).master(&gw);

    let mut s = SftpRaw::subsystem(&master);
    let code = s.put(&p(&notes), &elf());
    assert_eq!(
        std::fs::read(&notes).unwrap(),
        b"original",
        "raw put changed it"
    );
    assert_eq!(code, Ok(status::PERMISSION_DENIED));
    assert_eq!(
        s.put(&p(&dir.join("fresh.bin")), &elf()),
        Ok(status::PERMISSION_DENIED)
    );
    assert_eq!(entries(&dir), names(&["notes.txt"]));
    drop(s);

    let batch = gw.tmp.path().join("batch");
    std::fs::write(&batch, format!("put /usr/bin/true {}\n", notes.display())).unwrap();
    let out = master.run("sftp", &["-q", "-b", batch.to_str().unwrap(), "gw:"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert_eq!(
        std::fs::read(&notes).unwrap(),
        b"original",
        "sftp put changed it"
    );
    assert_eq!(entries(&dir), names(&["notes.txt"]));

    wait_refusal(&gw, &notes, &["executable_not_declared"]);
    wait_refusal(&gw, &dir.join("fresh.bin"), &["executable_not_declared"]);
    let report = report(&gw, &plan, master);
    assert_refused_in_report(&report, path_str(&notes), &["executable_not_declared"]);
    assert_refused_in_report(
        &report,
        path_str(&dir.join("fresh.bin")),
        &["executable_not_declared"],
    );
}

// Reproduction 4: `symlink shell.php notes.txt; put webshell notes.txt` wrote shell.php,
// which a direct put refuses. A link whose target name is refused is refused itself.
#[test]
fn a_symlink_to_a_refused_name_is_refused_and_the_upload_after_it_writes_no_script() {
    let (gw, alice, sshd, plan) = setup(&["upload"]);
    let dir = target_dir(&sshd, "www");
    let (notes, shell) = (dir.join("notes.txt"), dir.join("shell.php"));
    let master = login(&alice).master(&gw);
    let mut s = SftpRaw::subsystem(&master);
    let linked = s.symlink(&p(&shell), &p(&notes));
    let _ = s.put(&p(&notes), b"<?php system($_GET['c']); ?>\n");
    assert!(
        !shell.exists(),
        "the upload wrote shell.php through the link"
    );
    assert!(
        !std::fs::symlink_metadata(&notes).is_ok_and(|m| m.file_type().is_symlink()),
        "the link was made"
    );
    assert_eq!(linked, Ok(status::PERMISSION_DENIED));
    let refusal = wait_refusal(&gw, &shell, &["script_not_declared"]);
    assert_eq!(refusal["detail"]["outcome"], "refused");
    drop(s);
    let report = report(&gw, &plan, master);
    assert_nothing_moved_in_report(&report, path_str(&shell));
}

// An upload replaces a link that is already on the target, never writes through it.
#[test]
fn an_upload_onto_a_link_replaces_the_link_and_never_follows_it() {
    let (gw, alice, sshd, _plan) = setup(&["upload"]);
    let dir = target_dir(&sshd, "www");
    let (notes, shell) = (dir.join("notes.txt"), dir.join("shell.php"));
    let (link, kept) = (dir.join("settings.txt"), dir.join("keep.conf"));
    std::fs::write(&kept, "keep").unwrap();
    std::os::unix::fs::symlink(&shell, &notes).unwrap();
    std::os::unix::fs::symlink(&kept, &link).unwrap();
    let master = login(&alice).master(&gw);
    let mut s = SftpRaw::subsystem(&master);
    let _ = s.put(&p(&notes), b"<?php system($_GET['c']); ?>\n");
    assert!(
        !shell.exists(),
        "the upload wrote shell.php through the link"
    );
    assert_eq!(s.put(&p(&link), b"new settings\n"), Ok(status::OK));
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "keep",
        "the upload wrote through the link"
    );
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_file(), "the link is still there");
    assert_eq!(std::fs::read_to_string(&link).unwrap(), "new settings\n");
    wait_completed(&gw, &link, "upload");
}

// A rename, `posix-rename`, hard link or symlink giving a file a name refused for its
// kind is judged like an upload under that name.
#[test]
fn renames_and_links_to_a_refused_name_are_refused() {
    let (gw, alice, sshd, plan) = setup(&["upload"]);
    let dir = target_dir(&sshd, "www");
    let payload = dir.join("payload.txt");
    std::fs::write(&payload, "<?php system($_GET['c']); ?>\n").unwrap();
    let shell = dir.join("shell.php");
    let master = login(&alice).master(&gw);
    let mut s = SftpRaw::subsystem(&master);
    let (from, to) = (p(&payload), p(&shell));
    let tries = [
        ("rename", s.rename(&from, &to)),
        (
            "posix-rename",
            s.extended_paths("posix-rename@openssh.com", &from, &to),
        ),
        (
            "hardlink",
            s.extended_paths("hardlink@openssh.com", &from, &to),
        ),
        ("symlink", s.symlink(&from, &to)),
    ];
    assert!(!shell.exists() && std::fs::symlink_metadata(&shell).is_err());
    for (op, code) in tries {
        assert_eq!(code, Ok(status::PERMISSION_DENIED), "{op}");
    }
    let n = refused_transfers(&gw)
        .iter()
        .filter(|e| fumidai_e2e::transfer_audit::is_about(e, &shell))
        .count();
    assert_eq!(n, 4, "{:#?}", transfer_records(&gw));
    wait_refusal(&gw, &shell, &["script_not_declared"]);
    drop(s);
    let report = report(&gw, &plan, master);
    assert_nothing_moved_in_report(&report, path_str(&shell));
}

// Reproduction 4: a script with no `#!` and no known extension, then `chmod 755`, ran.
// Adding an execute bit is judged like uploading the kind the file is; chmod 644 works.
#[test]
fn adding_an_execute_bit_is_refused_unless_declared_and_chmod_644_still_works() {
    let (gw, alice, sshd, plan) = setup(&["upload"]);
    let dir = target_dir(&sshd, "up");
    let master = login(&alice).master(&gw);
    let mut s = SftpRaw::subsystem(&master);
    let maint = dir.join("maint");
    let body = b"echo pwned > /tmp/fumidai-pwned\n";
    assert_eq!(s.put(&p(&maint), body), Ok(status::OK), "a text upload");

    // SETSTAT on the path.
    let code = s.setstat(&p(&maint), Attrs::mode(0o755));
    assert!(!executable(&maint), "setstat made the script executable");
    assert_eq!(code, Ok(status::PERMISSION_DENIED));
    wait_refusal(&gw, &maint, &["script_not_declared"]);

    // FSETSTAT on an upload's handle.
    let other = dir.join("maint2");
    let h = s
        .open(
            &p(&other),
            pflags::WRITE | pflags::CREAT | pflags::TRUNC,
            Attrs::NONE,
        )
        .unwrap();
    assert_eq!(s.write(&h, 0, body), Ok(status::OK));
    // Judged with the file: at the FSETSTAT, or at the CLOSE that would put it in place.
    let code = s.fsetstat(&h, Attrs::mode(0o700));
    let closed = s.close(&h);
    assert!(!executable(&other), "fsetstat made the script executable");
    assert!(
        code == Ok(status::PERMISSION_DENIED) || closed == Ok(status::PERMISSION_DENIED),
        "fsetstat {code:?}, close {closed:?}"
    );
    wait_refusal(&gw, &other, &["script_not_declared"]);

    // An ELF already on the target (left by someone else) is not made runnable either.
    let tool = dir.join("tool");
    std::fs::write(&tool, elf()).unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o644)).unwrap();
    let code = s.setstat(&p(&tool), Attrs::mode(0o755));
    assert!(!executable(&tool), "setstat made the ELF executable");
    assert_eq!(code, Ok(status::PERMISSION_DENIED));
    // The gateway doesn't read a file this channel didn't write: the refusal names a kind a
    // program needs (scripts are checked first).
    wait_refusal(
        &gw,
        &tool,
        &["executable_not_declared", "script_not_declared"],
    );

    // OPEN with an executable mode in its attributes.
    let third = dir.join("maint3");
    if let Ok(h) = s.open(
        &p(&third),
        pflags::WRITE | pflags::CREAT | pflags::TRUNC,
        Attrs::mode(0o755),
    ) {
        let _ = s.write(&h, 0, body);
        let _ = s.close(&h);
    }
    assert!(
        !executable(&third),
        "OPEN's mode made the script executable"
    );

    // Taking permissions away, or giving read, is fine.
    assert_eq!(s.setstat(&p(&maint), Attrs::mode(0o600)), Ok(status::OK));
    assert_eq!(mode(&maint), 0o600);
    assert_eq!(s.setstat(&p(&maint), Attrs::mode(0o644)), Ok(status::OK));
    assert_eq!(mode(&maint), 0o644);
    drop(s);

    // Stock sftp's chmod the same way.
    let batch = gw.tmp.path().join("batch");
    std::fs::write(&batch, format!("chmod 755 {}\n", maint.display())).unwrap();
    let out = master.run("sftp", &["-q", "-b", batch.to_str().unwrap(), "gw:"]);
    assert!(!executable(&maint), "sftp chmod made the script executable");
    assert_ne!(out.code, 0, "{out:?}");
    // The refused mode changes are on record in the audit trail (checked above); the report
    // lists file transfers, and `maint` was uploaded as text before its chmod was refused.
    drop((plan, master));
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A ZIP named like a Word document (first entry `word/document.xml`) that carries an
/// ELF, made by Python's `zipfile`.
fn docx_carrying_an_elf(dir: &Path) -> Vec<u8> {
    let out = dir.join("report.docx");
    let script = format!(
        "import zipfile\n\
         z = zipfile.ZipFile({out:?}, 'w', zipfile.ZIP_DEFLATED)\n\
         z.writestr('word/document.xml', '<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"/>')\n\
         z.writestr('[Content_Types].xml', '<Types/>')\n\
         z.write('/usr/bin/true', 'word/media/tool')\n\
         z.close()\n",
        out = out.to_str().unwrap()
    );
    let status = std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

/// A version 7 tar (no `ustar` magic) holding `tool`, an ELF: the header written here,
/// with its checksum, and checked by GNU tar.
fn v7_tar_carrying_an_elf(dir: &Path) -> Vec<u8> {
    let content = elf();
    let mut header = [0u8; 512];
    let field = |h: &mut [u8; 512], at: usize, value: &[u8]| {
        h[at..at + value.len()].copy_from_slice(value);
    };
    field(&mut header, 0, b"tool");
    field(&mut header, 100, b"0000755\0");
    field(&mut header, 108, b"0000000\0");
    field(&mut header, 116, b"0000000\0");
    field(
        &mut header,
        124,
        format!("{:011o}\0", content.len()).as_bytes(),
    );
    field(&mut header, 136, b"14000000000\0");
    field(&mut header, 148, b"        ");
    field(&mut header, 156, b"0");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    field(&mut header, 148, format!("{sum:06o}\0 ").as_bytes());
    let mut tar = header.to_vec();
    tar.extend_from_slice(&content);
    tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    let path = dir.join("backup.dat");
    std::fs::write(&path, &tar).unwrap();
    let listed = std::process::Command::new("tar")
        .args(["-tvf", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{listed:?}");
    assert!(String::from_utf8_lossy(&listed.stdout).contains("tool"));
    assert!(!tar[257..262].starts_with(b"ustar"));
    tar
}

// Reproduction 4: a `.docx` whose first entry is `word/document.xml`, and a v7 tar named
// `.dat`, passed as harmless and unpacked an ELF on the target. Archives are judged by
// their entries.
#[test]
fn archives_are_judged_by_their_entries_whatever_their_name() {
    let (gw, alice, sshd, plan) = setup(&["upload"]);
    let dir = target_dir(&sshd, "up");
    let docx = docx_carrying_an_elf(gw.tmp.path());
    let tar = v7_tar_carrying_an_elf(gw.tmp.path());
    let master = login(&alice).master(&gw);
    let mut s = SftpRaw::subsystem(&master);

    let report_docx = dir.join("report.docx");
    let code = s.put(&p(&report_docx), &docx);
    assert!(
        !report_docx.exists(),
        "the .docx carrying an ELF reached the target"
    );
    assert_eq!(code, Ok(status::PERMISSION_DENIED));
    wait_refusal(
        &gw,
        &report_docx,
        &["executable_not_declared", "archive_not_declared"],
    );

    let backup = dir.join("backup.dat");
    let code = s.put(&p(&backup), &tar);
    assert!(!backup.exists(), "the v7 tar reached the target");
    assert_eq!(code, Ok(status::PERMISSION_DENIED));
    // The plan declares neither archives nor executables: either names the refusal (the
    // tar's entry is an ELF), as for the .docx above.
    wait_refusal(
        &gw,
        &backup,
        &["archive_not_declared", "executable_not_declared"],
    );

    assert!(
        entries(&dir).is_empty(),
        "left on the target: {:?}",
        entries(&dir)
    );
    drop(s);
    let report = report(&gw, &plan, master);
    assert_refused_in_report(
        &report,
        path_str(&report_docx),
        &["executable_not_declared", "archive_not_declared"],
    );
    assert_refused_in_report(
        &report,
        path_str(&backup),
        &["archive_not_declared", "executable_not_declared"],
    );
}

// The same hand-made transfers with the plan allowing them: they work, and each is on
// record with the right direction, size and SHA-256 under its final name.
#[test]
fn with_the_plan_allowing_it_each_hand_made_transfer_works_and_is_on_record() {
    let (gw, alice, sshd, plan) = setup(&["upload", "download", "executable", "script", "archive"]);
    let dir = target_dir(&sshd, "up");
    let master = login(&alice).master(&gw);
    let mut s = SftpRaw::subsystem(&master);

    // A head rewritten into an ELF: the final content, on record with its digest.
    let elf = elf();
    let tool = dir.join("tool");
    let (rewrite, close) = upload_with_rewritten_head(&mut s, &tool, &elf, b'?');
    assert_eq!((rewrite, close), (Ok(status::OK), Ok(status::OK)));
    assert_eq!(std::fs::read(&tool).unwrap(), elf);
    let record = wait_completed(&gw, &tool, "upload");
    assert_eq!(
        record,
        ("upload".into(), elf.len() as u64, sha256_hex(&elf))
    );

    // Replacing an existing file.
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "original").unwrap();
    assert_eq!(s.put(&p(&notes), b"new notes\n"), Ok(status::OK));
    assert_eq!(std::fs::read(&notes).unwrap(), b"new notes\n");
    let record = wait_completed(&gw, &notes, "upload");
    assert_eq!(record, ("upload".into(), 10, sha256_hex(b"new notes\n")));

    // A v7 tar, declared.
    let tar = v7_tar_carrying_an_elf(gw.tmp.path());
    let backup = dir.join("backup.dat");
    assert_eq!(s.put(&p(&backup), &tar), Ok(status::OK));
    assert_eq!(std::fs::read(&backup).unwrap(), tar);
    let record = wait_completed(&gw, &backup, "upload");
    assert_eq!(
        record,
        ("upload".into(), tar.len() as u64, sha256_hex(&tar))
    );

    // chmod 755 on a script, declared.
    let maint = dir.join("maint");
    assert_eq!(s.put(&p(&maint), b"echo ok\n"), Ok(status::OK));
    assert_eq!(s.setstat(&p(&maint), Attrs::mode(0o755)), Ok(status::OK));
    assert!(executable(&maint));

    // A download with pflags 0: on record as a download.
    let patients = dir.join("patients.csv");
    let content = "id,name\n1,Yamada-Hanako\n".repeat(3000);
    std::fs::write(&patients, &content).unwrap();
    let h = s.open(&p(&patients), 0, Attrs::NONE).unwrap();
    let (taken, _) = s.read_to_end(&h);
    assert_eq!(s.close(&h), Ok(status::OK));
    assert_eq!(taken, content.as_bytes());
    let record = wait_completed(&gw, &patients, "download");
    assert_eq!(
        record,
        (
            "download".into(),
            content.len() as u64,
            sha256_hex(content.as_bytes())
        )
    );

    // Nothing else in the directory: no temporary file left by the accepted uploads.
    assert_eq!(
        entries(&dir),
        names(&["tool", "notes.txt", "backup.dat", "maint", "patients.csv"])
    );
    assert!(
        refused_transfers(&gw).is_empty(),
        "{:#?}",
        refused_transfers(&gw)
    );
    drop(s);
    let report = report(&gw, &plan, master);
    assert_completed_in_report(
        &report,
        path_str(&tool),
        "upload",
        elf.len() as u64,
        &sha256_hex(&elf),
    );
    assert_completed_in_report(
        &report,
        path_str(&notes),
        "upload",
        10,
        &sha256_hex(b"new notes\n"),
    );
    assert_completed_in_report(
        &report,
        path_str(&backup),
        "upload",
        tar.len() as u64,
        &sha256_hex(&tar),
    );
    assert_completed_in_report(
        &report,
        path_str(&patients),
        "download",
        content.len() as u64,
        &sha256_hex(content.as_bytes()),
    );
}
