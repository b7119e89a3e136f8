//! How many connections each client address holds, so one client cannot take every place.
//! Addresses are keyed as the throttle keys them (IPv4 whole, IPv6 by its /64); trusted proxies
//! are not counted, since each carries many clients. The table holds only addresses with a
//! connection open, so it is never larger than the number of connections.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

pub struct PerIp {
    max: usize,
    trusted: Arc<[IpAddr]>,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection counted against its address; uncounted when dropped.
pub struct Counted {
    table: Arc<PerIp>,
    key: Option<IpAddr>,
}

impl PerIp {
    pub fn new(max: usize, trusted: Arc<[IpAddr]>) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            trusted,
            open: Mutex::default(),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a connection from `peer`, or `None` when its address holds as many as it may.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Counted> {
        if self.trusted.contains(&crate::auth::client::canonical(peer)) {
            return Some(Counted {
                table: self.clone(),
                key: None,
            });
        }
        let key = crate::auth::client::client_key(peer);
        let mut open = self.table();
        let held = open.entry(key).or_insert(0);
        if *held >= self.max {
            return None;
        }
        *held += 1;
        Some(Counted {
            table: self.clone(),
            key: Some(key),
        })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let Some(key) = self.key else {
            return;
        };
        let mut open = self.table.table();
        if let Some(held) = open.get_mut(&key) {
            *held -= 1;
            if *held == 0 {
                open.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_share_and_gets_it_back() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let table = PerIp::new(2, Arc::from([proxy]));
        let client: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let first = table.admit(client).unwrap();
        let _second = table.admit("2001:db8:1:2::ff".parse().unwrap()).unwrap();
        assert!(table.admit(client).is_none(), "one /64, two places");
        assert!(table.admit("2001:db8:1:3::1".parse().unwrap()).is_some());
        drop(first);
        assert!(table.admit(client).is_some());
        let through_proxy: Vec<_> = (0..10).map(|_| table.admit(proxy).unwrap()).collect();
        assert_eq!(through_proxy.len(), 10, "a trusted proxy is not counted");
        let mapped: IpAddr = "::ffff:10.0.0.2".parse().unwrap();
        assert!(
            (0..5).all(|_| table.admit(mapped).is_some()),
            "seen over IPv6 too"
        );
        drop(through_proxy);
        assert_eq!(table.table().len(), 1);
    }
}
