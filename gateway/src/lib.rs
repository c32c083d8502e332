//! fumidai's network edge and the `fumidai` command.
//!
//! Everything that touches a socket, a file or the clock lives here; every rule it applies
//! comes from `policy`, every record it keeps goes to `store`.
//!
//! # Layout
//!
//! - [`config`]: `fumidai.toml`, typed, with errors that name the key and the line.
//! - [`datadir`]: where init puts the keys, certificates and database, with safe modes.
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
//! - [`live`]: live sessions: activity, limits (idle, window end, maximum length), kills.
//! - [`ssh_ca`]: fumidai's SSH user CA, signing per-session certificates for targets.
//! - [`connect`]: the vendor side: stdin/stdout relay (ProxyCommand) and local forwarder.
//! - [`metrics`]: Prometheus counters and gauges.
//! - [`alerts`]: alerts to a webhook, syslog and e-mail, never blocking (R-17.1-ALERT).
//! - [`compliance`]: the compliance evidence: each requirement ID, met or not here, and why.
//! - [`cli`]: the `fumidai` command line.
//!
//! # What this crate does not do
//!
//! It holds no business rules (ask `policy`) and no SQL (ask `store`).

pub mod alerts;
pub mod auth;
pub mod clamd;
pub mod cli;
pub mod compliance;
pub mod config;
pub mod connect;
pub mod datadir;
pub mod front_door;
pub mod live;
pub mod metrics;
pub mod pki;
pub mod proxy;
pub mod rdp;
pub mod report;
pub mod ssh;
pub mod ssh_ca;
pub mod tls;
