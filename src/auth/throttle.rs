//! Token guessing per client address. Login attempts are counted by governor's keyed GCRA
//! limiter: a burst of `n`, then one more every `60 / n` seconds. Wrong API tokens are counted
//! in one-minute windows: past `n`, the address is refused whatever token it sends until the
//! minute is out, so a guess that happens to be right gains nothing from speed.
//!
//! An address is keyed whole for IPv4 and by its /64 for IPv6 (one client usually holds the
//! whole /64, so it cannot step around the limit). Keys not seen lately are dropped every
//! minute. When a table is full of recent addresses (someone spraying from very many), new ones
//! are counted together by a coarse prefix (/8, or /16 for IPv6) rather than refused outright,
//! so such a flood slows its own neighbourhood, not every client.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    num::NonZeroU32,
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Addresses tracked at most, before new ones are counted by their coarse prefix (of which
/// there are at most 65,792 more).
const MAX_TRACKED: usize = 100_000;

pub struct LoginThrottle {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

/// The key an address is counted under.
fn key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// The prefix an address is counted under when the table is full.
fn coarse(addr: IpAddr) -> IpAddr {
    match key(addr) {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::new(v4.octets()[0], 0, 0, 0)),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::new(v6.segments()[0], 0, 0, 0, 0, 0, 0, 0)),
    }
}

impl LoginThrottle {
    pub fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }

    /// Counts one attempt from `client`: `Err` with the wait when it is one too many.
    pub fn attempt(&self, client: IpAddr) -> Result<(), Duration> {
        let mut counted = key(client);
        if self.limiter.len() >= MAX_TRACKED {
            self.forget_idle();
            if self.limiter.len() >= MAX_TRACKED {
                counted = coarse(client);
            }
        }
        self.limiter.check_key(&counted).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::DefaultClock::default().now())
        })
    }

    /// Drops addresses whose count is back to nothing.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Addresses tracked.
    pub fn tracked(&self) -> usize {
        self.limiter.len()
    }
}

fn minute() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        / 60
}

fn rest_of_minute() -> Duration {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Duration::from_secs(60 - secs % 60)
}

/// Wrong API tokens per address and minute.
pub struct TokenFailures {
    per_minute: u32,
    /// Address (or prefix) → (minute, wrong tokens in it).
    table: Mutex<HashMap<IpAddr, (u64, u32)>>,
    /// Whether the table has anything in it: the common case, nothing, takes no lock.
    any: AtomicBool,
}

impl TokenFailures {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            table: Mutex::default(),
            any: AtomicBool::new(false),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (u64, u32)>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long `client` must wait, when its wrong tokens this minute are used up.
    pub fn refused(&self, client: IpAddr) -> Option<Duration> {
        self.refused_in(client, minute()).then(rest_of_minute)
    }

    fn refused_in(&self, client: IpAddr, now: u64) -> bool {
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        let table = self.table();
        [key(client), coarse(client)]
            .iter()
            .filter_map(|k| table.get(k))
            .any(|&(m, n)| m == now && n >= self.per_minute)
    }

    /// Counts a wrong token from `client`.
    pub fn failed(&self, client: IpAddr) {
        self.failed_in(client, minute());
    }

    fn failed_in(&self, client: IpAddr, now: u64) {
        let mut table = self.table();
        let mut counted = key(client);
        if !table.contains_key(&counted) && table.len() >= MAX_TRACKED {
            table.retain(|_, (m, _)| *m == now);
            if table.len() >= MAX_TRACKED {
                counted = coarse(client);
            }
        }
        let entry = table.entry(counted).or_insert((now, 0));
        if entry.0 != now {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        self.any.store(true, Ordering::Release);
    }

    /// Drops the counts of minutes gone by.
    pub fn forget_idle(&self) {
        let now = minute();
        let mut table = self.table();
        table.retain(|_, (m, _)| *m == now);
        table.shrink_to_fit();
        self.any.store(!table.is_empty(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_passes_then_the_address_waits() {
        let throttle = LoginThrottle::new(3);
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..3 {
            assert!(throttle.attempt(client).is_ok());
        }
        let wait = throttle.attempt(client).unwrap_err();
        assert!(
            wait > Duration::from_secs(10) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        // Another address is counted on its own.
        assert!(throttle.attempt("203.0.113.8".parse().unwrap()).is_ok());
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let throttle = LoginThrottle::new(1);
        assert!(throttle.attempt("2001:db8:1:2::1".parse().unwrap()).is_ok());
        assert!(throttle
            .attempt("2001:db8:1:2:ffff::9".parse().unwrap())
            .is_err());
        assert!(throttle.attempt("2001:db8:1:3::1".parse().unwrap()).is_ok());
        assert_eq!(throttle.tracked(), 2);
    }

    #[test]
    fn a_full_table_counts_new_addresses_by_their_prefix() {
        let throttle = LoginThrottle::new(1);
        for n in 0..MAX_TRACKED as u32 {
            let _ = throttle.attempt(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)));
        }
        // A new address still gets in, counted with its /8.
        assert!(throttle.attempt("198.51.100.1".parse().unwrap()).is_ok());
        assert!(throttle.attempt("198.0.0.9".parse().unwrap()).is_err());
        assert!(throttle.attempt("203.0.113.1".parse().unwrap()).is_ok());
    }

    #[test]
    fn wrong_tokens_past_the_limit_refuse_the_address() {
        let failures = TokenFailures::new(2);
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        assert!(!failures.refused_in(client, 7));
        failures.failed_in(client, 7);
        assert!(!failures.refused_in(client, 7));
        failures.failed_in(client, 7);
        assert!(failures.refused_in(client, 7), "refused after two");
        assert!(!failures.refused_in("203.0.113.8".parse().unwrap(), 7));
        assert!(!failures.refused_in(client, 8), "until the minute is out");
        failures.failed_in(client, 8);
        assert!(
            !failures.refused_in(client, 8),
            "a new minute counts from zero"
        );
    }
}
