//! A CA, a gateway certificate and an engineer's certificate for handshake tests, shared
//! by this module's tests and the binary's `connect` tests (feature `test-support`).

#![allow(
    clippy::unwrap_used,
    missing_docs,
    reason = "test fixtures: a failure here is the test's failure"
)]

use std::sync::Arc;

use rustls::{ClientConfig, ServerConfig};

use super::{Revocations, ServerTlsSettings, client_config, server_config};
use crate::{Ca, IssuedCert};

/// Our CA and what it issued.
pub struct Fixture {
    pub ca: Ca,
    /// The gateway's certificate, for `gw.test` and `127.0.0.1`.
    pub server: IssuedCert,
    /// Engineer alice's client certificate.
    pub alice: IssuedCert,
}

pub fn fixture() -> Fixture {
    let ca = Ca::generate("hospital").unwrap();
    let names = ["gw.test".to_owned(), "127.0.0.1".to_owned()];
    let server = ca.issue_server(&names, 30).unwrap();
    let alice = ca.issue_client(&"alice".parse().unwrap(), 30).unwrap();
    Fixture { ca, server, alice }
}

impl Fixture {
    pub fn settings(&self, allow_tls12: bool) -> ServerTlsSettings {
        ServerTlsSettings {
            ca_cert_pem: self.ca.cert_pem().to_owned(),
            server_cert_pem: self.server.cert_pem.clone(),
            server_key_pem: self.server.key_pem.clone(),
            allow_tls12,
        }
    }

    /// The front door's configuration.
    pub fn server(&self, allow_tls12: bool, revocations: Revocations) -> Arc<ServerConfig> {
        server_config(&self.settings(allow_tls12), revocations).unwrap()
    }

    /// `fumidai connect`'s configuration for `cert`.
    pub fn client(&self, cert: &IssuedCert, alpn: &[&[u8]]) -> Arc<ClientConfig> {
        client_config(self.ca.cert_pem(), &cert.cert_pem, &cert.key_pem, alpn).unwrap()
    }

    /// A server that trusts our CA for clients but presents a certificate for the same
    /// names from another CA: an impostor gateway.
    pub fn impostor(&self) -> Arc<ServerConfig> {
        let other = Ca::generate("impostor").unwrap();
        let fake = other
            .issue_server(&["gw.test".into(), "127.0.0.1".into()], 30)
            .unwrap();
        let settings = ServerTlsSettings {
            server_cert_pem: fake.cert_pem.clone(),
            server_key_pem: fake.key_pem.clone(),
            ..self.settings(false)
        };
        server_config(&settings, Revocations::default()).unwrap()
    }
}
