//! The failed-login budget per client certificate, kept in memory on this node
//! ([`policy::flood`] decides; this keeps the state and hands out reservations).
//!
//! Per node: with several nodes behind one address, an attacker gets one budget per
//! node, which still bounds the work and the audit records per node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use policy::flood::{self, AfterFailure, Begin, BudgetState, FailureBudget};
use store::CertSerial;

/// Entries past this many are pruned of idle ones. Only certificates that passed the TLS
/// handshake (issued by fumidai's CA, not revoked) get an entry, so the map stays small.
const PRUNE_ABOVE: usize = 1024;

/// Every certificate's budget on this node.
#[derive(Debug)]
pub struct Budgets {
    /// The rule's numbers.
    budget: FailureBudget,
    /// By certificate serial.
    entries: Mutex<HashMap<CertSerial, BudgetState>>,
}

impl Budgets {
    /// Empty budgets under `budget`.
    pub fn new(budget: FailureBudget) -> Arc<Self> {
        Arc::new(Self {
            budget,
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// The rule's numbers.
    pub fn budget(&self) -> &FailureBudget {
        &self.budget
    }

    /// Reserves an attempt for `serial` at `now`, or says until when it is refused.
    pub fn begin(
        self: &Arc<Self>,
        serial: &CertSerial,
        now: DateTime<Utc>,
    ) -> Result<Attempt, DateTime<Utc>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() > PRUNE_ABOVE {
            entries.retain(|_, state| !state.is_idle(&self.budget, now));
        }
        let state = entries.get(serial).copied().unwrap_or_default();
        match flood::begin(&self.budget, state, now) {
            Begin::Proceed(state) => {
                entries.insert(serial.clone(), state);
                Ok(Attempt {
                    budgets: Arc::clone(self),
                    serial: serial.clone(),
                    settled: false,
                })
            }
            Begin::Refuse { until } => Err(until),
        }
    }

    fn update<T>(&self, serial: &CertSerial, f: impl FnOnce(BudgetState) -> (BudgetState, T)) -> T {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let state = entries.get(serial).copied().unwrap_or_default();
        let (state, out) = f(state);
        entries.insert(serial.clone(), state);
        out
    }
}

/// One reserved attempt. Dropped unsettled (store error, the client went away while its
/// hash was verified), it gives its reservation back.
#[derive(Debug)]
pub struct Attempt {
    budgets: Arc<Budgets>,
    serial: CertSerial,
    settled: bool,
}

impl Attempt {
    /// The attempt failed at `now`: counted, and maybe the budget is used up.
    pub fn failed(mut self, now: DateTime<Utc>) -> AfterFailure {
        self.settled = true;
        let budget = *self.budgets.budget();
        self.budgets.update(&self.serial, |state| {
            let after = flood::after_failure(&budget, state, now);
            (after.state(), after)
        })
    }

    /// The attempt succeeded: the budget starts again.
    pub fn succeeded(mut self) {
        self.settled = true;
        self.budgets
            .update(&self.serial, |state| (flood::after_success(state), ()));
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.settled {
            self.budgets
                .update(&self.serial, |state| (flood::release(state), ()));
        }
    }
}
