//! Each user's limits: requests per minute (fixed one-minute windows), generations running at
//! once (leases that lapse if an instance dies holding them), and model tokens per day (China
//! time). Counted in Redis, so every instance enforces one limit; while Redis is down, each
//! instance counts on its own (and says so in the log).

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::{cache::CacheService, config::LimitSettings, model::UserLimits};

/// Why a user must wait, and how long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LimitError {
    /// `RATE_LIMITED`, `TOO_MANY_GENERATIONS` or `DAILY_QUOTA_EXCEEDED`.
    pub code: &'static str,
    pub retry_after: Duration,
    pub message: String,
}

/// A count within a window (a minute, a day) that starts again from zero when the window
/// moves on; lock-free, as the hit path passes here.
#[derive(Default)]
struct Window(AtomicU64);

impl Window {
    fn split(v: u64) -> (u32, u32) {
        ((v >> 32) as u32, v as u32)
    }

    /// Adds `n` in `window`; the new count.
    fn add(&self, window: u64, n: u64) -> u64 {
        let window = window as u32;
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            let (w, count) = Self::split(current);
            let count = if w == window { count } else { 0 };
            let next = count.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
            match self.0.compare_exchange_weak(
                current,
                (u64::from(window) << 32) | u64::from(next),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return u64::from(next),
                Err(actual) => current = actual,
            }
        }
    }

    fn get(&self, window: u64) -> u64 {
        let (w, count) = Self::split(self.0.load(Ordering::Relaxed));
        if w == window as u32 {
            u64::from(count)
        } else {
            0
        }
    }
}

/// What one user has used, on this instance (what counts while Redis is down).
#[derive(Default)]
struct Local {
    requests: Window,
    tokens: Window,
    running: AtomicU32,
}

fn minute() -> u64 {
    unix() / 60
}

fn china_day() -> u64 {
    (unix() + 8 * 3600) / 86_400
}

struct Inner {
    store: Arc<CacheService>,
    defaults: LimitSettings,
    /// How long a generation's lease holds if it is never given back.
    lease_ttl: Duration,
    /// Users by name; the set is fixed at startup.
    local: HashMap<Arc<str>, Local>,
    /// Whether the last count was made without Redis.
    alone: AtomicBool,
}

#[derive(Clone)]
pub struct Limits(Arc<Inner>);

fn unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Seconds until the next China-time midnight.
fn until_tomorrow() -> u64 {
    86_400 - (unix() + 8 * 3600) % 86_400
}

/// A running generation's place under its user's concurrency limit; given back when dropped.
pub struct Lease {
    limits: Limits,
    user: Arc<str>,
    /// The lease's id in Redis, or `None` for one counted in this instance's memory.
    shared: Option<String>,
    /// Whether it counts against a limit at all.
    counted: bool,
}

impl Drop for Lease {
    fn drop(&mut self) {
        match self.shared.take() {
            Some(member) => {
                let limits = self.limits.clone();
                let key = run_key(&self.user);
                // Giving back needs Redis; the lease lapses by itself if this never runs.
                tokio::spawn(async move {
                    if let Some(shared) = limits.0.store.shared() {
                        shared.unlease(&key, &member).await;
                    }
                });
            }
            None if self.counted => {
                if let Some(local) = self.limits.0.local.get(&self.user) {
                    local.running.fetch_sub(1, Ordering::AcqRel);
                }
            }
            None => {}
        }
    }
}

fn run_key(user: &str) -> String {
    format!("limit:run:{user}")
}

impl Limits {
    pub fn new(
        store: Arc<CacheService>,
        defaults: LimitSettings,
        lease_ttl: Duration,
        users: impl IntoIterator<Item = Arc<str>>,
    ) -> Self {
        Self(Arc::new(Inner {
            store,
            defaults,
            lease_ttl,
            local: users.into_iter().map(|u| (u, Local::default())).collect(),
            alone: AtomicBool::new(false),
        }))
    }

    /// A user's limits, theirs over the defaults.
    pub fn of(&self, own: LimitSettings) -> UserLimits {
        let l = own.or(self.0.defaults);
        UserLimits {
            requests_per_minute: l.requests_per_minute,
            concurrent_generations: l.concurrent_generations,
            tokens_per_day: l.tokens_per_day,
        }
    }

    fn local(&self, user: &str) -> Option<&Local> {
        self.0.local.get(user)
    }

    /// Notes whether Redis counted, and says in the log when that changes.
    fn counted_by_redis(&self, yes: bool) {
        if self.0.alone.swap(!yes, Ordering::AcqRel) == yes {
            if yes {
                tracing::info!("Redis 已恢复，用量限制恢复为所有实例共同计数");
            } else {
                tracing::warn!("Redis 不可用，用量限制改为每个实例各自计数");
            }
        }
    }

    /// Tokens `user` has used today.
    /// Tokens `user` has used today: across instances when a daily limit counts them in Redis,
    /// else on this instance.
    pub async fn tokens_today(&self, user: &str, own: LimitSettings) -> u64 {
        let key = format!("limit:tpd:{user}:{}", china_day());
        let limited = own.or(self.0.defaults).tokens_per_day.is_some();
        if let Some(shared) = self.0.store.shared().filter(|_| limited) {
            if let Some(used) = shared.counter(&key).await {
                return used;
            }
        }
        self.local(user).map_or(0, |l| l.tokens.get(china_day()))
    }

