//! Step 4 of a connection: the RDP target — its registration, then TCP, X.224 offering TLS
//! and CredSSP, TLS that accepts only the pinned certificate, and, for a target that
//! requires NLA, CredSSP as a client with the target's own credential (R-10.1-NODEFAULT:
//! the engineer never sees it).

use policy::ids::TargetName;
use policy::target::{CertFingerprint, TargetPin};
use secrecy::ExposeSecret as _;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::error::{Result, TargetSetupError};
use crate::frames::FrameReader;
use crate::rewrite::TargetLogon;
use crate::{RdpService, negotiation, nla_client};

/// Where a registered RDP target is, the certificate pinned for it and the logon fumidai
/// injects.
pub(crate) struct Endpoint {
    pub(crate) address: String,
    pub(crate) pin: CertFingerprint,
    pub(crate) logon: TargetLogon,
}

/// A connected, TLS-secured (and, where required, NLA-authenticated) target.
pub(crate) struct Connected {
    pub(crate) stream: tokio_rustls::client::TlsStream<TcpStream>,
    pub(crate) reader: FrameReader,
    pub(crate) protocol: ironrdp_pdu::nego::SecurityProtocol,
}

/// Why the target could not be used.
pub(crate) enum TargetFailure {
    /// It presented another certificate than the pinned one.
    Mismatch { presented: String },
    /// Anything else: unreachable, not RDP, its logon refused.
    Other(String),
}

impl RdpService {
    /// The target's address, pinned certificate and credential.
    pub(crate) async fn endpoint(&self, name: &TargetName) -> Result<Endpoint> {
        let store = &self.sessions.store;
        let target = store
            .target(name)
            .await?
            .ok_or_else(|| TargetSetupError::NotRegistered(name.clone()))?;
        let TargetPin::RdpCertificate(pin) = target.pin else {
            return Err(TargetSetupError::NotRdp(name.clone()).into());
        };
        let secret = store
            .target_credential(name)
            .await?
            .ok_or_else(|| TargetSetupError::NoPassword(name.clone()))?;
        let password = std::str::from_utf8(secret.expose_secret())
            .map_err(|_| TargetSetupError::PasswordNotText(name.clone()))?
            .to_owned();
        Ok(Endpoint {
            address: format!("{}:{}", target.address.host, target.address.port),
            pin,
            logon: TargetLogon::new(&target.login, password),
        })
    }

    /// Connects to the target, each step under the connect time-out.
    pub(crate) async fn connect_target(
        &self,
        endpoint: &Endpoint,
    ) -> std::result::Result<Connected, TargetFailure> {
        let Endpoint {
            address,
            pin,
            logon,
        } = endpoint;
        let timeout = self.sessions.connect_timeout;
        let other = |e: &dyn std::fmt::Display| TargetFailure::Other(e.to_string());
        let mut tcp = tokio::time::timeout(timeout, TcpStream::connect(address.as_str()))
            .await
            .map_err(|e| other(&e))?
            .map_err(|e| other(&e))?;
        let _ = tcp.set_nodelay(true);
        let mut reader = FrameReader::default();
        let protocol =
            tokio::time::timeout(timeout, negotiation::connect_target(&mut tcp, &mut reader))
                .await
                .map_err(|e| other(&e))?
                .map_err(|e| other(&e))?;
        let (config, presented) =
            fumidai_pki::tls::rdp_target_client_config(*pin).map_err(|e| other(&e))?;
        let name =
            rustls_pki_types::ServerName::try_from("rdp-target.invalid").map_err(|e| other(&e))?;
        match tokio::time::timeout(timeout, TlsConnector::from(config).connect(name, tcp)).await {
            Ok(Ok(mut tls)) => {
                let mut reader = FrameReader::default();
                if protocol.contains(ironrdp_pdu::nego::SecurityProtocol::HYBRID) {
                    // A target requiring NLA: CredSSP with its own credential, bound to
                    // the pinned certificate's key.
                    let public_key = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(|c| nla_client::subject_public_key(c.as_ref()))
                        .ok_or_else(|| other(&"no target certificate"))?;
                    let host = address
                        .rsplit_once(':')
                        .map_or(address.as_str(), |(h, _)| h);
                    let nla = nla_client::authenticate(
                        &mut tls,
                        &mut reader,
                        logon,
                        host,
                        public_key,
                        protocol,
                    );
                    tokio::time::timeout(timeout, nla)
                        .await
                        .map_err(|e| other(&e))?
                        .map_err(|e| other(&e))?;
                }
                Ok(Connected {
                    stream: tls,
                    reader,
                    protocol,
                })
            }
            Ok(Err(error)) => match presented.get() {
                Some(seen) if seen != *pin => Err(TargetFailure::Mismatch {
                    presented: seen.to_string(),
                }),
                _ => Err(other(&error)),
            },
            Err(error) => Err(other(&error)),
        }
    }
}
