//! `CacheService`: the one cache interface the business code sees.
//!
//! - No `REDIS_URL`: the in-process memory cache is the only tier.
//! - With Redis: an L1 in memory (optional, short-lived) in front of L2 Redis. Every Redis command
//!   has a short deadline; a failure opens the breaker and memory serves at once; a background
//!   probe returns to Redis when it answers again. A Redis problem never fails a request.
//! - Entries stay past their TTL for a grace period, so an old answer can stand in when the AI
//!   fails (`Lookup::Stale`).

pub mod breaker;
pub mod envelope;
pub mod history;
pub mod invalidation;
pub mod memory;
pub mod payload;
pub mod redis;

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

pub use self::payload::Payload;
use self::{
    breaker::Breaker,
    memory::MemoryCache,
    redis::{LockToken, RedisCache},
};
use crate::{
    config::CacheSettings,
    model::{CacheStats, TierStats, Tiers},
};

#[derive(Debug, Clone, thiserror::Error)]
pub enum CacheError {
    #[error("Redis 命令超时")]
    Timeout,
    #[error("{0}")]
    Redis(String),
    #[error("Redis 暂时不可用")]
    Unavailable,
}

/// What a read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Fresh(Payload),
    /// Expired, but inside the grace period.
    Stale(Payload),
    Miss,
}

/// A cross-instance lock this process holds: given back with `release`, or, should its holder
/// be dropped first (a request that went away), when dropped; and by a stopping instance
/// (`release_held_locks`) if its holder is still running then.
pub struct HeldLock {
    cache: Arc<CacheService>,
    id: u64,
    token: Option<LockToken>,
}

impl HeldLock {
    pub async fn release(mut self) {
        if let Some(token) = self.token.take() {
            self.cache.forget_lock(self.id);
            self.cache.unlock(token).await;
        }
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            self.cache.forget_lock(self.id);
            let cache = self.cache.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { cache.unlock(token).await });
            }
        }
    }
}

/// The outcome of asking for the cross-instance lock on a key.
pub enum LockAttempt {
    Held(HeldLock),
    /// Another instance holds it.
    Busy,
    /// No Redis to lock with: go ahead without.
    Unavailable,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    sets: AtomicU64,
    errors: AtomicU64,
    l1_hits: AtomicU64,
    l1_misses: AtomicU64,
    l2_hits: AtomicU64,
    l2_misses: AtomicU64,
    stale_served: AtomicU64,
}

pub struct CacheService {
    prefix: String,
    memory: MemoryCache,
    /// Marks set or seen by this instance, so they hold while Redis is away.
    marks: MemoryCache,
    /// Locks held now, by id, for a stopping instance to give back.
    held_locks: Mutex<HashMap<u64, LockToken>>,
    next_lock: AtomicU64,
    /// Marks set while Redis was away (key, until in epoch ms), written there when it is back.
    unsent_marks: Mutex<HashMap<String, u64>>,
    l1_enabled: bool,
    l1_ttl: Duration,
    grace: Duration,
    redis: Option<RedisCache>,
    breaker: Breaker,
    counters: Counters,
}

/// Marks kept in memory, at most (a mark is a few dozen bytes).
const MAX_MARKS: usize = 100_000;

pub const MEMORY_STARTED: &str = "缓存服务已启动，使用内存缓存后端（降级模式）";
pub const REDIS_STARTED: &str = "缓存服务已启动，使用 Redis 后端";

