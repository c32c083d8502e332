//! Every client a vendor really uses works (issue 13): PuTTY's `plink` interactive and in
//! scripts, `pscp`, stock `ssh` with `SetEnv`. Each one's session is checked on the target
//! (what the command left there), not only by what the client printed.
//!
//! The regression these hold: russh kept one "wants reply" flag per channel, so PuTTY's
//! `pty-req` and `shell` sent back to back lost the second answer and plink hung, and an
//! `env` that wanted no answer handed its failure to the next `exec` (`ssh -o SetEnv=…`:
//! "exec request failed"). See `gateway/src/proxy/bridge/replies.rs`.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::time::Duration;

use fumidai_e2e::putty::Putty;
use fumidai_e2e::{Gateway, SshLogin};

const PASSWORD: &str = "Kaede-Hashira-7731";

/// How long a step on the terminal may take: a login includes Argon2id and the target's.
const STEP: Duration = Duration::from_secs(30);

#[test]
fn interactive_plink_gets_its_shell_runs_a_command_and_exits() {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let marker = sshd.tmp.path().join("typed-in-plink");
    let code = fumidai_e2e::tools::oathtool_code(&alice.totp_secret);
    let plink =
        Putty::new(&gw, "plink", "alice:db01", &alice.certs).args(&["-t", "fumidai-gateway"]);
    let mut term = plink.spawn_and_log_in(&gw, &alice.password, &code);
    // PuTTY's defence against a server spoofing its prompts: after a keyboard-interactive
    // login it waits for Return before the session (README: `-no-antispoof` in scripts).
    term.expect("Press Return to begin session", STEP);
    term.type_text("\r");
    // The shell came: both `pty-req` and `shell` were answered.
    term.expect("# ", STEP);
    term.type_text(&format!(
        "touch {} && echo plink-$((6*7))\r",
        marker.display()
    ));
    term.expect("plink-42\r\n", STEP);
    term.type_text("exit 3\r");
    let status = term.wait(STEP);
    assert_eq!(status.code(), Some(3), "{}", term.screen());
    assert!(marker.exists(), "{}", term.screen());
    let ended = gw.wait_audit_kind("session.ended");
    assert_eq!(ended["detail"]["engineer"], "alice", "{ended}");
    assert_eq!(ended["detail"]["reason"], "normal", "{ended}");
}

#[test]
fn a_plink_script_runs_its_command_without_a_keypress() {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let marker = sshd.tmp.path().join("from-a-plink-script");
    let code = fumidai_e2e::tools::oathtool_code(&alice.totp_secret);
    let command = format!("touch {} && echo script-done", marker.display());
    let plink = Putty::new(&gw, "plink", "alice:db01", &alice.certs).args(&[
        "-no-antispoof",
        "fumidai-gateway",
        &command,
    ]);
    let mut term = plink.spawn_and_log_in(&gw, &alice.password, &code);
    term.expect("script-done", STEP);
    let status = term.wait(STEP);
    assert_eq!(status.code(), Some(0), "{}", term.screen());
    assert!(marker.exists());
}

