//! fumidai's rules, as pure functions over plain data.
//!
//! Every decision the gateway takes about *who* may do *what* lives here, so that it can be
//! read in one place and tested as a table without sockets, databases or a runtime.
//!
//! # Layout
//!
//! - [`authority`]: which account may act in its own name at the console (R-14-4).
//! - [`ids`]: typed names and identifiers (logins, vendors, targets, roles).
//! - [`login_name`]: the SSH user name syntax `engineer[:target]`.
//! - [`password`]: password rules (R-14-6) and Argon2id hashing.
//! - [`totp`]: RFC 6238 one-time codes with replay refusal (R-10.2-2FA).
//! - [`lockout`]: lock-out after repeated failures (R-14-6(6)).
//! - [`login`]: the login decision that combines device, person and account state.
//! - [`flood`]: the budget of failed logins per client certificate, with back-off.
//! - [`network`]: source-address allow lists (R-10.2-PATH).
//! - [`target`]: targets: how fumidai logs in, tags, the pinned SSH host key.
//! - [`plan`]: work plans, submission and the four-eyes approval (R-10.1-APPROVE, R-14-4).
//! - [`admission`]: whether a session may start now, and why not (R-7-12).
//! - [`recheck`]: the live re-check of a connection's authority (certificate, account,
//!   plan) on every channel and every second (issue 12).
//! - [`target_menu`]: the targets offered to the user name `engineer` alone, and which
//!   one an answer picks.
//! - [`channel`]: what may pass through a proxied session channel: transfers, also when
//!   an exec command starts a transfer server in some wrapping, and how much stdin, stdout,
//!   pasted input and environment count as a transfer.
//! - [`forward`]: where a TCP forward may go: the target host itself, if the plan allows
//!   it (R-13-7).
//! - [`limits`]: when a live session is warned and cut, and every end's reason
//!   (R-10.2-TIMEOUT).
//! - [`transfer`]: what may move as a file, and which uploaded kinds can run code (R-10-6).
//! - [`jst`]: times as shown to people in the hospital (Japan Standard Time).
//! - [`requirement`]: the requirement IDs (`R-…`) findings and rules cite.
//! - [`risk`]: command-risk rules from a TOML file, with a shipped default, and the shell
//!   reader that finds the commands a line runs (data export, destruction, account
//!   changes, log tampering, transfers, security tools off, obfuscated execution).
//! - [`reconcile`]: a plan against what its sessions did, as findings with severity,
//!   requirement and evidence, and each planned step's evidence (R-10-5).
//! - [`review`]: the account review (R-14-8): dormant engineers, certificates about to
//!   expire, vendors without plans, operators without TOTP.
//!
//! # What this crate does not do
//!
//! No I/O, no async, no SQL, no sockets. Callers bring the facts (the stored hash, the
//! failure count, the current time) and store what is decided.

pub mod admission;
pub mod authority;
pub mod channel;
pub mod flood;
pub mod forward;
pub mod ids;
pub mod jst;
pub mod limits;
pub mod lockout;
pub mod login;
pub mod login_name;
pub mod network;
pub mod password;
pub mod plan;
pub mod recheck;
pub mod reconcile;
pub mod requirement;
pub mod review;
pub mod risk;
pub mod target;
pub mod target_menu;
pub mod totp;
pub mod transfer;
