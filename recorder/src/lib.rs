//! fumidai's session recordings: formats and sinks.
//!
//! Empty until SSH sessions are proxied (the next issue). It will hold: the asciicast v2
//! writer and reader (`format/`), the SFTP/SCP transfer log, RDP PDU recording and replay,
//! sealing (SHA-256 digest + Ed25519 signature), and command extraction from terminal
//! streams; sinks (local disk, S3-compatible object storage) behind a trait (`sink/`).
//!
//! # What this crate does not do
//!
//! It knows nothing of policy or the network: it is handed bytes and timestamps.
