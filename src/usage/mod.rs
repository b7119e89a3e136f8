//! Who spends what. Every request is admitted against its user's limits (`limits`); every
//! model call's tokens are counted to the user whose request made it, priced, and charged to
//! their daily allowance; every cached answer served counts what it saved (`ledger`).

pub mod ledger;
pub mod limits;

use std::{sync::Arc, time::Duration};

use self::{
    ledger::{Ledger, Prices},
    limits::{Lease, LimitError, Limits},
};
use crate::{
    ai::Usage,
    auth::tokens::User,
    config::LimitSettings,
    coord::Coordination,
    model::{Quota, UsageStats, UserUsage},
};

/// Whose request a generation serves: its tokens are counted to them. An admitted request's
/// payer also holds the user's place under their concurrency limit; whatever does the work keeps
/// a copy, so the place stays taken while the model runs even after the client has gone.
#[derive(Clone)]
pub struct Payer {
    name: Arc<str>,
    _running: Option<Arc<Lease>>,
}

impl Payer {
    /// Work counted to `name` outside any limit (an administrator's warm-up).
    pub fn unlimited(name: Arc<str>) -> Self {
        Self {
            name,
            _running: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Debug for Payer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Payer").field(&self.name).finish()
    }
}

pub struct Accounts {
    ledger: Ledger,
    limits: Limits,
    /// Every configured user, for the figures by user.
    users: Vec<Arc<User>>,
}

impl Accounts {
    pub fn new(
        store: Arc<Coordination>,
        users: Vec<Arc<User>>,
        defaults: LimitSettings,
        prices: Prices,
        lease_ttl: Duration,
    ) -> Self {
        let names = || users.iter().map(|u| u.name.clone());
        Self {
            ledger: Ledger::new(prices, names()),
            limits: Limits::new(store, defaults, lease_ttl, names()),
            users,
        }
    }

    /// Lets `user` make `requests` requests as one generation (a plan: one per section), or
    /// says why not. The payer goes with the request to the work it starts.
    pub async fn admit(&self, user: &User, requests: u32) -> Result<Payer, LimitError> {
        let lease = self.limits.admit(&user.name, user.limits, requests).await?;
        self.ledger.request(Some(&user.name), u64::from(requests));
        Ok(Payer {
            name: user.name.clone(),
            _running: Some(Arc::new(lease)),
        })
    }

    /// Gives back the places of generations still running on a stopping instance.
    pub async fn give_back_all(&self) -> usize {
        self.limits.give_back_all().await
    }

    /// A model call made for `payer`'s request.
    pub async fn spent(&self, payer: Option<&str>, usage: &Usage) {
        self.ledger.spent(payer, usage);
        if let Some(user) = payer.and_then(|p| self.users.iter().find(|u| &*u.name == p)) {
            self.limits
                .charge(&user.name, user.limits, usage.total())
                .await;
        }
    }

    /// A cached answer served to `payer`: what making it had cost.
    pub fn saved(&self, payer: Option<&str>, usage: &Usage, ms: u64) {
        self.ledger.saved(payer, usage, ms);
    }

    async fn user_usage(&self, user: &User) -> UserUsage {
        let limits = self.limits.of(user.limits);
        let tokens_today = self.limits.tokens_today(&user.name, user.limits).await;
        UserUsage {
            spend: self.ledger.user(&user.name),
            today: self.ledger.user_today(&user.name),
            limits,
            tokens_today,
            tokens_left_today: limits
                .tokens_per_day
                .map(|limit| limit.saturating_sub(tokens_today)),
        }
    }

    pub async fn stats(&self) -> UsageStats {
        let mut by_user = std::collections::BTreeMap::new();
        for user in &self.users {
            by_user.insert(user.name.to_string(), self.user_usage(user).await);
        }
        UsageStats {
            total: self.ledger.total(),
            today: self.ledger.today(),
            currency: self.ledger.currency().to_owned(),
            by_user,
        }
    }

    /// This instance's figures in total, without asking Redis.
    pub fn spend_total(&self) -> crate::model::Spend {
        self.ledger.total()
    }

    /// This instance's figures by user, without asking Redis (for the metrics).
    pub fn spend_by_user(&self) -> Vec<(Arc<str>, crate::model::Spend)> {
        self.users
            .iter()
            .map(|u| (u.name.clone(), self.ledger.user(&u.name)))
            .collect()
    }

    /// What `user` may still ask for.
    pub async fn quota(&self, user: &User) -> Quota {
        let usage = self.user_usage(user).await;
        Quota {
            name: user.name.to_string(),
            limits: usage.limits,
            requests_this_minute: self
                .limits
                .requests_this_minute(&user.name, user.limits)
                .await,
            tokens_today: usage.tokens_today,
            tokens_left_today: usage.tokens_left_today,
        }
    }
}
