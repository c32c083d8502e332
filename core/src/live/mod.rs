//! Live maintenance sessions: who is connected where right now, how recently they did
//! something, and the task that cuts them when a limit is reached or an operator kills
//! them (R-10.2-TIMEOUT, R-10.2-REVIEW, R-12-6).
//!
//! # Layout
//!
//! - [`LiveConnection`]: what a protocol gives the registry for each connection — `warn`
//!   (tell the engineer something) and `disconnect` (for a [`Hangup`]). The gateway's SSH
//!   service implements it over its russh handle, its RDP service over its relay; nothing
//!   here knows either protocol.
//! - [`Registry`]: the sessions this gateway holds. The SSH and RDP services register each
//!   admitted session ([`Registry::register`]) and keep the [`LiveGuard`] for as long as
//!   the connection lives; the bridge marks activity through an [`Activity`]. Ending a
//!   session ([`Registry::end`]) tells the engineer why, hangs up their connection, and
//!   records the [`EndReason`](policy::limits::EndReason) for the [`EndSignal`], which the
//!   service passes to `Store::end_session`. A console lists the sessions
//!   ([`Registry::sessions`]) and kills one ([`Registry::end`], or a kill request in the
//!   store for whichever node holds it).
//! - [`Watcher`]: once a second, applies `policy::limits` to every registered session
//!   (idle time-out, warning before the window's end, window end, maximum length), and
//!   executes kill requests that `fumidai session kill` stored — from another process or,
//!   on PostgreSQL, another node.
//!   It also re-checks every live session's authority each second
//!   (`policy::recheck::recheck` over facts from [`authority`]: certificate revoked,
//!   account disabled, plan rejected or withdrawn) and ends those that lost it (issue 12).
//! - [`authority`]: the store reads behind that re-check, also used on every new channel.
//! - [`ScreenFeed`] / [`ScreenWatch`]: an SSH session's terminal output for operators who
//!   watch it live ([`Registry::screen`], [`Registry::watch`]); [`DesktopFeed`] /
//!   [`DesktopWatch`]: an RDP session's desktop, decoded for watchers into a few pictures a
//!   second ([`Registry::desktop`], [`Registry::watch_desktop`]).
//! - `logins`: logged-in connections without a session ([`LoginGuard`]): re-checked,
//!   killable and closed after the login grace without a channel by the watcher.
//! - [`Clock`]: the wall clock, or tokio's for tests that pause and advance time.
//!
//! # What this module does not do
//!
//! It speaks no protocol: writing to a channel and disconnecting are the protocol's
//! [`LiveConnection`] (the gateway's `ssh::live`, `rdp::live`).
//!
//! It decides nothing itself (the rules are `policy::limits`) and records nothing in the
//! store except by reading kill requests: the session's end, with the reason decided here,
//! is written by whoever owns the connection, once it has closed.

pub mod authority;
mod clock;
mod connection;
mod desktop;
mod logins;
mod registry;
mod screen;
mod watcher;

pub use clock::{Activity, Clock};
pub use connection::{Hangup, LiveConnection};
pub use desktop::{CATCH_UP_BYTES, DesktopFeed, DesktopWatch, FRAME_EVERY, Pictures};
pub use logins::{LoginGuard, LoginParts};
pub use registry::{EndSignal, LiveGuard, LiveSession, Registry, SessionParts};
pub use screen::{RECENT_BYTES, ScreenEvent, ScreenFeed, ScreenWatch};
pub use watcher::Watcher;

#[cfg(test)]
mod tests;
