//! Each user's limits: requests per minute (fixed one-minute windows), generations running at
//! once (leases that lapse if an instance dies holding them), and model tokens per day (China
//! time). Counted in Redis, so every instance enforces one limit; while Redis is down, each
//! instance counts on its own (and says so in the log).

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
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

/// What one user has used, on this instance (kept while Redis is down).
#[derive(Default)]
struct Local {
    minute: u64,
    requests: u64,
    day: u64,
    tokens: u64,
    running: u32,
}

struct Inner {
    store: Arc<CacheService>,
    defaults: LimitSettings,
    /// How long a generation's lease holds if it is never given back.
    lease_ttl: Duration,
    /// Users by name; the set is fixed at startup.
    local: HashMap<Arc<str>, Mutex<Local>>,
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
            None => {
                if let Some(local) = self.limits.0.local.get(&self.user) {
                    let mut local = local.lock().unwrap_or_else(|e| e.into_inner());
                    local.running = local.running.saturating_sub(1);
                }
            }
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
            local: users
                .into_iter()
                .map(|u| (u, Mutex::new(Local::default())))
                .collect(),
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

    fn local(&self, user: &str) -> Option<std::sync::MutexGuard<'_, Local>> {
        let local = self.0.local.get(user)?;
        let mut local = local.lock().unwrap_or_else(|e| e.into_inner());
        let (minute, day) = (unix() / 60, (unix() + 8 * 3600) / 86_400);
        if local.minute != minute {
            local.minute = minute;
            local.requests = 0;
        }
        if local.day != day {
            local.day = day;
            local.tokens = 0;
        }
        Some(local)
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
        let key = format!("limit:tpd:{user}:{}", (unix() + 8 * 3600) / 86_400);
        let limited = own.or(self.0.defaults).tokens_per_day.is_some();
        if let Some(shared) = self.0.store.shared().filter(|_| limited) {
            if let Some(used) = shared.counter(&key).await {
                return used;
            }
        }
        self.local(user).map_or(0, |l| l.tokens)
    }

    /// Requests `user` has made this minute (across instances under a per-minute limit).
    pub async fn requests_this_minute(&self, user: &str, own: LimitSettings) -> u64 {
        let key = format!("limit:rpm:{user}:{}", unix() / 60);
        let limited = own.or(self.0.defaults).requests_per_minute.is_some();
        if let Some(shared) = self.0.store.shared().filter(|_| limited) {
            if let Some(n) = shared.counter(&key).await {
                return n;
            }
        }
        self.local(user).map_or(0, |l| l.requests)
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
        let key = format!("limit:rpm:{user}:{}", unix() / 60);
        let shared = match self.0.store.shared().filter(|_| limited) {
            Some(shared) => shared.count_up(&key, n, Duration::from_secs(65)).await,
            None => None,
        };
        if limited {
            self.counted_by_redis(shared.is_some());
        }
        let mut local = self.local(user);
        if let Some(local) = local.as_mut() {
            local.requests += n;
        }
        shared.or(local.map(|l| l.requests)).unwrap_or(0)
    }

    async fn lease(&self, user: &Arc<str>, limit: Option<u32>) -> Result<Lease, LimitError> {
        let made = |shared| Lease {
            limits: self.clone(),
            user: user.clone(),
            shared,
        };
        let busy = |limit: u32| LimitError {
            code: "TOO_MANY_GENERATIONS",
            retry_after: Duration::from_secs(5),
            message: format!("同时进行的生成已达上限（{limit} 个），请等当前的生成完成后再试"),
        };
        let Some(limit) = limit else {
            // Unlimited: counted here only, so that dropping the lease balances.
            if let Some(mut local) = self.local(user) {
                local.running += 1;
            }
            return Ok(made(None));
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
                    return Ok(made(Some(member)));
                }
                Some(false) => return Err(busy(limit)),
                None => {}
            }
        }
        self.counted_by_redis(false);
        let mut local = self.local(user).ok_or_else(|| busy(limit))?;
        if local.running >= limit {
            return Err(busy(limit));
        }
        local.running += 1;
        drop(local);
        Ok(made(None))
    }

    /// Adds model tokens `user` used to today's count (in Redis when they have a daily limit).
    pub async fn charge(&self, user: &str, own: LimitSettings, tokens: u64) {
        let key = format!("limit:tpd:{user}:{}", (unix() + 8 * 3600) / 86_400);
        let limited = own.or(self.0.defaults).tokens_per_day.is_some();
        if let Some(shared) = self.0.store.shared().filter(|_| limited) {
            shared
                .count_up(&key, tokens, Duration::from_secs(2 * 86_400))
                .await;
        }
        if let Some(mut local) = self.local(user) {
            local.tokens += tokens;
        }
    }
}
