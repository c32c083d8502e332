//! The reconciliation report (R-10-5) end to end: a plan written as a file, a session
//! through fumidai to a real sshd running planned and unplanned commands and an upload, the
//! engineer's attestation of the data deletion (R-10-1), the report produced once the
//! window is over — sealed, in the audit chain, in JSON, HTML and text, Japanese and
//! English — and the planning manager's confirmation.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::time::{Duration, Instant};

use fumidai_e2e::{Gateway, SshLogin};
use serde_json::Value;

/// How long a step on the terminal may take: a login includes Argon2id and the target's.
const STEP: Duration = Duration::from_secs(30);

/// RFC 3339 for now + `secs`.
fn at(secs: i64) -> String {
    let t = chrono::Utc::now() + chrono::Duration::seconds(secs);
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[test]
fn a_plan_file_a_session_and_its_sealed_report_confirmed_by_the_manager() {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01("Kaede-Hashira-7731");
    gw.add_operator("mana", "manager");
    // The window closes shortly after the work: the report is due when it has.
    let window_end = Instant::now() + Duration::from_secs(20);
    let plan_file = gw.tmp.path().join("plan.toml");
    std::fs::write(
        &plan_file,
        format!(
            r#"
engineers = ["alice"]
targets = ["db01"]
start = "{}"
end = "{}"
purpose = "定期保守: ログ確認と作業領域の清掃"
allow = ["upload"]
personal_data = "患者索引の整合性確認のため"
data_deletion = "作業用ファイルを /tmp から削除する"

[[steps]]
text = "サービスの状態を確認する"
expect = ["uname *"]

[[steps]]
text = "作業領域を削除する"
expect = ["rm -rf /tmp/fumidai-work*"]

[[steps]]
text = "再起動する"
"#,
            at(-300),
            at(20)
        ),
    )
    .unwrap();
    let out = gw.cli_as_ok(
        gw.ensure_submitter(),
        &[
            "--json",
            "plan",
            "submit",
            "--file",
            plan_file.to_str().unwrap(),
        ],
    );
    let plan: Value = serde_json::from_str(&out).unwrap();
    let id = plan["id"].as_str().unwrap().to_owned();
    assert_eq!(plan["steps"][0]["expect"][0], "uname *", "{plan:#}");
    gw.approve(&id, "olga");
    gw.start();

    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".into();
    let master = login.master(&gw);
    for command in [
        "uname -a",
        "mkdir -p /tmp/fumidai-work-1 && rm -rf /tmp/fumidai-work-1",
        "shred -u /tmp/fumidai-no-such-file || true",
    ] {
        let out = master.run("ssh", &["fumidai-gateway", command]);
        assert_eq!(out.code, 0, "{command}: {out:?}\n{}", gw.log());
    }
    let notes = gw.tmp.path().join("notes.txt");
    std::fs::write(&notes, "maintenance notes\n").unwrap();
    let remote = sshd.tmp.path().join("notes.txt");
    let out = master.run(
        "scp",
        &[
            "-q",
            notes.to_str().unwrap(),
            &format!("gw:{}", remote.display()),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    drop(master);

    // R-10-1: the engineer attests the deletion; before the window ends the report waits.
    // Over SSH with her own certificate, password and code (no target: the menu gets
    // no answer), never typed at the hospital's console in her name.
    let mut attest = SshLogin::engineer(&alice);
    attest.code = gw.fresh_code("alice");
    attest.command = Some(format!(
        "attest {id} \"/tmp の作業用ファイルを削除しました\""
    ));
    let out = attest.run(&gw);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("attested"), "{out:?}");
    // The console no longer takes it in her name.
    let console = gw.cli(&["plan", "attest", &id, "--as", "alice", "--note", "x"]);
    assert!(!console.status.success());
    assert!(
        String::from_utf8_lossy(&console.stderr).contains("ssh ENGINEER@GATEWAY attest"),
        "{console:?}"
    );
    let early = gw.cli(&["report", &id]);
    assert!(!early.status.success(), "a report before the window ended");
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("作業時間帯"),
        "{early:?}"
    );

    // The window ends; the session has ended: the report is produced on demand (serve
    // would produce it within a minute too).
    std::thread::sleep(
        window_end.saturating_duration_since(Instant::now()) + Duration::from_secs(1),
    );
    let json: Value = fumidai_e2e::wait_for("the report", Duration::from_secs(30), || {
        let out = gw.cli(&["report", &id, "--format", "json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    });
    let report = &json["report"];
    assert_eq!(report["format"], "fumidai reconciliation report v1");
    assert_eq!(report["plan"]["status"], "reported");
    assert_eq!(
        report["sessions"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
    let session = &report["sessions"][0];
    let commands: Vec<&str> = session["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert!(commands.contains(&"uname -a"), "{commands:?}");
    assert_eq!(
        session["transfers"][0]["direction"], "upload",
        "{session:#}"
    );
    assert_eq!(session["transfers"][0]["path"], remote.to_str().unwrap());
    assert!(
        !session["recordings"].as_array().unwrap().is_empty(),
        "{session:#}"
    );
    // Planned steps have their evidence; the unplanned risky command is a finding, the
    // planned deletion is not.
    assert_eq!(
        report["steps"][0]["evidence"][0][2], "uname -a",
        "{:#}",
        report["steps"]
    );
    assert_eq!(report["steps"][1]["evidence"].as_array().unwrap().len(), 1);
    let findings = report["findings"].as_array().unwrap();
    let risky: Vec<&Value> = findings
        .iter()
        .filter(|f| f["kind"] == "risky_command_not_covered")
        .collect();
    assert_eq!(risky.len(), 1, "{findings:#?}");
    // The finding points at the second of the recording the command ran at.
    let shred = session["commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["text"].as_str().unwrap().starts_with("shred"))
        .unwrap();
    assert_eq!(risky[0]["offset"], shred["offset"], "{risky:?} {shred}");
    assert_eq!(risky[0]["session"], session["id"]);
    assert!(
        risky[0]["subject"].as_str().unwrap().contains("shred"),
        "{risky:?}"
    );
    assert!(
        findings
            .iter()
            .all(|f| f["kind"] != "data_deletion_not_attested"),
        "{findings:#?}"
    );
    // A step without command patterns is for the manager to check by hand.
    assert_eq!(report["steps"][2]["evidence"], serde_json::json!([]));

    // Sealed and on record.
    let produced = gw.wait_audit("report.produced", &id);
    assert_eq!(produced["detail"]["sha256"], json["sha256"]);
    assert_eq!(produced["detail"]["findings"], findings.len());

    // Renderings come from the sealed body.
    let html = gw.cli_ok(&["report", &id, "--format", "html"]);
    assert!(
        html.contains("<html lang=\"ja\">") && html.contains("指摘事項"),
        "{html}"
    );
    assert!(html.contains(json["sha256"].as_str().unwrap()));
    let english = gw.cli_ok(&["report", &id, "--lang", "en"]);
    assert!(
        english.contains("Findings") && english.contains("shred"),
        "{english}"
    );

    // The planning manager confirms; an operator can't.
    let refused = gw.cli_as("olga", &["report", "confirm", &id]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("only a planning manager"),
        "{refused:?}"
    );
    gw.cli_as_ok(
        "mana",
        &[
            "report",
            "confirm",
            &id,
            "--finding",
            "shred の実施理由を確認済み",
        ],
    );
    let confirmed = gw.wait_audit("report.confirmed", &id);
    assert_eq!(confirmed["detail"]["confirmed_by"], "mana");
    let shown = gw.cli_ok(&["plan", "show", &id]);
    assert!(
        shown.contains("confirmed") && shown.contains("mana"),
        "{shown}"
    );

    // `audit verify` checks the stored report against the chain: a report changed in the
    // database after the fact is named (python3's sqlite3 stands in for a hostile DBA).
    let verified = gw.cli_ok(&["audit", "verify"]);
    assert!(
        verified.contains("reports: 1 sealed, 1 intact"),
        "{verified}"
    );
    let db = gw.data.join("fumidai.db");
    let tamper = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3; c = sqlite3.connect({:?}); \
             c.execute(\"UPDATE reports SET body = replace(body, 'shred', 'ls') WHERE plan_id = ?\", ({id:?},)); \
             c.commit()",
            db.display().to_string()
        ))
        .status()
        .unwrap();
    assert!(tamper.success());
    let out = gw.cli(&["audit", "verify"]);
    assert!(
        !out.status.success(),
        "a changed report passed audit verify"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("report BROKEN"),
        "{out:?}"
    );
    assert!(
        !gw.cli(&["report", &id]).status.success(),
        "a changed report was shown"
    );
}

// R-10-2, R-14-8: a database dump and a new OS account, typed in a shell but in no planned
// step, are findings that point at the second of the session they were typed at.
#[test]
fn unplanned_pg_dump_and_useradd_typed_in_a_shell_are_findings_at_their_second() {
    fumidai_e2e::tools::require("bash");
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01("Kaede-Hashira-7731");
    let window_end = Instant::now() + Duration::from_secs(20);
    let plan_file = gw.tmp.path().join("plan.toml");
    std::fs::write(
        &plan_file,
        format!(
            r#"
engineers = ["alice"]
targets = ["db01"]
start = "{}"
end = "{}"
purpose = "ログの確認"

[[steps]]
text = "ログを確認する"
expect = ["tail *"]
"#,
            at(-300),
            at(20)
        ),
    )
    .unwrap();
    let out = gw.cli_as_ok(
        gw.ensure_submitter(),
        &[
            "--json",
            "plan",
            "submit",
            "--file",
            plan_file.to_str().unwrap(),
        ],
    );
    let id = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    gw.approve(&id, "olga");
    gw.start();

    // The target is this machine: the shell finds harmless stand-ins first on its PATH, so
    // nothing is dumped and no account is made, yet the lines are typed as they would be.
    let bin = gw.tmp.path().join("stand-ins");
    std::fs::create_dir(&bin).unwrap();
    for program in ["pg_dump", "useradd"] {
        let path = bin.join(program);
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho \"{program} stand-in ran\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".to_owned();
    login.command = None;
    let (mut term, _ssh_work) = login.interactive(&gw, 24, 120);
    login.answer_prompts(&mut term);
    term.expect("# ", STEP);
    term.type_text(&format!(
        "exec env -i TERM=xterm HOME=/nonexistent PS1='db01\\$ ' PATH={}:/usr/bin:/bin \
         HISTFILE=/dev/null INPUTRC=/dev/null /bin/bash --norc --noprofile\r",
        bin.display()
    ));
    term.expect("db01# ", STEP);
    // Two seconds apart, so each finding has a second of its own to point at.
    let mut typed = Vec::new();
    for (line, ran) in [
        ("pg_dump -Fc his -f /tmp/his.dump", "pg_dump stand-in ran"),
        ("useradd -m tmpadmin", "useradd stand-in ran"),
    ] {
        std::thread::sleep(Duration::from_secs(2));
        typed.push((line, chrono::Utc::now()));
        term.type_text(&format!("{line}\r"));
        term.expect(ran, STEP);
        term.expect("db01# ", STEP);
    }
    term.type_text("exit 0\r");
    assert_eq!(term.wait(STEP).code(), Some(0), "{}", term.screen());

    let sessions: Value = serde_json::from_str(&gw.cli_ok(&["--json", "session", "list"])).unwrap();
    let started: chrono::DateTime<chrono::Utc> =
        sessions[0]["started_at"].as_str().unwrap().parse().unwrap();
    std::thread::sleep(
        window_end.saturating_duration_since(Instant::now()) + Duration::from_secs(1),
    );
    let json: Value = fumidai_e2e::wait_for("the report", Duration::from_secs(30), || {
        let out = gw.cli(&["report", &id, "--format", "json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    });
    let findings = json["report"]["findings"].as_array().unwrap();
    for ((line, at), (title, requirement)) in typed.iter().zip([
        ("PostgreSQL database dumped", "R-10-2"),
        ("OS account or group created, changed or deleted", "R-14-8"),
    ]) {
        let finding = findings
            .iter()
            .find(|f| f["kind"] == "risky_command_not_covered" && f["subject"] == *line)
            .unwrap_or_else(|| panic!("no finding for {line}: {findings:#?}"));
        assert_eq!(finding["severity"], "high", "{finding:#}");
        assert_eq!(finding["requirement"], requirement, "{finding:#}");
        assert!(
            finding["message_en"].as_str().unwrap().contains(title),
            "{finding:#}"
        );
        assert_eq!(finding["session"], sessions[0]["id"], "{finding:#}");
        let when = (*at - started).num_milliseconds() as f64 / 1000.0;
        let offset = finding["offset"].as_f64().unwrap();
        assert!(
            (offset - when).abs() <= 1.0,
            "{line}: finding at +{offset:.3}s, typed at +{when:.3}s"
        );
    }
}

#[test]
fn a_plan_file_with_a_mistake_is_refused_naming_the_field() {
    let (gw, _alice, _sshd) = Gateway::with_alice_and_db01("Kaede-Hashira-7731");
    let plan_file = gw.tmp.path().join("plan.json");
    std::fs::write(
        &plan_file,
        format!(
            r#"{{"engineers": ["alice"], "targets": ["db01"], "start": "{}", "end": "tomorrow",
                "purpose": "patch"}}"#,
            at(0)
        ),
    )
    .unwrap();
    let out = gw.cli(&[
        "plan",
        "submit",
        "--file",
        plan_file.to_str().unwrap(),
        "--as",
        "olga",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("end") && stderr.contains("RFC 3339"),
        "{stderr}"
    );
    // Personal data without a deletion step (R-10-1).
    std::fs::write(
        &plan_file,
        format!(
            r#"{{"engineers": ["alice"], "targets": ["db01"], "start": "{}", "end": "{}",
                "purpose": "patch", "personal_data": "index check"}}"#,
            at(0),
            at(3600)
        ),
    )
    .unwrap();
    let out = gw.cli(&[
        "plan",
        "submit",
        "--file",
        plan_file.to_str().unwrap(),
        "--as",
        "olga",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("data-deletion"),
        "{out:?}"
    );
}

// R-10-5: a session that does only what the plan declared yields a report without findings.
#[test]
fn a_session_doing_only_what_was_planned_reports_no_findings() {
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01("Kaede-Hashira-7731");
    let window_end = Instant::now() + Duration::from_secs(15);
    let plan_file = gw.tmp.path().join("plan.toml");
    std::fs::write(
        &plan_file,
        format!(
            r#"
engineers = ["alice"]
targets = ["db01"]
start = "{}"
end = "{}"
purpose = "カーネル版数の確認"

[[steps]]
text = "カーネルの版数を確認する"
expect = ["uname *"]

[[steps]]
text = "作業領域を一覧する"
expect = ["ls *"]
"#,
            at(-300),
            at(15)
        ),
    )
    .unwrap();
    let out = gw.cli_as_ok(
        gw.ensure_submitter(),
        &[
            "--json",
            "plan",
            "submit",
            "--file",
            plan_file.to_str().unwrap(),
        ],
    );
    let id = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    gw.approve(&id, "olga");
    gw.start();
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".into();
    let master = login.master(&gw);
    for command in ["uname -r", "ls /tmp"] {
        let out = master.run("ssh", &["fumidai-gateway", command]);
        assert_eq!(out.code, 0, "{command}: {out:?}");
    }
    drop(master);
    std::thread::sleep(
        window_end.saturating_duration_since(Instant::now()) + Duration::from_secs(1),
    );
    let json: Value = fumidai_e2e::wait_for("the report", Duration::from_secs(30), || {
        let out = gw.cli(&["report", &id, "--format", "json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    });
    let report = &json["report"];
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["highest_severity"], Value::Null);
    for step in report["steps"].as_array().unwrap() {
        assert_eq!(step["evidence"].as_array().unwrap().len(), 1, "{step:#}");
    }
    let text = gw.cli_ok(&["report", &id]);
    assert!(text.contains("指摘事項はありません"), "{text}");
}

/// What an engineer types at a `sudo` password prompt; it must never reach a report.
const SUDO_PASSWORD: &str = "Tsubaki-Kagi-90417!";

/// The line typed twice in the sessions below: a database dump no step plans.
const PG_DUMP: &str = "pg_dump -Fc his -f /tmp/his.dump";

/// The planned step's command.
const DF: &str = "df -h /";

/// The report of a session in bash on a `rows` × `cols` terminal: a password typed at a
/// `sudo` prompt (a stand-in that reads it without echo, as sudo does), then — after
/// `stty -echo` when `echo_off` — `pg_dump` typed twice, the planned `df`, and an `ls`
/// nothing matches. Returns the report in JSON, Japanese text, English text and HTML.
fn report_of_typed_session(rows: u16, cols: u16, echo_off: bool) -> (Value, [String; 3]) {
    fumidai_e2e::tools::require("bash");
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01("Kaede-Hashira-7731");
    let window_end = Instant::now() + Duration::from_secs(30);
    let plan_file = gw.tmp.path().join("plan.toml");
    std::fs::write(
        &plan_file,
        format!(
            r#"
engineers = ["alice"]
targets = ["db01"]
start = "{}"
end = "{}"
purpose = "ディスク使用量の確認"

[[steps]]
text = "ディスク使用量を確認する"
expect = ["df *"]
"#,
            at(-300),
            at(30)
        ),
    )
    .unwrap();
    let out = gw.cli_as_ok(
        gw.ensure_submitter(),
        &[
            "--json",
            "plan",
            "submit",
            "--file",
            plan_file.to_str().unwrap(),
        ],
    );
    let id = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    gw.approve(&id, "olga");
    gw.start();

    // The target is this machine: stand-ins first on the shell's PATH, so nothing is
    // dumped and no privilege is taken, yet the lines are typed as they would be.
    let bin = gw.tmp.path().join("stand-ins");
    std::fs::create_dir(&bin).unwrap();
    for (program, script) in [
        (
            "pg_dump",
            "#!/bin/sh\necho \"pg_dump stand-in ran\"\n".to_owned(),
        ),
        (
            "sudo",
            "#!/bin/bash\nIFS= read -rsp '[sudo] password for alice: ' pw\necho\nexec \"$@\"\n"
                .to_owned(),
        ),
    ] {
        let path = bin.join(program);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".to_owned();
    login.command = None;
    let (mut term, _ssh_work) = login.interactive(&gw, rows, cols);
    login.answer_prompts(&mut term);
    term.expect("# ", STEP);
    term.type_text(&format!(
        "exec env -i TERM=xterm HOME=/nonexistent PS1='db01\\$ ' PATH={}:/usr/bin:/bin \
         HISTFILE=/dev/null INPUTRC=/dev/null /bin/bash --norc --noprofile\r",
        bin.display()
    ));
    term.expect("db01# ", STEP);

    term.type_text("sudo echo sudo-ran\r");
    term.expect("password for alice: ", STEP);
    term.type_text(&format!("{SUDO_PASSWORD}\r"));
    term.expect("sudo-ran", STEP);
    term.expect("db01# ", STEP);
    if echo_off {
        term.type_text("stty -echo\r");
        term.expect("db01# ", STEP);
    }
    for _ in 0..2 {
        term.type_text(&format!("{PG_DUMP}\r"));
        term.expect("pg_dump stand-in ran", STEP);
        term.expect("db01# ", STEP);
    }
    term.type_text(&format!("{DF}\r"));
    term.expect("Filesystem", STEP);
    term.expect("db01# ", STEP);
    term.type_text("ls /\r");
    term.expect("db01# ", STEP);
    if echo_off {
        term.type_text("stty echo\r");
        term.expect("db01# ", STEP);
    }
    term.type_text("exit 0\r");
    assert_eq!(term.wait(STEP).code(), Some(0), "{}", term.screen());

    std::thread::sleep(
        window_end.saturating_duration_since(Instant::now()) + Duration::from_secs(1),
    );
    let json: Value = fumidai_e2e::wait_for("the report", Duration::from_secs(30), || {
        let out = gw.cli(&["report", &id, "--format", "json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    });
    let rendered = [
        gw.cli_ok(&["report", &id]),
        gw.cli_ok(&["report", &id, "--lang", "en"]),
        gw.cli_ok(&["report", &id, "--format", "html"]),
    ];
    (json, rendered)
}

/// The findings about `PG_DUMP` and the planned step's evidence, whatever the echo.
fn assert_pg_dump_and_df(report: &Value, unechoed: bool) {
    let findings = report["findings"].as_array().unwrap();
    let dumps: Vec<&Value> = findings
        .iter()
        .filter(|f| f["kind"] == "risky_command_not_covered" && f["subject"] == PG_DUMP)
        .collect();
    assert_eq!(dumps.len(), 2, "{findings:#?}");
    assert_ne!(dumps[0]["offset"], dumps[1]["offset"], "{dumps:#?}");
    for f in &dumps {
        assert_eq!(f["unechoed"], unechoed, "{f:#}");
    }
    assert_eq!(
        report["steps"][0]["evidence"][0][2], DF,
        "{:#}",
        report["steps"]
    );
    assert!(
        findings
            .iter()
            .all(|f| f["kind"] != "planned_step_without_evidence"),
        "{findings:#?}"
    );
}

// Issue 11, reproduction 8: with `stty -echo`, what the engineer types still meets the risk
// rules and the planned steps. Lines a rule or step matches are in the report marked
// unechoed; the rest — the sudo password among them — are only counted, with the
// recording to look them up in.
#[test]
fn lines_typed_after_stty_echo_off_meet_the_rules_and_a_password_stays_out() {
    let (json, [ja, en, html]) = report_of_typed_session(24, 120, true);
    let report = &json["report"];
    assert_pg_dump_and_df(report, true);
    let session = &report["sessions"][0];
    let commands = session["commands"].as_array().unwrap();
    let shown: Vec<(&str, bool)> = commands
        .iter()
        .map(|c| (c["text"].as_str().unwrap(), c["unechoed"] == true))
        .collect();
    assert_eq!(
        shown.iter().filter(|c| **c == (PG_DUMP, true)).count(),
        2,
        "{shown:?}"
    );
    assert!(shown.contains(&(DF, true)), "{shown:?}");
    assert!(
        !shown.iter().any(|(text, _)| text.starts_with("ls")),
        "{shown:?}"
    );

    // The password, the `ls` and the `stty echo` typed blind: three lines, counted.
    let withheld = session["unechoed_withheld"].as_array().unwrap();
    assert_eq!(withheld.len(), 1, "{session:#}");
    assert_eq!(withheld[0]["lines"], 3, "{session:#}");
    let recording = withheld[0]["recording"].as_str().unwrap();
    assert!(recording.ends_with(".cast"), "{recording}");
    assert!(
        session["recordings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains(recording)),
        "{session:#}"
    );
    assert!(
        ja.contains(&format!(
            "エコーなしで入力された行: 3 行（記録 {recording} を参照）"
        )),
        "{ja}"
    );
    assert!(ja.contains("エコーなし"), "{ja}");
    assert!(
        en.contains(&format!(
            "3 lines typed without echo; see the recording at {recording}"
        )),
        "{en}"
    );
    assert!(en.contains("[unechoed]"), "{en}");
    assert!(html.contains("エコーなし"), "{html}");

    // The password is nowhere in the report.
    for (what, text) in [
        ("json", json.to_string()),
        ("ja", ja),
        ("en", en),
        ("html", html),
    ] {
        assert!(!text.contains(SUDO_PASSWORD), "{what}: {text}");
        assert!(!text.contains("Tsubaki"), "{what}: {text}");
    }
}

// Issue 11, reproduction 8: a terminal of 0 × 0 (what `ssh -tt` sends without a local
// terminal) still yields the command lines.
#[test]
fn lines_typed_on_a_zero_by_zero_terminal_reach_the_report() {
    let (json, [ja, en, html]) = report_of_typed_session(0, 0, false);
    let report = &json["report"];
    assert_pg_dump_and_df(report, false);
    let session = &report["sessions"][0];
    assert_eq!(session["unechoed_withheld"][0]["lines"], 1, "{session:#}");
    for (what, text) in [
        ("json", json.to_string()),
        ("ja", ja),
        ("en", en),
        ("html", html),
    ] {
        assert!(!text.contains(SUDO_PASSWORD), "{what}: {text}");
    }
}

#[test]
fn a_killed_sessions_report_says_why_who_and_reads_in_japanese() {
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01("Kaede-Hashira-7731");
    let plan = gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let killer = gw.ensure_submitter();
    std::thread::scope(|s| {
        let engineer = s.spawn(|| {
            let mut login = SshLogin::engineer(&alice);
            login.user = "alice:db01".into();
            login.command = Some("echo started; sleep 60".into());
            login.run(&gw)
        });
        let id = fumidai_e2e::wait_for("a live session", STEP, || {
            let out = gw.cli_ok(&["--json", "session", "list", "--live"]);
            let live: Vec<Value> = serde_json::from_str(&out).unwrap();
            (live.len() == 1).then(|| live[0]["id"].as_str().unwrap().to_owned())
        });
        gw.cli_as_ok(
            killer,
            &[
                "session",
                "kill",
                &id,
                "--reason",
                "計画外の操作 / unplanned",
            ],
        );
        engineer.join().unwrap();
    });
    let report = fumidai_e2e::plan_report::report_after_window(&gw, &plan);
    let session = &report["sessions"][0];
    assert_eq!(session["end_reason"], "killed", "{report}");
    let note = session["end_note"].as_str().unwrap_or_default();
    assert!(note.contains("計画外の操作 / unplanned"), "{report}");
    assert!(note.contains(&format!("person:{killer}")), "{report}");
    // The finding names the reason instead of "-".
    let findings = fumidai_e2e::plan_report::findings(&report);
    assert!(
        findings
            .iter()
            .any(|f| f.to_string().contains("計画外の操作 / unplanned")),
        "{findings:?}"
    );
    // The printed Japanese report: values in Japanese, the full session ID, who submitted.
    let id = session["id"].as_str().unwrap();
    let html = faketime_report(&gw, &plan, "html");
    assert!(
        html.contains("運用担当者による強制終了: 計画外の操作"),
        "{html}"
    );
    assert!(html.contains(id), "{html}");
    assert!(html.contains("<th>重要度</th>"), "{html}");
    assert!(html.contains("申請"), "{html}");
    for english in [">high<", ">medium<", ">planned<", "(killed)"] {
        assert!(!html.contains(english), "{english} in:\n{html}");
    }
}

/// `fumidai report PLAN --format FORMAT` a day ahead (the window over).
fn faketime_report(gw: &Gateway, plan: &str, format: &str) -> String {
    let inner = gw.command(&["report", plan, "--format", format], &[]);
    let out = std::process::Command::new("faketime")
        .args(["-f", "+1d"])
        .arg(inner.get_program())
        .args(inner.get_args())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn overlapping_plans_each_say_where_the_work_in_their_window_is_reconciled() {
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01("Kaede-Hashira-7731");
    let first = gw.plan("alice", "db01", -10, 60, Some("olga"));
    let second = gw.plan("alice", "db01", -5, 90, Some("olga"));
    gw.start();
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".into();
    login.command = Some("echo worked".into());
    assert_eq!(login.run(&gw).stdout.trim(), "worked");

    let a = fumidai_e2e::plan_report::report_after_window(&gw, &first);
    let b = fumidai_e2e::plan_report::report_after_window(&gw, &second);
    let own = |r: &Value| r["sessions"].as_array().unwrap().len();
    let others = |r: &Value| r["under_other_plans"].as_array().map_or(0, |o| o.len());
    // Exactly one plan admitted the session; the other names it and that plan.
    assert_eq!(own(&a) + own(&b), 1, "{a}\n{b}");
    let (admitting, covering, admitting_id) = if own(&a) == 1 {
        (&a, &b, &first)
    } else {
        (&b, &a, &second)
    };
    assert_eq!(others(admitting), 0, "{admitting}");
    assert_eq!(others(covering), 1, "{covering}");
    assert_eq!(
        covering["under_other_plans"][0]["plan"],
        admitting_id.as_str(),
        "{covering}"
    );
    assert_eq!(
        covering["under_other_plans"][0]["id"], admitting["sessions"][0]["id"],
        "{covering}"
    );
}
