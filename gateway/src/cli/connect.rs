//! `fumidai connect`: the vendor side. Relays stdin/stdout over mutual TLS so stock OpenSSH
//! can use it as a ProxyCommand, or forwards a local port with `--listen`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::connect::{ConnectSettings, forward_listen, relay_stdio};
use crate::tls;

/// `fumidai connect` options.
#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// The gateway's front door, HOST:PORT.
    gateway: String,
    /// This device's client certificate (PEM), issued by `fumidai cert issue`.
    #[arg(long)]
    cert: PathBuf,
    /// Its private key (PEM).
    #[arg(long)]
    key: PathBuf,
    /// The gateway's CA certificate: the only CA trusted for the gateway (pinning).
    #[arg(long)]
    ca: PathBuf,
    /// Name to check the gateway's certificate against (default: the HOST part).
    #[arg(long)]
    server_name: Option<String>,
    /// Forward this local address instead of relaying stdin/stdout, e.g. 127.0.0.1:2222.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Give up connecting after this long.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    connect_timeout: Duration,
}

/// Runs `fumidai connect`.
pub(crate) async fn run(args: ConnectArgs) -> anyhow::Result<()> {
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
    };
    let ca = read(&args.ca)?;
    let cert = read(&args.cert)?;
    let key = zeroize::Zeroizing::new(read(&args.key)?);
    let client_config = tls::client_config(&ca, &cert, &key, &[b"ssh"])
        .context("cannot use the certificate files")?;
    let settings = ConnectSettings {
        gateway: args.gateway,
        server_name: args.server_name,
        client_config,
        connect_timeout: args.connect_timeout,
    };
    match args.listen {
        Some(listen) => forward_listen(listen, Arc::new(settings)).await?,
        None => relay_stdio(&settings).await?,
    }
    Ok(())
}
