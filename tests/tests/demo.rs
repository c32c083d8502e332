//! The README's demo, `scripts/demo --check`: it sets up a gateway, a throwaway sshd as the
//! demo target and an approved plan, logs in through the front door with stock `ssh`, runs
//! `echo demo-ok` there and copies a file over the same ControlMaster login. Run here with
//! the binary the other tests use, so CI fails when the newcomer's first command breaks.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use fumidai_e2e::tools::{fumidai_bin, require, run_with_timeout, workspace_root};
use serde_json::Value;

/// `scripts/demo --check`, with `FUMIDAI_DEMO_DIR` when given, and extra environment.
fn demo_check(dir: Option<&Path>, env: &[(&str, &str)]) -> Output {
    for program in ["ssh", "scp", "ssh-keygen", "oathtool", "openssl", "setsid"] {
        require(program);
    }
    let mut cmd = Command::new(workspace_root().join("scripts/demo"));
    cmd.arg("--check")
        .env("FUMIDAI_BIN", fumidai_bin())
        .env_remove("RUST_LOG");
    for var in [
        "FUMIDAI_DEMO_DIR",
        "FUMIDAI_DEMO_PORT",
        "FUMIDAI_DEMO_UI_PORT",
        "FUMIDAI_DEMO_SSHD_PORT",
        "FUMIDAI_DEMO_PLAN_MINUTES",
    ] {
        cmd.env_remove(var);
    }
    if let Some(dir) = dir {
        cmd.env("FUMIDAI_DEMO_DIR", dir);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_with_timeout(cmd, Duration::from_secs(180))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn cli_json(data: &Path, args: &[&str]) -> Value {
    let out = Command::new(fumidai_bin())
        .arg("--data-dir")
        .arg(data)
        .arg("--json")
        .args(args)
        .output()
        .expect("run fumidai");
    assert!(out.status.success(), "fumidai {args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn demo_check_logs_in_and_a_rerun_restarts_the_target_and_renews_an_ending_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");

    // First run: a plan that ends in 20 minutes.
    let first = demo_check(Some(&dir), &[("FUMIDAI_DEMO_PLAN_MINUTES", "20")]);
    let log = stderr(&first);
    assert!(first.status.success(), "first demo --check failed:\n{log}");
    assert!(log.contains("check ok"), "{log}");
    assert!(log.contains("approved a fresh work plan"), "{log}");

    // Second run on the same data: the target's sshd starts again with the same host key on
    // its registered port, and a plan with less than 30 minutes left is replaced.
    let second = demo_check(Some(&dir), &[]);
    let log = stderr(&second);
    assert!(
        second.status.success(),
        "second demo --check failed:\n{log}"
    );
    assert!(log.contains("check ok"), "{log}");
    assert!(log.contains("approved a fresh work plan"), "{log}");

    let data = dir.join("data");
    let plans = cli_json(&data, &["plan", "list"]);
    let plans = plans.as_array().unwrap();
    assert_eq!(plans.len(), 2, "{plans:#?}");
    for plan in plans {
        // R-14-4: submitted by one person, approved by another (four eyes).
        // Approved, and active once a session ran under it.
        assert!(
            plan["status"] == "approved" || plan["status"] == "active",
            "{plan:#}"
        );
        assert_eq!(plan["submitted_by"], "demo-planner", "{plan:#}");
        assert_eq!(plan["decided_by"], "demo-approver", "{plan:#}");
        assert_eq!(plan["allow"]["upload"], true, "{plan:#}");
        assert_eq!(plan["allow"]["download"], true, "{plan:#}");
    }
    let targets = cli_json(&data, &["target", "list"]);
    assert_eq!(targets.as_array().unwrap().len(), 1, "{targets:#}");
    assert_eq!(targets[0]["name"], "demo-server");

    // Each run's login is one session, recorded, and ended before the gateway stopped.
    let sessions = cli_json(&data, &["session", "list"]);
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:#?}");
    for s in sessions {
        assert_eq!(s["target"], "demo-server", "{s:#}");
        assert!(!s["ended_at"].is_null(), "session left live: {s:#}");
    }

    // The demo's sshd stopped with the demo.
    assert!(
        !dir.join("target/sshd.pid").exists(),
        "sshd.pid left behind"
    );
    let config = dir.join("target/sshd_config").display().to_string();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            assert!(
                !cmdline.contains(&config),
                "the demo sshd still runs: {cmdline}"
            );
        }
    }
}

#[test]
fn demo_check_fails_when_the_login_is_refused() {
    // An `oathtool` that prints a wrong code, first on PATH: the gateway refuses the login
    // and the check must say so, not pass.
    let tmp = tempfile::tempdir().unwrap();
    let fake = tmp.path().join("oathtool");
    std::fs::write(&fake, "#!/bin/sh\necho 000000\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        tmp.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = demo_check(None, &[("PATH", &path)]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("check FAILED"), "{log}");
    assert!(log.contains("wrong_code"), "{log}");
}
