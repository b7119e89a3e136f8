//! The coordination store between instances: cross-instance locks and the answers their holders
//! hand off, marks (logged-out sessions), counters, leases and stamped tables. In Redis when it
//! is live, so every instance sees them; otherwise each caller keeps its own in memory (marks
//! are kept here, and written to Redis once it is back). Not cached answers: clearing the cache
//! leaves them.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, Weak,
    },
    time::Duration,
};

pub use crate::kv::HashAdd;
use crate::{
    cache::{envelope, memory::MemoryCache, Payload},
    clock,
    config::CacheSettings,
    kv::{
        redis::{LockToken, Redis},
        Kv, STATE,
    },
};

/// How long a lock lasts in Redis unless its holder renews it, and how often holders do: an
/// instance that dies holding a lock (a section half written) keeps the others waiting for
/// this long at most, not for the model's whole worst case.
const LOCK_HOLD: Duration = Duration::from_secs(6);
const LOCK_RENEW: Duration = Duration::from_secs(2);

/// Marks kept in memory, at most (a mark is a few dozen bytes).
const MAX_MARKS: usize = 100_000;

/// A cross-instance lock this process holds: given back with `release`, or, should its holder
/// be dropped first (a request that went away), when dropped; and by a stopping instance
/// (`release_held_locks`) if its holder is still running then.
pub struct HeldLock {
    store: Arc<Coordination>,
    id: u64,
    token: Option<LockToken>,
}

