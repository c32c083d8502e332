//! File transfers through fumidai with stock `scp` (SFTP and legacy modes) and `sftp`:
//! bytes arrive intact, and a transfer the plan does not allow is refused and audited
//! (R-10-6; vendors must not take data out unless the plan says so).

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::path::Path;

use fumidai_e2e::{Engineer, Gateway, SshLogin, Sshd};

fn setup(allow: &[&str]) -> (Gateway, Engineer, Sshd) {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01("Kaede-Hashira-7731");
    gw.plan_allowing("alice", "db01", -5, 60, Some("olga"), allow);
    gw.start();
    (gw, alice, sshd)
}

/// A file of `size` pseudo-random bytes.
fn random_file(path: &Path, size: usize) {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(path, bytes).unwrap();
}

fn same_content(a: &Path, b: &Path) -> bool {
    std::fs::read(a).unwrap() == std::fs::read(b).unwrap()
}

fn login(alice: &Engineer) -> SshLogin {
    let mut l = SshLogin::engineer(alice);
    l.user = "alice:db01".into();
    l
}

#[test]
fn scp_uploads_and_downloads_intact_when_the_plan_allows_both() {
    let (gw, alice, sshd) = setup(&["upload", "download"]);
    let local = gw.tmp.path().join("payload.bin");
    random_file(&local, 8 << 20);
    let remote = sshd.tmp.path().join("uploaded.bin");
    let remote_arg = format!("gw:{}", remote.display());
    // scp's default (SFTP) mode, one login.
    let out = login(&alice).run_tool(&gw, "scp", &[local.to_str().unwrap(), &remote_arg]);
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert!(same_content(&local, &remote), "upload corrupted");
    // And back, with the legacy protocol, on a fresh code.
    std::thread::sleep(std::time::Duration::from_secs(31));
    let back = gw.tmp.path().join("back.bin");
    let out = login(&alice).run_tool(&gw, "scp", &["-O", &remote_arg, back.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert!(same_content(&local, &back), "download corrupted");
}

#[test]
fn legacy_scp_download_without_download_in_the_plan_is_refused() {
    let (gw, alice, sshd) = setup(&["upload"]);
    let secret = sshd.tmp.path().join("patients.csv");
    std::fs::write(&secret, "id,name\n1,Yamada\n").unwrap();
    let local = gw.tmp.path().join("taken.csv");
    let remote_arg = format!("gw:{}", secret.display());
    let out = login(&alice).run_tool(&gw, "scp", &["-O", &remote_arg, local.to_str().unwrap()]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        !local.exists() || std::fs::read(&local).unwrap().is_empty(),
        "data left the hospital"
    );
    assert!(out.stderr.contains("Downloads are not allowed"), "{out:?}");
    let refused = gw.wait_audit_kind("transfer");
    assert_eq!(
        refused["detail"]["reason"], "download_not_allowed",
        "{refused}"
    );
}

#[test]
fn sftp_needs_both_directions_in_the_plan_for_now() {
    let (gw, alice, _sshd) = setup(&["upload"]);
    // No `-b`: batch mode would also turn off the password and code prompts. With stdin
    // closed, sftp connects, asks for its subsystem and ends.
    let out = login(&alice).run_tool(&gw, "sftp", &["gw:"]);
    assert_ne!(out.code, 0, "{out:?}");
    let refused = gw.wait_audit_kind("transfer");
    assert_eq!(
        refused["detail"]["reason"], "sftp_needs_upload_and_download",
        "{refused}"
    );
}
