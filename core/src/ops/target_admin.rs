//! Registering and changing targets (接続先, R-10.1-NODEFAULT, R-13-9/10) and which targets a
//! vendor is contracted for (R-11-1): by an authenticated administrator
//! (`Action::ManageAccounts`), or to bootstrap, by the host's administrator
//! ([`Admin::Host`]). The target login's syntax, the factory-account rule (a stated reason)
//! and the pins are `policy::target`'s.

use policy::authority::Action;
use policy::ids::{TargetName, VendorName};
use policy::target::{self, CertFingerprint, HostKey, SshAddress, Tag, TargetAuth, TargetPin};
use secrecy::SecretBox;
use store::{NewTarget, Store, Target, TargetUpdate};

use super::account_enrolment::Admin;
use super::{OpError, Person};

/// A stored credential (a private key or a password), never shown again.
pub type Credential = SecretBox<Vec<u8>>;

/// How fumidai reaches a target and what it pins.
#[derive(Debug)]
pub enum Access {
    /// An SSH server: its pinned host key, and how fumidai logs in (a stored key or
    /// password, or a per-session certificate from fumidai's SSH CA, which stores none).
    Ssh {
        /// The pinned host key.
        host_key: HostKey,
        /// Key, password or certificate.
        auth: TargetAuth,
        /// The key or password, for `Key` and `Password`.
        credential: Option<Credential>,
    },
    /// An RDP server: its pinned certificate and the account's password.
    Rdp {
        /// SHA-256 of the server's certificate.
        certificate: CertFingerprint,
        /// The RDP account's password.
        password: Credential,
    },
}

/// A target to register.
#[derive(Debug)]
pub struct TargetSpec {
    /// Its name (never reused after removal).
    pub name: TargetName,
    /// Host and port.
    pub address: SshAddress,
    /// The account fumidai logs in as on the target.
    pub login: String,
    /// How, and what is pinned.
    pub access: Access,
    /// Tags (`personal-data`, …).
    pub tags: Vec<Tag>,
    /// Why a factory account (`root`, `Administrator`, …) is used, if it is
    /// (R-10.1-NODEFAULT: refused without one).
    pub shared_admin_reason: Option<String>,
}

/// A change to a registered SSH target.
#[derive(Debug, Default)]
pub struct TargetChange {
    /// A new address.
    pub address: Option<SshAddress>,
    /// A new login, with the reason when it is a factory account.
    pub login: Option<(String, Option<String>)>,
    /// A new way of logging in.
    pub credential: Option<(TargetAuth, Option<Credential>)>,
    /// A new pinned host key.
    pub host_key: Option<HostKey>,
}

/// Registers a target.
pub async fn register(
    store: &dyn Store,
    admin: Admin<'_>,
    spec: TargetSpec,
) -> Result<Target, OpError> {
    let actor = admin.actor()?;
    let (auth, credential, pin) = match spec.access {
        Access::Ssh {
            host_key,
            auth,
            credential,
        } => {
            target::check_target_login(&spec.login)?;
            (auth, credential, TargetPin::SshHostKey(host_key))
        }
        Access::Rdp {
            certificate,
            password,
        } => {
            target::check_rdp_login(&spec.login)?;
            (
                TargetAuth::Password,
                Some(password),
                TargetPin::RdpCertificate(certificate),
            )
        }
    };
    let shared_admin_reason =
        target::shared_admin::check(&spec.login, spec.shared_admin_reason.as_deref())?;
    let new = NewTarget {
        name: spec.name,
        address: spec.address,
        login: spec.login,
        auth,
        credential,
        pin,
        tags: spec.tags,
        shared_admin_reason,
    };
    Ok(store.add_target(new, &actor).await?)
}

/// Changes a registered target.
pub async fn update(
    store: &dyn Store,
    admin: Admin<'_>,
    name: &TargetName,
    change: TargetChange,
) -> Result<Target, OpError> {
    let actor = admin.actor()?;
    let Some(current) = store.target(name).await? else {
        return Err(OpError::NotFound {
            kind: "target",
            kind_ja: "接続先",
            name: name.to_string(),
        });
    };
    let login = match change.login {
        Some((login, reason)) => {
            target::check_target_login(&login)?;
            let reason = target::shared_admin::check(&login, reason.as_deref())?;
            Some((login, reason))
        }
        None => None,
    };
    let update = TargetUpdate {
        address: change.address,
        login,
        credential: change.credential,
        pin: change.host_key.map(TargetPin::SshHostKey),
    };
    if update.is_empty() {
        return Err(OpError::NothingToChange);
    }
    Ok(store.update_target(&current.name, update, &actor).await?)
}

/// Removes a target; its stored credential is erased and its name retired.
pub async fn remove(
    store: &dyn Store,
    admin: Admin<'_>,
    name: &TargetName,
) -> Result<Target, OpError> {
    let actor = admin.actor()?;
    Ok(store.remove_target(name, &actor).await?)
}

/// Contracts `vendor` for `targets` (emergency access becomes possible there, R-11-1).
pub async fn contract(
    store: &dyn Store,
    person: &Person,
    vendor: &VendorName,
    targets: &[TargetName],
) -> Result<Vec<TargetName>, OpError> {
    person.may(Action::ManageAccounts)?;
    Ok(store
        .add_vendor_targets(vendor, targets, &person.actor())
        .await?)
}

/// Ends `vendor`'s contract for `targets`.
pub async fn end_contract(
    store: &dyn Store,
    person: &Person,
    vendor: &VendorName,
    targets: &[TargetName],
) -> Result<Vec<TargetName>, OpError> {
    person.may(Action::ManageAccounts)?;
    Ok(store
        .remove_vendor_targets(vendor, targets, &person.actor())
        .await?)
}

/// The targets `vendor` is contracted for.
pub async fn contracted(
    store: &dyn Store,
    vendor: &VendorName,
) -> Result<Vec<TargetName>, OpError> {
    if store.vendor(vendor).await?.is_none() {
        return Err(OpError::NotFound {
            kind: "vendor",
            kind_ja: "事業者",
            name: vendor.to_string(),
        });
    }
    Ok(store.vendor_targets(vendor).await?)
}
