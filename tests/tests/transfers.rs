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

fn same_content(a: &Path, b: &Path) -> bool {
    std::fs::read(a).unwrap() == std::fs::read(b).unwrap()
}

fn login(alice: &Engineer) -> SshLogin {
    let mut l = SshLogin::engineer(alice);
    l.user = "alice:db01".into();
    l
}

/// SHA-256 of a file, by the real `sha256sum`.
fn sha256(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)[..64].to_owned()
}

/// The completed `transfer` records for `path` in the audit trail, as (direction, size,
/// sha256).
fn transfers_of(gw: &Gateway, path: &Path) -> Vec<(String, u64, String)> {
    gw.audit_tail(200)
        .into_iter()
        .filter(|e| e["kind"] == "transfer" && e["detail"]["path"] == path.to_str().unwrap())
        .filter(|e| e["detail"]["outcome"] == "completed")
        .map(|e| {
            let d = &e["detail"];
            (
                d["direction"].as_str().unwrap_or_default().to_owned(),
                d["size"].as_u64().unwrap_or_default(),
                d["sha256"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

// R-10-3, §7 ②: big files arrive intact both ways, and each is on record with its size
// and SHA-256. One login (a ControlMaster) carries every command, as the README says.
#[test]
fn two_hundred_mib_through_scp_and_sftp_both_ways_with_sha256_on_record() {
    const SIZE: u64 = 200 << 20;
    let (gw, alice, sshd) = setup(&["upload", "download"]);
    let local = gw.tmp.path().join("firmware.bin");
    let mut urandom = std::fs::File::open("/dev/urandom").unwrap();
    let mut file = std::fs::File::create(&local).unwrap();
    std::io::copy(&mut std::io::Read::take(&mut urandom, SIZE), &mut file).unwrap();
    drop(file);
    let digest = sha256(&local);
    let master = login(&alice).master(&gw);
    let dir = sshd.tmp.path();

    // scp in its default (SFTP) mode, up and down.
    let up = dir.join("scp-up.bin");
    let out = master.run(
        "scp",
        &[
            "-q",
            local.to_str().unwrap(),
            &format!("gw:{}", up.display()),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert_eq!(sha256(&up), digest, "scp upload corrupted");
    let down = gw.tmp.path().join("scp-down.bin");
    let out = master.run(
        "scp",
        &[
            "-q",
            &format!("gw:{}", up.display()),
            down.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert_eq!(sha256(&down), digest, "scp download corrupted");

    // sftp, up and down in one batch.
    let sftp_up = dir.join("sftp-up.bin");
    let sftp_down = gw.tmp.path().join("sftp-down.bin");
    let batch = gw.tmp.path().join("batch");
    std::fs::write(
        &batch,
        format!(
            "put {} {}\nget {} {}\n",
            local.display(),
            sftp_up.display(),
            sftp_up.display(),
            sftp_down.display()
        ),
    )
    .unwrap();
    let out = master.run("sftp", &["-q", "-b", batch.to_str().unwrap(), "gw:"]);
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert_eq!(sha256(&sftp_up), digest, "sftp upload corrupted");
    assert_eq!(sha256(&sftp_down), digest, "sftp download corrupted");

    // Legacy scp carries the same bytes.
    let legacy = gw.tmp.path().join("legacy-down.bin");
    let out = master.run(
        "scp",
        &[
            "-q",
            "-O",
            &format!("gw:{}", up.display()),
            legacy.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert_eq!(sha256(&legacy), digest, "legacy scp download corrupted");

    // Every transfer is on record, SFTP and legacy alike: direction, size, the same digest.
    let up_records = transfers_of(&gw, &up);
    assert_eq!(
        up_records,
        [
            ("upload".to_owned(), SIZE, digest.clone()),
            ("download".to_owned(), SIZE, digest.clone()),
            ("download".to_owned(), SIZE, digest.clone())
        ],
        "{:#?}",
        gw.audit_tail(20)
    );
    let sftp_records = transfers_of(&gw, &sftp_up);
    assert_eq!(
        sftp_records,
        [
            ("upload".to_owned(), SIZE, digest.clone()),
            ("download".to_owned(), SIZE, digest.clone())
        ]
    );
    // A legacy recursive download names each file by its full path on the target.
    let tree = dir.join("logs");
    std::fs::create_dir_all(tree.join("old")).unwrap();
    std::fs::write(tree.join("a.log"), "first\n").unwrap();
    std::fs::write(tree.join("old/b.log"), "second\n").unwrap();
    let copied = gw.tmp.path().join("logs-copy");
    let out = master.run(
        "scp",
        &[
            "-q",
            "-O",
            "-r",
            &format!("gw:{}", tree.display()),
            copied.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert_eq!(
        std::fs::read(copied.join("old/b.log")).unwrap(),
        b"second\n"
    );
    for (file, content) in [("a.log", "first\n"), ("old/b.log", "second\n")] {
        let on_record = transfers_of(&gw, &tree.join(file));
        let expected = sha256(&tree.join(file));
        assert_eq!(
            on_record,
            [("download".to_owned(), content.len() as u64, expected)],
            "{file}: {:#?}",
            gw.audit_tail(10)
        );
    }

    // All of it under one session.
    let sessions: std::collections::HashSet<String> = gw
        .audit_tail(200)
        .into_iter()
        .filter(|e| e["kind"] == "transfer")
        .map(|e| e["detail"]["session_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
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

// §7 ②: with SFTP, each file is judged on its own: uploads pass, downloads don't.
#[test]
fn sftp_download_without_download_in_the_plan_is_refused_while_uploads_pass() {
    let (gw, alice, sshd) = setup(&["upload"]);
    let secret = sshd.tmp.path().join("patients.csv");
    std::fs::write(&secret, "id,name\n1,Yamada\n").unwrap();
    let notes = gw.tmp.path().join("notes.txt");
    std::fs::write(&notes, "maintenance notes\n").unwrap();
    let master = login(&alice).master(&gw);
    let uploaded = sshd.tmp.path().join("notes.txt");
    let out = master.run(
        "scp",
        &[
            "-q",
            notes.to_str().unwrap(),
            &format!("gw:{}", uploaded.display()),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert!(same_content(&notes, &uploaded));

    let taken = gw.tmp.path().join("taken.csv");
    let out = master.run(
        "scp",
        &[
            "-q",
            &format!("gw:{}", secret.display()),
            taken.to_str().unwrap(),
        ],
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(!taken.exists(), "data left the hospital");
    assert!(out.stderr.contains("ダウンロード"), "{out:?}");
    assert!(out.stderr.contains("downloads are not allowed"), "{out:?}");
    let refused = gw
        .audit_tail(50)
        .into_iter()
        .find(|e| e["kind"] == "transfer" && e["detail"]["outcome"] == "refused")
        .unwrap_or_else(|| panic!("no refusal on record: {:#?}", gw.audit_tail(20)));
    assert_eq!(refused["detail"]["reason"], "download_not_allowed");
    assert_eq!(refused["detail"]["direction"], "download");
    assert_eq!(refused["detail"]["path"], secret.to_str().unwrap());

    // R-10-6: the legacy protocol isn't inspected, so its uploads are refused outright.
    let legacy = sshd.tmp.path().join("legacy.txt");
    let out = master.run(
        "scp",
        &[
            "-q",
            "-O",
            notes.to_str().unwrap(),
            &format!("gw:{}", legacy.display()),
        ],
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("scp -O"), "{out:?}");
    assert!(!legacy.exists(), "a legacy upload reached the target");
}

// R-10-6: an executable is refused on upload unless the plan declares executables,
// whatever it is called; with the declaration it goes through.
#[test]
fn an_elf_upload_is_refused_unless_the_plan_declares_executables() {
    let (gw, alice, sshd) = setup(&["upload"]);
    let master = login(&alice).master(&gw);
    let disguised = sshd.tmp.path().join("readme.txt");
    let out = master.run(
        "scp",
        &["-q", "/bin/true", &format!("gw:{}", disguised.display())],
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("実行ファイル"), "{out:?}");
    assert!(out.stderr.contains("--allow executable"), "{out:?}");
    let landed = std::fs::read(&disguised).unwrap_or_default();
    assert!(
        !landed.starts_with(b"\x7fELF"),
        "the executable reached the target"
    );
    let refused = gw
        .audit_tail(50)
        .into_iter()
        .find(|e| e["kind"] == "transfer" && e["detail"]["outcome"] == "refused")
        .unwrap_or_else(|| panic!("no refusal on record: {:#?}", gw.audit_tail(20)));
    assert_eq!(refused["detail"]["reason"], "executable_not_declared");
    drop(master);

    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01("Kaede-Hashira-7731");
    gw.plan_allowing(
        "alice",
        "db01",
        -5,
        60,
        Some("olga"),
        &["upload", "executable"],
    );
    gw.start();
    let master = login(&alice).master(&gw);
    let tool = sshd.tmp.path().join("tool");
    let out = master.run(
        "scp",
        &["-v", "/bin/true", &format!("gw:{}", tool.display())],
    );
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert!(same_content(Path::new("/bin/true"), &tool));
}

// R-10-6: with a clamd configured, every upload is scanned as it streams; an infected file
// is removed from the target at its close and the engineer is told, a clean one stays.
#[test]
fn an_infected_upload_is_removed_and_refused_when_clamd_is_configured() {
    let clamd = fumidai_e2e::Clamd::start();
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01("Kaede-Hashira-7731");
    gw.set_config(
        "# clamd_socket = \"/run/clamav/clamd.ctl\"",
        &format!("clamd_socket = \"{}\"", clamd.socket.display()),
    );
    gw.plan_allowing("alice", "db01", -5, 60, Some("olga"), &["upload"]);
    gw.start();
    let master = login(&alice).master(&gw);

    let mut infected = vec![b'x'; 3 << 20];
    infected.extend_from_slice(fumidai_e2e::Clamd::MARKER);
    infected.extend_from_slice(&[b'y'; 100_000]);
    let local = gw.tmp.path().join("report.txt");
    std::fs::write(&local, &infected).unwrap();
    let remote = sshd.tmp.path().join("report.txt");
    let out = master.run(
        "scp",
        &[
            "-q",
            local.to_str().unwrap(),
            &format!("gw:{}", remote.display()),
        ],
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("ウイルス検査"), "{out:?}");
    assert!(!remote.exists(), "the infected file stayed on the target");
    let refused = gw
        .audit_tail(50)
        .into_iter()
        .find(|e| e["kind"] == "transfer" && e["detail"]["outcome"] == "refused")
        .unwrap_or_else(|| panic!("no refusal on record: {:#?}", gw.audit_tail(20)));
    let reason = refused["detail"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("scan_failed"), "{reason}");
    assert!(reason.contains(fumidai_e2e::Clamd::SIGNATURE), "{reason}");

    let clean = gw.tmp.path().join("clean.txt");
    std::fs::write(&clean, vec![b'z'; 1 << 20]).unwrap();
    let landed = sshd.tmp.path().join("clean.txt");
    let out = master.run(
        "scp",
        &[
            "-q",
            clean.to_str().unwrap(),
            &format!("gw:{}", landed.display()),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert!(same_content(&clean, &landed));
}
