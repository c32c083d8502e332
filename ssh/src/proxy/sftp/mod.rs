//! SFTP channels, inspected operation by operation (§7 ②, R-10-6): which files move, which
//! way, how big, with which SHA-256, and whether the plan allows it.
//!
//! # Layout
//!
//! - [`wire`]: SFTP v3 packets cut from the byte stream, and the fields read from them.
//! - [`inspector`]: the state machine that judges each request and tracks open files.
//! - [`cleanup`]: removes staged uploads' temporary files a channel left when it ended early.

pub mod cleanup;
pub mod inspector;
pub mod wire;

pub use inspector::{Action, FileChange, Leftovers, SftpInspector, Violation};
