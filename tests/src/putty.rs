//! PuTTY's command-line tools (`plink`, `pscp`; Debian's `putty-tools`, the same code as
//! the Windows programs vendors use) through the gateway, with `fumidai connect` as their
//! local proxy command. They read the password and code prompts from the terminal, so they
//! run on a real pseudo-terminal ([`Pty`]) where the test types the answers.

use std::process::Command;
use std::time::Duration;

use crate::gateway::{CertFiles, Gateway};
use crate::pty::Pty;
use crate::tools::{fumidai_bin, require};

/// One PuTTY tool run against the gateway as `user`.
pub struct Putty {
    /// `plink` or `pscp`.
    pub program: &'static str,
    /// The SSH user name (`engineer:target`).
    pub user: String,
    /// The device's certificate files.
    pub certs: CertFiles,
    /// The tool's own arguments after the connection options.
    pub args: Vec<String>,
    /// A TLS wrapper's local port to connect to instead of `-proxycmd`.
    pub local_port: Option<u16>,
    /// Kept while the tool runs: its `HOME` (PuTTY writes `~/.putty`).
    home: tempfile::TempDir,
}

impl Putty {
    /// `program` with `-proxycmd "fumidai connect …"`, the gateway's host key pinned with
    /// `-hostkey` (as an engineer would after comparing the fingerprint), and `args`.
    pub fn new(gw: &Gateway, program: &'static str, user: &str, certs: &CertFiles) -> Self {
        require(program);
        Self {
            program,
            user: user.to_owned(),
            certs: certs.clone(),
            args: Vec::new(),
            local_port: None,
            home: tempfile::tempdir_in(gw.tmp.path()).expect("tempdir"),
        }
    }

    /// Adds arguments.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// The command line.
    pub fn command(&self, gw: &Gateway) -> Command {
        let c = &self.certs;
        let proxy = format!(
            "{} connect {} --cert '{}' --key '{}' --ca '{}'",
            fumidai_bin().display(),
            gw.front_door(),
            c.crt.display(),
            c.key.display(),
            c.ca.display()
        );
        let mut cmd = Command::new(self.program);
        cmd.env("HOME", self.home.path())
            .env("TERM", "xterm")
            .env("LC_ALL", "C.UTF-8");
        match self.local_port {
            // `-P` for both tools (plink's `-p` is not a port).
            Some(port) => cmd.args(["-P", &port.to_string()]),
            None => cmd.args(["-proxycmd", &proxy]),
        };
        cmd.args(["-hostkey", &gateway_fingerprint(gw)])
            .args(["-l", &self.user]);
        if self.program == "plink" {
            cmd.arg("-ssh");
        }
        cmd.args(&self.args);
        cmd
    }

    /// Starts the tool on a pseudo-terminal and answers the password and code prompts as
    /// the engineer types them.
    pub fn spawn_and_log_in(&self, gw: &Gateway, password: &str, code: &str) -> Pty {
        let mut term = Pty::spawn(&self.command(gw), 24, 80);
        let step = Duration::from_secs(30);
        let prompt = term.expect("パスワード", step);
        assert!(prompt.contains("Password"), "{prompt:?}");
        term.type_text(&format!("{password}\r"));
        term.expect("確認コード", step);
        term.type_text(&format!("{code}\r"));
        term
    }
}

/// The gateway's host key fingerprint, `SHA256:…`, as `fumidai` prints it for vendors.
pub fn gateway_fingerprint(gw: &Gateway) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(gw.data.join("ssh_host_ed25519_key"))
        .output()
        .expect("ssh-keygen -lf");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .expect("a fingerprint")
        .to_owned()
}