impl HeldLock {
    pub async fn release(mut self) {
        if let Some(token) = self.token.take() {
            self.store.forget_lock(self.id);
            self.store.unlock(token).await;
        }
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            self.store.forget_lock(self.id);
            let store = self.store.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { store.unlock(token).await });
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

pub struct Coordination {
    prefix: String,
    kv: Arc<Kv>,
    /// Marks set or seen by this instance, so they hold while Redis is away.
    marks: MemoryCache,
    /// Marks set while Redis was away (key, until in epoch ms), written there when it is back.
    unsent_marks: Mutex<HashMap<String, u64>>,
    /// Locks held now, by id, for a stopping instance to give back.
    held_locks: Mutex<HashMap<u64, LockToken>>,
    next_lock: AtomicU64,
}

impl Coordination {
    /// The store over `kv`, its keys under `prefix`.
    pub fn new(kv: Arc<Kv>, prefix: &str) -> Arc<Self> {
        let mut recoveries = kv.recoveries();
        let store = Arc::new(Self {
            prefix: prefix.to_owned(),
            kv,
            marks: MemoryCache::new(MAX_MARKS),
            unsent_marks: Mutex::default(),
            held_locks: Mutex::default(),
            next_lock: AtomicU64::new(0),
        });
        if store.kv.configured() {
            let weak: Weak<Self> = Arc::downgrade(&store);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(LOCK_RENEW).await;
                    let Some(store) = weak.upgrade() else {
                        return;
                    };
                    store.renew_held_locks().await;
                }
            });
            let weak: Weak<Self> = Arc::downgrade(&store);
            tokio::spawn(async move {
                while recoveries.changed().await.is_ok() {
                    let Some(store) = weak.upgrade() else {
                        return;
                    };
                    store.send_unsent_marks().await;
                }
            });
        }
        store
    }

    /// A store with a Redis link of its own, as `settings` say.
    pub async fn start(settings: &CacheSettings) -> Arc<Self> {
        Self::new(Kv::start(settings).await, &settings.key_prefix)
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

    /// Asks for the cross-instance lock on `key`. Held until released (renewed meanwhile), or
    /// `LOCK_HOLD` (at most `ttl`) after its holder stopped renewing it.
    pub async fn lock(self: &Arc<Self>, key: &str, ttl: Duration) -> LockAttempt {
        let Some(redis) = self.kv.live() else {
            return LockAttempt::Unavailable;
        };
        match redis
            .try_lock(&self.lock_key(key), ttl.min(LOCK_HOLD))
            .await
        {
            Ok(Some(token)) => {
                let id = self.next_lock.fetch_add(1, Ordering::Relaxed);
                self.locks().insert(id, token.clone());
                LockAttempt::Held(HeldLock {
                    store: self.clone(),
                    id,
                    token: Some(token),
                })
            }
            Ok(None) => LockAttempt::Busy,
            Err(e) => {
                self.kv.failed(&e);
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

    /// Keeps every lock this instance holds (their writers still run) for `LOCK_HOLD` more.
    async fn renew_held_locks(&self) {
        let held: Vec<LockToken> = self.locks().values().cloned().collect();
        let Some(redis) = self.kv.live() else {
            return;
        };
        for token in held {
            if let Err(e) = redis.renew_lock(&token, LOCK_HOLD).await {
                self.kv.failed(&e);
                return;
            }
        }
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
        if let Some(redis) = self.kv.any() {
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
        let Some(redis) = self.kv.live() else {
            return;
        };
        let until = clock::unix_ms() + ttl.as_millis() as u64;
        let sealed = envelope::seal(payload, until);
        if let Err(e) = redis.set(&self.beside("handoff", key), &sealed, ttl).await {
            self.kv.failed(&e);
        }
    }

    /// The answer the last lock holder left for `key`'s waiters, if it is still there.
    pub async fn handed_off(&self, key: &str) -> Option<Payload> {
        let redis = self.kv.live()?;
        match redis.get(&self.beside("handoff", key)).await {
            Ok(Some((raw, _))) => envelope::open(&raw).map(|(payload, _)| Payload::from(payload)),
            Ok(None) => None,
            Err(e) => {
                self.kv.failed(&e);
                None
            }
        }
    }

    /// Whether someone holds the lock on `key`; `None` when Redis cannot tell.
    pub async fn lock_held(&self, key: &str) -> Option<bool> {
        let redis = self.kv.live()?;
        match redis.exists(&self.lock_key(key)).await {
            Ok(held) => Some(held),
            Err(e) => {
                self.kv.failed(&e);
                None
            }
        }
    }

    fn state_key(&self, name: &str) -> String {
        format!("{}{STATE}{name}", self.prefix)
    }

    /// Redis for state operations, when it can be used; `None` means this instance is on its
    /// own and keeps such state in memory.
    /// Whether Redis is configured (up or not).
    pub fn configured(&self) -> bool {
        self.kv.configured()
    }

    pub fn shared(&self) -> Option<SharedState<'_>> {
        self.kv
            .live()
            .map(|redis| SharedState { store: self, redis })
    }

    /// Marks `name` for `ttl`, here and in Redis for every instance — at once, or, while Redis is
    /// away, as soon as it is back.
    pub async fn mark(&self, name: &str, ttl: Duration) {
        let key = self.state_key(&format!("mark:{name}"));
        let until = clock::unix_ms() + ttl.as_millis() as u64;
        self.marks.set(&key, Payload::from(""), until, ttl);
        if !self.kv.configured() {
            return;
        }
        let sent = match self.kv.live() {
            Some(redis) => redis.mark(&key, ttl).await.map_err(|e| self.kv.failed(&e)),
            None => Err(()),
        };
        if sent.is_err() {
            let mut unsent = self.unsent();
            if unsent.len() < MAX_MARKS {
                unsent.insert(key, until);
            }
        }
    }

    fn unsent(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.unsent_marks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the marks set while Redis was away; those that fail wait for the next time.
    async fn send_unsent_marks(&self) {
        let unsent = std::mem::take(&mut *self.unsent());
        let Some(redis) = self.kv.live() else {
            self.unsent().extend(unsent);
            return;
        };
        let now = clock::unix_ms();
        let mut left = unsent.into_iter().filter(|(_, until)| *until > now);
        while let Some((key, until)) = left.next() {
            if let Err(e) = redis.mark(&key, Duration::from_millis(until - now)).await {
                self.kv.failed(&e);
                let mut unsent = self.unsent();
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
            .is_some_and(|(_, until)| clock::unix_ms() < until)
        {
            return Some(true);
        }
        if !self.kv.configured() {
            return Some(false);
        }
        let redis = self.kv.live()?;
        match redis.time_left(&key).await {
            Ok(Some(ttl)) => {
                let until = clock::unix_ms() + ttl.as_millis() as u64;
                self.marks.set(&key, Payload::from(""), until, ttl);
                Some(true)
            }
            Ok(None) => Some(false),
            Err(e) => {
                self.kv.failed(&e);
                None
            }
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

/// Counters and leases every instance sees, in Redis. A failed command trips the breaker (the
/// caller then falls back to its own memory) and is reported as `None`.
pub struct SharedState<'a> {
    store: &'a Coordination,
    redis: &'a Redis,
}

impl SharedState<'_> {
    fn key(&self, name: &str) -> String {
        self.store.state_key(name)
    }

    fn ok<T>(&self, result: Result<T, crate::kv::KvError>) -> Option<T> {
        self.store.kv.ok(result)
    }

    /// Adds `by` to counter `name` (which lives `ttl` from its first count); the new value.
    pub async fn count_up(&self, name: &str, by: u64, ttl: Duration) -> Option<u64> {
        let key = self.key(name);
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
        let key = self.key(name);
        let counted = self.redis.count_up(&key, by, ttl, Some(limit)).await;
        self.ok(counted)
            .map(|(count, added)| if added { Ok(count) } else { Err(count) })
    }

    pub async fn counter(&self, name: &str) -> Option<u64> {
        let key = self.key(name);
        self.ok(self.redis.counter(&key).await)
    }

    /// One of `limit` leases on `name` for `member`, lapsing after `ttl`; whether one was free.
    pub async fn lease(&self, name: &str, member: &str, limit: u32, ttl: Duration) -> Option<bool> {
        let key = self.key(name);
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
        let marker = self.key(&format!("{tag}:sent:{sender}"));
        let keys: Vec<String> = hashes.iter().map(|h| self.key(h.name)).collect();
        let keyed: Vec<HashAdd<'_>> = hashes
            .iter()
            .zip(&keys)
            .map(|(h, key)| HashAdd { name: key, ..*h })
            .collect();
        self.ok(self.redis.add_once(&marker, seq, remember, &keyed).await)
    }

    /// Every field of each of the hashes `names` (sharing a hash tag).
    pub async fn read_hashes(&self, names: &[String]) -> Option<Vec<HashMap<String, i64>>> {
        let keys: Vec<String> = names.iter().map(|n| self.key(n)).collect();
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
            self.key(&format!("{name}:values")),
            self.key(&format!("{name}:times")),
        )
    }

    /// Keeps a held lease for `ttl` more; whether it was still held.
    pub async fn renew_lease(&self, name: &str, member: &str, ttl: Duration) -> Option<bool> {
        let key = self.key(name);
        self.ok(self.redis.renew_lease(&key, member, ttl).await)
    }

    /// Appends `payload` to log `name` (about `max_len` entries kept, for `ttl` after the
    /// last); the entry's id.
    pub async fn append(
        &self,
        name: &str,
        payload: &str,
        max_len: usize,
        ttl: Duration,
    ) -> Option<String> {
        let key = self.key(name);
        self.ok(self.redis.append(&key, payload, max_len, ttl).await)
    }

    /// At most `count` entries of log `name` from `start` (`(id` for after it).
    pub async fn read_log(
        &self,
        name: &str,
        start: &str,
        count: usize,
    ) -> Option<Vec<(String, String)>> {
        let key = self.key(name);
        self.ok(self.redis.read_log(&key, start, count).await)
    }

    pub async fn unlease(&self, name: &str, member: &str) {
        let key = self.key(name);
        let _ = self.ok(self.redis.unlease(&key, member).await);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CacheService;

    #[tokio::test]
    async fn marks_expire_and_outlive_a_clear() {
        let settings = CacheSettings::memory("t:");
        let kv = Kv::start(&settings).await;
        let (cache, store) = (
            CacheService::new(kv.clone(), &settings),
            Coordination::new(kv, "t:"),
        );
        store.mark("session:a", Duration::from_millis(50)).await;
        assert_eq!(store.is_marked("session:a").await, Some(true));
        assert_eq!(store.is_marked("session:b").await, Some(false));
        cache.clear().await.unwrap();
        assert_eq!(store.is_marked("session:a").await, Some(true));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(store.is_marked("session:a").await, Some(false));
    }

    #[test]
    fn hash_tags() {
        assert_eq!(hash_tag("{deployment}:day:3"), "{deployment}");
        assert_eq!(hash_tag("plain"), "");
    }
}
