//! Gathers the facts of `policy::recheck::recheck` for live connections, from the store
//! (issue 12): the same facts login and admission read, so a rule added there (a vendor
//! disabled, a contract ended, a plan status that doesn't admit) applies here too.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use policy::admission::AdmissionFacts;
use policy::ids::{Login, TargetName};
use policy::recheck::{Facts, Held};
use store::{CertSerial, Credentials, Store};

/// One live connection whose authority is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Who and what it holds.
    pub held: Held,
    /// The client certificate it presented; `None` when unknown (then only the account
    /// and the plan are checked: revocation reached it at the handshake).
    pub serial: Option<CertSerial>,
}

/// The facts for each of `holders`, in order: one read of the revoked serials, one of the
/// credentials per engineer and one of the admission facts per engineer and target, the
/// three kinds concurrently.
pub async fn facts(
    store: &dyn Store,
    holders: &[Holder],
    now: DateTime<Utc>,
) -> store::Result<Vec<Facts>> {
    if holders.is_empty() {
        return Ok(Vec::new());
    }
    // The three reads run concurrently: a channel open waits for the slowest, not the sum.
    let revoked = async {
        store
            .revoked_serials()
            .await
            .map(|r| r.into_iter().collect::<HashSet<CertSerial>>())
    };
    let standing = async {
        let mut standing = HashMap::<Login, bool>::new();
        for holder in holders {
            let engineer = &holder.held.engineer;
            if let Entry::Vacant(slot) = standing.entry(engineer.clone()) {
                let good = store
                    .credentials(engineer)
                    .await?
                    .is_some_and(|c| account_in_good_standing(&c, now));
                slot.insert(good);
            }
        }
        Ok::<_, store::Error>(standing)
    };
    let admission = async {
        let mut admission = HashMap::<(Login, TargetName), AdmissionFacts>::new();
        for holder in holders {
            let engineer = &holder.held.engineer;
            if let Some((target, _)) = &holder.held.session
                && let Entry::Vacant(slot) = admission.entry((engineer.clone(), target.clone()))
            {
                slot.insert(store.admission_facts(engineer, target).await?);
            }
        }
        Ok::<_, store::Error>(admission)
    };
    let (revoked, standing, admission) = tokio::try_join!(revoked, standing, admission)?;
    Ok(holders
        .iter()
        .map(|holder| {
            let engineer = &holder.held.engineer;
            let admission = holder
                .held
                .session
                .as_ref()
                .and_then(|(target, _)| admission.get(&(engineer.clone(), target.clone())))
                .cloned()
                .unwrap_or(AdmissionFacts {
                    target_exists: false,
                    plans: Vec::new(),
                    personal_data: false,
                });
            Facts {
                certificate_revoked: holder.serial.as_ref().is_some_and(|s| revoked.contains(s)),
                account_enabled: standing.get(engineer).copied().unwrap_or(false),
                admission,
            }
        })
        .collect())
}

/// Whether an account may log in at `now` as far as its own state goes (enabled; its
/// vendor's state where the store gives it), asked again for every live connection by the
/// re-check ([`facts`]; issue 12). The login (the gateway's `auth`) checks the same facts;
/// a rule added here belongs there too.
/// `now` is for rules with a date (a vendor's contract end).
pub fn account_in_good_standing(credentials: &Credentials, now: DateTime<Utc>) -> bool {
    credentials.account.enabled
        && policy::login::vendor_active(credentials.vendor_enabled, credentials.contract_end, now)
}
