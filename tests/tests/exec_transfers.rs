//! Transfers that go through an exec channel instead of the `sftp` subsystem (issue 11,
//! reproductions 5 and 6; STYLE 26), with stock `ssh`, `sftp` and `scp` over one
//! ControlMaster login: an SFTP server started by path, the scp protocol under a wrapper
//! (`exec`, quotes, a full path, `env`, `sh -c`, a backslash), a file piped into
//! `cat > f`, a big file read with `cat`, a file carried in an `LC_*` variable.
//!
//! Each test checks what the real target sshd holds afterwards, what the audit trail says
//! and what the reconciliation report says; each has a twin with the plan allowing the
//! transfer, where it works and is on record with its direction, size and SHA-256.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use base64::Engine as _;
use fumidai_e2e::plan_report::{
    assert_completed_in_report, assert_nothing_moved_in_report, assert_refused_in_report, findings,
    report_after_window, transfers,
};
use fumidai_e2e::sftp_raw::{Reply, SftpRaw, kind, status, wire_path};
use fumidai_e2e::tools::{poll, require, run_with_timeout_stdin};
use fumidai_e2e::transfer_audit::{
    refused_transfers, sha256_hex, transfer_records, transfers_via, wait_completed, wait_refusal,
    wait_via,
};
use fumidai_e2e::{Engineer, Gateway, SshLogin, SshMaster, Sshd};
use serde_json::Value;

/// OpenSSH's SFTP server on Debian, started by path (`sftp -s PATH` runs it as an exec).
const SFTP_SERVER: &str = "/usr/lib/openssh/sftp-server";

/// The most stdin an exec channel may carry without `upload` (the lead's contract).
const STDIN_CAP: u64 = 64 << 10;

/// Stdout past this is a download on record (the lead's contract).
const STDOUT_THRESHOLD: usize = 1 << 20;

/// How long an audit record may take to appear.
const RECORD_DEADLINE: Duration = Duration::from_secs(20);

/// A test's gateway, engineer, target and approved plan.
struct Scene {
    gw: Gateway,
    alice: Engineer,
    sshd: Sshd,
    plan: String,
}

/// Alice's plan on db01 allowing `allow`, window open for the next hour; db01 tagged
/// `personal-data` when `personal_data` (the report's findings are graver there).
fn scene(allow: &[&str], personal_data: bool) -> Scene {
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", "Kaede-Hashira-7731");
    gw.add_operator("olga", "operator");
    let (addr, key) = (sshd.addr.to_string(), sshd.client_key.display().to_string());
    let mut args: Vec<&str> = vec![
        "target",
        "add",
        "db01",
        "--ssh",
        &addr,
        "--login",
        "root",
        "--allow-shared-admin",
        fumidai_e2e::SHARED_ADMIN_REASON,
        "--key-file",
        &key,
        "--host-key",
        &sshd.host_key,
    ];
    if personal_data {
        args.extend(["--tag", "personal-data"]);
    }
    gw.cli_ok(&args);
    let plan = if personal_data {
        // R-10-2: a personal-data target is reached only under a plan declaring it; a
        // take-out (download) is described and approved by a planning manager (§7.1).
        let mut extra: Vec<&str> = allow.iter().flat_map(|a| ["--allow", *a]).collect();
        extra.extend([
            "--personal-data",
            "患者索引の確認 / patient index check",
            "--data-deletion",
            "作業ファイルを削除 / delete the work files",
        ]);
        let approver = if allow.contains(&"download") {
            gw.add_operator("mana", "manager");
            extra.extend([
                "--take-out-purpose",
                "索引の照合 / index reconciliation",
                "--take-out-count",
                "1",
                "--take-out-items",
                "患者ID / patient ID",
                "--take-out-storage",
                "暗号化ディスク / encrypted disk",
            ]);
            "mana"
        } else {
            "olga"
        };
        gw.plan_with_args("alice", "db01", -5, 60, Some(approver), &extra)
    } else {
        gw.plan_allowing("alice", "db01", -5, 60, Some("olga"), allow)
    };
    gw.start();
    Scene {
        gw,
        alice,
        sshd,
        plan,
    }
}

impl Scene {
    fn master(&self) -> SshMaster {
        let mut l = SshLogin::engineer(&self.alice);
        l.user = "alice:db01".into();
        l.master(&self.gw)
    }

    /// A fresh, empty directory on the target (its sshd runs on this machine).
    fn target_dir(&self, name: &str) -> PathBuf {
        let dir = self.sshd.tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        dir
    }

    /// The report, once `master` (the session) has gone.
    fn report(&self, master: SshMaster) -> Value {
        drop(master);
        report_after_window(&self.gw, &self.plan)
    }
}

