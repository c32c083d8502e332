//! fumidai's network edge and the `fumidai` command.
//!
//! Every listener and both remote-access protocols (russh, ironrdp) live here, and the
//! command line (clap); what they share with the web console is in `fumidai-core`. Every
//! rule it applies comes from `policy`, every record it keeps goes to `store`.
//!
//! # Layout
//!
//! - [`config`], [`datadir`], [`metrics`], [`alerts`], [`report`], [`compliance`]:
//!   re-exported from `fumidai-core` (transitional, see `docs/ARCHITECTURE.md`), so
//!   `crate::config::…` and `fumidai_gateway::report::…` still name them.
//! - [`pki`]: fumidai's own CA: server and client certificates, PKCS#12 bundles.
//! - [`tls`]: rustls configurations for the front door (client certificates required,
//!   revocation checked at every handshake) and for `fumidai connect`.
//! - [`front_door`]: the mutual-TLS listener: handshake time-out, cap on unauthenticated
//!   connections, allow lists, routing by ALPN.
//! - [`auth`]: the login procedure (password + TOTP + certificate), shared by protocols.
//! - [`ssh`]: the SSH service inside the TLS stream (russh).
//! - [`proxy`]: the SSH client leg to targets and the channel bridge.
//! - [`rdp`]: the RDP service: NLA with single-use tickets, credential injection, the
//!   rewrites, recording and the relay to RDP targets.
//! - [`clamd`]: a ClamAV `clamd` client that scans uploads as they stream (R-10-6).
//! - [`ssh_ca`]: fumidai's SSH user CA, signing per-session certificates for targets.
//! - [`connect`]: the vendor side: stdin/stdout relay (ProxyCommand) and local forwarder.
//! - [`cli`]: the `fumidai` command line.
//!
//! # What this crate does not do
//!
//! It holds no business rules (ask `policy`) and no SQL (ask `store`).

pub mod clamd;
pub mod cli;
pub mod connect;
pub mod front_door;
pub mod pki;
pub mod proxy;
pub mod rdp;
pub mod ssh;
pub mod ssh_ca;
pub mod tls;

// Transitional (issue 14): these moved to `fumidai-core`; the re-export keeps every
// `crate::config::…` path in the gateway, its benches and its tests as it was. Later steps
// name `fumidai_core` directly and drop it.
pub use fumidai_core::{alerts, auth, compliance, config, datadir, metrics, report};
