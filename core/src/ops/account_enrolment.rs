//! Registering vendors and enrolling accounts (R-14-1, R-14-8): a vendor, an engineer of a
//! registered vendor, a hospital-side account with its role — each with a password that
//! passes `policy::password` and a new TOTP secret, shown once. Done by an authenticated
//! administrator (`Action::ManageAccounts`), or, to bootstrap the first accounts, by the
//! host's administrator at the command line ([`Admin::Host`]).

use policy::authority::Action;
use policy::ids::{AccountKind, Login, OperatorRole, VendorName};
use policy::password;
use policy::totp::TotpSecret;
use secrecy::SecretString;
use serde::Serialize;
use store::{Account, Actor, NewAccount, NewVendor, Store, Vendor};

use super::{OpError, Person};

/// Who registers: a signed-in administrator, or the host's administrator (root at the
/// gateway's command line, before any operator exists).
#[derive(Debug)]
pub enum Admin<'a> {
    /// An authenticated person; they must be allowed to manage accounts.
    Person(&'a Person),
    /// The host's administrator, as the audit trail names them (`cli:root`).
    Host(Actor),
}

impl Admin<'_> {
    /// The actor for the audit trail, once allowed.
    pub(super) fn actor(&self) -> Result<Actor, OpError> {
        match self {
            Self::Person(person) => {
                person.may(Action::ManageAccounts)?;
                Ok(person.actor())
            }
            Self::Host(actor) => Ok(actor.clone()),
        }
    }
}

/// An account to enrol.
#[derive(Debug, Clone)]
pub struct AccountSpec {
    /// Its login.
    pub login: Login,
    /// Engineer (vendor side) or operator (hospital side).
    pub kind: AccountKind,
    /// The person's name, if given (also words the password must not contain).
    pub name: Option<String>,
    /// An engineer's vendor.
    pub vendor: Option<VendorName>,
    /// A hospital-side account's role.
    pub role: Option<OperatorRole>,
}

/// A new TOTP enrolment: shown once (secret, its URI for a QR code), never again.
#[derive(Debug, Serialize)]
pub struct Enrolment {
    /// The account as stored.
    pub account: Account,
    /// Base32, for typing into an authenticator app.
    pub totp_secret: String,
    /// `otpauth://` URI, for scanning.
    pub otpauth_uri: String,
}

impl Enrolment {
    /// The enrolment of `secret` for `account`, named by `issuer` in the app.
    pub fn of(account: Account, secret: &TotpSecret, issuer: &str) -> Self {
        Self {
            totp_secret: secret.to_base32(),
            otpauth_uri: secret.otpauth_uri(issuer, account.login.as_str()),
            account,
        }
    }
}

/// Registers a vendor.
pub async fn add_vendor(
    store: &dyn Store,
    admin: Admin<'_>,
    vendor: NewVendor,
) -> Result<Vendor, OpError> {
    let actor = admin.actor()?;
    Ok(store.add_vendor(vendor, &actor).await?)
}

/// Enrols an account with `password` (checked for strength, hashed with Argon2id) and a new
/// TOTP secret named by `issuer`. An engineer's vendor must be registered.
pub async fn enrol(
    store: &dyn Store,
    admin: Admin<'_>,
    spec: AccountSpec,
    (password, issuer): (SecretString, &str),
) -> Result<Enrolment, OpError> {
    let actor = admin.actor()?;
    if let Some(vendor) = &spec.vendor
        && store.vendor(vendor).await?.is_none()
    {
        return Err(OpError::NotFound {
            kind: "vendor",
            kind_ja: "保守事業者",
            name: vendor.to_string(),
        });
    }
    let context: Vec<&str> = spec
        .name
        .iter()
        .flat_map(|n| n.split_whitespace())
        .collect();
    password::check_strength(spec.login.as_str(), &context, &password)?;
    let hash = tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|_| OpError::Interrupted("password hashing"))??;
    let secret = TotpSecret::generate();
    let totp_secret = secret.to_base32();
    let otpauth_uri = secret.otpauth_uri(issuer, spec.login.as_str());
    let new = NewAccount {
        login: spec.login,
        kind: spec.kind,
        display_name: spec.name,
        vendor: spec.vendor,
        role: spec.role,
        password_hash: hash,
        totp_secret: secret,
    };
    let account = store.add_account(new, &actor).await?;
    Ok(Enrolment {
        account,
        totp_secret,
        otpauth_uri,
    })
}
