//! The mutual-TLS front door: the only port vendors reach (R-10.2-CRYPTO, R-13-6,
//! R-13-12).
//!
//! Per connection, in order: at accept, sources outside every vendor's allow list are
//! closed when all vendors have one ([`allow_gate`]), then a cap on connections not yet
//! logged in per source address and in all ([`sources`]; a flood is closed at once
//! instead of growing memory); a short wait for the first TLS byte (silent sockets go
//! fast), the revocation list refreshed from the store (so a
//! `cert revoke` in another process applies at the next handshake), the TLS handshake under
//! a time-out with a client certificate required, the vendor's source-address allow list
//! (R-10.2-PATH), then routing by ALPN.
//!
//! # What this module does not do
//!
//! It authenticates devices, not people: the person logs in inside the routed service.

mod allow_gate;
mod listener;
mod route;
mod sources;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use store::{Actor, AuditEvent, AuditKind, Store};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tracing::{Instrument, debug, info, info_span, warn};

pub use fumidai_core::auth::UnauthenticatedSlot;
pub use listener::bind;
pub use route::{Refusal, Route, route};

use fumidai_core::metrics as m;
use fumidai_pki::PeerIdentity;
use fumidai_pki::tls::Revocations;
use fumidai_ssh::{PeerContext, SshService};

/// The front door's knobs.
#[derive(Debug, Clone)]
pub struct FrontDoorSettings {
    /// A client that hasn't completed the handshake by then is dropped.
    pub handshake_timeout: Duration,
    /// Connections not yet logged in, at most.
    pub max_unauthenticated: usize,
    /// Connections not yet logged in from one source address (IPv6: /64), at most.
    pub max_unauthenticated_per_source: usize,
    /// A connection that sends no byte by then is dropped, before any other work.
    pub first_byte_timeout: Duration,
    /// How often the vendors' allow lists checked at accept are re-read.
    pub allow_list_refresh: Duration,
}

/// The listener and everything a connection needs.
pub struct FrontDoor {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    /// Shared with the TLS verifier, which consults it during the handshake.
    revocations: Revocations,
    store: Arc<dyn Store>,
    ssh: Arc<SshService>,
    /// The RDP service, when offered.
    rdp: Option<Arc<fumidai_rdp::RdpService>>,
    /// One permit per connection not yet logged in; the SSH service drops it on login.
    unauthenticated: Arc<Semaphore>,
    /// The same, per source address.
    per_source: sources::SourceCaps,
    /// The union of the vendors' allow lists, checked at accept.
    allow_gate: Arc<allow_gate::AllowGate>,
    settings: FrontDoorSettings,
}

impl FrontDoor {
    /// A front door on an already bound listener.
    pub fn new(
        listener: TcpListener,
        acceptor: TlsAcceptor,
        revocations: Revocations,
        store: Arc<dyn Store>,
        ssh: Arc<SshService>,
        settings: FrontDoorSettings,
    ) -> Self {
        let unauthenticated = Arc::new(Semaphore::new(settings.max_unauthenticated));
        let per_source = sources::SourceCaps::new(settings.max_unauthenticated_per_source);
        Self {
            listener,
            acceptor,
            revocations,
            store,
            ssh,
            rdp: None,
            unauthenticated,
            per_source,
            allow_gate: Arc::default(),
            settings,
        }
    }

    /// Offers the RDP service on ALPN `rdp`.
    #[must_use]
    pub fn with_rdp(mut self, rdp: Arc<fumidai_rdp::RdpService>) -> Self {
        self.rdp = Some(rdp);
        self
    }

    /// Connections accepted and not yet logged in, now (for the metrics gauge).
    pub fn unauthenticated_gauge(&self) -> UnauthenticatedGauge {
        UnauthenticatedGauge {
            semaphore: Arc::clone(&self.unauthenticated),
            max: self.settings.max_unauthenticated,
        }
    }