#[test]
fn ssh_with_an_environment_variable_it_does_not_pass_still_runs_its_command() {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let marker = sshd.tmp.path().join("ran-despite-setenv");
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".into();
    let command = format!("touch {} && echo env-ok", marker.display());
    // `FUMIDAI_PROBE` is not among the variables passed on; `LANG` is, and the target's
    // sshd refuses it (Debian's default `AcceptEnv LANG LC_*` is not in the test sshd):
    // neither refusal may land on the `exec`.
    let out = login.run_tool(
        &gw,
        "ssh",
        &[
            "-T",
            "-o",
            "SetEnv=FUMIDAI_PROBE=bar LANG=C.UTF-8",
            "fumidai-gateway",
            &command,
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "env-ok", "{out:?}");
    assert!(marker.exists());
}

/// The scene for file transfers: a plan allowing both directions, a file to download on
/// the target.
fn transfer_scene() -> (Gateway, fumidai_e2e::Engineer, fumidai_e2e::Sshd) {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan_allowing(
        "alice",
        "db01",
        -5,
        60,
        Some("olga"),
        &["upload", "download"],
    );
    gw.start();
    std::fs::write(
        sshd.tmp.path().join("to-download.txt"),
        "written on the target\n",
    )
    .unwrap();
    (gw, alice, sshd)
}

/// Runs `pscp ARGS…` on a pty, answering the prompts; its exit status and screen.
fn pscp(gw: &Gateway, alice: &fumidai_e2e::Engineer, args: &[&str]) -> (i32, String) {
    let code = fumidai_e2e::tools::oathtool_code(&alice.totp_secret);
    let pscp = Putty::new(gw, "pscp", "alice:db01", &alice.certs).args(args);
    let mut term = pscp.spawn_and_log_in(gw, &alice.password, &code);
    let status = term.wait(STEP);
    (status.code().unwrap_or(-1), term.screen())
}

#[test]
fn pscp_uploads_over_sftp() {
    let (gw, alice, sshd) = transfer_scene();
    let local = gw.tmp.path().join("from-pscp.txt");
    std::fs::write(&local, "sent with pscp\n").unwrap();
    let remote = sshd.tmp.path().join("from-pscp.txt");
    let dest = format!("fumidai-gateway:{}", remote.display());
    let (code, screen) = pscp(&gw, &alice, &["-sftp", local.to_str().unwrap(), &dest]);
    assert_eq!(code, 0, "{screen}");
    assert_eq!(
        std::fs::read_to_string(&remote).unwrap(),
        "sent with pscp\n"
    );
    let transfer = gw.wait_audit_kind("transfer");
    assert_eq!(transfer["detail"]["direction"], "upload", "{transfer}");
}

#[test]
fn pscp_downloads_over_sftp_and_scp() {
    for (protocol, step) in [("-sftp", 0), ("-scp", 1)] {
        let (gw, alice, sshd) = transfer_scene();
        let local = gw.tmp.path().join(format!("down{step}.txt"));
        let source = format!(
            "fumidai-gateway:{}",
            sshd.tmp.path().join("to-download.txt").display()
        );
        let (code, screen) = pscp(&gw, &alice, &[protocol, &source, local.to_str().unwrap()]);
        assert_eq!(code, 0, "{protocol}: {screen}");
        assert_eq!(
            std::fs::read_to_string(&local).unwrap(),
            "written on the target\n",
            "{protocol}"
        );
        let transfer = gw.wait_audit_kind("transfer");
        assert_eq!(transfer["detail"]["direction"], "download", "{transfer}");
    }
}

/// Runs a Python client script (tests/clients/NAME) with `python`; its stdout.
fn python_client(python: &str, script: &str, env: &[(&str, String)]) -> String {
    fumidai_e2e::tools::require(python);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("clients")
        .join(script);
    let mut cmd = std::process::Command::new(python);
    cmd.arg(path);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = fumidai_e2e::tools::run_with_timeout(cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} with {python}:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A paramiko script logs in (keyboard-interactive), runs a command, a shell and SFTP.
fn paramiko_works(python: &str) -> String {
    let (gw, alice, sshd) = transfer_scene();
    let c = &alice.certs;
    let local = tempfile::tempdir_in(gw.tmp.path()).unwrap();
    let proxy = format!(
        "{} connect {} --cert {} --key {} --ca {}",
        fumidai_e2e::tools::fumidai_bin().display(),
        gw.front_door(),
        c.crt.display(),
        c.key.display(),
        c.ca.display()
    );
    let out = python_client(
        python,
        "paramiko_client.py",
        &[
            ("FUMIDAI_PROXY", proxy),
            ("FUMIDAI_USER", "alice:db01".into()),
            ("FUMIDAI_PASSWORD", alice.password.clone()),
            (
                "FUMIDAI_CODE",
                fumidai_e2e::tools::oathtool_code(&alice.totp_secret),
            ),
            (
                "FUMIDAI_HOSTKEY",
                fumidai_e2e::wrappers::gateway_public_key(&gw),
            ),
            ("FUMIDAI_REMOTE_DIR", sshd.tmp.path().display().to_string()),
            ("FUMIDAI_LOCAL_DIR", local.path().display().to_string()),
        ],
    );
    assert!(out.contains("exec exec-42 0"), "{out}");
    assert!(out.contains("shell True 0"), "{out}");
    assert!(out.contains("sftp written on the target"), "{out}");
    for marker in ["from-paramiko-exec", "from-paramiko-shell", "up.txt"] {
        assert!(sshd.tmp.path().join(marker).exists(), "{marker}: {out}");
    }
    out
}

#[test]
fn debians_paramiko_2_12_connects_with_aes_ctr() {
    let out = paramiko_works("/usr/bin/python3");
    assert!(out.contains("paramiko 2.12"), "{out}");
    // It has no AES-GCM: AES-CTR with an encrypt-then-MAC SHA-2 MAC (R-13-4).
    assert!(out.contains("cipher aes"), "{out}");
    assert!(out.contains("-ctr"), "{out}");
    assert!(out.contains("-etm@openssh.com"), "{out}");
}

#[test]
fn a_current_paramiko_from_pypi_connects() {
    // `.ci/run` installs the newest paramiko into this virtual environment.
    let python = std::env::var("FUMIDAI_PARAMIKO_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/fumidai-venv/bin/python3",
            std::env::var("HOME").unwrap()
        )
    });
    let out = paramiko_works(&python);
    assert!(!out.contains("paramiko 2."), "{out}");
}

