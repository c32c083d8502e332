//! `fumidai serve`: the front door on the vendor side; the operator console, health and
//! metrics on the internal side (HTTPS unless on loopback). Refuses to start when the
//! store or the audit trail can't be written (fail closed).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use policy::limits::EndReason;
use serde_json::json;
use sha2::{Digest, Sha256};
use store::{Actor, AuditEvent, AuditKind};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;

use super::context::Context;
use crate::front_door::{FrontDoor, FrontDoorSettings};
use fumidai_core::alerts::Alerts;
use fumidai_core::alerts::settings::Settings as AlertSettings;
use fumidai_core::auth::Authenticator;
use fumidai_core::clamd::Scanner;
use fumidai_core::config::{LogFormat, LoggingSection};
use fumidai_core::datadir;
use fumidai_core::live::{Registry, Watcher};
use fumidai_core::session::{RecordingSettings, Sessions, Tickets};
use fumidai_pki::tls::{self, Revocations, ServerTlsSettings};
use fumidai_ssh::proxy::session::ProxyContext;
use fumidai_ssh::{SshService, SshSettings, host_key, russh_config};

/// How much longer than the idle time-out russh waits for any SSH traffic at all before
/// it drops a connection; the watcher's idle rule applies first.
const IDLE_BACKSTOP: std::time::Duration = std::time::Duration::from_secs(60);