    /// Accepts connections until the listener fails.
    pub async fn run(self) -> std::io::Result<()> {
        let this = Arc::new(self);
        tokio::spawn(refresh_allow_gate(
            Arc::clone(&this.store),
            Arc::clone(&this.allow_gate),
            this.settings.allow_list_refresh,
        ));
        loop {
            let (tcp, client_addr) = match this.listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Per-connection errors (e.g. the peer reset before accept) and running
                    // out of descriptors must not stop the gateway.
                    warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // R-10.2-PATH: nobody can log in from outside every vendor's allow list.
            if !this.allow_gate.admits(client_addr.ip()) {
                metrics::counter!(m::CONNECTIONS, "outcome" => "source_not_allowed").increment(1);
                debug!(%client_addr, "source outside every vendor's allow list; closed at accept");
                drop(tcp);
                continue;
            }
            let Some(source) = this.per_source.try_take(client_addr.ip()) else {
                metrics::counter!(m::CONNECTIONS, "outcome" => "over_source_capacity").increment(1);
                debug!(%client_addr, "too many unauthenticated connections from this source; closed");
                drop(tcp);
                continue;
            };
            let Ok(permit) = Arc::clone(&this.unauthenticated).try_acquire_owned() else {
                metrics::counter!(m::CONNECTIONS, "outcome" => "over_capacity").increment(1);
                debug!(%client_addr, "too many unauthenticated connections; closed");
                drop(tcp);
                continue;
            };
            let permit = sources::unauthenticated_slot(permit, source);
            let span = info_span!("connection", %client_addr, engineer = tracing::field::Empty);
            let this = Arc::clone(&this);
            tokio::spawn(
                async move { this.handle(tcp, client_addr, permit).await }.instrument(span),
            );
        }
    }