#[test]
fn asyncssh_runs_a_command_and_sftp_through_a_local_forwarder() {
    let (gw, alice, sshd) = transfer_scene();
    let forwarder = fumidai_e2e::wrappers::fumidai_listen(&gw, &alice.certs);
    let local = tempfile::tempdir_in(gw.tmp.path()).unwrap();
    let known = fumidai_e2e::wrappers::known_hosts(&gw, local.path(), forwarder.port);
    let out = python_client(
        "/usr/bin/python3",
        "asyncssh_client.py",
        &[
            ("FUMIDAI_PORT", forwarder.port.to_string()),
            ("FUMIDAI_USER", "alice:db01".into()),
            ("FUMIDAI_PASSWORD", alice.password.clone()),
            (
                "FUMIDAI_CODE",
                fumidai_e2e::tools::oathtool_code(&alice.totp_secret),
            ),
            ("FUMIDAI_KNOWN_HOSTS", known.display().to_string()),
            ("FUMIDAI_REMOTE_DIR", sshd.tmp.path().display().to_string()),
            ("FUMIDAI_LOCAL_DIR", local.path().display().to_string()),
        ],
    );
    assert!(out.contains("exec exec-42 0"), "{out}");
    assert!(out.contains("sftp written on the target"), "{out}");
    assert!(sshd.tmp.path().join("from-asyncssh").exists(), "{out}");
    assert!(sshd.tmp.path().join("up-asyncssh.txt").exists(), "{out}");
}

#[test]
fn stunnel_is_the_tls_wrapper_for_stock_ssh_and_plink() {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let tunnel = fumidai_e2e::wrappers::stunnel(&gw, &alice.certs);

    // Stock ssh to stunnel's local port.
    let marker = sshd.tmp.path().join("through-stunnel-ssh");
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".into();
    login.proxy = fumidai_e2e::ssh::Proxy::Local(tunnel.port);
    login.command = Some(format!("touch {} && echo ssh-ok", marker.display()));
    let out = login.run(&gw);
    assert_eq!(out.stdout.trim(), "ssh-ok", "{out:?}");
    assert!(marker.exists());

    // plink to the same port (a second login: the next code).
    let marker = sshd.tmp.path().join("through-stunnel-plink");
    let command = format!("touch {} && echo plink-ok", marker.display());
    let mut plink = Putty::new(&gw, "plink", "alice:db01", &alice.certs).args(&[
        "-no-antispoof",
        "127.0.0.1",
        &command,
    ]);
    plink.local_port = Some(tunnel.port);
    let code = gw.fresh_code("alice");
    let mut term = plink.spawn_and_log_in(&gw, &alice.password, &code);
    term.expect("plink-ok", STEP);
    assert_eq!(term.wait(STEP).code(), Some(0), "{}", term.screen());
    assert!(marker.exists());
}