/// How long a target may take to accept fumidai's connection and login.
const TARGET_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs the gateway until interrupted.
pub(crate) async fn run(root: &Path) -> anyhow::Result<()> {
    let ctx = Context::open(root).await?;
    init_tracing(&ctx.config.logging);
    let metrics = fumidai_core::metrics::install();
    let config = &ctx.config;
    let store = Arc::clone(&ctx.store);

    // R-17-2: the configuration in force is on record before anything is served.
    let digest = hex::encode(Sha256::digest(ctx.config_text.as_bytes()));
    let loaded = AuditEvent::new(
        AuditKind::ConfigLoaded,
        Actor::System,
        ctx.dir.config().display().to_string(),
    )
    .with_detail(json!({ "sha256": digest }));
    store
        .append_audit(loaded)
        .await
        .context("cannot write the audit trail; not starting")?;

    // Sessions this node left live when it died (SIGKILL, power loss) end now, on record;
    // on a shared PostgreSQL store, other nodes' sessions are left alone.
    let node = load_or_create_node_id(&ctx.dir)?;
    store
        .set_node(&node)
        .context("cannot name this gateway node in the store")?;
    let orphaned = store
        .end_orphaned_sessions(EndReason::Error, "gateway_restart")
        .await
        .context("cannot end the sessions a previous run left live; not starting")?;
    for session in &orphaned {
        warn!(
            session_id = %session.id,
            engineer = %session.engineer,
            target = %session.target,
            "ended a session the previous run of this gateway left live"
        );
    }
    // Logins without a session it held (issue 12) are gone with it.
    store
        .remove_orphaned_connections()
        .await
        .context("cannot forget the logins a previous run left; not starting")?;
    let scanner = start_scanner(config).await?;
    // R-17.1-ALERT: secrets and CAs are read now; a missing file stops the start.
    let alerts = Alerts::start(
        AlertSettings::load(&config.alerts, ctx.dir.root()).context("cannot set up [alerts]")?,
    );

    let revocations = Revocations::default();
    let tls_settings = ServerTlsSettings {
        ca_cert_pem: read_text(&ctx.dir.ca_cert())?,
        server_cert_pem: read_text(&ctx.dir.server_cert())?,
        server_key_pem: zeroize::Zeroizing::new(String::from_utf8(
            datadir::read_secret(&ctx.dir.server_key())?.to_vec(),
        )?),
        allow_tls12: config.tls.allow_tls12,
    };
    let acceptor = TlsAcceptor::from(tls::server_config(&tls_settings, revocations.clone())?);

    let host_key =
        host_key::load(&ctx.dir.ssh_host_key()).context("cannot load the SSH host key")?;
    let ssh_settings = SshSettings {
        // A backstop only: the live-session watcher cuts idle sessions first, with reason
        // `idle`, counting engineer input and target output rather than any SSH packet.
        inactivity_timeout: config.limits.idle_timeout.saturating_add(IDLE_BACKSTOP),
        auth_timeout: config.limits.login_grace,
        crypto_profile: config.ssh.crypto_profile,
        ..SshSettings::default()
    };
    let authenticator = Arc::new(
        Authenticator::new(Arc::clone(&store), config.auth.lockout_policy())
            .with_alerts(alerts.clone())
            .with_failure_budget(config.floods.failure_budget()),
    );
    let live = Registry::default();
    let sessions = Arc::new(Sessions {
        live: live.clone(),
        store: Arc::clone(&store),
        connect_timeout: TARGET_CONNECT_TIMEOUT,
        recording: Arc::new(RecordingSettings {
            storage: Arc::new(recorder::sink::LocalDisk::new(ctx.dir.recordings())),
            signing_key: Arc::new(load_signing_key(&ctx.dir)?),
        }),
        scanner: scanner.as_ref().map(|(scanner, _)| Arc::clone(scanner)),
        emergency_max: chrono::Duration::from_std(config.limits.emergency_max)
            .unwrap_or(policy::plan::emergency::DEFAULT_MAX),
        alerts: alerts.clone(),
        rdp_tickets: Tickets::default(),
    });
    let proxy = Arc::new(ProxyContext {
        sessions: Arc::clone(&sessions),
        client_config: Arc::new(fumidai_ssh::proxy::target::client_config()),
        ssh_ca: Arc::new(super::ssh_ca::load_or_create(&ctx.dir)?),
    });
    let rdp = Arc::new(fumidai_rdp::RdpService::new(
        tls::rdp_server_tls(&tls_settings)?,
        Arc::clone(&sessions),
        config.transfers.clipboard_max_file,
    ));
    // Live sessions: idle time-out, window end, maximum length, and kills requested by
    // `fumidai session kill` from another process or node (R-10.2-TIMEOUT).
    tokio::spawn(
        Watcher::new(live.clone(), config.limits.session_limits())
            .with_kills(Arc::clone(&store))
            .with_alerts(alerts.clone())
            .with_login_grace(config.limits.login_grace)
            .run(),
    );
    // R-10-5: plans whose window is over are closed and reported without anyone asking.
    tokio::spawn(fumidai_core::report::run_due(
        Arc::clone(&store),
        ctx.dir.clone(),
        Arc::new(load_signing_key(&ctx.dir)?),
        Arc::new(config.report.rules(ctx.dir.root())?),
        alerts.clone(),
    ));
    let ssh = Arc::new(
        SshService::new(
            Arc::new(russh_config(host_key, &ssh_settings)),
            Arc::clone(&authenticator),
        )
        .with_proxy(Arc::clone(&proxy)),
    );

    // The backlog matches the cap on connections not yet logged in (issue 12).
    let listener =
        crate::front_door::bind(config.gateway.listen, config.limits.max_unauthenticated)
            .with_context(|| format!("cannot listen on {}", config.gateway.listen))?;
    // R-13-5: the console speaks HTTPS unless it listens on loopback only.
    let ui_tls = console_tls(&ctx.dir, &config.gateway)?;
    let ui_listener = TcpListener::bind(config.gateway.ui_listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.gateway.ui_listen))?;
    let listen = listener.local_addr()?;
    let ui_listen = ui_listener.local_addr()?;

    let front_door = FrontDoor::new(
        listener,
        acceptor,
        revocations,
        Arc::clone(&store),
        ssh,
        FrontDoorSettings {
            handshake_timeout: config.tls.handshake_timeout,
            max_unauthenticated: config.limits.max_unauthenticated,
            max_unauthenticated_per_source: config.floods.max_unauthenticated_per_source,
            first_byte_timeout: config.floods.first_byte_timeout,
            allow_list_refresh: config.floods.allow_list_refresh,
        },
    )
    .with_rdp(rdp);
    let gauge = front_door.unauthenticated_gauge();
    // The operator console (issue 15): the same Authenticator as the front door and the
    // CLI, so one lock-out and one audit trail.
    let app = web_ui::router(
        web_ui::AppState::new(
            Arc::clone(&store),
            Arc::clone(&authenticator),
            metrics.refreshing(move || gauge.publish()),
            web_ui::ConsoleSettings {
                https: ui_tls.is_some(),
                ..web_ui::ConsoleSettings::default()
            },
        )
        .with_live(live.clone())
        .with_data_dir(ctx.dir.clone())
        .with_alerts(alerts.clone())
        .with_config(Arc::new(config.clone())),
    );

    let started = AuditEvent::new(AuditKind::GatewayStarted, Actor::System, listen.to_string())
        .with_detail(json!({
            "listen": listen.to_string(),
            "ui_listen": ui_listen.to_string(),
            "ui_https": ui_tls.is_some(),
            "version": env!("CARGO_PKG_VERSION"),
            "allow_tls12": config.tls.allow_tls12,
            // R-10-6: whether uploads are scanned, and by which clamd.
            "clamd": scanner.as_ref().map(|(scanner, version)| json!({
                "socket": scanner.config().socket.to_string(),
                "version": version,
                "max_scan_size": scanner.config().max_stream,
            })),
        }));
    store
        .append_audit(started)
        .await
        .context("cannot write the audit trail; not starting")?;
    let ui_scheme = if ui_tls.is_some() { "https" } else { "http" };
    info!(%listen, %ui_listen, ui_scheme, "fumidai serving: mutual-TLS front door and the operator console");

    tokio::select! {
        result = front_door.run() => result.context("front door stopped")?,
        result = web_ui::serve::run(ui_listener, app, ui_tls) => result.context("operator console stopped")?,
        () = shutdown_signal() => info!("shutting down"),
    }
    Ok(())
}

