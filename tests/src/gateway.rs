//! A fumidai data directory and `fumidai serve` process for one test.

use std::collections::HashMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tempfile::TempDir;

use crate::tools::{fumidai_bin, oathtool_code_at, poll, wait_for};

/// The password the harness gives operator accounts.
pub const OPERATOR_PASSWORD: &str = "Hinoki-Sawa-2290";

/// The operator [`Gateway::plan`] submits plans as (created on first use), so that any
/// other operator can approve them (four eyes, R-14-4).
pub const PLAN_SUBMITTER: &str = "sasaki";

/// What the harness knows of an account it created, to act as that person.
#[derive(Debug, Clone)]
struct Credentials {
    password: String,
    totp_secret: String,
    /// The last TOTP step used for this login: codes are single use (the gateway refuses
    /// a step at or before the last one it accepted).
    last_step: Option<u64>,
}

/// Why the test targets log in as root (R-10.1-NODEFAULT: `--allow-shared-admin`): the test
/// sshd runs as the user running the tests, whose only account it accepts.
pub const SHARED_ADMIN_REASON: &str = "test sshd: the account running the tests / 試験用 sshd";

/// An initialised data directory, and the gateway process once started.
pub struct Gateway {
    /// Holds everything; removed on drop.
    pub tmp: TempDir,
    /// The data directory.
    pub data: PathBuf,
    child: Option<Child>,
    /// The front door's address once started.
    pub addr: Option<SocketAddr>,
    /// The internal health/metrics address once started.
    pub ui_addr: Option<SocketAddr>,
    log_path: PathBuf,
    /// Every account the harness created, by login: password, TOTP secret, last step.
    people: Mutex<HashMap<String, Credentials>>,
}

/// A client certificate's files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// LOGIN.crt
    pub crt: PathBuf,
    /// LOGIN.key
    pub key: PathBuf,
    /// ca.crt
    pub ca: PathBuf,
    /// LOGIN.p12
    pub p12: PathBuf,
    /// The certificate's serial.
    pub serial: String,
}

/// An enrolled engineer.
#[derive(Debug, Clone)]
pub struct Engineer {
    /// Login.
    pub login: String,
    /// Password.
    pub password: String,
    /// TOTP secret, base32.
    pub totp_secret: String,
    /// Their device's certificate.
    pub certs: CertFiles,
}

impl Gateway {
    /// `fumidai init` into a fresh temporary directory, on loopback ports the OS picks.
    pub fn init() -> Self {
        Self::init_with(&[])
    }

    /// `fumidai init` with extra arguments.
    pub fn init_with(extra: &[&str]) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let log_path = tmp.path().join("serve.log");
        let gw = Self {
            tmp,
            data,
            child: None,
            addr: None,
            ui_addr: None,
            log_path,
            people: Mutex::new(HashMap::new()),
        };
        let mut args = vec![
            "init",
            "--listen",
            "127.0.0.1:0",
            "--ui-listen",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        gw.cli_ok(&args);
        gw
    }

