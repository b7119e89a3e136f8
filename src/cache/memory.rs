//! The in-process backend: a sharded LRU from `cached`, bounded in entries, each entry with its
//! own expiry.

use std::time::Duration;

use cached::{time::Instant, Expires, ShardedExpiringLruCache};

use super::payload::Payload;

#[derive(Clone)]
struct Entry {
    /// Its text, and what the caller decoded it into on the first hit.
    value: Payload,
    /// When the value stops being fresh (ms since the epoch); it is kept, stale, until
    /// `expires_at`.
    fresh_until_ms: u64,
    expires_at: Instant,
}

impl Expires for Entry {
    fn is_expired(&self) -> bool {
        Instant::now() >= self.expires_at
    }

    fn expires_at(&self) -> Option<Instant> {
        Some(self.expires_at)
    }
}

pub struct MemoryCache {
    entries: ShardedExpiringLruCache<String, Entry>,
}

impl MemoryCache {
    pub fn new(max_entries: usize) -> Self {
        Self {
            entries: ShardedExpiringLruCache::new(max_entries.max(1)),
        }
    }

    /// The value and the moment it stops being fresh (ms since the epoch).
    pub fn get(&self, key: &str) -> Option<(Payload, u64)> {
        self.entries.get(key).map(|e| (e.value, e.fresh_until_ms))
    }

    /// Keeps `value` for `ttl`; it counts as fresh until `fresh_until_ms`.
    pub fn set(&self, key: &str, value: Payload, fresh_until_ms: u64, ttl: Duration) {
        let expires_at = Instant::now() + ttl;
        self.entries.set(
            key.to_owned(),
            Entry {
                value,
                fresh_until_ms,
                expires_at,
            },
        );
    }

    pub fn remove(&self, key: &str) {
        self.entries.remove(key);
    }

    /// Removes the live entries under `prefix`; returns how many there were.
    pub fn clear_prefix(&self, prefix: &str) -> u64 {
        let mut removed = 0;
        self.entries.retain(|k, e| {
            let drop = k.starts_with(prefix);
            if drop && !e.is_expired() {
                removed += 1;
            }
            !drop
        });
        removed
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_on_their_own_ttl() {
        let c = MemoryCache::new(100);
        c.set("k:short", "a".into(), 0, Duration::from_millis(20));
        c.set("k:long", "b".into(), 0, Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get("k:short"), None);
        assert_eq!(c.get("k:long").map(|(v, _)| v), Some("b".into()));
    }

    #[test]
    fn entry_count_is_bounded() {
        let c = MemoryCache::new(64);
        for i in 0..1000 {
            c.set(&format!("k:{i}"), "v".into(), 0, Duration::from_secs(60));
        }
        assert!(c.len() <= 128, "{} entries", c.len());
        assert!(c.get("k:999").is_some());
    }

    #[test]
    fn clear_touches_only_the_prefix() {
        let c = MemoryCache::new(100);
        c.set("yueen:a", "1".into(), 0, Duration::from_secs(60));
        c.set("yueen:b", "2".into(), 0, Duration::from_secs(60));
        c.set("other:a", "3".into(), 0, Duration::from_secs(60));
        assert_eq!(c.clear_prefix("yueen:"), 2);
        assert_eq!(c.get("yueen:a"), None);
        assert!(c.get("other:a").is_some());
    }
}
