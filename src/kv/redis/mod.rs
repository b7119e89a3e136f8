//! The Redis commands: one connection (to a server or a cluster, see `link`), every command
//! bounded by a short deadline — entries for the cache, and the owner-only locks, counters,
//! leases, marks and stamps of the coordination store.

mod link;
mod scripts;

use std::{future::Future, time::Duration};

use rand::RngCore;
use redis::{AsyncCommands, Client};

use self::{
    link::{Conn, Link},
    scripts::{
        ADD_ONCE_SCRIPT, COUNT_SCRIPT, LEASE_SCRIPT, RELEASE_SCRIPT, RENEW_LOCK_SCRIPT,
        RENEW_SCRIPT, STAMPS_SCRIPT, STAMP_SCRIPT,
    },
};
use super::KvError;
use crate::config::CacheBackend;

/// Keys fetched per SCAN round and removed per UNLINK.
const SCAN_BATCH: usize = 500;

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

pub struct Redis {
    link: Link,
    timeout: Duration,
}

/// A lock this process holds; released with `unlock`.
#[derive(Clone)]
pub struct LockToken {
    key: String,
    token: String,
}

impl Redis {
    /// Connects now (through Sentinel, or to the cluster, when configured) and checks Redis
    /// takes writes. `None` when `backend` has no Redis.
    pub async fn connect(
        backend: &CacheBackend,
        timeout: Duration,
    ) -> Option<Result<Self, (KvError, Option<Self>)>> {
        let this = match Self::lazy(backend, timeout)? {
            Ok(this) => this,
            Err(e) => return Some(Err((e, None))),
        };
        Some(match this.link.connect().await {
            Ok(()) => Ok(this),
            // Down for now: the probe connects later.
            Err(e) => Err((e, Some(this))),
        })
    }

    /// A client that has not connected yet; the probe connects it.
    fn lazy(backend: &CacheBackend, timeout: Duration) -> Option<Result<Self, KvError>> {
        Some(Link::lazy(backend, timeout)?.map(|link| Self { link, timeout }))
    }

    /// Clients to subscribe with, in the order to try them.
    pub fn pubsub_clients(&self) -> Vec<Client> {
        self.link.pubsub_clients()
    }

    /// Where Redis is, password hidden.
    pub fn current_url(&self) -> String {
        self.link.describe()
    }

    pub fn is_cluster(&self) -> bool {
        self.link.is_cluster()
    }

    fn conn(&self) -> Conn {
        self.link.conn()
    }

    /// Whether Redis takes writes now; if not, connects afresh.
    pub async fn probe(&self) -> Result<(), KvError> {
        self.link.probe().await
    }

    /// `op` within the command deadline.
    async fn bounded_cache<T>(
        &self,
        op: impl Future<Output = Result<T, KvError>>,
    ) -> Result<T, KvError> {
        tokio::time::timeout(self.timeout, op)
            .await
            .unwrap_or(Err(KvError::Timeout))
    }

    async fn bounded<T>(
        &self,
        op: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, KvError> {
        match tokio::time::timeout(self.timeout, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if e.is_timeout() => Err(KvError::Timeout),
            Ok(Err(e)) => Err(self.link.scrub(&e)),
            Err(_) => Err(KvError::Timeout),
        }
    }

    /// The value and its remaining time to live, in one round trip.
    /// The value and its time to live. As Redis sent it: the caller takes what it keeps.
    pub async fn get(&self, key: &str) -> Result<Option<(String, Duration)>, KvError> {
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
        Ok(value.map(|v| (v, Duration::from_millis(pttl.max(0) as u64))))
    }

    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), KvError> {
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

    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        let mut conn = self.conn();
        self.bounded(conn.unlink::<_, ()>(key)).await
    }

    pub async fn publish(&self, channel: &str, message: &str) -> Result<(), KvError> {
        let mut conn = self.conn();
        self.bounded(conn.publish::<_, _, ()>(channel, message))
            .await
    }