    /// Runs `fumidai --data-dir DATA ARGS…`.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_stdin(args, "")
    }

    /// Runs the CLI with `stdin` piped in.
    pub fn cli_stdin(&self, args: &[&str], stdin: &str) -> Output {
        self.command(args, &[]).and_then_stdin(stdin)
    }

    /// Runs `ARGS… --as LOGIN` as that person: their password and a fresh TOTP code on
    /// stdin (then `more_stdin`). The harness must have created the account.
    pub fn cli_as_stdin(&self, login: &str, args: &[&str], more_stdin: &str) -> Output {
        let (password, code) = self.credentials_for(login);
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--as", login]);
        self.cli_stdin(&all, &format!("{password}\n{code}\n{more_stdin}"))
    }

    /// Runs `ARGS… --as LOGIN` as that person (see [`cli_as_stdin`](Self::cli_as_stdin)).
    pub fn cli_as(&self, login: &str, args: &[&str]) -> Output {
        self.cli_as_stdin(login, args, "")
    }

    /// [`cli_as`](Self::cli_as), failing the test on a non-zero exit; returns stdout.
    pub fn cli_as_ok(&self, login: &str, args: &[&str]) -> String {
        let out = self.cli_as(login, args);
        assert_success(args, &out);
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Runs `ARGS… --as LOGIN` with the person's password and a wrong code; the step of
    /// the right one is not used up.
    pub fn cli_as_wrong_code(&self, login: &str, args: &[&str]) -> Output {
        let password = self.person(login).password;
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--as", login]);
        self.cli_stdin(&all, &format!("{password}\n000000\n"))
    }

    /// The password and TOTP secret the harness keeps for `login`.
    pub fn secrets_of(&self, login: &str) -> (String, String) {
        let p = self.person(login);
        (p.password, p.totp_secret)
    }

    /// Remembers an account's secrets (e.g. after a TOTP reset).
    pub fn remember(&self, login: &str, password: &str, totp_secret: &str) {
        self.people.lock().expect("people").insert(
            login.to_owned(),
            Credentials {
                password: password.to_owned(),
                totp_secret: totp_secret.to_owned(),
                last_step: None,
            },
        );
    }

    fn person(&self, login: &str) -> Credentials {
        self.people
            .lock()
            .expect("people")
            .get(login)
            .cloned()
            .unwrap_or_else(|| panic!("the harness did not create {login}"))
    }

    /// The password and a TOTP code of a step not used yet: the current step or the next
    /// (the gateway accepts ±1 step; the previous one may expire in flight), waiting for a
    /// new step when both are used.
    fn credentials_for(&self, login: &str) -> (String, String) {
        self.code_after(login, None)
    }

    /// A TOTP code for `login` of a step after the current one's, for a login that follows
    /// logins the harness did not track (`SshLogin::engineer` uses the current step).
    pub fn fresh_code(&self, login: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            / 30;
        self.code_after(login, Some(now)).1
    }

    /// The password and a code of a step after the last used one and after `floor`.
    fn code_after(&self, login: &str, floor: Option<u64>) -> (String, String) {
        let person = self.person(login);
        let step = wait_for(
            &format!("an unused TOTP step for {login}"),
            Duration::from_secs(70),
            || {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .expect("clock")
                    .as_secs()
                    / 30;
                let last = self.person(login).last_step.max(floor);
                [now, now + 1]
                    .into_iter()
                    .find(|s| last.is_none_or(|l| *s > l))
                    .or_else(|| {
                        std::thread::sleep(Duration::from_millis(200));
                        None
                    })
            },
        );
        if let Some(p) = self.people.lock().expect("people").get_mut(login) {
            p.last_step = Some(step);
        }
        (
            person.password,
            oathtool_code_at(&person.totp_secret, step * 30),
        )
    }

    /// Runs the CLI and returns stdout, failing the test on a non-zero exit.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert_success(args, &out);
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// A `fumidai` command for this data directory, not yet run.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(fumidai_bin());
        cmd.arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts `fumidai serve` and waits until it listens.
    pub fn start(&mut self) {
        self.start_with_env(&[]);
    }

    /// Starts `fumidai serve` with extra environment (e.g. `RUST_LOG`).
    pub fn start_with_env(&mut self, env: &[(&str, &str)]) {
        assert!(self.child.is_none(), "already started");
        let log = File::create(&self.log_path).expect("log file");
        let child = self
            .command(&["serve"], env)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .spawn()
            .expect("spawn fumidai serve");
        self.child = Some(child);
        let listening = poll(Duration::from_secs(30), || {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("fumidai serve exited with {status}:\n{}", self.log());
            }
            let log = self.log();
            let line = log.lines().find(|l| l.contains("fumidai serving"))?;
            Some((field(line, "listen")?, field(line, "ui_listen")?))
        });
        let Some((addr, ui_addr)) = listening else {
            panic!(
                "fumidai serve did not report listening within 30 s:\n{}",
                self.log()
            );
        };
        self.addr = Some(addr);
        self.ui_addr = Some(ui_addr);
    }

    /// Stops the gateway (SIGKILL) if running.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The gateway's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The `fumidai serve` process's ID (for CPU and memory figures).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("gateway not started").id()
    }

    /// The front door's `HOST:PORT`.
    pub fn front_door(&self) -> String {
        self.addr.expect("gateway not started").to_string()
    }

    /// Registers an RDP target: `target add NAME --rdp ADDRESS --login LOGIN
    /// --password-stdin --cert-sha256 PIN_HEX`.
    pub fn add_rdp_target(
        &self,
        name: &str,
        address: &str,
        login: &str,
        password: &str,
        pin_hex: &str,
    ) {
        let args = [
            "target",
            "add",
            name,
            "--rdp",
            address,
            "--login",
            login,
            "--password-stdin",
            "--cert-sha256",
            pin_hex,
        ];
        let out = self.cli_stdin(&args, &format!("{password}\n"));
        assert_success(&args, &out);
    }

    /// Registers a vendor.
    pub fn add_vendor(&self, name: &str, extra: &[&str]) {
        let mut args = vec!["vendor", "add", name];
        args.extend_from_slice(extra);
        self.cli_ok(&args);
    }

    /// Creates an engineer (password from stdin) with a certificate, who has already made
    /// the first login's password change (`engineer add` asks for one, §14 ⑥(5)): `password`
    /// is the engineer's own. `actors.rs` tests the change itself through `ssh`; here
    /// python3's sqlite3 clears the flag, so that every other test's first login is the one
    /// it means to test and spends no TOTP step of its own.
    pub fn add_engineer(&self, login: &str, vendor: &str, password: &str) -> Engineer {
        let engineer = self.add_engineer_as_created(login, vendor, password);
        self.sql(&format!(
            "UPDATE accounts SET must_change_password = 0 WHERE login = '{login}'"
        ));
        engineer
    }

    /// Runs one SQL statement on the gateway's SQLite store with python3's sqlite3, as a
    /// hostile DBA or a fixture would.
    pub fn sql(&self, statement: &str) {
        let db = self.data.join("fumidai.db");
        let out = Command::new("python3")
            .arg("-c")
            .arg(
                "import sqlite3, sys\n\
                 c = sqlite3.connect(sys.argv[1], timeout=30)\n\
                 c.execute(sys.argv[2])\n\
                 c.commit()",
            )
            .arg(&db)
            .arg(statement)
            .output()
            .expect("python3");
        assert!(out.status.success(), "{statement}: {out:?}");
    }

    /// Creates an engineer as `engineer add` leaves them: `password` is the one the
    /// operator typed, and the first login asks for a new one.
    pub fn add_engineer_as_created(&self, login: &str, vendor: &str, password: &str) -> Engineer {
        let args = [
            "--json",
            "engineer",
            "add",
            login,
            "--vendor",
            vendor,
            "--password-stdin",
        ];
        let out = self.cli_stdin(&args, &format!("{password}\n"));
        assert_success(&args, &out);
        let enrolled: Value = serde_json::from_slice(&out.stdout).expect("engineer add --json");
        let totp_secret = enrolled["totp_secret"]
            .as_str()
            .expect("totp_secret")
            .to_owned();
        let certs = self.issue_cert(login);
        self.remember(login, password, &totp_secret);
        Engineer {
            login: login.to_owned(),
            password: password.to_owned(),
            totp_secret,
            certs,
        }
    }

    /// `fumidai cert issue LOGIN` into a fresh directory.
    pub fn issue_cert(&self, login: &str) -> CertFiles {
        self.issue_cert_with(login, &[], &[])
    }

    /// `fumidai cert issue` with extra arguments and an optional wrapper command (e.g.
    /// `faketime`).
    pub fn issue_cert_with(&self, login: &str, extra: &[&str], wrapper: &[&str]) -> CertFiles {
        let dir = unique_dir(self.tmp.path(), &format!("certs-{login}"));
        let dir_s = dir.to_str().expect("utf-8 path");
        let mut args = vec!["--json", "cert", "issue", login, "--out", dir_s];
        args.extend_from_slice(extra);
        let out = match wrapper.split_first() {
            None => self.cli(&args),
            Some((program, wrapper_args)) => {
                let inner = self.command(&args, &[]);
                let mut cmd = Command::new(program);
                cmd.args(wrapper_args)
                    .arg(inner.get_program())
                    .args(inner.get_args());
                cmd.output().expect("run wrapped fumidai")
            }
        };
        assert_success(&args, &out);
        let issued: Value = serde_json::from_slice(&out.stdout).expect("cert issue --json");
        CertFiles {
            crt: dir.join(format!("{login}.crt")),
            key: dir.join(format!("{login}.key")),
            ca: dir.join("ca.crt"),
            p12: dir.join(format!("{login}.p12")),
            serial: issued["certificate"]["serial"]
                .as_str()
                .expect("serial")
                .to_owned(),
        }
    }

    /// The usual maintenance scene, not yet started: vendor `acme`, its engineer `alice`
    /// (with `password`), operator `olga` to approve plans, and a real sshd registered as
    /// target `db01`.
    pub fn with_alice_and_db01(password: &str) -> (Self, Engineer, crate::Sshd) {
        let sshd = crate::Sshd::start();
        let gw = Self::init();
        gw.add_vendor("acme", &[]);
        let alice = gw.add_engineer("alice", "acme", password);
        gw.add_operator("olga", "operator");
        gw.add_target("db01", &sshd);
        (gw, alice, sshd)
    }

    /// Creates an operator account (approver of plans) with [`OPERATOR_PASSWORD`]; the
    /// harness keeps its password and TOTP secret to act as it ([`cli_as`](Self::cli_as)).
    pub fn add_operator(&self, login: &str, role: &str) {
        let args = [
            "--json",
            "operator",
            "add",
            login,
            "--role",
            role,
            "--password-stdin",
        ];
        let out = self.cli_stdin(&args, &format!("{OPERATOR_PASSWORD}\n"));
        assert_success(&args, &out);
        let enrolled: Value = serde_json::from_slice(&out.stdout).expect("operator add --json");
        let secret = enrolled["totp_secret"].as_str().expect("totp_secret");
        self.remember(login, OPERATOR_PASSWORD, secret);
    }

    /// Creates [`PLAN_SUBMITTER`] unless it exists.
    pub fn ensure_submitter(&self) -> &'static str {
        let known = self
            .people
            .lock()
            .expect("people")
            .contains_key(PLAN_SUBMITTER);
        if !known {
            self.add_operator(PLAN_SUBMITTER, "operator");
        }
        PLAN_SUBMITTER
    }

    /// Approves plan `id` as `approver` (authenticated).
    pub fn approve(&self, id: &str, approver: &str) {
        self.cli_as_ok(approver, &["plan", "approve", id]);
    }

    /// Registers `sshd` as target `name`, logging in as root with its client key (a factory
    /// account: registered with `--allow-shared-admin` and the reason, R-10.1-NODEFAULT).
    pub fn add_target(&self, name: &str, sshd: &crate::Sshd) {
        self.add_target_with_host_key(name, sshd, &sshd.host_key);
    }

    /// Registers `sshd` as target `name` with the given pinned host key.
    pub fn add_target_with_host_key(&self, name: &str, sshd: &crate::Sshd, host_key: &str) {
        let addr = sshd.addr.to_string();
        let key = sshd.client_key.display().to_string();
        self.cli_ok(&[
            "target",
            "add",
            name,
            "--ssh",
            &addr,
            "--login",
            "root",
            "--allow-shared-admin",
            SHARED_ADMIN_REASON,
            "--key-file",
            &key,
            "--host-key",
            host_key,
        ]);
    }

    /// Submits a plan for `engineer` on `target` over `[now + from_min, now + to_min]` and,
    /// when `approver` is given, approves it. Returns the plan ID.
    pub fn plan(
        &self,
        engineer: &str,
        target: &str,
        from_min: i64,
        to_min: i64,
        approver: Option<&str>,
    ) -> String {
        self.plan_allowing(engineer, target, from_min, to_min, approver, &[])
    }

    /// Like [`plan`](Self::plan), with `--allow` for each of `allow` (upload, download,
    /// forward).
    pub fn plan_allowing(
        &self,
        engineer: &str,
        target: &str,
        from_min: i64,
        to_min: i64,
        approver: Option<&str>,
        allow: &[&str],
    ) -> String {
        let allow: Vec<&str> = allow.iter().flat_map(|a| ["--allow", a]).collect();
        self.plan_with_args(engineer, target, from_min, to_min, approver, &allow)
    }

    /// Like [`plan`](Self::plan), with more `plan submit` arguments (`--allow download`,
    /// `--personal-data …`, `--take-out-purpose …`).
    pub fn plan_with_args(
        &self,
        engineer: &str,
        target: &str,
        from_min: i64,
        to_min: i64,
        approver: Option<&str>,
        extra: &[&str],
    ) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let rfc3339 = |min: i64| {
            let out = Command::new("date")
                .args([
                    "-u",
                    "-d",
                    &format!("@{}", now + min * 60),
                    "+%Y-%m-%dT%H:%M:%SZ",
                ])
                .output()
                .expect("date");
            String::from_utf8(out.stdout)
                .expect("utf-8")
                .trim()
                .to_owned()
        };
        let (start, end) = (rfc3339(from_min), rfc3339(to_min));
        let mut args = vec![
            "--json",
            "plan",
            "submit",
            "--engineer",
            engineer,
            "--target",
            target,
            "--start",
            &start,
            "--end",
            &end,
            "--purpose",
            "monthly patching / 月次パッチ適用",
        ];
        args.extend_from_slice(extra);
        let submitter = self.ensure_submitter();
        let out = self.cli_as_ok(submitter, &args);
        let plan: Value = serde_json::from_str(&out).expect("plan submit --json");
        let id = plan["id"].as_str().expect("plan id").to_owned();
        if let Some(approver) = approver {
            self.approve(&id, approver);
        }
        id
    }

    /// Replaces `from` with `to` in `fumidai.toml` (before `start`).
    pub fn set_config(&self, from: &str, to: &str) {
        let path = self.data.join("fumidai.toml");
        let text = std::fs::read_to_string(&path).expect("read fumidai.toml");
        assert!(text.contains(from), "{from} not in the configuration");
        std::fs::write(&path, text.replace(from, to)).expect("write fumidai.toml");
    }

    /// The last `n` audit records, as JSON.
    pub fn audit_tail(&self, n: u32) -> Vec<Value> {
        let out = self.cli_ok(&["--json", "audit", "tail", "-n", &n.to_string()]);
        serde_json::from_str(&out).expect("audit tail --json")
    }

    /// Waits until an audit record of `kind` about `subject` exists, and returns it.
    pub fn wait_audit(&self, kind: &str, subject: &str) -> Value {
        wait_for(
            &format!("audit {kind} {subject}"),
            Duration::from_secs(20),
            || {
                self.audit_tail(1000)
                    .into_iter()
                    .rev()
                    .find(|r| r["kind"] == kind && r["subject"] == subject)
            },
        )
    }

    /// Waits until an audit record of `kind` exists (whatever its subject), and returns
    /// the latest.
    pub fn wait_audit_kind(&self, kind: &str) -> Value {
        wait_for(&format!("audit {kind}"), Duration::from_secs(20), || {
            self.audit_tail(1000)
                .into_iter()
                .rev()
                .find(|r| r["kind"] == kind)
        })
    }

    /// All audit records of `kind` about `subject`.
    pub fn audits(&self, kind: &str, subject: &str) -> Vec<Value> {
        self.audit_tail(10_000)
            .into_iter()
            .filter(|r| r["kind"] == kind && r["subject"] == subject)
            .collect()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Fails with the command's output when it didn't succeed.
pub fn assert_success(args: &[&str], out: &Output) {
    assert!(
        out.status.success(),
        "fumidai {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn unique_dir(parent: &Path, stem: &str) -> PathBuf {
    (0..)
        .map(|i| parent.join(format!("{stem}-{i}")))
        .find(|p| !p.exists())
        .expect("a free name")
}

/// `key=value` from a tracing text line.
fn field(line: &str, key: &str) -> Option<SocketAddr> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
}

trait AndThenStdin {
    fn and_then_stdin(self, stdin: &str) -> Output;
}

impl AndThenStdin for Command {
    fn and_then_stdin(mut self, stdin: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fumidai");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait fumidai")
    }
}
