//! The proxy: fumidai's own SSH client to the target ([`target`]) and the channel bridge
//! between the engineer's session and the target's ([`bridge`]), TCP forwards relayed to
//! the target host ([`forward`]), and the facts for the target menu ([`menu`]).
//!
//! # What this module does not do
//!
//! It decides nothing: admission and what may pass come from `policy`; it only carries
//! what was admitted, through the recording.

mod actions;
pub mod bridge;
pub mod exec_streams;
pub mod forward;
pub mod inspection;
pub mod menu;
pub mod paste_watch;
pub mod recording;
pub mod scp;
pub mod session;
pub mod sftp;
pub mod target;
mod upload_scan;
