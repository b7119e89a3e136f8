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

use super::CacheError;
use crate::config::{RedisUrl, SentinelSettings};

/// Keys fetched per SCAN round and removed per UNLINK.
const SCAN_BATCH: usize = 500;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Adds to a counter unless that would take it past a limit (ARGV[3], when given), and gives a
/// new counter its time to live (any Redis version). Returns the count and whether it was added.
const COUNT_SCRIPT: &str = r"
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[3] and v + tonumber(ARGV[1]) > tonumber(ARGV[3]) then return {v, 0} end
v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {v, 1}
";

/// Drops lapsed leases, then takes one when fewer than the limit are held. Times come from the
/// server's clock, so instances with skewed clocks agree.
const LEASE_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
";

/// Pushes a held lease's lapse `ttl` on from now; whether it was still held.
const RENEW_SCRIPT: &str = r"
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// Deletes the lock only if it still holds our token.
const RELEASE_SCRIPT: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// A Redis `MATCH` pattern for every key under `prefix`, with glob characters escaped.
pub fn prefix_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 2);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('*');
    pattern
}

pub struct RedisCache {
    /// The server in use (with Sentinel: the master found last).
    client: RwLock<Client>,
    conn: RwLock<ConnectionManager>,
    /// As configured; with Sentinel it supplies only the password and db.
    url: RedisUrl,
    sentinel: Option<SentinelSettings>,
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
    /// Connects now (through Sentinel when configured) and checks the server answers.
    pub async fn connect(
        url: &RedisUrl,
        sentinel: Option<SentinelSettings>,
        timeout: Duration,
    ) -> Result<Self, CacheError> {
        let client =
            Client::open(url.expose()).map_err(|e| CacheError::Redis(url.scrub(&e.to_string())))?;
        let this = Self {
            conn: RwLock::new(
                ConnectionManager::new_lazy_with_config(client.clone(), manager_config(timeout))
                    .map_err(|e| CacheError::Redis(url.scrub(&e.to_string())))?,
            ),
            client: RwLock::new(client),
            url: url.clone(),
            sentinel,
            timeout,
        };
        this.reconnect().await?;
        Ok(this)
    }

