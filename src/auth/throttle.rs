//! Wrong tokens per client address, from the login form and the API alike. Only failures are
//! counted, by governor's keyed GCRA limiter: a burst of `n`, then one more every `60 / n`
//! seconds. A valid token is never refused because of what others at the same address (a
//! company's NAT, a proxy not listed as trusted) sent: it is checked first and always passes.
//! A wrong token past the limit is answered 429 with the wait, and slowly (`SLOWDOWN`), so
//! guessing from one address costs time as well as connections (see `MAX_CONNECTIONS_PER_IP`).
//!
//! An address is keyed whole for IPv4 and by its /64 for IPv6 (one client usually holds the
//! whole /64, so it cannot step around the limit). Keys not seen lately are dropped every
//! minute. When the table is full of recent addresses (someone spraying from very many), new
//! ones are counted together by a coarse prefix (/8, or /16 for IPv6) rather than refused
//! outright, so such a flood slows its own neighbourhood, not every client.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    num::NonZeroU32,
    time::Duration,
};

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Addresses tracked at most, before new ones are counted by their coarse prefix (of which
/// there are at most 65,792 more).
const MAX_TRACKED: usize = 100_000;

/// How long the answer to a wrong token past the limit is held back.
pub const SLOWDOWN: Duration = Duration::from_secs(1);

/// The key an address is counted under: IPv4 whole, IPv6 by its /64 (as the per-address
/// connection cap counts it).
pub use super::client::client_key as key;

/// The prefix an address is counted under when the table is full.
fn coarse(addr: IpAddr) -> IpAddr {
    match key(addr) {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::new(v4.octets()[0], 0, 0, 0)),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::new(v6.segments()[0], 0, 0, 0, 0, 0, 0, 0)),
    }
}

/// Wrong tokens per address.
pub struct Failures {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl Failures {
    /// `per_minute` wrong tokens an address may send (in a burst, then spread out).
    pub fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }

    /// Counts a wrong token from `client`: `Err` with the wait when it is one too many.
    pub fn failed(&self, client: IpAddr) -> Result<(), Duration> {
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

    /// Counts a wrong token from `client` (when known) and, when it is one too many, holds the
    /// answer back `SLOWDOWN` before giving the wait the client must observe.
    pub async fn refuse_slowly(&self, client: Option<std::net::IpAddr>) -> Option<Duration> {
        let wait = self.failed(client?).err()?;
        tokio::time::sleep(SLOWDOWN).await;
        Some(wait)
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
        let failures = Failures::new(3);
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..3 {
            assert!(failures.failed(client).is_ok());
        }
        let wait = failures.failed(client).unwrap_err();
        assert!(
            wait > Duration::from_secs(10) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        // Another address is counted on its own.
        assert!(failures.failed("203.0.113.8".parse().unwrap()).is_ok());
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let failures = Failures::new(1);
        assert!(failures.failed("2001:db8:1:2::1".parse().unwrap()).is_ok());
        assert!(failures
            .failed("2001:db8:1:2:ffff::9".parse().unwrap())
            .is_err());
        assert!(failures.failed("2001:db8:1:3::1".parse().unwrap()).is_ok());
        assert_eq!(failures.tracked(), 2);
        assert_eq!(
            key("::ffff:198.51.100.4".parse().unwrap()),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_full_table_counts_new_addresses_by_their_prefix() {
        let failures = Failures::new(1);
        for n in 0..MAX_TRACKED as u32 {
            let _ = failures.failed(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)));
        }
        // A new address is still counted, with its /8.
        assert!(failures.failed("198.51.100.1".parse().unwrap()).is_ok());
        assert!(failures.failed("198.0.0.9".parse().unwrap()).is_err());
        assert!(failures.failed("203.0.113.1".parse().unwrap()).is_ok());
    }
}