    async fn handle(&self, tcp: TcpStream, client_addr: SocketAddr, permit: UnauthenticatedSlot) {
        // A silent socket costs no store query and no TLS state: it goes after
        // `first_byte_timeout`, not `handshake_timeout`.
        match tokio::time::timeout(self.settings.first_byte_timeout, tcp.peek(&mut [0_u8; 1])).await
        {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => {
                // Counted like every other outcome: a port scan shows up in the metrics.
                debug!("closed before sending anything");
                metrics::counter!(m::CONNECTIONS, "outcome" => "closed_before_tls").increment(1);
                return;
            }
            Err(_) => {
                debug!(timeout = ?self.settings.first_byte_timeout, "no TLS byte in time; dropped");
                metrics::counter!(m::CONNECTIONS, "outcome" => "first_byte_timeout").increment(1);
                return;
            }
        }
        // Fail closed: without the current revocation list, no one logs in. The handshake
        // still runs (on the last list read) so the engineer can be told why: the SSH layer
        // shows the reason and refuses every login without asking the store.
        let store_available = match self.store.revoked_serials().await {
            Ok(serials) => {
                self.revocations.replace(serials);
                // The accept-time allow lists are refreshed with the revocations.
                if let Ok(vendors) = self.store.vendors().await {
                    self.allow_gate.refresh(&vendors);
                }
                true
            }
            Err(error) => {
                warn!(%error, "store unreachable; no login will be accepted on this connection");
                metrics::counter!(m::CONNECTIONS, "outcome" => "store_unavailable").increment(1);
                false
            }
        };
        let _ = tcp.set_nodelay(true);
        let tls =
            match tokio::time::timeout(self.settings.handshake_timeout, self.acceptor.accept(tcp))
                .await
            {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    // Revoked, expired, foreign or missing certificates end here, as do TLS 1.2
                    // clients when 1.2 is off; rustls has already sent the alert.
                    info!(%error, "TLS handshake refused");
                    metrics::counter!(m::CONNECTIONS, "outcome" => "handshake_failed").increment(1);
                    return;
                }
                Err(_) => {
                    info!(timeout = ?self.settings.handshake_timeout, "TLS handshake timed out");
                    metrics::counter!(m::CONNECTIONS, "outcome" => "handshake_timeout")
                        .increment(1);
                    return;
                }
            };
        let (_, conn) = tls.get_ref();
        let identity = match conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| fumidai_pki::peer_identity(c))
        {
            Some(Ok(identity)) => identity,
            Some(Err(error)) => {
                warn!(%error, "client certificate unusable");
                metrics::counter!(m::CONNECTIONS, "outcome" => "refused").increment(1);
                return;
            }
            None => {
                // The verifier requires a certificate, so this is unreachable in practice.
                warn!("no client certificate after handshake");
                return;
            }
        };
        tracing::Span::current().record("engineer", tracing::field::display(&identity.login));
        let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
        let routed = match (route(alpn.as_deref()), &self.rdp) {
            (Route::Rdp, None) => Route::Refuse(Refusal::RdpNotOffered),
            (other, _) => other,
        };
        if let Route::Refuse(refusal) = routed {
            self.refuse(client_addr, &identity, refusal.as_str()).await;
            return;
        }
        if store_available && !self.source_allowed(&identity, client_addr).await {
            self.refuse(client_addr, &identity, "source_not_allowed")
                .await;
            return;
        }
        metrics::counter!(m::CONNECTIONS, "outcome" => "admitted").increment(1);
        if let (Route::Rdp, Some(rdp)) = (routed, &self.rdp) {
            if !store_available {
                self.refuse(client_addr, &identity, "store_unavailable")
                    .await;
                return;
            }
            let peer = fumidai_rdp::RdpPeer {
                client_addr,
                certificate: identity,
                on_authenticated: Some(permit),
            };
            if let Err(error) = rdp.serve(tls, peer).await {
                info!(%error, "RDP connection refused");
            }
            return;
        }
        let peer = PeerContext {
            client_addr,
            certificate: identity,
            on_authenticated: Some(permit),
            store_available,
        };
        if let Err(error) = self.ssh.serve(tls, peer).await {
            debug!(%error, "ssh connection ended with an error");
        }
    }

    /// R-10.2-PATH: the vendor's allow list. A store error refuses (fail closed); an
    /// unknown login is let through to the login, which refuses it after the same work
    /// as any other failure.
    async fn source_allowed(&self, identity: &PeerIdentity, client_addr: SocketAddr) -> bool {
        let account = match self.store.account(&identity.login).await {
            Ok(account) => account,
            Err(error) => {
                warn!(%error, "store unreachable; connection refused");
                return false;
            }
        };
        let Some(vendor) = account.and_then(|a| a.vendor) else {
            return true;
        };
        match self.store.vendor(&vendor).await {
            Ok(Some(v)) => policy::network::source_allowed(&v.allow_from, client_addr.ip()),
            Ok(None) => true,
            Err(error) => {
                warn!(%error, "store unreachable; connection refused");
                false
            }
        }
    }

    async fn refuse(&self, client_addr: SocketAddr, identity: &PeerIdentity, reason: &'static str) {
        info!(reason, "connection refused");
        metrics::counter!(m::CONNECTIONS, "outcome" => "refused").increment(1);
        let event = AuditEvent::new(
            AuditKind::ConnectionRefused,
            Actor::Peer(client_addr),
            identity.login.as_str(),
        )
        .with_detail(json!({ "reason": reason, "certificate_serial": identity.serial.as_str() }));
        if let Err(error) = self.store.append_audit(event).await {
            warn!(%error, "could not audit a refused connection");
        }
    }
}

/// Re-reads the vendors' allow lists every `every`, so the gate at accept follows
/// `vendor add` and allow-list changes made in another process or on another node. A store
/// error keeps the last lists (the handshake path fails closed on its own).
async fn refresh_allow_gate(
    store: Arc<dyn Store>,
    gate: Arc<allow_gate::AllowGate>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match store.vendors().await {
            Ok(vendors) => gate.refresh(&vendors),
            Err(error) => debug!(%error, "allow lists not refreshed"),
        }
    }
}

/// Reads how many unauthenticated connections are open, from the cap's free permits.
#[derive(Clone)]
pub struct UnauthenticatedGauge {
    semaphore: Arc<Semaphore>,
    max: usize,
}

impl UnauthenticatedGauge {
    /// Updates the gauge; called before each `/metrics` render.
    pub fn publish(&self) {
        let open = self.max.saturating_sub(self.semaphore.available_permits());
        #[expect(
            clippy::cast_precision_loss,
            reason = "connection counts are far below 2^52"
        )]
        metrics::gauge!(m::UNAUTHENTICATED).set(open as f64);
    }
}
