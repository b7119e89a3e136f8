//! The Redis tier: one multiplexed connection (replaced by a fresh one when a probe finds Redis
//! back), every command bounded by a short deadline, plus the owner-only lock used against
//! stampedes and the publish side of L1 invalidation.

use std::{
    future::Future,
    sync::{Arc, RwLock},
    time::Duration,
};

use rand::RngCore;
use redis::{
    aio::{ConnectionManager, ConnectionManagerConfig},
    AsyncCommands, Client,
};

use super::{key::prefix_pattern, CacheError};
use crate::config::RedisUrl;

/// Keys fetched per SCAN round and removed per UNLINK.
const SCAN_BATCH: usize = 500;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Deletes the lock only if it still holds our token.
const RELEASE_SCRIPT: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

pub struct RedisCache {
    client: Client,
    conn: RwLock<ConnectionManager>,
    url: RedisUrl,
    timeout: Duration,
}

/// A lock this process holds; released with `unlock`.
pub struct LockToken {
    key: String,
    token: String,
}

fn manager_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500))
}

impl RedisCache {
    /// Connects now and checks the server answers `PING`.
    pub async fn connect(url: &RedisUrl, timeout: Duration) -> Result<Self, CacheError> {
        let client =
            Client::open(url.expose()).map_err(|e| CacheError::Redis(url.scrub(&e.to_string())))?;
        let conn = Self::fresh_connection(&client, url, timeout).await?;
        Ok(Self {
            client,
            conn: RwLock::new(conn),
            url: url.clone(),
            timeout,
        })
    }

    /// A client that has not connected yet (Redis was down at startup); the probe connects it.
    pub fn lazy(url: &RedisUrl, timeout: Duration) -> Result<Self, CacheError> {
        let scrub = |e: redis::RedisError| CacheError::Redis(url.scrub(&e.to_string()));
        let client = Client::open(url.expose()).map_err(scrub)?;
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), manager_config(timeout))
            .map_err(scrub)?;
        Ok(Self {
            client,
            conn: RwLock::new(conn),
            url: url.clone(),
            timeout,
        })
    }

    async fn fresh_connection(
        client: &Client,
        url: &RedisUrl,
        timeout: Duration,
    ) -> Result<ConnectionManager, CacheError> {
        let scrub = |e: redis::RedisError| CacheError::Redis(url.scrub(&e.to_string()));
        let connect = async {
            let mut conn =
                ConnectionManager::new_with_config(client.clone(), manager_config(timeout))
                    .await
                    .map_err(scrub)?;
            let _: () = redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .map_err(scrub)?;
            Ok::<_, CacheError>(conn)
        };
        tokio::time::timeout(CONNECT_TIMEOUT + timeout, connect)
            .await
            .map_err(|_| CacheError::Timeout)?
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn url(&self) -> &RedisUrl {
        &self.url
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether Redis answers now. A failed `PING` on the current connection is followed by a
    /// brand-new connection, which replaces the old one when it works.
    pub async fn probe(&self) -> Result<(), CacheError> {
        let mut conn = self.conn();
        if self
            .bounded(redis::cmd("PING").query_async::<()>(&mut conn))
            .await
            .is_ok()
        {
            return Ok(());
        }
        let fresh = Self::fresh_connection(&self.client, &self.url, self.timeout).await?;
        *self.conn.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    async fn bounded<T>(
        &self,
        op: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, CacheError> {
        match tokio::time::timeout(self.timeout, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if e.is_timeout() => Err(CacheError::Timeout),
            Ok(Err(e)) => Err(CacheError::Redis(self.url.scrub(&e.to_string()))),
            Err(_) => Err(CacheError::Timeout),
        }
    }

    /// The value and its remaining time to live, in one round trip.
    pub async fn get(&self, key: &str) -> Result<Option<(Arc<str>, Duration)>, CacheError> {
        let mut conn = self.conn();
        let (value, pttl): (Option<String>, i64) = self
            .bounded(
                redis::pipe()
                    .cmd("GET")
                    .arg(key)
                    .cmd("PTTL")
                    .arg(key)
                    .query_async(&mut conn),
            )
            .await?;
        Ok(value.map(|v| {
            let ttl = Duration::from_millis(pttl.max(0) as u64);
            (Arc::from(v), ttl)
        }))
    }

    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let mut conn = self.conn();
        let ms = (ttl.as_millis() as u64).max(1);
        self.bounded(
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("PX")
                .arg(ms)
                .query_async::<()>(&mut conn),
        )
        .await
    }

    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut conn = self.conn();
        self.bounded(conn.unlink::<_, ()>(key)).await
    }

    pub async fn publish(&self, channel: &str, message: &str) -> Result<(), CacheError> {
        let mut conn = self.conn();
        self.bounded(conn.publish::<_, _, ()>(channel, message))
            .await
    }

    /// Takes the lock `key` for `ttl` if nobody holds it. `Ok(None)`: someone else does.
    pub async fn try_lock(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<LockToken>, CacheError> {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let mut conn = self.conn();
        let set: Option<String> = self
            .bounded(
                redis::cmd("SET")
                    .arg(key)
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg((ttl.as_millis() as u64).max(1))
                    .query_async(&mut conn),
            )
            .await?;
        Ok(set.map(|_| LockToken {
            key: key.to_owned(),
            token,
        }))
    }

    /// Releases a lock if it is still ours (it may have expired and gone to someone else).
    pub async fn unlock(&self, lock: LockToken) -> Result<(), CacheError> {
        let mut conn = self.conn();
        self.bounded(
            redis::cmd("EVAL")
                .arg(RELEASE_SCRIPT)
                .arg(1)
                .arg(&lock.key)
                .arg(&lock.token)
                .query_async::<i64>(&mut conn),
        )
        .await
        .map(drop)
    }

    pub async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        let mut conn = self.conn();
        self.bounded(conn.exists(key)).await
    }

    /// Removes every key under `prefix` with SCAN + UNLINK (never FLUSHDB: the Redis may be
    /// shared); returns how many were removed.
    pub async fn clear_prefix(&self, prefix: &str) -> Result<u64, CacheError> {
        let pattern = prefix_pattern(prefix);
        let mut conn = self.conn();
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = self
                .bounded(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(SCAN_BATCH)
                        .query_async(&mut conn),
                )
                .await?;
            if !keys.is_empty() {
                let n: u64 = self.bounded(conn.unlink(&keys)).await?;
                removed += n;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }
}
