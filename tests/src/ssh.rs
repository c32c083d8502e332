//! Stock OpenSSH `ssh` through the gateway, answering the password and code prompts with
//! an `SSH_ASKPASS` script, as a vendor's engineer would type them.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::gateway::{CertFiles, Gateway};
use crate::pty::Pty;
use crate::tools::{fumidai_bin, require, run_with_timeout};

/// How the TLS leg is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proxy {
    /// `fumidai connect` as ProxyCommand.
    Fumidai,
    /// `openssl s_client -quiet -tls1_3` as ProxyCommand: any TLS 1.3 client works.
    OpensslSClient,
    /// No ProxyCommand: a TLS wrapper (stunnel, `fumidai connect --listen`) listens on this
    /// local port.
    Local(u16),
}

/// One `ssh` login attempt.
#[derive(Debug, Clone)]
pub struct SshLogin {
    /// The SSH user name (`engineer` or `engineer:target`).
    pub user: String,
    /// The device's certificate files.
    pub certs: CertFiles,
    /// Answer to the password prompt.
    pub password: String,
    /// Answer to the code prompt.
    pub code: String,
    /// ProxyCommand flavour.
    pub proxy: Proxy,
    /// Remote command (none: a shell is requested).
    pub command: Option<String>,
    /// Answers to the target menu (user name `engineer` alone), in order; an empty
    /// answer once they run out.
    pub menu_answers: Vec<String>,
    /// ssh's `LogLevel` (`ERROR` by default; `INFO` shows the server's banner).
    pub log_level: &'static str,
    /// Answer to the emergency-reason prompt (user name `engineer:target:emergency`).
    pub emergency_reason: String,
    /// Answer to both prompts of the forced password change (after an operator set the
    /// password); without one they are answered with `password`.
    pub new_password: Option<String>,
    /// ssh's `NumberOfPasswordPrompts`: password + code rounds on one connection (1 by
    /// default; OpenSSH's own default is 3).
    pub password_prompts: u32,
}

/// What `ssh` did.
#[derive(Debug)]
pub struct SshOutcome {
    /// Exit code (255: ssh itself failed, e.g. authentication).
    pub code: i32,
    /// What the remote side printed.
    pub stdout: String,
    /// ssh's own messages.
    pub stderr: String,
    /// The prompts the askpass script was shown, in order.
    pub prompts: Vec<String>,
}

impl SshOutcome {
    /// Whether the login got through to the session.
    pub fn authenticated(&self) -> bool {
        self.code != 255 && !self.stderr.contains("Permission denied")
    }
}

impl SshLogin {
    /// A login with `fumidai connect` and no remote command.
    pub fn new(user: &str, certs: &CertFiles, password: &str, code: &str) -> Self {
        Self {
            user: user.to_owned(),
            certs: certs.clone(),
            password: password.to_owned(),
            code: code.to_owned(),
            proxy: Proxy::Fumidai,
            command: Some("id".to_owned()),
            menu_answers: Vec::new(),
            log_level: "ERROR",
            emergency_reason: String::new(),
            new_password: None,
            password_prompts: 1,
        }
    }

    /// A login with the engineer's own device, password and current code.
    pub fn engineer(engineer: &crate::Engineer) -> Self {
        let code = crate::tools::oathtool_code(&engineer.totp_secret);
        Self::new(&engineer.login, &engineer.certs, &engineer.password, &code)
    }

    /// Runs `ssh` against `gw` and waits for it.
    pub fn run(&self, gw: &Gateway) -> SshOutcome {
        let (mut cmd, work) = self.command(gw, "ssh");
        cmd.args(["-T", "-l", &self.user, "fumidai-gateway"]);
        if let Some(command) = &self.command {
            cmd.arg(command);
        }
        self.finish(cmd, &work)
    }

    /// Starts `ssh -tt` against `gw` on a real pseudo-terminal of `rows` × `cols`, with no
    /// askpass: the password and code prompts come on the terminal, and the test answers
    /// them as the engineer would type them. Keep the returned directory (ssh's
    /// `known_hosts`) while the session runs.
    pub fn interactive(&self, gw: &Gateway, rows: u16, cols: u16) -> (Pty, tempfile::TempDir) {
        let (mut cmd, work) = self.command(gw, "ssh");
        cmd.env_remove("SSH_ASKPASS")
            .env_remove("SSH_ASKPASS_REQUIRE")
            .env_remove("DISPLAY")
            .env("TERM", "xterm")
            .args(["-tt", "-l", &self.user, "fumidai-gateway"]);
        if let Some(command) = &self.command {
            cmd.arg(command);
        }
        (Pty::spawn(&cmd, rows, cols), work)
    }

    /// Answers the password and code prompts on `term` as the engineer types them,
    /// checking that each prompt reads in Japanese and English.
    pub fn answer_prompts(&self, term: &mut Pty) {
        let step = Duration::from_secs(30);
        let prompt = term.expect("パスワード", step);
        assert!(prompt.contains("Password"), "{prompt:?}");
        term.type_text(&format!("{}\r", self.password));
        let prompt = term.expect("確認コード", step);
        assert!(prompt.contains("Verification code"), "{prompt:?}");
        term.type_text(&format!("{}\r", self.code));
    }

    /// Runs `scp ARGS…` (or `sftp`) against `gw`, with `gw:` standing for this login's
    /// `user@host`; waits for it.
    pub fn run_tool(&self, gw: &Gateway, program: &str, args: &[&str]) -> SshOutcome {
        let (mut cmd, work) = self.command(gw, program);
        // scp splits `user@host:path` at the first ':', and fumidai's user names hold one
        // (`engineer:target`), so the user goes in an option, as in an ssh_config entry.
        cmd.args(["-o", &format!("User={}", self.user)]);
        for a in args {
            cmd.arg(a.replace("gw:", "fumidai-gateway:"));
        }
        self.finish(cmd, &work)
    }

