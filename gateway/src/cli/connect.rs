//! `fumidai connect`: the vendor side. Relays stdin/stdout over mutual TLS so stock OpenSSH
//! can use it as a ProxyCommand, or forwards a local port with `--listen`;
//! `fumidai connect rdp` obtains a single-use RDP credential and tunnels a stock RDP client.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::json;

use crate::connect::rdp::{StdinPrompter, obtain_credential};
use crate::connect::{ConnectSettings, forward, forward_listen, relay_stdio};
use fumidai_pki::tls;

/// `fumidai connect` options.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ConnectArgs {
    /// `rdp`: RDP through the gateway (see `fumidai connect rdp --help`).
    #[command(subcommand)]
    rdp: Option<ConnectCommand>,
    /// The gateway's front door, HOST:PORT.
    #[arg(required = true)]
    gateway: Option<String>,
    #[command(flatten)]
    files: DeviceFiles,
    /// Forward this local address instead of relaying stdin/stdout, e.g. 127.0.0.1:2222.
    #[arg(long)]
    listen: Option<SocketAddr>,
}

/// The device's certificate files and how to reach the gateway.
#[derive(Debug, clap::Args)]
struct DeviceFiles {
    /// This device's client certificate (PEM), issued by `fumidai cert issue`.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long)]
    key: Option<PathBuf>,
    /// The gateway's CA certificate: the only CA trusted for the gateway (pinning).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Name to check the gateway's certificate against (default: the HOST part).
    #[arg(long)]
    server_name: Option<String>,
    /// Give up connecting after this long.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    connect_timeout: Duration,
}

/// `fumidai connect rdp …`
#[derive(Debug, clap::Subcommand)]
enum ConnectCommand {
    /// Log in (password + TOTP), obtain a single-use RDP credential for TARGET, and start
    /// `xfreerdp` through a local tunnel (or print what another client needs).
    Rdp(RdpArgs),
}

/// `fumidai connect rdp` options.
#[derive(Debug, clap::Args)]
struct RdpArgs {
    /// The RDP target's name, as registered at the gateway.
    target: String,
    /// The gateway's front door, HOST:PORT.
    gateway: String,
    #[command(flatten)]
    files: DeviceFiles,
    /// Your login (default: the name in the certificate).
    #[arg(long)]
    login: Option<String>,
    /// Local address of the tunnel the RDP client connects to.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Don't start a client: print the tunnel's address and the credential as JSON on
    /// stdout and keep the tunnel open until interrupted (for mstsc, Remmina, scripts).
    #[arg(long, conflicts_with = "rdp_file")]
    no_launch: bool,
    /// Write a `.rdp` file for Windows' mstsc instead of starting xfreerdp; the password
    /// is printed once to paste at mstsc's prompt. The tunnel stays open until interrupted.
    #[arg(long, value_name = "FILE")]
    rdp_file: Option<PathBuf>,
    /// The RDP client to start (FreeRDP's command line).
    #[arg(long, default_value = "xfreerdp")]
    client: String,
    /// Declare an emergency with this reason (no approved plan; vendors allowed to only).
    #[arg(long, value_name = "REASON")]
    emergency: Option<String>,
    /// Extra arguments for the client, after `--` (e.g. `-- /size:1280x1024`).
    #[arg(last = true)]
    client_args: Vec<String>,
}

/// Runs `fumidai connect`.
pub(crate) async fn run(args: ConnectArgs) -> anyhow::Result<()> {
    if let Some(ConnectCommand::Rdp(rdp)) = args.rdp {
        return run_rdp(rdp).await;
    }
    let gateway = args.gateway.context("give the gateway's HOST:PORT")?;
    let settings = settings(&args.files, gateway, &[b"ssh"])?;
    match args.listen {
        Some(listen) => forward_listen(listen, Arc::new(settings)).await?,
        None => relay_stdio(&settings).await?,
    }
    Ok(())
}

