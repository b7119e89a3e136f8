//! `CacheService`: the one cache interface the business code sees.
//!
//! - No `REDIS_URL`: the in-process memory cache is the only tier.
//! - With Redis: an L1 in memory (optional, short-lived) in front of L2 Redis. Every Redis command
//!   has a short deadline; a failure opens the breaker and memory serves at once; a background
//!   probe returns to Redis when it answers again. A Redis problem never fails a request.
//! - Entries stay past their TTL for a grace period, so an old answer can stand in when the AI
//!   fails (`Lookup::Stale`).

pub mod envelope;
pub mod history;
pub mod invalidation;
pub mod memory;
pub mod payload;

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use self::memory::MemoryCache;
pub use self::payload::Payload;
use crate::{
    clock,
    config::CacheSettings,
    kv::{redis::Redis, Kv, KvError, STATE},
    model::{CacheStats, TierStats, Tiers},
};

/// What a read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Fresh(Payload),
    /// Expired, but inside the grace period.
    Stale(Payload),
    Miss,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    sets: AtomicU64,
    l1_hits: AtomicU64,
    l1_misses: AtomicU64,
    l2_hits: AtomicU64,
    l2_misses: AtomicU64,
    stale_served: AtomicU64,
}

pub struct CacheService {
    prefix: String,
    memory: MemoryCache,
    l1_enabled: bool,
    l1_ttl: Duration,
    grace: Duration,
    kv: Arc<Kv>,
    counters: Counters,
}

impl CacheService {
    /// The cache over `kv` (Redis as L2 when configured), and its invalidation listener.
    pub fn new(kv: Arc<Kv>, settings: &CacheSettings) -> Arc<Self> {
        let service = Arc::new(Self {
            prefix: settings.key_prefix.clone(),
            memory: MemoryCache::new(settings.memory_max_entries),
            l1_enabled: settings.l1_enabled,
            l1_ttl: settings.l1_ttl,
            grace: settings.stale_grace,
            kv,
            counters: Counters::default(),
        });
        if service.kv.configured() {
            invalidation::spawn_listener(Arc::downgrade(&service), settings.redis_probe_interval);
        }
        service
    }

    /// A cache with a Redis link of its own, as `settings` say.
    pub async fn start(settings: &CacheSettings) -> Arc<Self> {
        Self::new(Kv::start(settings).await, settings)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn redis_configured(&self) -> bool {
        self.kv.configured()
    }

    /// Clients to subscribe to invalidations with, in the order to try them.
    fn pubsub_clients(&self) -> Vec<::redis::Client> {
        self.kv.any().map(Redis::pubsub_clients).unwrap_or_default()
    }

    /// Redis, when it is configured and the breaker lets calls through.
    fn live_redis(&self) -> Option<&Redis> {
        self.kv.live()
    }

    /// Whether memory takes part in reads and writes: as L1, or as the only store.
    fn memory_in_use(&self) -> bool {
        self.l1_enabled || self.live_redis().is_none()
    }

    pub fn backend_name(&self) -> &'static str {
        if self.live_redis().is_some() {
            "redis"
        } else {
            "memory"
        }
    }

    fn redis_failed(&self, e: &KvError) {
        self.kv.failed(e);
    }

