//! Login attempts per client address, counted by governor's keyed GCRA limiter: a burst of
//! `n`, then one more every `60 / n` seconds. An address is keyed whole for IPv4 and by its /64
//! for IPv6 (one client usually holds the whole /64, so it cannot step around the limit). Keys
//! not seen lately are dropped every minute, so the table holds only recent addresses.

use std::{
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
    time::Duration,
};

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Addresses tracked at most. Past this (many addresses within a minute), idle ones are
/// dropped at once, and while the table is still full a new address waits a minute.
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

impl LoginThrottle {
    pub fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }

    /// Counts one attempt from `client`: `Err` with the wait when it is one too many.
    pub fn attempt(&self, client: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() >= MAX_TRACKED {
            self.forget_idle();
            if self.limiter.len() >= MAX_TRACKED {
                return Err(Duration::from_secs(60));
            }
        }
        self.limiter.check_key(&key(client)).map_err(|not_until| {
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
}
