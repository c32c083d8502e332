//! An Xvfb X server for the RDP client's window, and what a person would do at it:
//! find a window, focus it, type, press keys, take a screenshot.
//!
//! Xvfb picks its own free display number (`-displayfd`): it writes the number once it
//! accepts connections, so that line is the readiness signal, with no polling of lock
//! files. Screenshots are `xwd -id WIN | xwdtopnm` (netpbm), decoded by the `image` crate;
//! `xwd` copies the window's pixels from the server and never includes the mouse pointer.
//! Windows on one Xvfb may overlap (there is no window manager), and `xwd` of a covered
//! window returns what covers it: use one RDP client per `Display`.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use image::RgbImage;
use tempfile::TempDir;

use super::procs;
use crate::tools::{poll, require, run_with_timeout};

/// A running Xvfb.
pub struct Display {
    /// Its log (stderr).
    tmp: TempDir,
    number: u32,
    child: Child,
}

/// An X window id, as xdotool prints it (decimal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window(pub u64);

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Display {
    /// Xvfb with one 1280x1024 screen at 24 bits per pixel.
    pub fn start() -> Self {
        Self::start_with_size(1280, 1024)
    }

    /// Xvfb with one `width`x`height` screen at 24 bits per pixel.
    pub fn start_with_size(width: u32, height: u32) -> Self {
        for program in ["Xvfb", "xdotool", "xwd", "xwdtopnm"] {
            require(program);
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = std::fs::File::create(tmp.path().join("xvfb.log")).expect("xvfb.log");
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
            .arg(format!("{width}x{height}x24"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn Xvfb");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let number = rx
            .recv_timeout(Duration::from_secs(20))
            .ok()
            .and_then(|line| line.trim().parse().ok());
        let Some(number) = number else {
            procs::terminate(&mut child, Duration::from_secs(2));
            panic!(
                "Xvfb did not report a display:\n{}",
                std::fs::read_to_string(tmp.path().join("xvfb.log")).unwrap_or_default()
            );
        };
        Self { tmp, number, child }
    }

    /// The display's number.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The display's name for `DISPLAY` (`:N`).
    pub fn name(&self) -> String {
        format!(":{}", self.number)
    }

    /// Xvfb's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("xvfb.log")).unwrap_or_default()
    }

    /// A command with `DISPLAY` set to this display.
    pub fn command(&self, program: &str) -> Command {
        x_command(&self.name(), program)
    }

    /// Runs xdotool with `args`; returns its standard output, panics when it fails.
    pub fn xdotool(&self, args: &[&str]) -> String {
        xdotool(&self.name(), args).unwrap_or_else(|e| panic!("xdotool {args:?}: {e}"))
    }

    /// The first visible window of process `pid`, if it has one (by `_NET_WM_PID`).
    pub fn window_of_pid(&self, pid: u32) -> Option<Window> {
        window_of_pid(&self.name(), pid)
    }

    /// Waits for a visible window whose name matches the regular expression `name`.
    pub fn wait_window_named(&self, name: &str, timeout: Duration) -> Window {
        let found = poll(timeout, || {
            xdotool(&self.name(), &["search", "--onlyvisible", "--name", name])
                .ok()
                .and_then(|out| first_window(&out))
        });
        found.unwrap_or_else(|| panic!("no window named {name:?} within {timeout:?}"))
    }

    /// Gives `window` the keyboard focus (no window manager: `XSetInputFocus`).
    pub fn focus(&self, window: Window) {
        self.xdotool(&["windowfocus", "--sync", &window.to_string()]);
    }

    /// Types `text` into the focused window through XTEST, `delay` between keys. Give
    /// the RDP client some delay (30 ms works): keys sent in one burst may be reordered
    /// or merged on the way to the remote desktop.
    pub fn type_text(&self, text: &str, delay: Duration) {
        let ms = delay.as_millis().to_string();
        self.xdotool(&["type", "--delay", &ms, "--", text]);
    }

    /// Presses keys (xdotool key names: `Return`, `ctrl+c`, `BackSpace`).
    pub fn key(&self, keys: &str) {
        self.xdotool(&["key", "--delay", "30", keys]);
    }

    /// Moves the pointer to (`x`, `y`) relative to `window`.
    pub fn mouse_move(&self, window: Window, x: u32, y: u32) {
        self.xdotool(&[
            "mousemove",
            "--sync",
            "--window",
            &window.to_string(),
            &x.to_string(),
            &y.to_string(),
        ]);
    }

    /// Clicks mouse `button` (1 left, 2 middle, 3 right) where the pointer is.
    pub fn click(&self, button: u8) {
        self.xdotool(&["click", &button.to_string()]);
    }

    /// The window's pixels now.
    pub fn screenshot(&self, window: Window) -> RgbImage {
        let mut cmd = self.command("bash");
        cmd.args([
            "-c",
            "set -o pipefail; xwd -silent -id \"$1\" | xwdtopnm",
            "bash",
            &window.to_string(),
        ]);
        let out = run_with_timeout(cmd, Duration::from_secs(20));
        assert!(
            out.status.success() && !out.stdout.is_empty(),
            "xwd | xwdtopnm of window {window} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        image::load_from_memory_with_format(&out.stdout, image::ImageFormat::Pnm)
            .expect("decode xwdtopnm's PPM")
            .to_rgb8()
    }

    /// Polls screenshots of `window` until `ready` accepts one; panics after `timeout`,
    /// saving the last screenshot in the system's temporary directory (the display's own
    /// is gone by the time someone reads the failure).
    pub fn wait_screen(
        &self,
        window: Window,
        timeout: Duration,
        mut ready: impl FnMut(&RgbImage) -> bool,
    ) -> RgbImage {
        let mut last = None;
        let found = poll(timeout, || {
            let shot = self.screenshot(window);
            let ok = ready(&shot);
            last = Some(shot.clone());
            ok.then_some(shot)
        });
        found.unwrap_or_else(|| {
            let path = std::env::temp_dir().join(format!(
                "fumidai-e2e-screenshot-{}-display{}.png",
                std::process::id(),
                self.number
            ));
            if let Some(last) = last {
                let _ = last.save(&path);
            }
            panic!(
                "window {window} did not show what was expected within {timeout:?} \
                 (last screenshot: {})",
                path.display()
            )
        })
    }

    /// Waits until two screenshots taken `quiet` apart are identical; returns the last.
    pub fn wait_stable(&self, window: Window, quiet: Duration, timeout: Duration) -> RgbImage {
        let mut previous = self.screenshot(window);
        let found = poll(timeout, || {
            std::thread::sleep(quiet);
            let shot = self.screenshot(window);
            let same = shot == previous;
            previous = shot;
            same.then(|| previous.clone())
        });
        found.unwrap_or_else(|| panic!("window {window} kept changing for {timeout:?}"))
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        // SIGTERM lets Xvfb remove its lock file and socket.
        procs::terminate(&mut self.child, Duration::from_secs(3));
    }
}

/// A command with `DISPLAY` set.
pub(crate) fn x_command(display: &str, program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("DISPLAY", display).env_remove("XAUTHORITY");
    cmd
}

/// Runs xdotool on `display`; `Err(stderr)` when it fails (xdotool `search` exits 1 when
/// it finds nothing).
pub(crate) fn xdotool(display: &str, args: &[&str]) -> Result<String, String> {
    let mut cmd = x_command(display, "xdotool");
    cmd.args(args);
    let out = run_with_timeout(cmd, Duration::from_secs(20));
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The first visible window of `pid` on `display`.
pub(crate) fn window_of_pid(display: &str, pid: u32) -> Option<Window> {
    let out = xdotool(
        display,
        &["search", "--onlyvisible", "--pid", &pid.to_string()],
    )
    .ok()?;
    first_window(&out)
}

fn first_window(out: &str) -> Option<Window> {
    out.lines().find_map(|l| l.trim().parse().ok()).map(Window)
}

/// Waits for the harness's remote desktop — a maximised xterm, white, with its prompt at
/// the top left — to be drawn and still, and returns it.
pub fn wait_xterm_desktop(display: &Display, window: Window) -> RgbImage {
    const WHITE: [u8; 3] = [255, 255, 255];
    display.wait_screen(window, Duration::from_secs(30), |shot| {
        let (w, h) = shot.dimensions();
        let white = u64::from(w) * u64::from(h) - super::count_not(shot, (0, 0, w, h), WHITE);
        white > u64::from(w * h) / 2 && super::count_not(shot, (3, 3, 6, 13), WHITE) > 0
    });
    display.wait_stable(window, Duration::from_millis(400), Duration::from_secs(10))
}