#[test]
fn a_target_is_pinned_with_what_ssh_keyscan_printed() {
    // The operator's natural move: `--host-key "$(ssh-keyscan -p PORT HOST)"`.
    let sshd = fumidai_e2e::Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    let mut scan = std::process::Command::new("ssh-keyscan");
    scan.args(["-p", &sshd.addr.port().to_string(), "-t", "ed25519"])
        .arg(sshd.addr.ip().to_string());
    let scanned = fumidai_e2e::tools::run_with_timeout(scan, STEP);
    let scanned = String::from_utf8_lossy(&scanned.stdout).into_owned();
    assert!(scanned.contains("ssh-ed25519"), "{scanned}");
    gw.add_target_with_host_key("db01", &sshd, scanned.trim());
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".into();
    login.command = Some("echo pinned".into());
    let out = login.run(&gw);
    assert_eq!(out.stdout.trim(), "pinned", "{out:?}");
}

#[test]
fn the_hand_over_bundle_alone_gets_stock_ssh_in_with_the_host_key_checked() {
    // A fixed front-door port, as in a real installation (the bundle names it).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sshd = fumidai_e2e::Sshd::start();
    let mut gw = Gateway::init();
    gw.set_config(
        "\nlisten = \"127.0.0.1:0\"",
        &format!("\nlisten = \"127.0.0.1:{port}\""),
    );
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_target("db01", &sshd);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let bundle = alice.certs.crt.parent().unwrap().to_owned();
    for file in ["ssh_config", "known_hosts", "stunnel.conf", "connect.html"] {
        assert!(bundle.join(file).exists(), "{file} missing");
    }
    let page = std::fs::read_to_string(bundle.join("connect.html")).unwrap();
    assert!(
        page.contains(&fumidai_e2e::putty::gateway_fingerprint(&gw)),
        "the page names the fingerprint"
    );

    // Stock ssh with nothing but the bundle: its ProxyCommand finds `fumidai` on PATH,
    // and its known_hosts must hold the gateway's real key (StrictHostKeyChecking yes).
    let askpass = bundle.join("askpass.sh");
    let code = fumidai_e2e::tools::oathtool_code(&alice.totp_secret);
    std::fs::write(
        &askpass,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  *assword*) echo '{}' ;;\n  *) echo '{code}' ;;\nesac\n",
            alice.password
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &askpass,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let bin_dir = fumidai_e2e::tools::fumidai_bin()
        .parent()
        .unwrap()
        .to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let marker = sshd.tmp.path().join("via-the-bundle");
    let mut ssh = std::process::Command::new("ssh");
    ssh.current_dir(&bundle)
        .env("PATH", path)
        .env("HOME", gw.tmp.path())
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0")
        .args(["-F", "ssh_config", "-o", "ControlMaster=no", "-T"])
        .args(["-l", "alice:db01", "fumidai"])
        .arg(format!("touch {} && echo bundle-ok", marker.display()));
    let out = fumidai_e2e::tools::run_with_timeout(ssh, STEP);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "bundle-ok",
        "{out:?}"
    );
    assert!(marker.exists());
}

#[test]
fn a_reinstalled_servers_new_host_key_is_pinned_with_target_update_keeping_its_name() {
    let sshd = fumidai_e2e::Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    // Pinned before the "reinstall": another server's key.
    let other = fumidai_e2e::Sshd::start();
    gw.add_target_with_host_key("db01", &sshd, &other.host_key);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".into();
    login.command = Some("echo reached".into());
    let refused = login.run(&gw);
    assert_ne!(refused.stdout.trim(), "reached", "{refused:?}");

    // Nothing to change is refused; an unknown target too.
    assert!(!gw.cli(&["target", "update", "db01"]).status.success());
    assert!(
        !gw.cli(&["target", "update", "nope", "--login", "maint"])
            .status
            .success()
    );
    gw.cli_ok(&["target", "update", "db01", "--host-key", &sshd.host_key]);
    let updated = gw.wait_audit("target.updated", "db01");
    assert_ne!(
        updated["detail"]["host_key"]["from_fingerprint"],
        updated["detail"]["host_key"]["to_fingerprint"],
        "{updated}"
    );
    login.code = gw.fresh_code("alice");
    let out = login.run(&gw);
    assert_eq!(out.stdout.trim(), "reached", "{out:?}");
}