/// The console's TLS configuration from `[gateway] ui_tls_cert`/`ui_tls_key` (relative
/// to the data directory), or `None` for plain HTTP, which only a loopback `ui_listen` may
/// have (R-13-5: behind a reverse proxy on the same host). Anything else stops the start.
fn console_tls(
    dir: &fumidai_core::datadir::DataDir,
    gateway: &fumidai_core::config::GatewaySection,
) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
    match (&gateway.ui_tls_cert, &gateway.ui_tls_key) {
        (Some(cert), Some(key)) => {
            let cert_pem = read_text(&dir.root().join(cert))?;
            let key_pem = zeroize::Zeroizing::new(String::from_utf8(
                datadir::read_secret(&dir.root().join(key))
                    .with_context(|| format!("cannot read {}", key.display()))?
                    .to_vec(),
            )?);
            Ok(Some(
                web_ui::serve::tls_config(&cert_pem, &key_pem).context("[gateway] ui_tls_cert")?,
            ))
        }
        (None, None) if gateway.ui_listen.ip().is_loopback() => Ok(None),
        (None, None) => anyhow::bail!(
            "運用コンソールの ui_listen（{addr}）がループバック以外のため、HTTPS の証明書が必要です。\
             [gateway] ui_tls_cert と ui_tls_key を設定してください（fumidai init が作成した ui.crt / ui.key、\
             または病院の証明書）。平文の HTTP はループバックでのみ使えます / \
             ui_listen {addr} is not loopback, so the operator console needs HTTPS: set [gateway] \
             ui_tls_cert and ui_tls_key (init's ui.crt and ui.key, or the hospital's own); plain \
             HTTP is allowed on loopback only",
            addr = gateway.ui_listen
        ),
        _ => anyhow::bail!(
            "[gateway] ui_tls_cert と ui_tls_key は両方設定してください / set both \
             [gateway] ui_tls_cert and ui_tls_key, or neither"
        ),
    }
}

/// This node's identity from the data directory, made on first use. A lost creation race
/// (two starts at once) reads the winner's.
fn load_or_create_node_id(dir: &fumidai_core::datadir::DataDir) -> anyhow::Result<String> {
    let path = dir.node_id();
    if !path.exists() {
        let made = uuid::Uuid::new_v4().to_string();
        match datadir::write_public(&path, format!("{made}\n").as_bytes()) {
            Ok(()) => return Ok(made),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create {}", path.display()));
            }
        }
    }
    let text = read_text(&path)?;
    let id = uuid::Uuid::parse_str(text.trim())
        .with_context(|| format!("{} does not hold a node UUID", path.display()))?;
    Ok(id.to_string())
}

/// The clamd scanner and its version when `[transfers] clamd_socket` is set. A clamd that
/// is configured but doesn't answer stops the start (R-10-6, fail closed): uploads would
/// otherwise all be refused, or worse, pass unscanned.
async fn start_scanner(
    config: &fumidai_core::config::Config,
) -> anyhow::Result<Option<(Arc<Scanner>, String)>> {
    let Some(scanner_config) = config.transfers.scanner_config() else {
        info!("uploads are not scanned: no clamd_socket in [transfers]");
        return Ok(None);
    };
    let scanner = Scanner::new(scanner_config);
    let socket = scanner.config().socket.to_string();
    let checked = async {
        scanner.ping().await?;
        scanner.version().await
    };
    let version = checked.await.with_context(|| {
        format!(
            "clamd ({socket}) が応答しないため起動しません。clamd を起動するか [transfers] clamd_socket を見直してください / \
             clamd at {socket} does not answer; not starting (start clamd or correct [transfers] clamd_socket)"
        )
    })?;
    info!(
        clamd = %socket,
        %version,
        max_scan_size = scanner.config().max_stream,
        "uploads are scanned by clamd"
    );
    Ok(Some((Arc::new(scanner), version)))
}

/// The gateway's Ed25519 key that seals recordings.
pub(super) fn load_signing_key(
    dir: &fumidai_core::datadir::DataDir,
) -> anyhow::Result<ed25519_dalek::SigningKey> {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let pem = datadir::read_secret(&dir.signing_key()).context("cannot read the signing key")?;
    let pem = std::str::from_utf8(&pem).context("the signing key is not PEM")?;
    ed25519_dalek::SigningKey::from_pkcs8_pem(pem).context("cannot load the signing key")
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Logs go to standard error (journald under systemd). `RUST_LOG` overrides the filter.
fn init_tracing(logging: &LoggingSection) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&logging.filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only on a terminal: journald and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let result = match logging.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    if let Err(e) = result {
        eprintln!("fumidai: logging already initialised: {e}");
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                error!(error = %e, "cannot watch SIGTERM");
                let _ = ctrl_c.await;
            }
        }
    }
}
