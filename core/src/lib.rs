//! fumidai's application core: what the `fumidai` command line, the web console (`web-ui`)
//! and both protocols (SSH, RDP) share, so that none of them has to reach into another.
//!
//! # Layout
//!
//! - [`config`]: `fumidai.toml`, typed, with errors that name the key and the line; the
//!   plain settings of the SSH service ([`config::ssh`]) and of clamd ([`config::clamd`]).
//! - [`datadir`]: where init puts the keys, certificates and database, with safe modes.
//! - [`metrics`]: Prometheus metric names and the process-wide recorder.
//! - [`alerts`]: alerts to a webhook, syslog and e-mail, never blocking (R-17.1-ALERT).
//! - [`report`]: the reconciliation report (R-10-5): facts, sealed body, rendering, and
//!   producing the reports that are due.
//! - [`compliance`]: the compliance evidence: each requirement ID, met or not here, and why.
//! - [`live`]: the live sessions and logins of this gateway, the limits and kills applied to
//!   them each second, behind a [`live::LiveConnection`] trait each protocol implements.
//! - [`session`]: the session life cycle both protocols go through (admit, ensure
//!   recordable, start, seal, end with an `EndReason`), emergencies at admission, and the
//!   single-use RDP tickets.
//! - [`clamd`]: a ClamAV `clamd` client that scans uploads as they stream (R-10-6).
//! - [`ops`]: the use cases the CLI and the console call, each with an authenticated actor.
//! - [`auth`]: the login procedure (password + TOTP + certificate), shared by the protocols
//!   and the console.
//!
//! # What this crate does not do
//!
//! It listens on no socket and speaks no remote-access protocol: no russh, no ironrdp
//! (the protocols turn its plain settings into their own types, e.g. `fumidai-ssh`'s
//! `config::preferred`), and no clap (the command line maps its own arguments onto
//! these types). It holds no business rules (ask `policy`) and no SQL (ask `store`).
//! `core/tests/dependencies.rs` keeps it that way.

pub mod alerts;
pub mod auth;
pub mod clamd;
pub mod compliance;
pub mod config;
pub mod datadir;
pub mod live;
pub mod metrics;
pub mod ops;
pub mod report;
pub mod session;
