//! The Redis link the cache and the coordination store share: one connection (to a server,
//! through Sentinel, or to a cluster), one breaker and one probe. Every command has a short
//! deadline; a failure opens the breaker, and both then use their own memory until the probe
//! finds Redis answering again. What is kept in Redis is theirs to decide.

pub mod breaker;
pub mod redis;

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Weak,
    },
    time::Duration,
};

use tokio::sync::watch;

use self::{breaker::Breaker, redis::Redis};
use crate::{config::CacheSettings, model::BreakerStats};

#[derive(Debug, Clone, thiserror::Error)]
pub enum KvError {
    #[error("Redis 命令超时")]
    Timeout,
    #[error("{0}")]
    Redis(String),
    #[error("Redis 暂时不可用")]
    Unavailable,
}

/// What to add to one hash: by how much each field grows, and a time to live to give it anew.
#[derive(Clone, Copy)]
pub struct HashAdd<'a> {
    pub name: &'a str,
    pub ttl: Option<Duration>,
    pub fields: &'a [(String, i64)],
}

/// Where the coordination store's state lives under the key prefix: clearing the cache leaves
/// it.
pub const STATE: &str = "state:";

pub const MEMORY_STARTED: &str = "缓存服务已启动，使用内存缓存后端（降级模式）";
pub const REDIS_STARTED: &str = "缓存服务已启动，使用 Redis 后端";

pub struct Kv {
    redis: Option<Redis>,
    breaker: Breaker,
    errors: AtomicU64,
    /// Counts the times the probe took Redis back.
    recovered: watch::Sender<u64>,
}

impl Kv {
    /// Connects when `REDIS_URL` is set, logging the seed's lines, and starts the probe.
    pub async fn start(settings: &CacheSettings) -> Arc<Self> {
        let breaker = Breaker::default();
        let redis = match Redis::connect(&settings.backend, settings.redis_timeout).await {
            None => None,
            Some(Ok(redis)) => {
                tracing::info!("成功连接到 Redis: {}", redis.current_url());
                Some(redis)
            }
            Some(Err((e, later))) => {
                breaker.trip(&e.to_string());
                if later.is_none() {
                    tracing::error!("Redis 配置无法使用: {e}");
                }
                later
            }
        };
        if redis.is_some() && !breaker.is_open() {
            tracing::info!("{REDIS_STARTED}");
        } else {
            tracing::info!("{MEMORY_STARTED}");
        }
        let kv = Arc::new(Self {
            redis,
            breaker,
            errors: AtomicU64::new(0),
            recovered: watch::Sender::new(0),
        });
        if kv.redis.is_some() {
            spawn_probe(Arc::downgrade(&kv), settings.redis_probe_interval);
        }
        kv
    }

    pub fn configured(&self) -> bool {
        self.redis.is_some()
    }

    /// Redis, when it is configured and the breaker lets calls through.
    pub fn live(&self) -> Option<&Redis> {
        self.redis.as_ref().filter(|_| !self.breaker.is_open())
    }

    /// Redis whatever the breaker says: for giving things back, which may as well be tried.
    pub fn any(&self) -> Option<&Redis> {
        self.redis.as_ref()
    }

    /// Whether Redis is configured but not in use now.
    pub fn degraded(&self) -> bool {
        self.redis.is_some() && self.breaker.is_open()
    }

    /// Counts a failed command and opens the breaker.
    pub fn failed(&self, e: &KvError) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.breaker.trip(&e.to_string());
    }

    /// `result`'s value, or `None` after counting its failure.
    pub fn ok<T>(&self, result: Result<T, KvError>) -> Option<T> {
        result.map_err(|e| self.failed(&e)).ok()
    }

    /// Failed commands so far.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    pub fn breaker_stats(&self) -> BreakerStats {
        self.breaker.stats()
    }

    /// Changes each time Redis is taken back after an outage.
    pub fn recoveries(&self) -> watch::Receiver<u64> {
        self.recovered.subscribe()
    }
}

/// Checks a degraded Redis every `interval` and takes it back when it answers.
fn spawn_probe(kv: Weak<Kv>, interval: Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let Some(kv) = kv.upgrade() else {
                return;
            };
            if !kv.breaker.is_open() {
                continue;
            }
            if let Some(redis) = &kv.redis {
                if redis.probe().await.is_ok() {
                    kv.breaker.reset();
                    kv.recovered.send_modify(|n| *n += 1);
                }
            }
        }
    });
}