    /// Takes the lock `key` for `ttl` if nobody holds it. `Ok(None)`: someone else does.
    pub async fn try_lock(&self, key: &str, ttl: Duration) -> Result<Option<LockToken>, KvError> {
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
    pub async fn unlock(&self, lock: LockToken) -> Result<(), KvError> {
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

    /// Keeps a lock that is still ours for `ttl` more; whether it was still ours.
    pub async fn renew_lock(&self, lock: &LockToken, ttl: Duration) -> Result<bool, KvError> {
        let mut conn = self.conn();
        let renewed: i64 = self
            .bounded(
                redis::cmd("EVAL")
                    .arg(RENEW_LOCK_SCRIPT)
                    .arg(1)
                    .arg(&lock.key)
                    .arg(&lock.token)
                    .arg((ttl.as_millis() as u64).max(1))
                    .query_async(&mut conn),
            )
            .await?;
        Ok(renewed == 1)
    }

    /// Sets `key` for `ttl` (its value says nothing).
    pub async fn mark(&self, key: &str, ttl: Duration) -> Result<(), KvError> {
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
    ) -> Result<(u64, bool), KvError> {
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
    pub async fn counter(&self, key: &str) -> Result<u64, KvError> {
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
    ) -> Result<bool, KvError> {
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
    ) -> Result<bool, KvError> {
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

    pub async fn unlease(&self, key: &str, member: &str) -> Result<(), KvError> {
        let mut conn = self.conn();
        let _: i64 = self.bounded(conn.zrem(key, member)).await?;
        Ok(())
    }

    /// How long `key` has left to live: `None` when it is gone (or never expires).
    pub async fn time_left(&self, key: &str) -> Result<Option<Duration>, KvError> {
        let mut conn = self.conn();
        let millis: i64 = self.bounded(conn.pttl(key)).await?;
        Ok(u64::try_from(millis).ok().map(Duration::from_millis))
    }

    pub async fn exists(&self, key: &str) -> Result<bool, KvError> {
        let mut conn = self.conn();
        self.bounded(conn.exists(key)).await
    }

    /// Adds to each hash its fields (giving one with a time to live a new one), all or nothing,
    /// unless batch `seq` from the sender whose last number `marker` holds was already added
    /// (so a batch sent again after a lost answer counts once); whether it was added now. In a
    /// cluster every key must share a slot.
    pub async fn add_once(
        &self,
        marker: &str,
        seq: u64,
        remember: Duration,
        hashes: &[super::HashAdd<'_>],
    ) -> Result<bool, KvError> {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1);
        let script = redis::Script::new(ADD_ONCE_SCRIPT);
        let mut call = script.key(marker);
        call.arg(seq).arg(millis(remember));
        for hash in hashes {
            call.key(hash.name)
                .arg(hash.ttl.map_or(0, millis))
                .arg(hash.fields.len());
            for (field, by) in hash.fields {
                call.arg(field).arg(*by);
            }
        }
        let mut conn = self.conn();
        let added: i64 = self.bounded(call.invoke_async(&mut conn)).await?;
        Ok(added == 1)
    }

    /// Every field of each hash of `keys` (which, in a cluster, must share a slot).
    pub async fn read_hashes(
        &self,
        keys: &[String],
    ) -> Result<Vec<std::collections::HashMap<String, i64>>, KvError> {
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("HGETALL").arg(key);
        }
        let mut conn = self.conn();
        self.bounded(pipe.query_async(&mut conn)).await
    }

    /// Sets `field` of hash `values` to `value`, noting the server's time in hash `times`.
    pub async fn stamp(
        &self,
        values: &str,
        times: &str,
        field: &str,
        value: &str,
        forget_after: Duration,
    ) -> Result<(), KvError> {
        let mut conn = self.conn();
        let _: i64 = self
            .bounded(
                redis::Script::new(STAMP_SCRIPT)
                    .key(values)
                    .key(times)
                    .arg(field)
                    .arg(value)
                    .arg(u64::try_from(forget_after.as_millis()).unwrap_or(u64::MAX))
                    .invoke_async(&mut conn),
            )
            .await?;
        Ok(())
    }

    /// The server's time and every field `stamp` set within `forget_after` (older ones are
    /// dropped): `(now ms, [(field, set at ms, value)])`.
    pub async fn stamps(
        &self,
        values: &str,
        times: &str,
        forget_after: Duration,
    ) -> Result<(u64, Vec<(String, u64, String)>), KvError> {
        let mut conn = self.conn();
        let reply: Vec<redis::Value> = self
            .bounded(
                redis::Script::new(STAMPS_SCRIPT)
                    .key(values)
                    .key(times)
                    .arg(u64::try_from(forget_after.as_millis()).unwrap_or(u64::MAX))
                    .invoke_async(&mut conn),
            )
            .await?;
        let bad = || KvError::Redis("无法解析实例列表".to_owned());
        let mut items = reply.into_iter();
        let now: u64 = items
            .next()
            .and_then(|v| redis::from_redis_value(v).ok())
            .ok_or_else(bad)?;
        let mut out = Vec::new();
        while let (Some(field), Some(at), Some(value)) = (items.next(), items.next(), items.next())
        {
            out.push((
                redis::from_redis_value(field).map_err(|_| bad())?,
                redis::from_redis_value(at).map_err(|_| bad())?,
                redis::from_redis_value(value).map_err(|_| bad())?,
            ));
        }
        Ok((now, out))
    }

    /// Removes `field` from both hashes `stamp` writes.
    pub async fn unstamp(&self, values: &str, times: &str, field: &str) -> Result<(), KvError> {
        let mut conn = self.conn();
        self.bounded(
            redis::pipe()
                .cmd("HDEL")
                .arg(values)
                .arg(field)
                .ignore()
                .cmd("HDEL")
                .arg(times)
                .arg(field)
                .ignore()
                .query_async::<()>(&mut conn),
        )
        .await
    }

    /// Appends `payload` to the stream `key` (trimmed to about `max_len` entries, kept `ttl`
    /// after its last entry); the entry's id.
    pub async fn append(
        &self,
        key: &str,
        payload: &str,
        max_len: usize,
        ttl: Duration,
    ) -> Result<String, KvError> {
        let mut conn = self.conn();
        let ms = (ttl.as_millis() as u64).max(1);
        let (id,): (String,) = self
            .bounded(
                redis::pipe()
                    .cmd("XADD")
                    .arg(key)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(max_len)
                    .arg("*")
                    .arg("e")
                    .arg(payload)
                    .cmd("PEXPIRE")
                    .arg(key)
                    .arg(ms)
                    .ignore()
                    .query_async(&mut conn),
            )
            .await?;
        Ok(id)
    }

    /// At most `count` entries of stream `key` from `start` (an id; `(id` for after it), in
    /// order: each id and payload.
    pub async fn read_log(
        &self,
        key: &str,
        start: &str,
        count: usize,
    ) -> Result<Vec<(String, String)>, KvError> {
        let mut conn = self.conn();
        let entries: Vec<(String, Vec<(String, String)>)> = self
            .bounded(
                redis::cmd("XRANGE")
                    .arg(key)
                    .arg(start)
                    .arg("+")
                    .arg("COUNT")
                    .arg(count)
                    .query_async(&mut conn),
            )
            .await?;
        Ok(entries
            .into_iter()
            .filter_map(|(id, fields)| {
                let payload = fields.into_iter().find(|(f, _)| f == "e")?.1;
                Some((id, payload))
            })
            .collect())
    }

    /// Removes every key under `prefix` but those under `keep` with SCAN + UNLINK (never
    /// FLUSHDB: the Redis may be shared) — on the server, or on every master of a cluster;
    /// returns how many were removed.
    pub async fn clear_prefix(&self, prefix: &str, keep: &str) -> Result<u64, KvError> {
        let mut conn = self.conn();
        let masters = self.bounded_cache(self.link.masters(&mut conn)).await?;
        let Some(masters) = masters else {
            return self.clear_on(&mut conn, None, prefix, keep).await;
        };
        let mut removed = 0;
        for master in &masters {
            removed += self.clear_on(&mut conn, Some(master), prefix, keep).await?;
        }
        Ok(removed)
    }

    /// SCAN + UNLINK on one server: the one connected, or the cluster node `node`.
    async fn clear_on(
        &self,
        conn: &mut Conn,
        node: Option<&(String, u16)>,
        prefix: &str,
        keep: &str,
    ) -> Result<u64, KvError> {
        let pattern = prefix_pattern(prefix);
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_BATCH);
            let (next, keys): (u64, Vec<String>) = match node {
                None => self.bounded(scan.query_async(conn)).await?,
                Some(node) => {
                    let reply = self
                        .bounded_cache(self.link.on_node(conn, node, scan))
                        .await?;
                    redis::from_redis_value(reply).map_err(|e| KvError::Redis(e.to_string()))?
                }
            };
            let keys: Vec<String> = keys.into_iter().filter(|k| !k.starts_with(keep)).collect();
            if !keys.is_empty() {
                // A cluster client splits a many-key UNLINK by slot and adds up the counts.
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
