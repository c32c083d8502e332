//! One login, many commands: an OpenSSH `ControlMaster` through fumidai, as the README
//! tells engineers to use (a TOTP code is accepted once), and `scp`/`sftp`/`ssh` runs
//! multiplexed over it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::gateway::Gateway;
use crate::ssh::{SshLogin, SshOutcome};
use crate::tools::{run_with_timeout_stdin, wait_for};

/// A logged-in master connection; closed in `Drop`.
pub struct SshMaster {
    child: Child,
    socket: PathBuf,
    user: String,
    /// Holds the askpass answers and the control socket.
    _work: tempfile::TempDir,
}

impl SshLogin {
    /// Logs in once and keeps the connection as a control master.
    pub fn master(&self, gw: &Gateway) -> SshMaster {
        self.master_with(gw, &[])
    }

    /// Like [`master`](Self::master), with extra `ssh` arguments for the master (e.g.
    /// `-o SendEnv=LC_X`: a multiplexed session's environment is sent by the master, and
    /// only the variables its own `SendEnv` names).
    pub fn master_with(&self, gw: &Gateway, extra: &[&str]) -> SshMaster {
        let (mut cmd, work) = self.command(gw, "ssh");
        let socket = work.path().join("ctl");
        cmd.args(extra)
            .args(["-o", "ControlMaster=yes"])
            .args(["-o", &format!("ControlPath={}", socket.display())])
            .args(["-N", "-l", &self.user, "fumidai-gateway"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn ssh master");
        wait_for(
            "the control master's socket",
            Duration::from_secs(60),
            || {
                if let Ok(Some(status)) = child.try_wait() {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut e, &mut err);
                    }
                    panic!("ssh master exited {status}: {err}\n{}", gw.log());
                }
                if !socket.exists() {
                    return None;
                }
                // The socket appears before the master serves requests on it: ask it.
                Command::new("ssh")
                    .args(["-F", "/dev/null", "-O", "check"])
                    .args(["-o", &format!("ControlPath={}", socket.display())])
                    .arg("fumidai-gateway")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .ok()
                    .filter(|s| s.success())
                    .map(|_| ())
            },
        );
        SshMaster {
            child,
            socket,
            user: self.user.clone(),
            _work: work,
        }
    }
}

impl SshMaster {
    /// Runs `program ARGS…` (`ssh`, `scp`, `sftp`) over the master, `gw:` standing for the
    /// gateway host as in [`SshLogin::run_tool`].
    pub fn run(&self, program: &str, args: &[&str]) -> SshOutcome {
        self.run_with_stdin(program, args, Stdio::null())
    }

    /// Like [`run`](Self::run), with `stdin` as the program's standard input (e.g. a file,
    /// for `ssh gw 'cat > f' < file`).
    pub fn run_with_stdin(&self, program: &str, args: &[&str], stdin: Stdio) -> SshOutcome {
        let mut cmd = self.command(program);
        for a in args {
            cmd.arg(a.replace("gw:", "fumidai-gateway:"));
        }
        let out = run_with_timeout_stdin(cmd, stdin, Duration::from_secs(600));
        SshOutcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            prompts: Vec::new(),
        }
    }

    /// `program` (`ssh`, `scp`, `sftp`) with the options that make it use this master and
    /// nothing else; the host is `fumidai-gateway`. Not yet run.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(["-F", "/dev/null"])
            .args(["-o", "ControlMaster=no"])
            .args(["-o", &format!("ControlPath={}", self.socket.display())])
            .args(["-o", "BatchMode=yes"])
            // Should the master be unusable, fail here rather than try a direct login.
            .args(["-o", "ProxyCommand=false"])
            .args(["-o", "LogLevel=ERROR"])
            .args(["-o", &format!("User={}", self.user)])
            .env("LC_ALL", "C.UTF-8");
        cmd
    }

    /// The master's control socket (`ssh -S`/`ControlPath`).
    pub fn control_path(&self) -> &Path {
        &self.socket
    }

    /// The master's exit status and what it wrote to stderr, once it has exited (the
    /// gateway closed its connection); `None` while it runs.
    pub fn exited(&mut self) -> Option<(std::process::ExitStatus, String)> {
        let status = self.child.try_wait().ok().flatten()?;
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        Some((status, err))
    }

    /// The SSH user name the master logged in as (`engineer:target`).
    pub fn user(&self) -> &str {
        &self.user
    }
}

impl Drop for SshMaster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
