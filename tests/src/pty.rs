//! A real pseudo-terminal, so a program runs as it would in an engineer's terminal window:
//! `ssh -tt` reads the password and code prompts from it (`/dev/tty`), puts it in raw mode,
//! and follows its window size.
//!
//! The program runs under `setsid -c`: a new session whose controlling terminal is the
//! pty's slave side, so `/dev/tty` is the pty and the kernel sends `SIGWINCH` to it when
//! the size changes. The test holds the master side: it types into it and reads the
//! screen's bytes from it (a reader thread collects them).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

use crate::tools::{poll, require};

/// A program running on a pseudo-terminal the test drives.
pub struct Pty {
    /// The master side: what the test types goes in here.
    master: File,
    /// Everything the program wrote to the terminal so far.
    screen: Arc<Mutex<Vec<u8>>>,
    /// How far [`expect`](Self::expect) has read `screen`.
    cursor: usize,
    child: Child,
}

impl Pty {
    /// Runs `cmd` on a new pty of `rows` × `cols`, as the session leader with the pty as
    /// its controlling terminal. `cmd`'s stdio is replaced by the pty.
    pub fn spawn(cmd: &Command, rows: u16, cols: u16) -> Self {
        require("setsid");
        let master: OwnedFd =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let slave_path = ptsname(&master, Vec::new()).expect("ptsname");
        set_size(&master, rows, cols);
        let slave = File::options()
            .read(true)
            .write(true)
            .open(slave_path.to_str().expect("utf-8 pty name"))
            .expect("open pty slave");

        // `-w`: should setsid have to fork, it still waits and passes on the exit status.
        let mut wrapped = Command::new("setsid");
        wrapped
            .args(["-w", "-c"])
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .stdin(slave.try_clone().expect("dup slave"))
            .stdout(slave.try_clone().expect("dup slave"))
            .stderr(slave);
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            wrapped.current_dir(dir);
        }
        let child = wrapped.spawn().expect("spawn on the pty");
        // The parent's copies of the slave close here, so the master reads EOF (EIO) once
        // the program and its children have all gone.
        drop(wrapped);

        let master = File::from(master);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().expect("dup master");
        let collected = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                collected.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self {
            master,
            screen,
            cursor: 0,
            child,
        }
    }

    /// Types `text` (bytes as they are: `"\r"` is Enter, `"\x03"` Ctrl-C).
    pub fn type_text(&mut self, text: &str) {
        self.master
            .write_all(text.as_bytes())
            .expect("write to the pty");
        self.master.flush().expect("flush the pty");
    }

    /// Waits until `needle` appears on the screen after what earlier calls matched, and
    /// returns the text up to and including it. Fails the test with the screen otherwise.
    pub fn expect(&mut self, needle: &str, timeout: Duration) -> String {
        self.try_expect(needle, timeout).unwrap_or_else(|| {
            panic!(
                "{needle:?} did not appear on the terminal within {timeout:?}; after the last match it shows:\n{}",
                self.screen_since(self.cursor)
            )
        })
    }

    /// Like [`expect`](Self::expect), `None` on time-out.
    pub fn try_expect(&mut self, needle: &str, timeout: Duration) -> Option<String> {
        let start = self.cursor;
        let end = poll(timeout, || {
            let screen = self.screen.lock().unwrap();
            let tail = screen.get(start..)?;
            tail.windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .map(|at| start + at + needle.len())
        })?;
        self.cursor = end;
        Some(self.screen_between(start, end))
    }

    /// Everything the program wrote to the terminal.
    pub fn screen(&self) -> String {
        self.screen_since(0)
    }

    /// Resizes the terminal. The kernel signals `SIGWINCH` to the terminal's foreground
    /// process group; it is also sent to the program directly, as a terminal emulator's
    /// resize would reach it.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        set_size(&self.master, rows, cols);
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"))
            .expect("a child's pid is positive");
        // The program may have exited meanwhile: the test then fails on what it expects next.
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::WINCH);
    }

    /// Waits for the program to exit, killing it after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let status = poll(timeout, || self.child.try_wait().expect("wait"));
        status.unwrap_or_else(|| {
            let _ = self.child.kill();
            panic!(
                "the program on the pty did not exit within {timeout:?}; the terminal shows:\n{}",
                self.screen()
            )
        })
    }

    fn screen_since(&self, start: usize) -> String {
        let end = self.screen.lock().unwrap().len();
        self.screen_between(start, end)
    }

    fn screen_between(&self, start: usize, end: usize) -> String {
        let screen = self.screen.lock().unwrap();
        String::from_utf8_lossy(screen.get(start..end).unwrap_or_default()).into_owned()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn set_size(fd: &impl std::os::fd::AsFd, rows: u16, cols: u16) {
    tcsetwinsize(
        fd,
        Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .expect("TIOCSWINSZ");
}
