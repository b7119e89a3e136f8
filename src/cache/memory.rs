//! The in-process backend: a sharded LRU from `cached`, bounded in entries, each entry with its
//! own expiry.

use std::{sync::Arc, time::Duration};

use cached::{time::Instant, Expires, ShardedExpiringLruCache};

#[derive(Clone)]
struct Entry {
    value: Arc<str>,
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

    pub fn get(&self, key: &str) -> Option<Arc<str>> {
        self.entries.get(key).map(|e| e.value)
    }

    pub fn set(&self, key: &str, value: Arc<str>, ttl: Duration) {
        let expires_at = Instant::now() + ttl;
        self.entries
            .set(key.to_owned(), Entry { value, expires_at });
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
        c.set("k:short", "a".into(), Duration::from_millis(20));
        c.set("k:long", "b".into(), Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get("k:short"), None);
        assert_eq!(c.get("k:long").as_deref(), Some("b"));
    }

    #[test]
    fn entry_count_is_bounded() {
        let c = MemoryCache::new(64);
        for i in 0..1000 {
            c.set(&format!("k:{i}"), "v".into(), Duration::from_secs(60));
        }
        assert!(c.len() <= 128, "{} entries", c.len());
        assert_eq!(c.get("k:999").as_deref(), Some("v"));
    }

    #[test]
    fn clear_touches_only_the_prefix() {
        let c = MemoryCache::new(100);
        c.set("yueen:a", "1".into(), Duration::from_secs(60));
        c.set("yueen:b", "2".into(), Duration::from_secs(60));
        c.set("other:a", "3".into(), Duration::from_secs(60));
        assert_eq!(c.clear_prefix("yueen:"), 2);
        assert_eq!(c.get("yueen:a"), None);
        assert_eq!(c.get("other:a").as_deref(), Some("3"));
    }
}
