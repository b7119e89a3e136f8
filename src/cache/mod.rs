//! `CacheService`: the one cache interface the business code sees. Behind it, Redis when
//! `REDIS_URL` is set and reachable, else the in-process memory cache — chosen at startup as in
//! the seed's flow chart. A Redis error never fails a request: a failed read is a miss, a failed
//! write is logged and counted.

pub mod history;
pub mod key;
pub mod memory;
pub mod redis;

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use serde::Serialize;

use self::{memory::MemoryCache, redis::RedisCache};
use crate::config::CacheSettings;

#[derive(Debug, Clone, thiserror::Error)]
pub enum CacheError {
    #[error("Redis 命令超时")]
    Timeout,
    #[error("{0}")]
    Redis(String),
}

enum Backend {
    Memory(MemoryCache),
    Redis(RedisCache),
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    sets: AtomicU64,
    errors: AtomicU64,
}

/// The seed's stats, plus which backend serves them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub sets: u64,
    pub errors: u64,
    pub total_requests: u64,
    pub hit_rate: String,
    /// `redis` or `memory`.
    pub backend: &'static str,
    /// True when Redis was configured but memory is serving.
    pub degraded: bool,
}

pub struct CacheService {
    backend: Backend,
    prefix: String,
    redis_configured: bool,
    counters: Counters,
}

pub const MEMORY_STARTED: &str = "缓存服务已启动，使用内存缓存后端（降级模式）";
pub const REDIS_STARTED: &str = "缓存服务已启动，使用 Redis 后端";

impl CacheService {
    /// Picks the backend exactly as the seed describes, logging its lines.
    pub async fn start(settings: &CacheSettings) -> Self {
        let backend = match &settings.redis_url {
            None => None,
            Some(url) => match RedisCache::connect(url, settings.redis_timeout).await {
                Ok(redis) => {
                    tracing::info!("成功连接到 Redis: {}", url.redacted());
                    Some(redis)
                }
                Err(e) => {
                    tracing::warn!("Redis 不可用，降级到内存缓存: {e}");
                    None
                }
            },
        };
        let backend = match backend {
            Some(redis) => {
                tracing::info!("{REDIS_STARTED}");
                Backend::Redis(redis)
            }
            None => {
                tracing::info!("{MEMORY_STARTED}");
                Backend::Memory(MemoryCache::new(settings.memory_max_entries))
            }
        };
        Self {
            backend,
            prefix: settings.key_prefix.clone(),
            redis_configured: settings.redis_url.is_some(),
            counters: Counters::default(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn redis_configured(&self) -> bool {
        self.redis_configured
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Memory(_) => "memory",
            Backend::Redis(_) => "redis",
        }
    }

    /// The cached value for `key`, if any. Errors count as misses.
    pub async fn get(&self, key: &str) -> Option<Arc<str>> {
        let found = match &self.backend {
            Backend::Memory(m) => m.get(key),
            Backend::Redis(r) => match r.get(key).await {
                Ok(v) => v,
                Err(e) => {
                    self.counters.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("读取 Redis 缓存失败，按未命中处理: {e}");
                    None
                }
            },
        };
        let counter = if found.is_some() {
            &self.counters.hits
        } else {
            &self.counters.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Stores `value` for `ttl`. A failure is logged and counted, never returned: the caller
    /// already has its answer.
    pub async fn set(&self, key: &str, value: Arc<str>, ttl: Duration) {
        let result = match &self.backend {
            Backend::Memory(m) => {
                m.set(key, value, ttl);
                Ok(())
            }
            Backend::Redis(r) => r.set(key, &value, ttl).await,
        };
        match result {
            Ok(()) => {
                self.counters.sets.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("写入 Redis 缓存失败: {e}");
            }
        }
    }

    /// Removes this app's entries (those under the key prefix); returns how many went.
    pub async fn clear(&self) -> Result<u64, CacheError> {
        let removed = match &self.backend {
            Backend::Memory(m) => Ok(m.clear_prefix(&self.prefix)),
            Backend::Redis(r) => r.clear_prefix(&self.prefix).await,
        };
        match &removed {
            Ok(n) => tracing::info!("已清除 {n} 条缓存（前缀 {}）", self.prefix),
            Err(e) => {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("清除缓存失败: {e}");
            }
        }
        removed
    }

    pub fn stats(&self) -> CacheStats {
        let hits = self.counters.hits.load(Ordering::Relaxed);
        let misses = self.counters.misses.load(Ordering::Relaxed);
        let total = hits + misses;
        CacheStats {
            hits,
            misses,
            sets: self.counters.sets.load(Ordering::Relaxed),
            errors: self.counters.errors.load(Ordering::Relaxed),
            total_requests: total,
            hit_rate: hit_rate(hits, total),
            backend: self.backend_name(),
            degraded: self.redis_configured && matches!(self.backend, Backend::Memory(_)),
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
        CacheSettings {
            redis_url: None,
            key_prefix: "t:".into(),
            memory_max_entries: 100,
            redis_timeout: Duration::from_millis(100),
        }
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
        assert_eq!(cache.get("t:a").await, None);
        cache.set("t:a", "x".into(), Duration::from_secs(10)).await;
        assert_eq!(cache.get("t:a").await.as_deref(), Some("x"));
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
}
