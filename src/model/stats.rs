//! The service's figures: the cache's and the AI's counters, read by the stats API, the admin
//! dashboard and `/metrics` alike, and the dashboard's chart and warm-up progress.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TierStats {
    pub hits: u64,
    pub misses: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Tiers {
    /// The in-process memory tier.
    pub l1: TierStats,
    /// Redis.
    pub l2: TierStats,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BreakerStats {
    /// `closed` (Redis in use) or `open` (serving from memory).
    #[cfg_attr(feature = "ssr", schema(example = "closed"))]
    pub state: String,
    /// Times Redis was given up on, and times it was taken back.
    pub opened: u64,
    pub closed: u64,
}

/// The seed's stats, plus which backend serves them, the tiers and the breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub sets: u64,
    pub errors: u64,
    pub total_requests: u64,
    #[cfg_attr(feature = "ssr", schema(example = "75.00%"))]
    pub hit_rate: String,
    /// `redis` or `memory`: what serves requests right now.
    #[cfg_attr(feature = "ssr", schema(example = "redis"))]
    pub backend: String,
    /// True when Redis is configured but memory is serving.
    pub degraded: bool,
    /// Whether Redis (or Sentinel) is configured at all.
    pub redis_configured: bool,
    pub l1_enabled: bool,
    pub tiers: Tiers,
    pub breaker: BreakerStats,
    /// Expired entries served because the AI failed.
    pub stale_served: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AiStats {
    /// `model` (an OpenAI-compatible API) or `mock`.
    #[cfg_attr(feature = "ssr", schema(example = "model"))]
    pub mode: String,
    #[cfg_attr(feature = "ssr", schema(example = "gpt-4"))]
    pub model: String,
    /// HTTP attempts to the model API (the mock counts one per answer).
    pub calls: u64,
    pub successes: u64,
    pub retries: u64,
    pub failures: u64,
}

impl AiStats {
    pub fn is_mock(&self) -> bool {
        self.mode == "mock"
    }
}

/// Cache traffic in one sampling interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPoint {
    pub at_unix: u64,
    pub requests: u64,
    pub hits: u64,
}

/// Progress of one warm-up job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmupJobView {
    pub id: u64,
    pub label: String,
    pub total: u64,
    pub done: u64,
    pub failed: u64,
    pub finished: bool,
    pub errors: Vec<String>,
}

/// Everything the admin dashboard shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub scope: super::Scope,
    pub stats: CacheStats,
    pub ai: AiStats,
    pub usage: super::UsageStats,
    pub instances: Vec<super::InstanceView>,
    /// Oldest first, `history_step_secs` apart.
    pub history: Vec<HistoryPoint>,
    pub history_step_secs: u64,
    /// Newest first.
    pub warmups: Vec<WarmupJobView>,
    /// How many plans writers keep (never their text).
    pub plans: super::PlanCounts,
}
