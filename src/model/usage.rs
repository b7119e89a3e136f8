//! Who spent what: model tokens, their cost, what the cache saved, and each user's limits and
//! what is left of them. Read by the stats API, the dashboard and the generator page.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A user's limits; `null` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserLimits {
    pub requests_per_minute: Option<u32>,
    pub concurrent_generations: Option<u32>,
    pub tokens_per_day: Option<u64>,
}

/// Tokens, cost and savings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Spend {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// How many of those tokens were estimated from the text (the provider reported none).
    pub estimated_tokens: u64,
    /// What those tokens cost, in `currency` (0 when not priced).
    pub cost: f64,
    /// Tokens, cost and model time the cache saved: what the answers it served had taken.
    pub saved_tokens: u64,
    pub saved_cost: f64,
    pub saved_ms: u64,
    /// Requests: cache hits, generations, each section of a plan.
    pub requests: u64,
}

/// One user's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserUsage {
    #[serde(flatten)]
    pub spend: Spend,
    pub limits: UserLimits,
    /// What the user spent today (China time), across instances when Redis is up.
    #[serde(default)]
    pub today: Spend,
    /// Tokens used today (China time), across instances when Redis is up.
    pub tokens_today: u64,
    /// What is left of `tokens_per_day` today; `null` without that limit.
    pub tokens_left_today: Option<u64>,
}

/// The usage figures of this instance since it started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UsageStats {
    #[serde(flatten)]
    pub total: Spend,
    /// Since midnight, China time.
    pub today: Spend,
    #[cfg_attr(feature = "ssr", schema(example = "CNY"))]
    pub currency: String,
    /// By user name; every configured user is listed.
    pub by_user: BTreeMap<String, UserUsage>,
}

impl UsageStats {
    /// What `user` may see of these figures: their own, in place of everyone's.
    pub fn only(mut self, user: &str) -> Self {
        self.by_user.retain(|name, _| name == user);
        let own = self.by_user.get(user).cloned().unwrap_or_default();
        self.total = own.spend;
        self.today = own.today;
        self
    }
}

/// What a writer may still ask for, as the generator page shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Quota {
    pub name: String,
    pub limits: UserLimits,
    pub requests_this_minute: u64,
    pub tokens_today: u64,
    pub tokens_left_today: Option<u64>,
}
