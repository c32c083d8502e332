//! Harness for fumidai's end-to-end tests: real `fumidai` processes on loopback ports the
//! OS picks, driven by real peers (OpenSSH `ssh`, `openssl s_client`, `oathtool`, xrdp and
//! `xfreerdp`).
//!
//! # Layout
//!
//! - [`Gateway`]: an initialised data directory and, once started, a `fumidai serve`
//!   process killed in `Drop`, with its log captured to a file.
//! - [`Engineer`]: an enrolled account with its password, TOTP secret and certificate files.
//! - [`Clamd`]: a real ClamAV `clamd` with a one-signature database of its own, for upload
//!   scanning.
//! - [`smtpd::Smtpd`]: Python's aiosmtpd as the hospital's mail relay, plain or requiring
//!   STARTTLS with a certificate from a [`test_ca::TestCa`] (`openssl`-made private CA).
//! - [`ssh`]: runs stock `ssh` through a ProxyCommand, answering the two prompts through
//!   `SSH_ASKPASS`, or on a real pseudo-terminal ([`pty`]) where the test types them;
//!   [`ssh_master`] keeps one login as a `ControlMaster` for many commands.
//! - [`sftp_raw::SftpRaw`]: a hand-driven SFTP v3 client over a master's channel, for the
//!   packets a stock client never sends; [`transfer_audit`] reads what the audit trail
//!   says about transfers; [`plan_report`] produces a plan's reconciliation report ahead
//!   of its window's end and reads what it says about them.
//! - [`rdp_tunnel::RdpTunnel`]: `fumidai connect rdp --no-launch` as a vendor runs it.
//! - [`webdriver::Browser`]: headless Chromium through `chromedriver`, for the console.
//! - [`rdp`]: a real xrdp target ([`Xrdp`]) and the FreeRDP client ([`Xfreerdp`]) on an
//!   Xvfb ([`Display`]), with xdotool input and pixel-exact screenshots.
//!
//! # What this crate does not do
//!
//! It mocks nothing a real peer can do, and never sleeps to wait: it polls under deadlines.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test harness: any failure must fail the test loudly"
)]

pub mod clamd;
pub mod gateway;
pub mod plan_report;
pub mod pty;
pub mod putty;
pub mod rdp;
pub mod rdp_tunnel;
pub mod sftp_raw;
pub mod smtpd;
pub mod ssh;
pub mod ssh_master;
pub mod sshd;
pub mod test_ca;
pub mod tools;
pub mod transfer_audit;
pub mod webdriver;
pub mod wrappers;

pub use clamd::Clamd;
pub use gateway::{CertFiles, Engineer, Gateway, SHARED_ADMIN_REASON};
pub use rdp::{Display, Xfreerdp, XfreerdpConfig, Xrdp};
pub use rdp_tunnel::{RdpTunnel, TunnelRefused};
pub use sftp_raw::SftpRaw;
pub use ssh::{Background, SshLogin, SshOutcome};
pub use ssh_master::SshMaster;
pub use sshd::Sshd;
pub use tools::wait_for;
