//! fumidai's own certificate authority: the CA itself, the server and client certificates it
//! issues, PKCS#12 bundles for engineers' laptops, and reading the identity out of a client
//! certificate that a handshake already verified; and [`tls`], the rustls configurations
//! built on them (the front door, `fumidai connect`, RDP towards clients and targets).
//!
//! Used by the protocol crates and the binary; it depends on `fumidai-core`, `policy` and
//! `store` only (docs/ARCHITECTURE.md, "Dependency rules").
//!
//! # Layout
//!
//! - [`Ca`] (`ca.rs`): generate or load the CA (ECDSA P-256, R-10.2-CRYPTO).
//! - [`IssuedCert`] (`issue.rs`): server and client certificates, with what the store records.
//! - [`pkcs12`] (`pkcs12.rs`): a password-protected bundle (PBES2/AES-256, HMAC-SHA-256).
//! - [`tls`]: rustls configurations.
//! - [`peer_identity`] (`peer.rs`): login (CN) and serial of a presented certificate
//!   (the [`PeerIdentity`] type is the core's, where the login procedure uses it).
//!
//! # What this crate does not do
//!
//! It verifies no chains and checks no revocations (that is [`crate::tls`], at every
//! handshake), writes no files (the binary does, with safe modes) and keeps no records (the
//! caller hands [`IssuedCert::to_new_certificate`] to the store).

mod ca;
mod issue;
mod peer;
mod pkcs12;
pub mod tls;

pub use ca::Ca;
pub use issue::IssuedCert;
pub use peer::{PeerIdentity, peer_identity};
pub use pkcs12::pkcs12;

use chrono::{DateTime, Utc};
use policy::ids::NameError;

/// The longest validity, in days, of any certificate the CA issues (and of the CA itself).
pub const MAX_VALIDITY_DAYS: u32 = 3650;

/// Why a CA operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The organisation name can't go into the CA's common name.
    #[error("organisation name must be 1 to {max} printable characters")]
    BadOrganisation {
        /// The longest name that fits the 64-character CN limit.
        max: usize,
    },
    /// The system random source failed.
    #[error("system random source failed")]
    Random,
    /// Key generation failed (the system random source, usually).
    #[error("could not generate a p-256 key pair")]
    KeyGeneration(#[source] rcgen::Error),
    /// Signing a certificate failed.
    #[error("could not sign the certificate")]
    Sign(#[source] rcgen::Error),
    /// The CA certificate could not be parsed.
    #[error("ca certificate could not be parsed")]
    CaCertificate(#[source] rcgen::Error),
    /// The CA certificate PEM held no certificate.
    #[error("ca certificate pem holds no certificate")]
    CaCertificatePem(#[source] rustls_pki_types::pem::Error),
    /// The CA private key could not be parsed.
    #[error("ca private key could not be parsed")]
    CaKey(#[source] rcgen::Error),
    /// The CA key is not the key of the CA certificate.
    #[error("ca private key does not match the ca certificate")]
    CaKeyMismatch,
    /// The certificate given as CA may not sign certificates.
    #[error("certificate is not a ca (basicConstraints ca:true missing)")]
    NotACa,
    /// A validity length was zero or too long.
    #[error("validity must be 1 to {max} days, not {days}", max = MAX_VALIDITY_DAYS)]
    BadValidityDays {
        /// What was asked for.
        days: u32,
    },
    /// An explicit validity ends before it starts.
    #[error("validity ends ({not_after}) before it starts ({not_before})")]
    ValidityInverted {
        /// Requested start.
        not_before: DateTime<Utc>,
        /// Requested end.
        not_after: DateTime<Utc>,
    },
    /// A date can't be written into a certificate.
    #[error("date {0} can't be written into a certificate")]
    DateOutOfRange(DateTime<Utc>),
    /// The certificate would stay valid after the CA expires.
    #[error("certificate would outlive the ca, which expires at {ca_not_after}")]
    OutlivesCa {
        /// When the CA certificate expires.
        ca_not_after: DateTime<Utc>,
    },
    /// A server certificate needs at least one name.
    #[error("a server certificate needs at least one dns name or ip address")]
    NoServerNames,
    /// A server name is neither a DNS name nor an IP address.
    #[error("{0:?} is neither a dns name nor an ip address")]
    BadServerName(String),
    /// A certificate is not DER X.509 (or has trailing bytes).
    #[error("certificate is not valid der x.509")]
    CertificateEncoding,
    /// A client certificate has no common name, or several.
    #[error("client certificate must have exactly one common name, found {found}")]
    CommonNameCount {
        /// How many CNs the subject holds.
        found: usize,
    },
    /// A client certificate's common name is not a string type.
    #[error("client certificate common name is not text")]
    CommonNameNotText,
    /// A client certificate's common name is not a valid login (R-10.2-PRIV).
    #[error("client certificate common name is not a login")]
    CommonNameNotLogin(#[source] NameError),
    /// A PKCS#12 password was empty.
    #[error("pkcs#12 password must not be empty")]
    EmptyPassword,
    /// A PEM certificate or key given for a bundle could not be read.
    #[error("pem input for the pkcs#12 bundle could not be read")]
    Pem(#[source] rustls_pki_types::pem::Error),
    /// p12-keystore refused to build the bundle.
    #[error("could not build the pkcs#12 bundle")]
    Pkcs12(#[source] p12_keystore::error::Error),
}

/// What the functions of this module return.
pub type Result<T> = std::result::Result<T, Error>;