fn settings(
    files: &DeviceFiles,
    gateway: String,
    alpn: &[&[u8]],
) -> anyhow::Result<ConnectSettings> {
    let read = |p: &Option<PathBuf>, flag: &str| -> anyhow::Result<String> {
        let p = p.as_ref().with_context(|| format!("give {flag} FILE"))?;
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
    };
    let ca = read(&files.ca, "--ca")?;
    let cert = read(&files.cert, "--cert")?;
    let key = zeroize::Zeroizing::new(read(&files.key, "--key")?);
    let client_config =
        tls::client_config(&ca, &cert, &key, alpn).context("cannot use the certificate files")?;
    Ok(ConnectSettings {
        gateway,
        server_name: files.server_name.clone(),
        client_config,
        connect_timeout: files.connect_timeout,
    })
}

/// The login a client certificate names (its CN).
fn login_of(cert_path: &Option<PathBuf>) -> anyhow::Result<String> {
    let path = cert_path.as_ref().context("give --cert FILE")?;
    let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem)
        .map_err(|_| anyhow::anyhow!("{} is not a PEM certificate", path.display()))?;
    let cert = pem
        .parse_x509()
        .map_err(|_| anyhow::anyhow!("{} is not a certificate", path.display()))?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .context("the certificate names no login (CN)")?;
    Ok(cn.to_owned())
}

async fn run_rdp(args: RdpArgs) -> anyhow::Result<()> {
    let login = match &args.login {
        Some(login) => login.clone(),
        None => login_of(&args.files.cert)?,
    };
    let ssh_settings = settings(&args.files, args.gateway.clone(), &[b"ssh"])?;
    let (credential, fingerprint) = obtain_credential(
        &ssh_settings,
        &login,
        &args.target,
        args.emergency.as_deref(),
        &mut StdinPrompter,
    )
    .await?;
    let rdp_settings = Arc::new(settings(&args.files, args.gateway.clone(), &[b"rdp"])?);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    let tunnel = tokio::spawn(forward(listener, rdp_settings));
    if args.no_launch {
        let info = json!({
            "listen": local.to_string(),
            "user": credential.user,
            "password": credential.password,
            "cert_sha256": fingerprint.hex(),
            "freerdp_cert": format!("fingerprint:sha256:{}", fingerprint.colon_hex()),
            "target": credential.target,
            "plan_id": credential.plan_id,
            "expires_at": credential.expires_at,
        });
        println!("{info}");
        tunnel.await??;
        return Ok(());
    }
    if let Some(path) = &args.rdp_file {
        let text = format!(
            "full address:s:{local}\r\nusername:s:{user}\r\nenablecredsspsupport:i:1\r\n\
             authentication level:i:2\r\nprompt for credentials:i:1\r\nredirectclipboard:i:0\r\n\
             redirectdrives:i:0\r\ndrivestoredirect:s:\r\nredirectprinters:i:0\r\n\
             redirectsmartcards:i:0\r\naudiomode:i:2\r\n",
            user = credential.user
        );
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "fumidai connect rdp: open {} with mstsc within two minutes; password (single use): {}\n\
             gateway certificate SHA-256: {}\n\
             mstsc で {} を 2 分以内に開き、上記のパスワード（1 回限り）を入力してください。",
            path.display(),
            credential.password,
            fingerprint.hex(),
            path.display()
        );
        tunnel.await??;
        return Ok(());
    }
    let mut command = tokio::process::Command::new(&args.client);
    command
        .arg(format!("/v:{local}"))
        .arg(format!("/u:{}", credential.user))
        .arg(format!("/p:{}", credential.password))
        .arg("/sec:nla")
        .arg(format!(
            "/cert:fingerprint:sha256:{}",
            fingerprint.colon_hex()
        ))
        .args(&args.client_args)
        .kill_on_drop(true);
    let status = command.status().await.with_context(|| {
        format!(
            "cannot start {} (install FreeRDP, or use --no-launch / --rdp-file)",
            args.client
        )
    })?;
    tunnel.abort();
    if !status.success() {
        bail!("{} exited with {status}", args.client);
    }
    Ok(())
}
