//! The counters an instance adds to the deployment's, as one flat table of integers (costs in
//! millionths), so they can be added up in Redis hashes with HINCRBY and subtracted to find
//! what is new since the last report.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use crate::model::{AiStats, CacheStats, Spend, UsageStats};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures(BTreeMap<String, i64>);

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn micros(cost: f64) -> i64 {
    (cost * 1e6).round() as i64
}

fn read(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The fields of a `Spend`, under `prefix`.
fn spend_fields(prefix: &str, s: &Spend) -> [(String, i64); 8] {
    [
        ("prompt_tokens", count(s.prompt_tokens)),
        ("completion_tokens", count(s.completion_tokens)),
        ("estimated_tokens", count(s.estimated_tokens)),
        ("cost_micros", micros(s.cost)),
        ("saved_tokens", count(s.saved_tokens)),
        ("saved_micros", micros(s.saved_cost)),
        ("saved_ms", count(s.saved_ms)),
        ("requests", count(s.requests)),
    ]
    .map(|(name, v)| (format!("{prefix}{name}"), v))
}

impl Figures {
    /// This instance's counters: the cache's, the model's, and what was spent in total and by
    /// each user.
    pub fn of(
        cache: &CacheStats,
        ai: &AiStats,
        total: &Spend,
        users: &[(Arc<str>, Spend)],
    ) -> Self {
        let mut f = BTreeMap::new();
        for (name, v) in [
            ("cache:hits", cache.hits),
            ("cache:misses", cache.misses),
            ("cache:sets", cache.sets),
            ("cache:errors", cache.errors),
            ("cache:requests", cache.total_requests),
            ("cache:l1_hits", cache.tiers.l1.hits),
            ("cache:l1_misses", cache.tiers.l1.misses),
            ("cache:l2_hits", cache.tiers.l2.hits),
            ("cache:l2_misses", cache.tiers.l2.misses),
            ("cache:stale_served", cache.stale_served),
            ("ai:calls", ai.calls),
            ("ai:successes", ai.successes),
            ("ai:retries", ai.retries),
            ("ai:failures", ai.failures),
        ] {
            f.insert(name.to_owned(), count(v));
        }
        f.extend(spend_fields("usage:", total));
        for (user, spend) in users {
            f.extend(spend_fields(&format!("user:{user}:"), spend));
        }
        Self(f)
    }

    pub fn from_hash(hash: HashMap<String, i64>) -> Self {
        Self(hash.into_iter().collect())
    }

    fn get(&self, name: &str) -> i64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// What `self` has that `earlier` had not: the fields that changed, by how much.
    pub fn since(&self, earlier: &Self) -> Self {
        Self(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v - earlier.get(k)))
                .filter(|(_, d)| *d != 0)
                .collect(),
        )
    }

    pub fn plus(&self, other: &Self) -> Self {
        let mut sum = self.0.clone();
        for (k, v) in &other.0 {
            *sum.entry(k.clone()).or_default() += v;
        }
        Self(sum)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> Vec<(String, i64)> {
        self.0.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// Cache traffic only: what the chart shows.
    pub fn traffic(&self) -> Vec<(String, i64)> {
        ["cache:requests", "cache:hits"]
            .iter()
            .map(|k| ((*k).to_owned(), self.get(k)))
            .filter(|(_, v)| *v != 0)
            .collect()
    }

    pub fn requests_and_hits(&self) -> (u64, u64) {
        (
            read(self.get("cache:requests")),
            read(self.get("cache:hits")),
        )
    }

    fn spend(&self, prefix: &str) -> Spend {
        let get = |name: &str| self.get(&format!("{prefix}{name}"));
        Spend {
            prompt_tokens: read(get("prompt_tokens")),
            completion_tokens: read(get("completion_tokens")),
            estimated_tokens: read(get("estimated_tokens")),
            cost: get("cost_micros") as f64 / 1e6,
            saved_tokens: read(get("saved_tokens")),
            saved_cost: get("saved_micros") as f64 / 1e6,
            saved_ms: read(get("saved_ms")),
            requests: read(get("requests")),
        }
    }

    /// Writes these counters over the ones in the stats; what is the instance's own (its
    /// backend, breaker, model, users' limits) stays.
    pub fn apply(&self, cache: &mut CacheStats, ai: &mut AiStats, usage: &mut UsageStats) {
        let get = |name: &str| read(self.get(name));
        cache.hits = get("cache:hits");
        cache.misses = get("cache:misses");
        cache.sets = get("cache:sets");
        cache.errors = get("cache:errors");
        cache.total_requests = get("cache:requests");
        cache.hit_rate = crate::cache::hit_rate(cache.hits, cache.hits + cache.misses);
        cache.tiers.l1.hits = get("cache:l1_hits");
        cache.tiers.l1.misses = get("cache:l1_misses");
        cache.tiers.l2.hits = get("cache:l2_hits");
        cache.tiers.l2.misses = get("cache:l2_misses");
        cache.stale_served = get("cache:stale_served");
        ai.calls = get("ai:calls");
        ai.successes = get("ai:successes");
        ai.retries = get("ai:retries");
        ai.failures = get("ai:failures");
        usage.total = self.spend("usage:");
        for (user, u) in &mut usage.by_user {
            u.spend = self.spend(&format!("user:{user}:"));
        }
    }

    /// Reads these as today's figures: the usage, and the tokens of each user whose tokens no
    /// daily limit counts (a limit's own counter in Redis is already the deployment's).
    pub fn apply_today(&self, usage: &mut UsageStats) {
        usage.today = self.spend("usage:");
        for (user, u) in &mut usage.by_user {
            u.today = self.spend(&format!("user:{user}:"));
            if u.limits.tokens_per_day.is_none() {
                u.tokens_today = u.today.prompt_tokens + u.today.completion_tokens;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_new_adds_back_up_to_the_whole() {
        let a = Figures::from_hash(HashMap::from([
            ("cache:hits".into(), 5),
            ("ai:calls".into(), 2),
        ]));
        let b = Figures::from_hash(HashMap::from([
            ("cache:hits".into(), 9),
            ("ai:calls".into(), 2),
            ("usage:requests".into(), 1),
        ]));
        let new = b.since(&a);
        assert_eq!(
            new.fields(),
            [
                ("cache:hits".to_owned(), 4),
                ("usage:requests".to_owned(), 1)
            ]
        );
        assert_eq!(a.plus(&new), b);
        assert_eq!(new.traffic(), [("cache:hits".to_owned(), 4)]);
    }
}