impl CacheService {
    /// Picks the backend as the seed describes, logging its lines, and starts the probe and the
    /// invalidation listener when Redis is configured.
    pub async fn start(settings: &CacheSettings) -> Arc<Self> {
        let breaker = Breaker::default();
        let redis = match RedisCache::connect(&settings.backend, settings.redis_timeout).await {
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
        let service = Arc::new(Self {
            prefix: settings.key_prefix.clone(),
            memory: MemoryCache::new(settings.memory_max_entries),
            marks: MemoryCache::new(MAX_MARKS),
            unsent_marks: Mutex::default(),
            held_locks: Mutex::default(),
            next_lock: AtomicU64::new(0),
            l1_enabled: settings.l1_enabled,
            l1_ttl: settings.l1_ttl,
            grace: settings.stale_grace,
            redis,
            breaker,
            counters: Counters::default(),
        });
        if service.redis.is_some() {
            spawn_probe(Arc::downgrade(&service), settings.redis_probe_interval);
            invalidation::spawn_listener(Arc::downgrade(&service), settings.redis_probe_interval);
        }
        service
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn redis_configured(&self) -> bool {
        self.redis.is_some()
    }

    /// Clients to subscribe to invalidations with, in the order to try them.
    fn pubsub_clients(&self) -> Vec<::redis::Client> {
        self.redis
            .as_ref()
            .map(RedisCache::pubsub_clients)
            .unwrap_or_default()
    }

    /// Redis, when it is configured and the breaker lets calls through.
    fn live_redis(&self) -> Option<&RedisCache> {
        self.redis.as_ref().filter(|_| !self.breaker.is_open())
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

    fn redis_failed(&self, e: &CacheError) {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        self.breaker.trip(&e.to_string());
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
        let now = envelope::now_ms();
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
        let fresh_until = envelope::now_ms() + ttl.as_millis() as u64;
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
    pub async fn clear(&self) -> Result<u64, CacheError> {
        let local = self.memory.clear_prefix(&self.prefix);
        let removed = match (&self.redis, self.live_redis()) {
            (None, _) => Ok(local),
            (Some(_), None) => Err(CacheError::Unavailable),
            (Some(_), Some(redis)) => {
                let removed = redis.clear_prefix(&self.prefix, &self.state_key("")).await;
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
                if !matches!(e, CacheError::Unavailable) {
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

    /// The key of `kind` (a lock, a hand-off) that goes with cache key `key`.
    fn beside(&self, kind: &str, key: &str) -> String {
        format!(
            "{}{kind}:{}",
            self.prefix,
            key.strip_prefix(&self.prefix).unwrap_or(key)
        )
    }

    fn lock_key(&self, key: &str) -> String {
        self.beside("lock", key)
    }

    /// Asks for the cross-instance lock on `key`, held at most `ttl`.
    pub async fn lock(self: &Arc<Self>, key: &str, ttl: Duration) -> LockAttempt {
        let Some(redis) = self.live_redis() else {
            return LockAttempt::Unavailable;
        };
        match redis.try_lock(&self.lock_key(key), ttl).await {
            Ok(Some(token)) => {
                let id = self.next_lock.fetch_add(1, Ordering::Relaxed);
                self.locks().insert(id, token.clone());
                LockAttempt::Held(HeldLock {
                    cache: self.clone(),
                    id,
                    token: Some(token),
                })
            }
            Ok(None) => LockAttempt::Busy,
            Err(e) => {
                self.redis_failed(&e);
                LockAttempt::Unavailable
            }
        }
    }

    fn locks(&self) -> std::sync::MutexGuard<'_, HashMap<u64, LockToken>> {
        self.held_locks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn forget_lock(&self, id: u64) {
        self.locks().remove(&id);
    }

    /// Gives back every lock still held (a stopping instance whose writers did not finish), so
    /// other instances need not wait for them to expire; how many there were.
    pub async fn release_held_locks(&self) -> usize {
        let held: Vec<LockToken> = self.locks().drain().map(|(_, token)| token).collect();
        let count = held.len();
        for token in held {
            self.unlock(token).await;
        }
        count
    }

    async fn unlock(&self, token: LockToken) {
        if let Some(redis) = &self.redis {
            if let Err(e) = redis.unlock(token).await {
                tracing::warn!("释放生成锁失败（将自动过期）: {e}");
            }
        }
    }

    /// Leaves the lock holder's answer for `key` to the instances waiting on the lock, when it
    /// is not one the cache keeps as fresh: only they read it, and it lasts `ttl`. In Redis
    /// only (an instance's own callers share its single flight); not a cache entry, so not
    /// counted as one.
    pub async fn hand_off(&self, key: &str, payload: &str, ttl: Duration) {
        let Some(redis) = self.live_redis() else {
            return;
        };
        let until = envelope::now_ms() + ttl.as_millis() as u64;
        if let Err(e) = redis
            .set(
                &self.beside("handoff", key),
                &envelope::seal(payload, until),
                ttl,
            )
            .await
        {
            self.redis_failed(&e);
        }
    }

    /// The answer the last lock holder left for `key`'s waiters, if it is still there.
    pub async fn handed_off(&self, key: &str) -> Option<Payload> {
        let redis = self.live_redis()?;
        match redis.get(&self.beside("handoff", key)).await {
            Ok(Some((raw, _))) => envelope::open(&raw).map(|(payload, _)| Payload::from(payload)),
            Ok(None) => None,
            Err(e) => {
                self.redis_failed(&e);
                None
            }
        }
    }

    /// Whether someone holds the lock on `key`; `None` when Redis cannot tell.
    pub async fn lock_held(&self, key: &str) -> Option<bool> {
        let redis = self.live_redis()?;
        match redis.exists(&self.lock_key(key)).await {
            Ok(held) => Some(held),
            Err(e) => {
                self.redis_failed(&e);
                None
            }
        }
    }

    /// Where state lives (marks, counters, leases): under the prefix, but not cache entries —
    /// clearing the cache leaves it.
    fn state_key(&self, name: &str) -> String {
        format!("{}state:{name}", self.prefix)
    }

    /// Redis for state operations, when it can be used; `None` means this instance is on its
    /// own and keeps such state in memory.
    pub fn shared(&self) -> Option<SharedState<'_>> {
        self.live_redis()
            .map(|redis| SharedState { cache: self, redis })
    }

    /// Marks `name` for `ttl`, here and in Redis for every instance — at once, or, while Redis is
    /// away, as soon as it is back. Marks are state, not cached answers: clearing the cache
    /// leaves them.
    pub async fn mark(&self, name: &str, ttl: Duration) {
        let key = self.state_key(&format!("mark:{name}"));
        let until = envelope::now_ms() + ttl.as_millis() as u64;
        self.marks.set(&key, Payload::from(""), until, ttl);
        if self.redis.is_none() {
            return;
        }
        let sent = match self.live_redis() {
            Some(redis) => redis
                .mark(&key, ttl)
                .await
                .map_err(|e| self.redis_failed(&e)),
            None => Err(()),
        };
        if sent.is_err() {
            let mut unsent = self.unsent_marks.lock().unwrap_or_else(|p| p.into_inner());
            if unsent.len() < MAX_MARKS {
                unsent.insert(key, until);
            }
        }
    }

    /// Writes the marks set while Redis was away; those that fail wait for the next time.
    async fn send_unsent_marks(&self) {
        let unsent =
            std::mem::take(&mut *self.unsent_marks.lock().unwrap_or_else(|p| p.into_inner()));
        let Some(redis) = self.live_redis() else {
            self.unsent_marks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(unsent);
            return;
        };
        let now = envelope::now_ms();
        let mut left = unsent.into_iter().filter(|(_, until)| *until > now);
        while let Some((key, until)) = left.next() {
            if let Err(e) = redis.mark(&key, Duration::from_millis(until - now)).await {
                self.redis_failed(&e);
                let mut unsent = self.unsent_marks.lock().unwrap_or_else(|p| p.into_inner());
                unsent.insert(key, until);
                unsent.extend(left);
                return;
            }
        }
    }

    /// Whether `name` is marked: `Some(true)` if this instance set or saw the mark (it holds
    /// while Redis is away), otherwise Redis's answer; `None` when Redis is configured but
    /// cannot answer now, so that a caller to whom a missed mark matters (a logged-out session)
    /// can refuse rather than guess. Without Redis this instance's own marks are all there is.
    pub async fn is_marked(&self, name: &str) -> Option<bool> {
        let key = self.state_key(&format!("mark:{name}"));
        if self
            .marks
            .get(&key)
            .is_some_and(|(_, until)| envelope::now_ms() < until)
        {
            return Some(true);
        }
        if self.redis.is_none() {
            return Some(false);
        }
        let redis = self.live_redis()?;
        match redis.time_left(&key).await {
            Ok(Some(ttl)) => {
                let until = envelope::now_ms() + ttl.as_millis() as u64;
                self.marks.set(&key, Payload::from(""), until, ttl);
                Some(true)
            }
            Ok(None) => Some(false),
            Err(e) => {
                self.redis_failed(&e);
                None
            }
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
            errors: load(&self.counters.errors),
            total_requests: total,
            hit_rate: hit_rate(hits, total),
            backend: self.backend_name().to_owned(),
            degraded: self.redis.is_some() && self.breaker.is_open(),
            redis_configured: self.redis.is_some(),
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
            breaker: self.breaker.stats(),
            stale_served: load(&self.counters.stale_served),
        }
    }
}

/// The hash tag (`{…}`) a key name starts with, braces included; `""` when it has none.
fn hash_tag(name: &str) -> &str {
    match (name.starts_with('{'), name.find('}')) {
        (true, Some(end)) => &name[..=end],
        _ => "",
    }
}

/// What to add to one hash: by how much each field grows, and a time to live to give it anew.
#[derive(Clone, Copy)]
pub struct HashAdd<'a> {
    pub name: &'a str,
    pub ttl: Option<Duration>,
    pub fields: &'a [(String, i64)],
}

/// Counters and leases every instance sees, in Redis. A failed command trips the breaker (the
/// caller then falls back to its own memory) and is reported as `None`.
pub struct SharedState<'a> {
    cache: &'a CacheService,
    redis: &'a RedisCache,
}

impl SharedState<'_> {
    fn ok<T>(&self, result: Result<T, CacheError>) -> Option<T> {
        result.map_err(|e| self.cache.redis_failed(&e)).ok()
    }

    /// Adds `by` to counter `name` (which lives `ttl` from its first count); the new value.
    pub async fn count_up(&self, name: &str, by: u64, ttl: Duration) -> Option<u64> {
        let key = self.cache.state_key(name);
        let counted = self.redis.count_up(&key, by, ttl, None).await;
        self.ok(counted).map(|(count, _)| count)
    }

    /// Adds `by` to counter `name` unless that would take it past `limit`: `Ok` with the new
    /// count, or `Err` with the count as it stays.
    pub async fn count_within(
        &self,
        name: &str,
        by: u64,
        limit: u64,
        ttl: Duration,
    ) -> Option<Result<u64, u64>> {
        let key = self.cache.state_key(name);
        let counted = self.redis.count_up(&key, by, ttl, Some(limit)).await;
        self.ok(counted)
            .map(|(count, added)| if added { Ok(count) } else { Err(count) })
    }

    pub async fn counter(&self, name: &str) -> Option<u64> {
        let key = self.cache.state_key(name);
        self.ok(self.redis.counter(&key).await)
    }

    /// One of `limit` leases on `name` for `member`, lapsing after `ttl`; whether one was free.
    pub async fn lease(&self, name: &str, member: &str, limit: u32, ttl: Duration) -> Option<bool> {
        let key = self.cache.state_key(name);
        self.ok(self.redis.lease(&key, member, limit, ttl).await)
    }

    /// Adds to each hash its fields (one with a time to live gets it anew), all or nothing,
    /// unless batch `seq` of `sender` was already added; whether it was added now (`None`:
    /// Redis failed, and whether it was added is unknown). The names should share a hash tag
    /// (`{…}`), for a cluster.
    pub async fn add_once(
        &self,
        sender: &str,
        seq: u64,
        remember: Duration,
        hashes: &[HashAdd<'_>],
    ) -> Option<bool> {
        let tag = hashes.first().map_or("", |h| hash_tag(h.name));
        let marker = self.cache.state_key(&format!("{tag}:sent:{sender}"));
        let keys: Vec<String> = hashes
            .iter()
            .map(|h| self.cache.state_key(h.name))
            .collect();
        let keyed: Vec<HashAdd<'_>> = hashes
            .iter()
            .zip(&keys)
            .map(|(h, key)| HashAdd { name: key, ..*h })
            .collect();
        self.ok(self.redis.add_once(&marker, seq, remember, &keyed).await)
    }

    /// Every field of each of the hashes `names` (sharing a hash tag).
    pub async fn read_hashes(&self, names: &[String]) -> Option<Vec<HashMap<String, i64>>> {
        let keys: Vec<String> = names.iter().map(|n| self.cache.state_key(n)).collect();
        self.ok(self.redis.read_hashes(&keys).await)
    }

    /// Sets entry `field` of the stamped table `name` to `value`, at the server's time.
    /// Entries not set for `forget_after` are dropped.
    pub async fn stamp(
        &self,
        name: &str,
        field: &str,
        value: &str,
        forget_after: Duration,
    ) -> Option<()> {
        let (values, times) = self.stamp_keys(name);
        self.ok(self
            .redis
            .stamp(&values, &times, field, value, forget_after)
            .await)
    }

    /// The server's time (ms) and the entries of the stamped table `name` set within
    /// `forget_after`, each with when it was set; older ones are dropped.
    pub async fn stamps(
        &self,
        name: &str,
        forget_after: Duration,
    ) -> Option<(u64, Vec<(String, u64, String)>)> {
        let (values, times) = self.stamp_keys(name);
        self.ok(self.redis.stamps(&values, &times, forget_after).await)
    }

    pub async fn unstamp(&self, name: &str, field: &str) -> Option<()> {
        let (values, times) = self.stamp_keys(name);
        self.ok(self.redis.unstamp(&values, &times, field).await)
    }

    fn stamp_keys(&self, name: &str) -> (String, String) {
        (
            self.cache.state_key(&format!("{name}:values")),
            self.cache.state_key(&format!("{name}:times")),
        )
    }

    /// Keeps a held lease for `ttl` more; whether it was still held.
    pub async fn renew_lease(&self, name: &str, member: &str, ttl: Duration) -> Option<bool> {
        let key = self.cache.state_key(name);
        self.ok(self.redis.renew_lease(&key, member, ttl).await)
    }

    pub async fn unlease(&self, name: &str, member: &str) {
        let key = self.cache.state_key(name);
        let _ = self.ok(self.redis.unlease(&key, member).await);
    }
}

/// Checks a degraded Redis every `interval` and takes it back when it answers.
fn spawn_probe(service: std::sync::Weak<CacheService>, interval: Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let Some(service) = service.upgrade() else {
                return;
            };
            if !service.breaker.is_open() {
                continue;
            }
            if let Some(redis) = &service.redis {
                if redis.probe().await.is_ok() {
                    service.breaker.reset();
                    service.send_unsent_marks().await;
                }
            }
        }
    });
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
    async fn marks_expire_and_outlive_a_clear() {
        let cache = CacheService::start(&memory_settings()).await;
        cache.mark("session:a", Duration::from_millis(50)).await;
        assert_eq!(cache.is_marked("session:a").await, Some(true));
        assert_eq!(cache.is_marked("session:b").await, Some(false));
        cache.clear().await.unwrap();
        assert_eq!(cache.is_marked("session:a").await, Some(true));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.is_marked("session:a").await, Some(false));
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
