//! The Redis backend: one multiplexed, self-reconnecting connection; every command bounded by a
//! short deadline so a slow or dead Redis costs a request at most that long.

use std::{future::Future, sync::Arc, time::Duration};

use redis::{aio::ConnectionManager, aio::ConnectionManagerConfig, AsyncCommands};

use super::{key::prefix_pattern, CacheError};
use crate::config::RedisUrl;

/// Keys fetched per SCAN round and removed per UNLINK.
const SCAN_BATCH: usize = 500;

pub struct RedisCache {
    conn: ConnectionManager,
    url: RedisUrl,
    timeout: Duration,
}

impl RedisCache {
    /// Connects and checks the server answers `PING` within `timeout` (plus connect time).
    pub async fn connect(url: &RedisUrl, timeout: Duration) -> Result<Self, CacheError> {
        let scrub = |e: redis::RedisError| CacheError::Redis(url.scrub(&e.to_string()));
        let client = redis::Client::open(url.expose()).map_err(scrub)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let connect = async {
            let mut conn = ConnectionManager::new_with_config(client, config)
                .await
                .map_err(scrub)?;
            let _: () = redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .map_err(scrub)?;
            Ok::<_, CacheError>(conn)
        };
        let conn = tokio::time::timeout(Duration::from_secs(3) + timeout, connect)
            .await
            .map_err(|_| CacheError::Timeout)??;
        Ok(Self {
            conn,
            url: url.clone(),
            timeout,
        })
    }

    pub fn url(&self) -> &RedisUrl {
        &self.url
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

    pub async fn get(&self, key: &str) -> Result<Option<Arc<str>>, CacheError> {
        let mut conn = self.conn.clone();
        let value: Option<String> = self.bounded(conn.get(key)).await?;
        Ok(value.map(Arc::from))
    }

    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let secs = ttl.as_secs().max(1);
        self.bounded(conn.set_ex::<_, _, ()>(key, value, secs))
            .await
    }

    /// Removes every key under `prefix` with SCAN + UNLINK (never FLUSHDB: the Redis may be
    /// shared); returns how many were removed.
    pub async fn clear_prefix(&self, prefix: &str) -> Result<u64, CacheError> {
        let pattern = prefix_pattern(prefix);
        let mut conn = self.conn.clone();
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