    /// Requests `user` has made this minute (across instances under a per-minute limit).
    pub async fn requests_this_minute(&self, user: &str, own: LimitSettings) -> u64 {
        let key = format!("limit:rpm:{user}:{}", minute());
        let limited = own.or(self.0.defaults).requests_per_minute.is_some();
        if let Some(shared) = self.0.store.shared().filter(|_| limited) {
            if let Some(n) = shared.counter(&key).await {
                return n;
            }
        }
        self.local(user).map_or(0, |l| l.requests.get(minute()))
    }

    /// Lets `user` make `requests` requests (each section of a plan is one) as one generation,
    /// or says why not. The lease, while held, counts against the concurrency limit.
    pub async fn admit(
        &self,
        user: &Arc<str>,
        own: LimitSettings,
        requests: u32,
    ) -> Result<Lease, LimitError> {
        let limits = own.or(self.0.defaults);
        if let Some(per_day) = limits.tokens_per_day {
            if self.tokens_today(user, own).await >= per_day {
                return Err(LimitError {
                    code: "DAILY_QUOTA_EXCEEDED",
                    retry_after: Duration::from_secs(until_tomorrow()),
                    message: format!(
                        "今日的用量额度（{per_day} tokens）已用完，请明天再试或联系管理员调整额度"
                    ),
                });
            }
        }
        let lease = self.lease(user, limits.concurrent_generations).await?;
        if let Some(per_minute) = limits.requests_per_minute {
            let made = self.count_requests(user, u64::from(requests), true).await;
            if made > u64::from(per_minute) {
                return Err(LimitError {
                    code: "RATE_LIMITED",
                    retry_after: Duration::from_secs(60 - unix() % 60),
                    message: format!("请求过于频繁（每分钟最多 {per_minute} 次），请稍后再试"),
                });
            }
        } else {
            self.count_requests(user, u64::from(requests), false).await;
        }
        Ok(lease)
    }

    /// Counts `n` requests of `user` this minute: in Redis when a limit needs every instance's
    /// count, here in any case (for the page's display, and for when Redis is down).
    async fn count_requests(&self, user: &str, n: u64, limited: bool) -> u64 {
        let key = format!("limit:rpm:{user}:{}", minute());
        let shared = match self.0.store.shared().filter(|_| limited) {
            Some(shared) => shared.count_up(&key, n, Duration::from_secs(65)).await,
            None => None,
        };
        if limited {
            self.counted_by_redis(shared.is_some());
        }
        let here = self.local(user).map(|l| l.requests.add(minute(), n));
        shared.or(here).unwrap_or(0)
    }

    async fn lease(&self, user: &Arc<str>, limit: Option<u32>) -> Result<Lease, LimitError> {
        let made = |shared, counted| Lease {
            limits: self.clone(),
            user: user.clone(),
            shared,
            counted,
        };
        let busy = |limit: u32| LimitError {
            code: "TOO_MANY_GENERATIONS",
            retry_after: Duration::from_secs(5),
            message: format!("同时进行的生成已达上限（{limit} 个），请等当前的生成完成后再试"),
        };
        let Some(limit) = limit else {
            return Ok(made(None, false));
        };
        if let Some(shared) = self.0.store.shared() {
            let member = {
                use rand::RngCore;
                let mut id = [0u8; 12];
                rand::rng().fill_bytes(&mut id);
                hex::encode(id)
            };
            match shared
                .lease(&run_key(user), &member, limit, self.0.lease_ttl)
                .await
            {
                Some(true) => {
                    self.counted_by_redis(true);
                    return Ok(made(Some(member), true));
                }
                Some(false) => return Err(busy(limit)),
                None => {}
            }
        }
        self.counted_by_redis(false);
        let local = self.local(user).ok_or_else(|| busy(limit))?;
        local
            .running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |running| {
                (running < limit).then_some(running + 1)
            })
            .map_err(|_| busy(limit))?;
        Ok(made(None, true))
    }

    /// Adds model tokens `user` used to today's count (in Redis when they have a daily limit).
    pub async fn charge(&self, user: &str, own: LimitSettings, tokens: u64) {
        let key = format!("limit:tpd:{user}:{}", china_day());
        let limited = own.or(self.0.defaults).tokens_per_day.is_some();
        if let Some(shared) = self.0.store.shared().filter(|_| limited) {
            shared
                .count_up(&key, tokens, Duration::from_secs(2 * 86_400))
                .await;
        }
        if let Some(local) = self.local(user) {
            local.tokens.add(china_day(), tokens);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_counts_until_it_moves_on() {
        let w = Window::default();
        assert_eq!(w.add(7, 2), 2);
        assert_eq!(w.add(7, 3), 5);
        assert_eq!(w.get(7), 5);
        assert_eq!(w.get(8), 0);
        assert_eq!(w.add(8, 1), 1);
        assert_eq!(w.get(7), 0);
        assert_eq!(w.add(8, u64::MAX), u64::from(u32::MAX));
    }
}
