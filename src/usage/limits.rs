//! Each user's limits: requests per minute (fixed one-minute windows; a refused request does not
//! count), generations running at once (leases renewed while their generation runs, so they
//! lapse within a minute of an instance dying), and model tokens per day (China time). Counted in Redis, so every instance enforces one limit; while Redis is down, each
//! instance counts on its own (and says so in the log).

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use crate::{
    clock::{china_day, minute, secs_to_china_midnight, unix},
    config::LimitSettings,
    coord::Coordination,
    model::{AppError, ErrorCode, UserLimits},
};

/// Why a user must wait, and how long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LimitError {
    /// `RateLimited`, `TooManyGenerations`, `DailyQuotaExceeded`, or `OverLimit` for a
    /// request no wait would let through (a plan of more sections than a minute allows).
    pub code: ErrorCode,
    /// `None` when waiting does not help.
    pub retry_after: Option<Duration>,
    pub message: String,
}

impl From<LimitError> for AppError {
    fn from(e: LimitError) -> Self {
        let error = AppError::new(e.code, e.message);
        match e.retry_after {
            Some(wait) => error.with_retry_after(wait.as_secs()),
            None => error,
        }
    }
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

    /// Adds `n` in `window` unless that takes the count past `limit`: `Ok` with the new count,
    /// or `Err` with the count as it stays.
    fn add_within(&self, window: u64, n: u64, limit: u64) -> Result<u64, u64> {
        let window32 = window as u32;
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            let (w, count) = Self::split(current);
            let count = if w == window32 { count } else { 0 };
            let next = u64::from(count).saturating_add(n);
            if next > limit {
                return Err(u64::from(count));
            }
            let next = u32::try_from(next).unwrap_or(u32::MAX);
            match self.0.compare_exchange_weak(
                current,
                (u64::from(window32) << 32) | u64::from(next),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(u64::from(next)),
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

struct Inner {
    store: Arc<Coordination>,
    defaults: LimitSettings,
    /// How long a generation's lease holds unless renewed.
    lease_ttl: Duration,
    /// Users by name; the set is fixed at startup.
    local: HashMap<Arc<str>, Local>,
    /// Whether the last count was made without Redis.
    alone: AtomicBool,
    /// Leases held in Redis now (member → user), for a stopping instance to give back.
    held: std::sync::Mutex<HashMap<String, Arc<str>>>,
}

#[derive(Clone)]
pub struct Limits(Arc<Inner>);

/// A running generation's place under its user's concurrency limit; given back when dropped.
/// One kept in Redis is renewed while held, so it lapses soon after its instance dies.
pub struct Lease {
    limits: Limits,
    user: Arc<str>,
    /// The lease's id in Redis and the task renewing it, or `None` for one counted in this
    /// instance's memory.
    shared: Option<(String, tokio::task::JoinHandle<()>)>,
    /// Whether it counts against a limit at all.
    counted: bool,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("user", &self.user)
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        match self.shared.take() {
            Some((member, renewing)) => {
                renewing.abort();
                self.limits.held().remove(&member);
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

/// Renews `member`'s lease on `key` every third of `ttl` until aborted. A renewal that fails
/// (Redis down) is tried again next time; one that finds the lease gone stops.
fn spawn_renewal(
    limits: Limits,
    key: String,
    member: String,
    ttl: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(ttl / 3).await;
            let Some(shared) = limits.0.store.shared() else {
                continue;
            };
            if shared.renew_lease(&key, &member, ttl).await == Some(false) {
                return;
            }
        }
    })
}

fn run_key(user: &str) -> String {
    format!("limit:run:{user}")
}

impl Limits {
    pub fn new(
        store: Arc<Coordination>,
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
            held: std::sync::Mutex::default(),
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
    /// or says why not. The lease, while held, counts against the concurrency limit. A refused
    /// request uses up nothing.
    pub async fn admit(
        &self,
        user: &Arc<str>,
        own: LimitSettings,
        requests: u32,
    ) -> Result<Lease, LimitError> {
        let limits = own.or(self.0.defaults);
        if let Some(per_minute) = limits.requests_per_minute.filter(|&n| requests > n) {
            return Err(LimitError {
                code: ErrorCode::OverLimit,
                retry_after: None,
                message: format!(
                    "这份预案有 {requests} 个章节，超过每分钟最多 {per_minute} 次请求的限额，\
                     请逐章生成，或请管理员调高限额"
                ),
            });
        }
        if let Some(per_day) = limits.tokens_per_day {
            if self.tokens_today(user, own).await >= per_day {
                return Err(LimitError {
                    code: ErrorCode::DailyQuotaExceeded,
                    retry_after: Some(Duration::from_secs(secs_to_china_midnight())),
                    message: format!(
                        "今日的用量额度（{per_day} tokens）已用完，请明天再试或联系管理员调整额度"
                    ),
                });
            }
        }
        let lease = self.lease(user, limits.concurrent_generations).await?;
        let counted = self
            .count_requests(user, u64::from(requests), limits.requests_per_minute)
            .await;
        if let (Err(_), Some(per_minute)) = (counted, limits.requests_per_minute) {
            return Err(LimitError {
                code: ErrorCode::RateLimited,
                retry_after: Some(Duration::from_secs(60 - unix() % 60)),
                message: format!("请求过于频繁（每分钟最多 {per_minute} 次），请稍后再试"),
            });
        }
        Ok(lease)
    }

    /// Counts `n` requests of `user` this minute unless that passes `limit`: in Redis when a
    /// limit needs every instance's count, here in any case (for the page's display, and for
    /// when Redis is down).
    async fn count_requests(&self, user: &str, n: u64, limit: Option<u32>) -> Result<u64, u64> {
        let Some(limit) = limit.map(u64::from) else {
            return Ok(self.local(user).map_or(0, |l| l.requests.add(minute(), n)));
        };
        let key = format!("limit:rpm:{user}:{}", minute());
        let shared = match self.0.store.shared() {
            Some(shared) => {
                shared
                    .count_within(&key, n, limit, Duration::from_secs(65))
                    .await
            }
            None => None,
        };
        self.counted_by_redis(shared.is_some());
        let here = self.local(user).map(|l| match shared {
            // Redis decided; this instance's count follows it.
            Some(Ok(_)) => Ok(l.requests.add(minute(), n)),
            Some(Err(count)) => Err(count),
            None => l.requests.add_within(minute(), n, limit),
        });
        shared.or(here).unwrap_or(Err(0))
    }

    async fn lease(&self, user: &Arc<str>, limit: Option<u32>) -> Result<Lease, LimitError> {
        let made = |shared: Option<String>, counted| Lease {
            shared: shared.map(|member| {
                self.held().insert(member.clone(), user.clone());
                let renewing = spawn_renewal(
                    self.clone(),
                    run_key(user),
                    member.clone(),
                    self.0.lease_ttl,
                );
                (member, renewing)
            }),
            limits: self.clone(),
            user: user.clone(),
            counted,
        };
        let busy = |limit: u32| LimitError {
            code: ErrorCode::TooManyGenerations,
            retry_after: Some(Duration::from_secs(5)),
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

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<str>>> {
        self.0.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Gives back every lease still held in Redis (a stopping instance whose generations did
    /// not finish), rather than leaving them to lapse; how many there were.
    pub async fn give_back_all(&self) -> usize {
        let held: Vec<(String, Arc<str>)> = self.held().drain().collect();
        if let Some(shared) = self.0.store.shared() {
            for (member, user) in &held {
                shared.unlease(&run_key(user), member).await;
            }
        }
        held.len()
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

    #[test]
    fn a_window_refuses_what_would_pass_its_limit_and_counts_nothing() {
        let w = Window::default();
        assert_eq!(w.add_within(3, 4, 5), Ok(4));
        assert_eq!(w.add_within(3, 2, 5), Err(4));
        assert_eq!(w.add_within(3, 1, 5), Ok(5));
        assert_eq!(
            w.add_within(4, 5, 5),
            Ok(5),
            "a new window starts from zero"
        );
    }
}
