//! The deployment as the stats API and the dashboard show it: whose figures they are (every
//! instance's, or only this one's while Redis is down) and the instances that make it up.

use serde::{Deserialize, Serialize};

/// Whose figures a stats answer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every instance sharing the Redis, added up there.
    Deployment,
    /// Only the instance that answered (Redis is not configured or not reachable).
    Instance,
}

/// One instance of the deployment, as it last reported itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InstanceView {
    #[cfg_attr(feature = "ssr", schema(example = "web-1-3f9a2c1b"))]
    pub id: String,
    /// Where it listens, as it was started.
    #[cfg_attr(feature = "ssr", schema(example = "10.0.0.5:3000"))]
    pub address: String,
    #[cfg_attr(feature = "ssr", schema(example = "0.1.0"))]
    pub version: String,
    pub started_unix: u64,
    /// `redis` or `memory`: what served its requests at its last report.
    pub backend: String,
    /// `closed` (Redis in use) or `open` (serving from memory).
    pub breaker: String,
    /// Seconds since its last report.
    pub seen_secs_ago: u64,
    /// Reported within the last few seconds; otherwise it has gone quiet.
    pub live: bool,
    /// The instance that gave this answer.
    pub this: bool,
}
