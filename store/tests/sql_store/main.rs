//! The store's suite, on real databases: every test runs on SQLite in a temp dir and on a
//! fresh PostgreSQL database (see `harness`). No fakes.

// clippy.toml allows these in `#[test]` functions; the suite's helpers and the async bodies
// the harness runs are test code too, where a failed expectation is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

mod harness;

mod accounts;
mod audit_chain;
mod certificates;
mod concurrency;
mod connections;
mod console_sessions;
mod emergency;
mod lifecycle;
mod logins;
mod plan_lifecycle;
mod plans;
mod seals;
mod session_kills;
mod session_list;
mod sessions;
mod sqlite_file;
mod tamper;
mod targets;