    /// A client that has not connected yet (Redis was down at startup); the probe connects it.
    pub fn lazy(
        url: &RedisUrl,
        sentinel: Option<SentinelSettings>,
        timeout: Duration,
    ) -> Result<Self, CacheError> {
        let scrub = |e: redis::RedisError| CacheError::Redis(url.scrub(&e.to_string()));
        let client = Client::open(url.expose()).map_err(scrub)?;
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), manager_config(timeout))
            .map_err(scrub)?;
        Ok(Self {
            client: RwLock::new(client),
            conn: RwLock::new(conn),
            url: url.clone(),
            sentinel,
            timeout,
        })
    }

    fn scrub(&self, e: &redis::RedisError) -> CacheError {
        CacheError::Redis(self.url.scrub(&e.to_string()))
    }

    /// The URL of the server to use: the configured one, or the master the sentinels name.
    async fn target(&self) -> Result<String, CacheError> {
        let Some(sentinel) = &self.sentinel else {
            return Ok(self.url.expose().to_owned());
        };
        let mut last = CacheError::Redis("没有可用的哨兵".to_owned());
        for addr in &sentinel.addrs {
            let ask = async {
                let client =
                    Client::open(format!("redis://{addr}/")).map_err(|e| self.scrub(&e))?;
                let mut conn = client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|e| self.scrub(&e))?;
                let master: Option<(String, u16)> = redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(&sentinel.master)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| self.scrub(&e))?;
                master.ok_or_else(|| {
                    CacheError::Redis(format!("哨兵 {addr} 不知道主节点 {}", sentinel.master))
                })
            };
            match tokio::time::timeout(CONNECT_TIMEOUT, ask).await {
                Ok(Ok((host, port))) => {
                    let mut url = url::Url::parse(self.url.expose())
                        .map_err(|e| CacheError::Redis(e.to_string()))?;
                    url.set_host(Some(&host))
                        .map_err(|e| CacheError::Redis(e.to_string()))?;
                    let _ = url.set_port(Some(port));
                    return Ok(url.to_string());
                }
                Ok(Err(e)) => last = e,
                Err(_) => last = CacheError::Timeout,
            }
        }
        Err(last)
    }

    /// Finds the server (again), connects, checks it is a writable master and switches to it.
    async fn reconnect(&self) -> Result<(), CacheError> {
        let target = self.target().await?;
        let client = Client::open(target.as_str()).map_err(|e| self.scrub(&e))?;
        let connect = async {
            let mut conn =
                ConnectionManager::new_with_config(client.clone(), manager_config(self.timeout))
                    .await
                    .map_err(|e| self.scrub(&e))?;
            self.check_master(&mut conn).await?;
            Ok::<_, CacheError>(conn)
        };
        let conn = tokio::time::timeout(CONNECT_TIMEOUT + self.timeout, connect)
            .await
            .map_err(|_| CacheError::Timeout)??;
        *self.client.write().unwrap_or_else(|e| e.into_inner()) = client;
        *self.conn.write().unwrap_or_else(|e| e.into_inner()) = conn;
        Ok(())
    }

    /// `ROLE` says `master`; a replica (say, an old master after a failover) would refuse writes.
    async fn check_master(&self, conn: &mut ConnectionManager) -> Result<(), CacheError> {
        let role: Vec<redis::Value> = redis::cmd("ROLE")
            .query_async(conn)
            .await
            .map_err(|e| self.scrub(&e))?;
        match role.first() {
            Some(redis::Value::BulkString(kind)) if kind.as_slice() == b"master" => Ok(()),
            Some(redis::Value::SimpleString(kind)) if kind == "master" => Ok(()),
            _ => Err(CacheError::Redis("连接的 Redis 不是主节点".to_owned())),
        }
    }

    pub fn client(&self) -> Client {
        self.client
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The server in use, password hidden.
    pub fn current_url(&self) -> String {
        let client = self.client();
        let info = client.get_connection_info();
        let mut url = match url::Url::parse(self.url.expose()) {
            Ok(url) => url,
            Err(_) => return self.url.redacted(),
        };
        if let redis::ConnectionAddr::Tcp(host, port)
        | redis::ConnectionAddr::TcpTls { host, port, .. } = info.addr()
        {
            let _ = url.set_host(Some(host));
            let _ = url.set_port(Some(*port));
        }
        crate::config::redact_url(url.as_str())
    }

    pub fn url(&self) -> &RedisUrl {
        &self.url
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether Redis answers now, as a writable master. If not, finds the server again (through
    /// Sentinel when configured) with a brand-new connection.
    pub async fn probe(&self) -> Result<(), CacheError> {
        let mut conn = self.conn();
        if tokio::time::timeout(self.timeout, self.check_master(&mut conn))
            .await
            .is_ok_and(|r| r.is_ok())
        {
            return Ok(());
        }
        self.reconnect().await
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

    /// Sets `key` for `ttl` (its value says nothing).
    pub async fn mark(&self, key: &str, ttl: Duration) -> Result<(), CacheError> {
        let mut conn = self.conn();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.bounded(conn.pset_ex(key, 1u8, millis)).await
    }

    /// Adds `by` to the counter `key` (which lives `ttl` from its first count) unless that
    /// would take it past `limit`; the count after, and whether `by` was added.
    pub async fn count_up(
        &self,
        key: &str,
        by: u64,
        ttl: Duration,
        limit: Option<u64>,
    ) -> Result<(u64, bool), CacheError> {
        let mut conn = self.conn();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let script = redis::Script::new(COUNT_SCRIPT);
        let mut call = script.key(key);
        call.arg(by).arg(millis);
        if let Some(limit) = limit {
            call.arg(limit);
        }
        let (count, added): (u64, u8) = self.bounded(call.invoke_async(&mut conn)).await?;
        Ok((count, added == 1))
    }

    /// The counter `key`, 0 when there is none.
    pub async fn counter(&self, key: &str) -> Result<u64, CacheError> {
        let mut conn = self.conn();
        let value: Option<u64> = self.bounded(conn.get(key)).await?;
        Ok(value.unwrap_or(0))
    }

    /// Takes one of `limit` leases on `key` for `member`, each lapsing after `ttl` unless given
    /// back; whether one was free.
    pub async fn lease(
        &self,
        key: &str,
        member: &str,
        limit: u32,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let mut conn = self.conn();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let taken: i64 = self
            .bounded(
                redis::Script::new(LEASE_SCRIPT)
                    .key(key)
                    .arg(member)
                    .arg(limit)
                    .arg(millis)
                    .invoke_async(&mut conn),
            )
            .await?;
        Ok(taken == 1)
    }

    /// Keeps a held lease for `ttl` more; whether it was still held.
    pub async fn renew_lease(
        &self,
        key: &str,
        member: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let mut conn = self.conn();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let held: i64 = self
            .bounded(
                redis::Script::new(RENEW_SCRIPT)
                    .key(key)
                    .arg(member)
                    .arg(millis)
                    .invoke_async(&mut conn),
            )
            .await?;
        Ok(held == 1)
    }

    pub async fn unlease(&self, key: &str, member: &str) -> Result<(), CacheError> {
        let mut conn = self.conn();
        let _: i64 = self.bounded(conn.zrem(key, member)).await?;
        Ok(())
    }

    /// How long `key` has left to live: `None` when it is gone (or never expires).
    pub async fn time_left(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        let mut conn = self.conn();
        let millis: i64 = self.bounded(conn.pttl(key)).await?;
        Ok(u64::try_from(millis).ok().map(Duration::from_millis))
    }

    pub async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        let mut conn = self.conn();
        self.bounded(conn.exists(key)).await
    }

    /// Removes every key under `prefix` but those under `keep` with SCAN + UNLINK (never
    /// FLUSHDB: the Redis may be shared); returns how many were removed.
    pub async fn clear_prefix(&self, prefix: &str, keep: &str) -> Result<u64, CacheError> {
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
            let keys: Vec<String> = keys.into_iter().filter(|k| !k.starts_with(keep)).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_escapes_glob_characters() {
        assert_eq!(prefix_pattern("yueen:"), "yueen:*");
        assert_eq!(prefix_pattern("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\*");
    }
}