    fn count(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Looks `key` up in L1, then L2. Counted in the stats.
    pub async fn get(&self, key: &str) -> Lookup {
        let found = self.lookup(key, true).await;
        let counter = match found {
            Lookup::Fresh(_) => &self.counters.hits,
            _ => &self.counters.misses,
        };
        self.count(counter);
        found
    }

    /// A fresh value for `key`, without touching the stats (used while waiting on a lock).
    pub async fn peek_fresh(&self, key: &str) -> Option<Payload> {
        match self.lookup(key, false).await {
            Lookup::Fresh(v) => Some(v),
            _ => None,
        }
    }

    async fn lookup(&self, key: &str, counted: bool) -> Lookup {
        let now = clock::unix_ms();
        let mut stale = None;
        if self.memory_in_use() {
            // The hit path: `Arc` clones, no copy of the payload, and what the caller decoded
            // on an earlier hit comes with it.
            if let Some((payload, fresh_until)) = self.memory.get(key) {
                if now < fresh_until {
                    if counted {
                        self.count(&self.counters.l1_hits);
                    }
                    return Lookup::Fresh(payload);
                }
                stale = Some(payload);
            }
            if counted {
                self.count(&self.counters.l1_misses);
            }
        }
        if let Some(redis) = self.live_redis() {
            match redis.get(key).await {
                Ok(Some((raw, ttl))) => match envelope::open(&raw) {
                    Some((payload, fresh_until)) if now < fresh_until => {
                        if counted {
                            self.count(&self.counters.l2_hits);
                        }
                        let payload = Payload::from(payload);
                        if self.l1_enabled {
                            self.memory.set(
                                key,
                                payload.clone(),
                                fresh_until,
                                ttl.min(self.l1_ttl),
                            );
                        }
                        return Lookup::Fresh(payload);
                    }
                    Some((payload, _)) => stale = Some(Payload::from(payload)),
                    None => {}
                },
                Ok(None) => {}
                Err(e) => self.redis_failed(&e),
            }
            if counted {
                self.count(&self.counters.l2_misses);
            }
        }
        stale.map_or(Lookup::Miss, Lookup::Stale)
    }

    /// Stores `payload`, fresh for `ttl` and kept for the grace period after. A failure is
    /// logged and counted, never returned: the caller already has its answer.
    pub async fn set(&self, key: &str, payload: &str, ttl: Duration) {
        let fresh_until = clock::unix_ms() + ttl.as_millis() as u64;
        let keep = ttl + self.grace;
        let mut stored = false;
        if let Some(redis) = self.live_redis() {
            match redis
                .set(key, &envelope::seal(payload, fresh_until), keep)
                .await
            {
                Ok(()) => stored = true,
                Err(e) => self.redis_failed(&e),
            }
        }
        if self.memory_in_use() {
            // As an L1 in front of a working Redis the entry lives briefly; as the only store it
            // lives as long as Redis would have kept it.
            let life = if stored { keep.min(self.l1_ttl) } else { keep };
            self.memory
                .set(key, Payload::from(payload), fresh_until, life);
            stored = true;
        }
        if stored {
            self.count(&self.counters.sets);
        }
    }

    /// Removes one key here, in Redis, and from every instance's L1.
    pub async fn delete(&self, key: &str) {
        self.memory.remove(key);
        if let Some(redis) = self.live_redis() {
            let result = match redis.delete(key).await {
                Ok(()) => {
                    redis
                        .publish(
                            &invalidation::channel(&self.prefix),
                            &format!("{}{key}", invalidation::DELETE),
                        )
                        .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                self.redis_failed(&e);
            }
        }
    }

    /// Removes this app's entries (those under the key prefix, marks aside) everywhere; returns
    /// how many Redis held (or memory, without Redis).
    pub async fn clear(&self) -> Result<u64, KvError> {
        let local = self.memory.clear_prefix(&self.prefix);
        let removed = match (self.kv.any(), self.live_redis()) {
            (None, _) => Ok(local),
            (Some(_), None) => Err(KvError::Unavailable),
            (Some(_), Some(redis)) => {
                let removed = redis
                    .clear_prefix(&self.prefix, &format!("{}{STATE}", self.prefix))
                    .await;
                if removed.is_ok() {
                    if let Err(e) = redis
                        .publish(&invalidation::channel(&self.prefix), invalidation::CLEAR)
                        .await
                    {
                        tracing::warn!("无法通知其他实例清除本地缓存: {e}");
                    }
                }
                removed
            }
        };
        match &removed {
            Ok(n) => tracing::info!("已清除 {n} 条缓存（前缀 {}）", self.prefix),
            Err(e) => {
                if !matches!(e, KvError::Unavailable) {
                    self.redis_failed(e);
                }
                tracing::warn!("清除缓存失败: {e}");
            }
        }
        removed
    }

    /// Applies a message from the invalidation channel to this instance's L1.
    pub fn apply_invalidation(&self, message: &str) {
        if message == invalidation::CLEAR {
            self.memory.clear_prefix(&self.prefix);
        } else if let Some(key) = message.strip_prefix(invalidation::DELETE) {
            self.memory.remove(key);
        }
    }

    pub fn record_stale_served(&self) {
        self.count(&self.counters.stale_served);
    }

    pub fn stats(&self) -> CacheStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let hits = load(&self.counters.hits);
        let misses = load(&self.counters.misses);
        let total = hits + misses;
        CacheStats {
            hits,
            misses,
            sets: load(&self.counters.sets),
            errors: self.kv.errors(),
            total_requests: total,
            hit_rate: hit_rate(hits, total),
            backend: self.backend_name().to_owned(),
            degraded: self.kv.degraded(),
            redis_configured: self.kv.configured(),
            l1_enabled: self.l1_enabled,
            tiers: Tiers {
                l1: TierStats {
                    hits: load(&self.counters.l1_hits),
                    misses: load(&self.counters.l1_misses),
                },
                l2: TierStats {
                    hits: load(&self.counters.l2_hits),
                    misses: load(&self.counters.l2_misses),
                },
            },
            breaker: self.kv.breaker_stats(),
            stale_served: load(&self.counters.stale_served),
        }
    }
}

/// The seed's format: two decimals and a percent sign; `0.00%` before any request.
pub fn hit_rate(hits: u64, total: u64) -> String {
    if total == 0 {
        return "0.00%".to_owned();
    }
    format!("{:.2}%", hits as f64 * 100.0 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory_settings() -> CacheSettings {
        let mut settings = CacheSettings::memory("t:");
        settings.memory_max_entries = 100;
        settings.redis_probe_interval = Duration::from_millis(100);
        settings.stale_grace = Duration::from_secs(60);
        settings
    }

    #[test]
    fn hit_rate_matches_the_seed() {
        assert_eq!(hit_rate(15, 20), "75.00%");
        assert_eq!(hit_rate(0, 0), "0.00%");
        assert_eq!(hit_rate(1, 3), "33.33%");
    }

    #[tokio::test]
    async fn counts_hits_misses_and_sets() {
        let cache = CacheService::start(&memory_settings()).await;
        assert_eq!(cache.get("t:a").await, Lookup::Miss);
        cache.set("t:a", "x", Duration::from_secs(10)).await;
        assert_eq!(cache.get("t:a").await, Lookup::Fresh("x".into()));
        let s = cache.stats();
        assert_eq!(
            (s.hits, s.misses, s.sets, s.errors, s.total_requests),
            (1, 1, 1, 0, 2)
        );
        assert_eq!(s.hit_rate, "50.00%");
        assert_eq!(s.backend, "memory");
        assert!(!s.degraded);
        assert_eq!(cache.clear().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn expired_entries_are_stale_within_the_grace_period() {
        let cache = CacheService::start(&memory_settings()).await;
        cache.set("t:a", "old", Duration::from_millis(1)).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(cache.get("t:a").await, Lookup::Stale("old".into()));
        assert_eq!(cache.peek_fresh("t:a").await, None);
        assert_eq!(cache.stats().hits, 0);
    }

    #[tokio::test]
    async fn invalidation_messages_drop_l1_entries() {
        let cache = CacheService::start(&memory_settings()).await;
        cache.set("t:a", "1", Duration::from_secs(10)).await;
        cache.set("t:b", "2", Duration::from_secs(10)).await;
        cache.apply_invalidation("del t:a");
        assert_eq!(cache.peek_fresh("t:a").await, None);
        assert!(cache.peek_fresh("t:b").await.is_some());
        cache.apply_invalidation("clear");
        assert_eq!(cache.peek_fresh("t:b").await, None);
    }
}