/// `ssh gw COMMAND` over `master` with `stdin`; the raw output (stdout may be binary).
fn ssh_exec(master: &SshMaster, command: &str, stdin: Stdio, extra: &[&str]) -> Output {
    let mut cmd = master.command("ssh");
    cmd.args(extra).args(["fumidai-gateway", command]);
    run_with_timeout_stdin(cmd, stdin, Duration::from_secs(120))
}

fn shown(out: &Output) -> String {
    format!(
        "exit {:?}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The names in `dir`: nothing may be left there (no temporary file either).
fn entries(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// A real ELF under 64 KiB.
fn small_elf() -> Vec<u8> {
    let bytes = std::fs::read("/usr/bin/true").unwrap();
    assert!(bytes.starts_with(b"\x7fELF") && (bytes.len() as u64) < STDIN_CAP);
    bytes
}

/// A real ELF well over 64 KiB (`/usr/bin/ssh`, about 1 MiB).
fn big_elf() -> Vec<u8> {
    let bytes = std::fs::read("/usr/bin/ssh").unwrap();
    assert!(bytes.starts_with(b"\x7fELF") && bytes.len() as u64 > 4 * STDIN_CAP);
    bytes
}

/// A patients' CSV of at least `size` bytes, each line naming a patient.
fn patients_csv(size: usize) -> Vec<u8> {
    let mut csv = b"id,name,birth\n".to_vec();
    let mut n = 0;
    while csv.len() < size {
        n += 1;
        csv.extend_from_slice(
            format!("{n},Yamada-Hanako-PATIENT-{n:07},1961-04-0{}\n", n % 9 + 1).as_bytes(),
        );
    }
    csv
}

/// The scp protocol as `scp -O` speaks it to a sink (`scp -t DIR`): one file `name` with
/// mode 0755, then its content and the end-of-file status byte. The sink acknowledges
/// each step; everything is sent at once, as it reads in order.
fn scp_sink_stream(name: &str, content: &[u8]) -> Vec<u8> {
    let mut s = format!("C0755 {} {name}\n", content.len()).into_bytes();
    s.extend_from_slice(content);
    s.push(0);
    s
}

/// What a client sends to a source (`scp -f FILE`): a go-ahead before the control line,
/// after it, and after the content.
const SCP_SOURCE_ACKS: &[u8] = b"\0\0\0\0";

/// `bytes` as the stdin of a child process.
fn stdin_of(dir: &Path, name: &str, bytes: &[u8]) -> Stdio {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    Stdio::from(std::fs::File::open(path).unwrap())
}

/// Waits until exactly `n` refused `transfer` records are on record (one per attempt),
/// then checks each one's reason is among `reasons`; fails with the trail otherwise.
fn wait_refusal_count(gw: &Gateway, reasons: &[&str], n: usize) -> Vec<Value> {
    let found = poll(RECORD_DEADLINE, || {
        let found = refused_transfers(gw);
        (found.len() >= n).then_some(found)
    })
    .filter(|found| found.len() == n)
    .unwrap_or_else(|| {
        panic!(
            "expected {n} refusals, the trail has:\n{:#?}",
            transfer_records(gw)
        )
    });
    for r in &found {
        assert!(
            reasons
                .iter()
                .any(|reason| r["detail"]["reason"].as_str() == Some(reason)),
            "a refusal not for {reasons:?}: {r:#}"
        );
    }
    found
}

// ---------------------------------------------------------------------------------------
// Reproduction 5: an SFTP server by path. `sftp -s /usr/lib/openssh/sftp-server` sends an
// exec, not a subsystem request: the old gateway let it through uninspected, with no
// transfer on record.
// ---------------------------------------------------------------------------------------

#[test]
fn sftp_server_by_path_is_refused_without_transfers_in_the_plan() {
    let s = scene(&[], false);
    let dir = s.target_dir("srv");
    let patients = dir.join("patients.csv");
    std::fs::write(&patients, patients_csv(4096)).unwrap();
    let master = s.master();
    let local = s.gw.tmp.path();

    let tool = dir.join("tool");
    let batch = local.join("put");
    std::fs::write(&batch, format!("put /usr/bin/true {}\n", tool.display())).unwrap();
    let put = master.run(
        "sftp",
        &[
            "-q",
            "-s",
            SFTP_SERVER,
            "-b",
            batch.to_str().unwrap(),
            "gw:",
        ],
    );
    let taken = local.join("taken.csv");
    let batch = local.join("get");
    std::fs::write(
        &batch,
        format!("get {} {}\n", patients.display(), taken.display()),
    )
    .unwrap();
    let get = master.run(
        "sftp",
        &[
            "-q",
            "-s",
            SFTP_SERVER,
            "-b",
            batch.to_str().unwrap(),
            "gw:",
        ],
    );

    assert!(!tool.exists(), "the ELF reached the target: {put:?}");
    assert_eq!(entries(&dir), names(&["patients.csv"]));
    assert!(!taken.exists(), "patient data left the hospital: {get:?}");
    assert_ne!(put.code, 0, "{put:?}");
    assert_ne!(get.code, 0, "{get:?}");
    // Judged as the sftp subsystem is: refused at the start with no transfer allowed, or
    // operation by operation.
    wait_refusal_count(
        &s.gw,
        &[
            "sftp_not_allowed",
            "upload_not_allowed",
            "download_not_allowed",
        ],
        2,
    );

    let report = s.report(master);
    assert_nothing_moved_in_report(&report, tool.to_str().unwrap());
    assert_nothing_moved_in_report(&report, patients.to_str().unwrap());
    assert!(
        findings(&report)
            .iter()
            .filter(|f| f["kind"] == "transfer_refused")
            .count()
            >= 2,
        "the report does not show the two refused transfers:\n{:#?}",
        findings(&report)
    );
}

// The same server by path in other wrappings, driven by hand: every one is refused before
// a byte lands.
#[test]
fn sftp_server_under_a_wrapper_is_refused_without_transfers_in_the_plan() {
    let s = scene(&[], false);
    let dir = s.target_dir("up");
    let master = s.master();
    let elf = small_elf();
    let wrappers = [
        SFTP_SERVER.to_owned(),
        format!("exec {SFTP_SERVER}"),
        format!("env {SFTP_SERVER}"),
        format!("sh -c {SFTP_SERVER}"),
        format!("'{SFTP_SERVER}'"),
        "/usr/lib/openssh/../openssh/sftp-server -e".to_owned(),
        format!("true; {SFTP_SERVER}"),
    ];
    for (i, command) in wrappers.iter().enumerate() {
        let path = dir.join(format!("tool{i}"));
        let mut raw = SftpRaw::spawn_uninitialised(&master, &["fumidai-gateway", command]);
        let mut init = vec![kind::INIT];
        init.extend_from_slice(&3u32.to_be_bytes());
        raw.send_packet(&init);
        if let Ok(Reply::Version(_)) = raw.recv(Duration::from_secs(10)) {
            let _ = raw.put(&wire_path(&path), &elf);
        }
        drop(raw);
        assert!(!path.exists(), "{command:?}: the ELF reached the target");
    }
    assert!(
        entries(&dir).is_empty(),
        "left on the target: {:?}",
        entries(&dir)
    );
    wait_refusal_count(
        &s.gw,
        &[
            "sftp_not_allowed",
            "upload_not_allowed",
            "uncertain_command",
        ],
        wrappers.len(),
    );
    let report = s.report(master);
    assert!(
        !transfers(&report).iter().any(|t| t["outcome"] != "refused"),
        "the report shows something moved:\n{:#?}",
        transfers(&report)
    );
}

// With `upload` only, the exec'd server is inspected file by file like the subsystem: a
// text upload works and is on record, a download and an undeclared ELF are refused.
#[test]
fn sftp_server_by_path_is_inspected_file_by_file() {
    let s = scene(&["upload"], false);
    let dir = s.target_dir("srv");
    let patients = dir.join("patients.csv");
    std::fs::write(&patients, patients_csv(4096)).unwrap();
    let notes_local = s.gw.tmp.path().join("notes.txt");
    std::fs::write(&notes_local, "maintenance notes\n").unwrap();
    let master = s.master();

    let notes = dir.join("notes.txt");
    let batch = s.gw.tmp.path().join("put");
    std::fs::write(
        &batch,
        format!("put {} {}\n", notes_local.display(), notes.display()),
    )
    .unwrap();
    let out = master.run(
        "sftp",
        &[
            "-q",
            "-s",
            SFTP_SERVER,
            "-b",
            batch.to_str().unwrap(),
            "gw:",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}\n{}", s.gw.log());
    assert_eq!(std::fs::read(&notes).unwrap(), b"maintenance notes\n");
    let record = wait_completed(&s.gw, &notes, "upload");
    assert_eq!(
        record,
        ("upload".into(), 18, sha256_hex(b"maintenance notes\n"))
    );

    let taken = s.gw.tmp.path().join("taken.csv");
    let batch = s.gw.tmp.path().join("get");
    std::fs::write(
        &batch,
        format!("get {} {}\n", patients.display(), taken.display()),
    )
    .unwrap();
    let out = master.run(
        "sftp",
        &[
            "-q",
            "-s",
            SFTP_SERVER,
            "-b",
            batch.to_str().unwrap(),
            "gw:",
        ],
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(!taken.exists(), "patient data left the hospital");
    wait_refusal(&s.gw, &patients, &["download_not_allowed"]);

    // A hand-driven put of an ELF through a wrapped server: refused, nothing left.
    let tool = dir.join("tool");
    let mut raw = SftpRaw::exec(&master, &format!("sh -c {SFTP_SERVER}"));
    let code = raw.put(&wire_path(&tool), &small_elf());
    drop(raw);
    assert!(!tool.exists(), "the ELF reached the target");
    assert_eq!(code, Ok(status::PERMISSION_DENIED));
    wait_refusal(&s.gw, &tool, &["executable_not_declared"]);
    assert_eq!(entries(&dir), names(&["notes.txt", "patients.csv"]));

    let report = s.report(master);
    assert_completed_in_report(
        &report,
        notes.to_str().unwrap(),
        "upload",
        18,
        &sha256_hex(b"maintenance notes\n"),
    );
    assert_refused_in_report(
        &report,
        patients.to_str().unwrap(),
        &["download_not_allowed"],
    );
    assert_refused_in_report(
        &report,
        tool.to_str().unwrap(),
        &["executable_not_declared"],
    );
}

// With the plan allowing it, the exec'd server carries files both ways, each on record.
#[test]
fn sftp_server_by_path_with_the_plan_allowing_it_works_and_is_on_record() {
    let s = scene(&["upload", "download", "executable"], false);
    let dir = s.target_dir("srv");
    let content = patients_csv(300_000);
    let patients = dir.join("patients.csv");
    std::fs::write(&patients, &content).unwrap();
    let master = s.master();
    let tool = dir.join("tool");
    let taken = s.gw.tmp.path().join("taken.csv");
    let batch = s.gw.tmp.path().join("batch");
    std::fs::write(
        &batch,
        format!(
            "put /usr/bin/true {}\nget {} {}\n",
            tool.display(),
            patients.display(),
            taken.display()
        ),
    )
    .unwrap();
    let out = master.run(
        "sftp",
        &[
            "-q",
            "-s",
            SFTP_SERVER,
            "-b",
            batch.to_str().unwrap(),
            "gw:",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}\n{}", s.gw.log());
    let elf = small_elf();
    assert_eq!(std::fs::read(&tool).unwrap(), elf);
    assert_eq!(std::fs::read(&taken).unwrap(), content);
    let up = wait_completed(&s.gw, &tool, "upload");
    assert_eq!(up, ("upload".into(), elf.len() as u64, sha256_hex(&elf)));
    let down = wait_completed(&s.gw, &patients, "download");
    assert_eq!(
        down,
        (
            "download".into(),
            content.len() as u64,
            sha256_hex(&content)
        )
    );
    assert_eq!(entries(&dir), names(&["patients.csv", "tool"]));

    let report = s.report(master);
    assert_completed_in_report(
        &report,
        tool.to_str().unwrap(),
        "upload",
        elf.len() as u64,
        &sha256_hex(&elf),
    );
    assert_completed_in_report(
        &report,
        patients.to_str().unwrap(),
        "download",
        content.len() as u64,
        &sha256_hex(&content),
    );
}

// ---------------------------------------------------------------------------------------
// Reproduction 5: the scp protocol under a wrapper. `ssh gw 'exec scp -t /tmp/'` and
// `ssh gw '"scp" -t /tmp/'` were not recognised as scp: an ELF landed with no record.
// ---------------------------------------------------------------------------------------

/// `scp -t DIR/` in every wrapping a shell accepts (DIR ends with `/`).
fn scp_sink_wrappings(dir: &str) -> Vec<String> {
    vec![
        format!("exec scp -t {dir}"),
        format!("\"scp\" -t {dir}"),
        format!("/usr/bin/scp -t {dir}"),
        format!("env scp -t {dir}"),
        format!("sh -c 'scp -t {dir}'"),
        format!("s\\cp -t {dir}"),
        format!("cd {dir} && scp -t ."),
        format!("scp -d -t {dir}"),
    ]
}

#[test]
fn scp_sink_under_any_wrapper_is_refused_without_upload() {
    let s = scene(&[], false);
    let dir = s.target_dir("up");
    let master = s.master();
    let dir_arg = format!("{}/", dir.display());
    let wrappings = scp_sink_wrappings(&dir_arg);
    let elf = small_elf();
    for (i, command) in wrappings.iter().enumerate() {
        let name = format!("tool{i}");
        let stream = scp_sink_stream(&name, &elf);
        let out = ssh_exec(
            &master,
            command,
            stdin_of(s.gw.tmp.path(), &format!("scp{i}"), &stream),
            &[],
        );
        assert!(
            !dir.join(&name).exists(),
            "{command:?}: the ELF reached the target ({})",
            shown(&out)
        );
        assert_ne!(out.status.code(), Some(0), "{command:?}: {}", shown(&out));
    }
    assert!(
        entries(&dir).is_empty(),
        "left on the target: {:?}",
        entries(&dir)
    );
    let refused = wait_refusal_count(
        &s.gw,
        &["upload_not_allowed", "uncertain_command"],
        wrappings.len(),
    );
    for r in &refused {
        assert_eq!(
            r["detail"]["session_id"],
            refused[0]["detail"]["session_id"]
        );
    }

    let report = s.report(master);
    let refusals = findings(&report)
        .into_iter()
        .filter(|f| f["kind"] == "transfer_refused")
        .count();
    assert!(
        refusals >= wrappings.len(),
        "the report shows {refusals} refused transfers, not {}:\n{:#?}",
        wrappings.len(),
        findings(&report)
    );
    assert!(
        !transfers(&report).iter().any(|t| t["outcome"] != "refused"),
        "{:#?}",
        transfers(&report)
    );
}

#[test]
fn scp_source_under_any_wrapper_is_refused_without_download() {
    let s = scene(&["upload"], true);
    let dir = s.target_dir("srv");
    let patients = dir.join("patients.csv");
    std::fs::write(&patients, patients_csv(8192)).unwrap();
    let master = s.master();
    let p = patients.display();
    let wrappings = [
        format!("exec scp -f {p}"),
        format!("\"scp\" -f {p}"),
        format!("/usr/bin/scp -f {p}"),
        format!("env scp -f {p}"),
        format!("sh -c 'scp -f {p}'"),
        format!("s\\cp -f {p}"),
    ];
    for (i, command) in wrappings.iter().enumerate() {
        let out = ssh_exec(
            &master,
            command,
            stdin_of(s.gw.tmp.path(), &format!("acks{i}"), SCP_SOURCE_ACKS),
            &[],
        );
        let got = String::from_utf8_lossy(&out.stdout);
        assert!(
            !got.contains("PATIENT"),
            "{command:?}: patient data left the hospital ({})",
            shown(&out)
        );
        assert_ne!(out.status.code(), Some(0), "{command:?}: {}", shown(&out));
    }
    wait_refusal_count(&s.gw, &["download_not_allowed"], wrappings.len());
    let report = s.report(master);
    assert_nothing_moved_in_report(&report, patients.to_str().unwrap());
}

// With the plan allowing uploads of every kind (the legacy protocol's standard form needs
// that) and downloads, a wrapped scp works both ways and each file is on record.
#[test]
fn wrapped_scp_with_the_plan_allowing_it_works_and_is_on_record() {
    let s = scene(
        &[
            "upload",
            "download",
            "executable",
            "script",
            "macro",
            "archive",
        ],
        false,
    );
    let dir = s.target_dir("up");
    let master = s.master();
    let elf = small_elf();
    let stream = scp_sink_stream("tool", &elf);
    let out = ssh_exec(
        &master,
        &format!("exec scp -t {}/", dir.display()),
        stdin_of(s.gw.tmp.path(), "scp", &stream),
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        shown(&out),
        s.gw.log()
    );
    let tool = dir.join("tool");
    assert_eq!(std::fs::read(&tool).unwrap(), elf);
    let up = wait_completed(&s.gw, &tool, "upload");
    assert_eq!(up, ("upload".into(), elf.len() as u64, sha256_hex(&elf)));

    let content = patients_csv(200_000);
    let patients = dir.join("patients.csv");
    std::fs::write(&patients, &content).unwrap();
    let out = ssh_exec(
        &master,
        &format!("\"scp\" -f {}", patients.display()),
        stdin_of(s.gw.tmp.path(), "acks", SCP_SOURCE_ACKS),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let header = format!("C0644 {} patients.csv\n", content.len());
    assert!(out.stdout.starts_with(header.as_bytes()), "{}", shown(&out));
    let body = out.stdout.get(header.len()..header.len() + content.len());
    assert_eq!(
        body,
        Some(content.as_slice()),
        "the download was not carried intact"
    );
    let down = wait_completed(&s.gw, &patients, "download");
    assert_eq!(
        down,
        (
            "download".into(),
            content.len() as u64,
            sha256_hex(&content)
        )
    );

    let report = s.report(master);
    assert_completed_in_report(
        &report,
        tool.to_str().unwrap(),
        "upload",
        elf.len() as u64,
        &sha256_hex(&elf),
    );
    assert_completed_in_report(
        &report,
        patients.to_str().unwrap(),
        "download",
        content.len() as u64,
        &sha256_hex(&content),
    );
}

// ---------------------------------------------------------------------------------------
// Reproduction 5: a file piped into a command. `ssh gw 'cat > /tmp/t' < elf` put a whole
// ELF on the target with no record. Without `upload`, an exec channel's stdin is capped.
// ---------------------------------------------------------------------------------------

#[test]
fn stdin_past_the_cap_without_upload_closes_the_channel_on_record() {
    let s = scene(&[], false);
    let dir = s.target_dir("up");
    let master = s.master();

    // A little stdin is a command's input, not a transfer: it goes through.
    let small = b"SELECT count(*) FROM visits;\n".repeat(100);
    let out = ssh_exec(
        &master,
        &format!("cat > {}/query.sql", dir.display()),
        stdin_of(s.gw.tmp.path(), "query", &small),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_eq!(std::fs::read(dir.join("query.sql")).unwrap(), small);

    // Harmless text past the cap (an ELF would be refused for its kind before the cap).
    let sent = patients_csv(16 * STDIN_CAP as usize);
    let t = dir.join("t");
    let out = ssh_exec(
        &master,
        &format!("cat > {}", t.display()),
        stdin_of(s.gw.tmp.path(), "bulk", &sent),
        &[],
    );
    let landed = std::fs::read(&t).unwrap_or_default();
    assert!(
        landed.len() < sent.len(),
        "all {} bytes reached the target ({})",
        sent.len(),
        shown(&out)
    );
    assert!(
        landed.len() as u64 <= STDIN_CAP,
        "{} bytes reached the target, past the {STDIN_CAP}-byte cap",
        landed.len()
    );
    assert_ne!(out.status.code(), Some(0), "{}", shown(&out));
    let refused = wait_via(&s.gw, "exec-stdin", "refused");
    assert_eq!(
        refused["detail"]["reason"], "stdin_over_limit",
        "{refused:#}"
    );
    assert_eq!(refused["detail"]["direction"], "upload", "{refused:#}");

    let report = s.report(master);
    let finding = findings(&report).into_iter().find(|f| {
        f["kind"] == "transfer_refused"
            && f["message_en"]
                .as_str()
                .is_some_and(|m| m.contains("stdin_over_limit"))
    });
    assert!(
        finding.is_some(),
        "the report does not show the refused stdin:\n{:#?}",
        findings(&report)
    );
    assert!(
        !transfers(&report)
            .iter()
            .any(|t| t["direction"] == "upload" && t["outcome"] != "refused"),
        "{:#?}",
        transfers(&report)
    );
}

// Under the cap, stdin is still judged by content: a whole small ELF (35 KB) piped into
// `cat` without `upload` is refused, not let through for being short.
#[test]
fn a_small_elf_on_stdin_under_the_cap_is_refused_by_content() {
    let s = scene(&[], false);
    let dir = s.target_dir("up");
    let master = s.master();
    let elf = small_elf();
    let t = dir.join("t");
    let out = ssh_exec(
        &master,
        &format!("cat > {}", t.display()),
        stdin_of(s.gw.tmp.path(), "elf", &elf),
        &[],
    );
    let landed = std::fs::read(&t).unwrap_or_default();
    assert!(
        !landed.starts_with(b"\x7fELF"),
        "an ELF reached the target under the stdin cap ({} of {} bytes; {})",
        landed.len(),
        elf.len(),
        shown(&out)
    );
    assert_ne!(out.status.code(), Some(0), "{}", shown(&out));
    let refused = wait_via(&s.gw, "exec-stdin", "refused");
    assert_eq!(
        refused["detail"]["reason"], "executable_not_declared",
        "{refused:#}"
    );
    let report = s.report(master);
    assert!(
        findings(&report)
            .iter()
            .any(|f| f["kind"] == "transfer_refused"
                && f["message_en"]
                    .as_str()
                    .is_some_and(|m| m.contains("executable_not_declared"))),
        "the report does not show the refused stdin:\n{:#?}",
        findings(&report)
    );
}

// With `upload` but no `executable`, stdin is judged by content like an SFTP file: an ELF
// piped into `cat` is refused and never lands whole.
#[test]
fn stdin_with_upload_is_judged_by_content() {
    let s = scene(&["upload"], false);
    let dir = s.target_dir("up");
    let master = s.master();
    let elf = big_elf();
    let t = dir.join("t");
    let out = ssh_exec(
        &master,
        &format!("cat > {}", t.display()),
        stdin_of(s.gw.tmp.path(), "elf", &elf),
        &[],
    );
    let landed = std::fs::read(&t).unwrap_or_default();
    assert!(
        !landed.starts_with(b"\x7fELF"),
        "an ELF reached the target ({} of {} bytes; {})",
        landed.len(),
        elf.len(),
        shown(&out)
    );
    assert_ne!(out.status.code(), Some(0), "{}", shown(&out));
    let refused = wait_via(&s.gw, "exec-stdin", "refused");
    assert_eq!(
        refused["detail"]["reason"], "executable_not_declared",
        "{refused:#}"
    );
    drop(master);
}

#[test]
fn stdin_with_the_plan_allowing_it_works_and_is_on_record() {
    let s = scene(&["upload", "executable"], false);
    let dir = s.target_dir("up");
    let master = s.master();
    let elf = big_elf();
    let t = dir.join("t");
    let out = ssh_exec(
        &master,
        &format!("cat > {}", t.display()),
        stdin_of(s.gw.tmp.path(), "elf", &elf),
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        shown(&out),
        s.gw.log()
    );
    assert_eq!(std::fs::read(&t).unwrap(), elf);
    let record = wait_via(&s.gw, "exec-stdin", "completed");
    assert_eq!(
        fumidai_e2e::transfer_audit::summary(&record),
        ("upload".into(), elf.len() as u64, sha256_hex(&elf)),
        "{record:#}"
    );
    let report = s.report(master);
    assert_report_lists(&report, "upload", elf.len() as u64, &sha256_hex(&elf));
    assert!(
        !findings(&report)
            .iter()
            .any(|f| f["kind"] == "transfer_not_declared" || f["kind"] == "transfer_refused"),
        "{:#?}",
        findings(&report)
    );
}

/// Fails unless the report lists a completed transfer with this direction, size and
/// digest (for exec streams, whose path is the command).
fn assert_report_lists(report: &Value, direction: &str, size: u64, sha256: &str) {
    let listed = transfers(report);
    assert!(
        listed.iter().any(|t| t["outcome"] == "completed"
            && t["direction"] == direction
            && t["size"].as_u64() == Some(size)
            && t["sha256"].as_str() == Some(sha256)),
        "the report does not list the {direction} ({size} bytes, {sha256}):\n{listed:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// Reproduction 5: a file read with `cat`. `ssh gw cat /srv/patients.csv` took a patient
// file out with no record. Bulk stdout is a download on record, and a finding when the
// plan does not allow downloads (grave on a personal-data target).
// ---------------------------------------------------------------------------------------

#[test]
fn bulk_stdout_without_download_is_a_download_on_record_and_a_finding() {
    let s = scene(&["upload"], true);
    let dir = s.target_dir("srv");
    let content = patients_csv(3 * STDOUT_THRESHOLD / 2);
    let big = dir.join("big.csv");
    std::fs::write(&big, &content).unwrap();
    let master = s.master();
    let out = ssh_exec(
        &master,
        &format!("cat {}", big.display()),
        Stdio::null(),
        &[],
    );
    let received = out.stdout.clone();
    let record = poll(RECORD_DEADLINE, || {
        transfers_via(&s.gw, "exec-stdout")
            .into_iter()
            .find(|e| e["detail"]["direction"] == "download")
    })
    .unwrap_or_else(|| {
        panic!(
            "{} bytes read with cat, no exec-stdout download on record ({}):\n{:#?}",
            received.len(),
            shown(&out),
            transfer_records(&s.gw)
        )
    });
    // Whatever the engineer got is what is on record.
    let (direction, size, sha) = fumidai_e2e::transfer_audit::summary(&record);
    assert_eq!(direction, "download");
    assert_eq!(
        (size, sha),
        (received.len() as u64, sha256_hex(&received)),
        "{record:#}"
    );

    let report = s.report(master);
    let finding = findings(&report).into_iter().find(|f| {
        f["subject"]
            .as_str()
            .is_some_and(|s| s.starts_with("download"))
            && f["kind"] != "transfer_refused"
    });
    let finding = finding.unwrap_or_else(|| {
        panic!(
            "the report has no finding for the download:\n{:#?}",
            findings(&report)
        )
    });
    assert_eq!(finding["severity"], "high", "{finding:#}");
    assert_eq!(finding["requirement"], "R-10-2", "{finding:#}");
}

#[test]
fn bulk_stdout_with_download_in_the_plan_is_on_record_without_a_finding() {
    let s = scene(&["download"], true);
    let dir = s.target_dir("srv");
    let content = patients_csv(3 * STDOUT_THRESHOLD / 2);
    let big = dir.join("big.csv");
    std::fs::write(&big, &content).unwrap();
    let master = s.master();
    let out = ssh_exec(
        &master,
        &format!("cat {}", big.display()),
        Stdio::null(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_eq!(out.stdout, content, "the download was not carried intact");
    let record = wait_via(&s.gw, "exec-stdout", "completed");
    assert_eq!(
        fumidai_e2e::transfer_audit::summary(&record),
        (
            "download".into(),
            content.len() as u64,
            sha256_hex(&content)
        ),
        "{record:#}"
    );
    let report = s.report(master);
    assert_report_lists(
        &report,
        "download",
        content.len() as u64,
        &sha256_hex(&content),
    );
    assert!(
        !findings(&report)
            .iter()
            .any(|f| f["kind"] == "transfer_not_declared"),
        "{:#?}",
        findings(&report)
    );
}

// ---------------------------------------------------------------------------------------
// Reproduction 6: a file in the environment. A 26 KB `LC_*` value (base64 of an ELF)
// reached the target's environment; only the command line was recorded.
// ---------------------------------------------------------------------------------------

// (It was ignored: the multiplexed ssh exited 255. The refused env's failure answered the
// exec that followed it — russh's one wants-reply flag per channel; fixed by
// `proxy::bridge::replies`, issue 13.)
#[test]
fn a_long_environment_value_is_not_forwarded_and_is_recorded() {
    let s = scene(&[], false);
    let mut login = SshLogin::engineer(&s.alice);
    login.user = "alice:db01".into();
    let master = login.master_with(&s.gw, &["-o", "SendEnv=LC_FUMIDAI_*"]);
    // Past the 1 KiB cap.
    let mut elf = small_elf();
    elf.truncate(1_100);
    let payload = base64::engine::general_purpose::STANDARD.encode(&elf);
    assert!(payload.len() > 1_024, "{}", payload.len());
    let mut cmd = master.command("ssh");
    cmd.args(["-o", "SendEnv=LC_FUMIDAI_*"])
        .args(["fumidai-gateway", "env"])
        .env("LC_FUMIDAI_PAYLOAD", &payload)
        .env("LC_FUMIDAI_SHORT", "kept");
    let out = run_with_timeout_stdin(cmd, Stdio::null(), Duration::from_secs(60));
    let env = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        shown(&out),
        s.gw.log()
    );
    // A short locale value still goes through: the test can see a forwarded variable.
    assert!(
        env.lines().any(|l| l == "LC_FUMIDAI_SHORT=kept"),
        "short LC_* value not forwarded, the test can't tell:\n{env}"
    );
    assert!(
        !env.contains("LC_FUMIDAI_PAYLOAD"),
        "the long value reached the target ({} bytes of env)",
        env.len()
    );
    // On record: in the audit trail or the session's recording, by name.
    // The recording is sealed when the channel ends; the session ends with the master.
    drop(master);
    let recorded = poll(RECORD_DEADLINE, || {
        let in_audit =
            s.gw.audit_tail(10_000)
                .iter()
                .any(|r| r.to_string().contains("LC_FUMIDAI_PAYLOAD"));
        (in_audit || recordings_mention(&s.gw, "LC_FUMIDAI_PAYLOAD")).then_some(())
    });
    assert!(
        recorded.is_some(),
        "the withheld variable is neither in the audit trail nor in the recording"
    );
}

/// Whether any recording file of the gateway holds `needle`.
fn recordings_mention(gw: &Gateway, needle: &str) -> bool {
    let mut stack = vec![gw.data.join("recordings")];
    while let Some(dir) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                return true;
            }
        }
    }
    false
}

// The test harness itself: the streams sent above are what a real `scp -t`/`scp -f`
// accepts, so the refusals above are of the real protocol. Against the target directly.
#[test]
fn the_hand_driven_scp_streams_are_what_real_scp_accepts() {
    require("scp");
    let sshd = Sshd::start();
    let dir = sshd.tmp.path().join("direct");
    std::fs::create_dir(&dir).unwrap();
    let direct = |command: String, stdin: &[u8], name: &str| {
        let mut cmd = std::process::Command::new("ssh");
        cmd.args(["-F", "/dev/null", "-o", "BatchMode=yes"])
            .args(["-o", "StrictHostKeyChecking=no"])
            .args(["-o", "UserKnownHostsFile=/dev/null"])
            .args(["-o", "LogLevel=ERROR", "-i"])
            .arg(&sshd.client_key)
            .args(["-p", &sshd.addr.port().to_string(), "root@127.0.0.1"])
            .arg(command);
        run_with_timeout_stdin(
            cmd,
            stdin_of(sshd.tmp.path(), name, stdin),
            Duration::from_secs(60),
        )
    };
    let elf = small_elf();
    let out = direct(
        format!("scp -t {}/", dir.display()),
        &scp_sink_stream("tool", &elf),
        "stream",
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_eq!(std::fs::read(dir.join("tool")).unwrap(), elf);
    assert_eq!(out.stdout, b"\0\0\0", "the sink's three acknowledgements");

    let content = patients_csv(2048);
    let patients = dir.join("patients.csv");
    std::fs::write(&patients, &content).unwrap();
    let out = direct(
        format!("scp -f {}", patients.display()),
        SCP_SOURCE_ACKS,
        "acks",
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let header = format!("C0644 {} patients.csv\n", content.len());
    assert!(out.stdout.starts_with(header.as_bytes()), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("PATIENT"));
}
