//! Counts of what was spent and saved, in total, today and by user. The set of users is fixed
//! at startup (the configured ones), so the table cannot grow; counts are atomics, so the hit
//! path pays a few additions.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use crate::{ai::Usage, model::Spend};

/// Prices per million tokens.
#[derive(Debug, Clone)]
pub struct Prices {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    pub currency: String,
}

impl Prices {
    /// What `usage` costs, in millionths of the currency.
    fn micros(&self, usage: &Usage) -> u64 {
        let cost = usage.prompt_tokens as f64 * self.input_per_mtok
            + usage.completion_tokens as f64 * self.output_per_mtok;
        cost.round() as u64
    }
}

#[derive(Default)]
struct Tally {
    prompt: AtomicU64,
    completion: AtomicU64,
    estimated: AtomicU64,
    cost_micros: AtomicU64,
    saved_tokens: AtomicU64,
    saved_micros: AtomicU64,
    saved_ms: AtomicU64,
    requests: AtomicU64,
}

impl Tally {
    fn spend(&self, usage: &Usage, micros: u64) {
        self.prompt
            .fetch_add(usage.prompt_tokens, Ordering::Relaxed);
        self.completion
            .fetch_add(usage.completion_tokens, Ordering::Relaxed);
        if usage.estimated {
            self.estimated.fetch_add(usage.total(), Ordering::Relaxed);
        }
        self.cost_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn save(&self, tokens: u64, micros: u64, ms: u64) {
        self.saved_tokens.fetch_add(tokens, Ordering::Relaxed);
        self.saved_micros.fetch_add(micros, Ordering::Relaxed);
        self.saved_ms.fetch_add(ms, Ordering::Relaxed);
    }

    fn clear(&self) {
        for counter in [
            &self.prompt,
            &self.completion,
            &self.estimated,
            &self.cost_micros,
            &self.saved_tokens,
            &self.saved_micros,
            &self.saved_ms,
            &self.requests,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }

    fn read(&self) -> Spend {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Spend {
            prompt_tokens: load(&self.prompt),
            completion_tokens: load(&self.completion),
            estimated_tokens: load(&self.estimated),
            cost: load(&self.cost_micros) as f64 / 1e6,
            saved_tokens: load(&self.saved_tokens),
            saved_cost: load(&self.saved_micros) as f64 / 1e6,
            saved_ms: load(&self.saved_ms),
            requests: load(&self.requests),
        }
    }
}

pub struct Ledger {
    prices: Prices,
    total: Tally,
    today: Tally,
    /// The China-time day `today` counts.
    day: AtomicU64,
    /// Each user's total and today.
    users: HashMap<Arc<str>, [Tally; 2]>,
}

impl Ledger {
    pub fn new(prices: Prices, users: impl IntoIterator<Item = Arc<str>>) -> Self {
        Self {
            prices,
            total: Tally::default(),
            today: Tally::default(),
            day: AtomicU64::new(crate::clock::china_day()),
            users: users.into_iter().map(|u| (u, Default::default())).collect(),
        }
    }

    pub fn currency(&self) -> &str {
        &self.prices.currency
    }

    /// The tallies an event of `user` adds to, `today` started afresh on a new day.
    fn tallies(&self, user: Option<&str>) -> impl Iterator<Item = &Tally> {
        let day = crate::clock::china_day();
        let seen = self.day.load(Ordering::Relaxed);
        if day != seen
            && self
                .day
                .compare_exchange(seen, day, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.today.clear();
            self.users.values().for_each(|[_, today]| today.clear());
        }
        [&self.total, &self.today]
            .into_iter()
            .chain(user.and_then(|u| self.users.get(u)).into_iter().flatten())
    }

    pub fn request(&self, user: Option<&str>, n: u64) {
        for t in self.tallies(user) {
            t.requests.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn spent(&self, user: Option<&str>, usage: &Usage) {
        let micros = self.prices.micros(usage);
        for t in self.tallies(user) {
            t.spend(usage, micros);
        }
    }

    /// A cached answer served: what making it had cost.
    pub fn saved(&self, user: Option<&str>, usage: &Usage, ms: u64) {
        let micros = self.prices.micros(usage);
        for t in self.tallies(user) {
            t.save(usage.total(), micros, ms);
        }
    }

    pub fn total(&self) -> Spend {
        self.total.read()
    }

    pub fn today(&self) -> Spend {
        self.tallies(None).for_each(drop);
        self.today.read()
    }

    pub fn user(&self, user: &str) -> Spend {
        self.users
            .get(user)
            .map(|[total, _]| total.read())
            .unwrap_or_default()
    }

    /// What `user` spent today (China time).
    pub fn user_today(&self, user: &str) -> Spend {
        self.tallies(None).for_each(drop);
        self.users
            .get(user)
            .map(|[_, today]| today.read())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spend_and_savings_add_up_by_user() {
        let ledger = Ledger::new(
            Prices {
                input_per_mtok: 2.0,
                output_per_mtok: 8.0,
                currency: "CNY".into(),
            },
            [Arc::from("张三")],
        );
        let usage = Usage {
            prompt_tokens: 1_000,
            completion_tokens: 500,
            estimated: false,
        };
        ledger.spent(Some("张三"), &usage);
        ledger.saved(Some("张三"), &usage, 1200);
        ledger.request(Some("张三"), 2);
        ledger.spent(Some("不在名单上"), &usage);
        let user = ledger.user("张三");
        assert_eq!((user.prompt_tokens, user.completion_tokens), (1_000, 500));
        assert!((user.cost - 0.006).abs() < 1e-9, "{}", user.cost);
        assert_eq!(
            (user.saved_tokens, user.saved_ms, user.requests),
            (1_500, 1200, 2)
        );
        assert_eq!(ledger.total().prompt_tokens, 2_000);
        assert_eq!(ledger.today().completion_tokens, 1_000);
        assert_eq!(ledger.user_today("张三").completion_tokens, 500);
    }
}