    /// Starts `ssh -N ARGS…` (e.g. `-L 127.0.0.1:PORT:localhost:PORT`) against `gw` in the
    /// background, with `LogLevel=INFO` so refused channels show on its stderr; the
    /// process is killed when the returned value is dropped.
    pub fn spawn_background(&self, gw: &Gateway, args: &[&str]) -> Background {
        let (mut cmd, work) = self.command_logging(gw, "ssh", "INFO");
        cmd.args(["-N", "-l", &self.user])
            .args(args)
            .arg("fumidai-gateway");
        let stderr = work.path().join("stderr");
        let child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn ssh");
        Background {
            child,
            stderr,
            _work: work,
        }
    }

    /// `program` with the options, ProxyCommand and askpass every run shares.
    pub(crate) fn command(&self, gw: &Gateway, program: &str) -> (Command, tempfile::TempDir) {
        self.command_logging(gw, program, self.log_level)
    }

    fn command_logging(
        &self,
        gw: &Gateway,
        program: &str,
        log_level: &str,
    ) -> (Command, tempfile::TempDir) {
        require(program);
        let work = tempfile::tempdir_in(gw.tmp.path()).expect("tempdir");
        let answers = work.path();
        std::fs::write(answers.join("password"), &self.password).expect("write");
        std::fs::write(answers.join("code"), &self.code).expect("write");
        std::fs::write(answers.join("emergency"), &self.emergency_reason).expect("write");
        std::fs::write(
            answers.join("new_password"),
            self.new_password.as_deref().unwrap_or(&self.password),
        )
        .expect("write");
        for (i, answer) in self.menu_answers.iter().enumerate() {
            std::fs::write(answers.join(format!("menu{}", i + 1)), answer).expect("write");
        }
        let askpass = answers.join("askpass.sh");
        std::fs::write(
            &askpass,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{dir}/prompts'\ncase \"$1\" in\n  *'New password'*) cat '{dir}/new_password' ;;\n  *assword*) cat '{dir}/password' ;;\n  *'Emergency:'*) cat '{dir}/emergency'; printf '\\n' ;;\n  *'Choose a target'*) n=$(( $(cat '{dir}/menu_count' 2>/dev/null || echo 0) + 1 )); echo $n > '{dir}/menu_count'; cat \"{dir}/menu$n\" 2>/dev/null || printf '\\n' ;;\n  *) cat '{dir}/code' ;;\nesac\n",
                dir = answers.display()
            ),
        )
        .expect("write askpass");
        std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let known_hosts = format!(
            "UserKnownHostsFile={}",
            answers.join("known_hosts").display()
        );
        let mut cmd = Command::new(program);
        cmd.args(["-F", "/dev/null"])
            .args(["-o", "StrictHostKeyChecking=no"])
            .args(["-o", &known_hosts])
            .args(["-o", "PreferredAuthentications=keyboard-interactive"])
            .args([
                "-o",
                &format!("NumberOfPasswordPrompts={}", self.password_prompts),
            ])
            .args(["-o", "ConnectTimeout=20"])
            .args(["-o", &format!("LogLevel={log_level}")])
            .args(self.proxy_args(gw))
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", ":0")
            // OpenSSH escapes non-ASCII prompt text unless the locale is UTF-8, as an
            // engineer's laptop would be.
            .env("LC_ALL", "C.UTF-8");
        (cmd, work)
    }

    fn finish(&self, cmd: Command, work: &tempfile::TempDir) -> SshOutcome {
        let out = run_with_timeout(cmd, Duration::from_secs(120));
        let prompts = std::fs::read_to_string(work.path().join("prompts")).unwrap_or_default();
        SshOutcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            prompts: prompts.lines().map(str::to_owned).collect(),
        }
    }

    /// How `ssh` reaches the gateway: a ProxyCommand, or a local port under the gateway's
    /// host name (`HostKeyAlias`, so `known_hosts` holds one entry).
    fn proxy_args(&self, gw: &Gateway) -> Vec<String> {
        match self.proxy {
            Proxy::Local(port) => vec![
                "-o".into(),
                "HostName=127.0.0.1".into(),
                "-o".into(),
                format!("Port={port}"),
                "-o".into(),
                "HostKeyAlias=fumidai-gateway".into(),
            ],
            _ => vec![
                "-o".into(),
                format!("ProxyCommand={}", self.proxy_command(gw)),
            ],
        }
    }

    fn proxy_command(&self, gw: &Gateway) -> String {
        let c = &self.certs;
        match self.proxy {
            Proxy::Local(_) => String::new(),
            Proxy::Fumidai => format!(
                "{} connect {} --cert {} --key {} --ca {}",
                fumidai_bin().display(),
                gw.front_door(),
                q(&c.crt),
                q(&c.key),
                q(&c.ca)
            ),
            Proxy::OpensslSClient => format!(
                "openssl s_client -quiet -verify_quiet -tls1_3 -connect {} -servername localhost -cert {} -key {} -CAfile {} -verify_return_error",
                gw.front_door(),
                q(&c.crt),
                q(&c.key),
                q(&c.ca)
            ),
        }
    }
}

/// An `ssh` running in the background (e.g. holding a `-L` forward), killed on drop.
pub struct Background {
    child: std::process::Child,
    stderr: std::path::PathBuf,
    _work: tempfile::TempDir,
}

impl Background {
    /// What ssh wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Whether ssh is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn q(p: &Path) -> String {
    p.display().to_string()
}
