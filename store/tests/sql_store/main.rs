//! The store's suite, on real databases: every test runs on SQLite in a temp dir and on a
//! fresh PostgreSQL database (see `harness`). No fakes.

mod harness;

mod accounts;
mod audit_chain;
mod certificates;
mod concurrency;
mod logins;
mod sqlite_file;
mod tamper;
