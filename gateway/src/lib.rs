//! The `fumidai` binary: the composition root. It parses the command line (clap), calls the
//! core's use cases, and for `serve` builds the front door, the SSH and RDP services and the
//! internal HTTP endpoint and runs them. Every rule it applies comes from `policy`, every
//! record it keeps goes to `store`.
//!
//! # Layout
//!
//! - [`config`], [`datadir`], [`metrics`], [`alerts`], [`report`], [`compliance`]:
//!   re-exported from `fumidai-core` (transitional, see `docs/ARCHITECTURE.md`), so
//!   `fumidai_core::config::…` and `fumidai_core::report::…` still name them.
//! - [`front_door`]: the mutual-TLS listener: handshake time-out, cap on unauthenticated
//!   connections, allow lists, routing by ALPN to the SSH (`fumidai-ssh`) and RDP
//!   (`fumidai-rdp`) services.
//! - [`connect`]: the vendor side: stdin/stdout relay (ProxyCommand) and local forwarder.
//! - [`cli`]: the `fumidai` command line; `fumidai serve` composes the services.
//!
//! The protocols and the PKI are crates of their own: `fumidai-ssh` (the SSH service, the
//! proxy to SSH targets, the SSH user CA), `fumidai-rdp` (the RDP service) and
//! `fumidai-pki` (the CA and the rustls configurations); what the console shares is in
//! `fumidai-core`.
//!
//! # What this crate does not do
//!
//! It holds no business rules (ask `policy`) and no SQL (ask `store`).

pub mod cli;
pub mod connect;
pub mod front_door;
