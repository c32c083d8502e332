//! The console's bound on sign-in attempts, per client address and per login, in memory
//! (one node's view; the account lock-out in the store is what holds across nodes). An
//! attempt over the bound is refused before any password is hashed or any record written.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::settings::LoginLimits;

/// Most keys remembered; beyond, expired ones are dropped first, and if that is not
/// enough, new keys are refused (fail closed) until windows expire.
const MAX_KEYS: usize = 10_000;
/// Longest login kept as a key: whatever was typed, cut.
const MAX_LOGIN_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    Login(String),
}

/// Counts attempts per key in fixed windows.
#[derive(Debug)]
pub(crate) struct LoginLimiter {
    limits: LoginLimits,
    windows: Mutex<HashMap<Key, (DateTime<Utc>, u32)>>,
}

impl LoginLimiter {
    pub(crate) fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt at `login` from `addr` at `now`; `false` when either bound is
    /// reached (then nothing is counted).
    pub(crate) fn admit(&self, addr: Option<IpAddr>, login: &str, now: DateTime<Utc>) -> bool {
        let login_key = Key::Login(login.trim().chars().take(MAX_LOGIN_CHARS).collect());
        let mut keys = vec![(login_key, self.limits.per_login)];
        if let Some(addr) = addr {
            keys.push((Key::Address(addr), self.limits.per_address));
        }
        let Ok(mut windows) = self.windows.lock() else {
            return false;
        };
        if windows.len() >= MAX_KEYS {
            let window = self.limits.window;
            windows.retain(|_, (start, _)| now - *start < window);
        }
        let current = |windows: &HashMap<Key, (DateTime<Utc>, u32)>, key: &Key| {
            windows
                .get(key)
                .filter(|(start, _)| now - *start < self.limits.window)
                .map_or(0, |(_, n)| *n)
        };
        let full = windows.len() >= MAX_KEYS;
        for (key, max) in &keys {
            let n = current(&windows, key);
            if n >= *max || (full && n == 0) {
                return false;
            }
        }
        for (key, _) in keys {
            let n = current(&windows, &key);
            let start = match windows.get(&key) {
                Some((start, _)) if n > 0 => *start,
                _ => now,
            };
            windows.insert(key, (start, n.saturating_add(1)));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn bounds_per_login_and_per_address_in_windows() {
        let limiter = LoginLimiter::new(LoginLimits {
            per_address: 3,
            per_login: 2,
            window: Duration::minutes(15),
        });
        let t = Utc::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiter.admit(Some(a), "olga", t));
        assert!(limiter.admit(Some(b), "olga", t));
        // The login's bound, from any address.
        assert!(!limiter.admit(Some(a), "olga", t));
        assert!(!limiter.admit(None, " olga ", t));
        // The address's bound, whatever the login.
        assert!(limiter.admit(Some(a), "mori", t));
        assert!(limiter.admit(Some(a), "kansa", t));
        assert!(!limiter.admit(Some(a), "sato", t));
        // A refused attempt counted nothing: `sato` is still fresh elsewhere.
        assert!(limiter.admit(Some(b), "sato", t));
        // A new window.
        let later = t + Duration::minutes(15);
        assert!(limiter.admit(Some(a), "olga", later));
    }
}
