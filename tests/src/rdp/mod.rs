//! The RDP half of the harness: a real xrdp target, a real FreeRDP client on a virtual X
//! display, and the eyes and hands of a person in front of it (xdotool, xwd).
//!
//! # Layout
//!
//! - [`Xrdp`] (`xrdp.rs`): a private xrdp + sesman pair with the Xorg backend, on ports
//!   the OS picks, one per test; its session is a single maximised xterm.
//! - [`target_user`] (`target_user.rs`): the `fumidai-rdp` account it logs in to.
//! - [`Display`] (`display.rs`): an Xvfb, with xdotool input and `xwd` screenshots.
//! - [`Xfreerdp`] (`xfreerdp.rs`): `xfreerdp` on a `Display`, with its log and exit code
//!   and FreeRDP's error names parsed from the log.
//! - [`compare`] (`image_diff.rs`): pixel comparison of screenshots.
//! - [`Sha256Fingerprint`] (`fingerprint.rs`): the certificate pin.
//! - [`ShadowServer`] (`shadow.rs`): FreeRDP's shadow server requiring NLA, standing in for
//!   a Windows target with Network Level Authentication.
//! - [`PatchedClient`] (`patched_client.rs`): a relay between xfreerdp and the tunnel that
//!   sends input frames and clipboard (cliprdr) PDUs a stock client never sends, and reads
//!   what the gateway sends back on the clipboard channel (issue 11).
//! - `procs.rs`: ending process trees children first.
//!
//! Each module's docs record what the real programs were seen to do on Debian 12 (xrdp
//! 0.9.21.1, xorgxrdp 0.9.19, FreeRDP 2.11.7): log lines, exit codes, traps.
//!
//! # Why the Xorg backend
//!
//! xorgxrdp works here unprivileged and without a console: sesman starts
//! `/usr/lib/xorg/Xorg -config xrdp/xorg.conf` as the target user (with
//! `PR_SET_NO_NEW_PRIVS`, no setuid wrapper). It is Debian's default (`[Xorg]` is the
//! first section of `xrdp.ini`, so autologon picks it) and the backend hospitals' Linux
//! targets use. Xvnc (`tigervnc-standalone-server`) is not needed.
//!
//! # What this module does not do
//!
//! It does not start the gateway: tests point [`Xfreerdp`] at [`Xrdp::address`] directly,
//! or at `fumidai connect rdp`'s local listener. It needs root (mount namespaces,
//! `useradd`, `chpasswd`), as the rest of the e2e suite does.

pub mod display;
pub mod fingerprint;
pub mod image_diff;
pub mod patched_client;
mod procs;
pub mod shadow;
pub mod target_user;
pub mod xfreerdp;
pub mod xrdp;

pub use display::{Display, Window, wait_xterm_desktop};
pub use fingerprint::Sha256Fingerprint;
pub use image_diff::{ImageDiff, compare, count_not};
pub use patched_client::{Injection, PatchedClient};
pub use shadow::{SHADOW_USER, ShadowServer};
pub use target_user::{TargetUser, target_user};
pub use xfreerdp::{
    CertCheck, Security, Xfreerdp, XfreerdpConfig, XfreerdpExit, exit_code, freerdp_errors,
};
pub use xrdp::Xrdp;
