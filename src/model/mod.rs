//! Types that cross the wire: between server functions and the browser, and between the JSON
//! API and its clients. Compiled for both sides; server-only derives (the OpenAPI schema) are
//! switched on with the `ssr` feature.

pub mod check;
pub mod deployment;
pub mod docs;
pub mod error;
pub mod finding;
pub mod job;
pub mod plan;
pub mod profile;
pub mod profile_check;
pub mod profile_sheets;
pub mod request;
pub mod saved;
pub mod section;
pub mod stats;
pub mod template;
pub mod usage;
pub mod whole;

use serde::{Deserialize, Serialize};

pub use check::{ClauseRow, ElementCheck, ElementSpec, SectionCheck};
pub use deployment::{InstanceView, Scope};
pub use docs::{DocsView, OperationView, ResponseView, SchemaView};
pub use error::{AppError, ErrorCode};
pub use job::{
    FeedEvent, FeedItem, JobRequest, JobStarted, JobState, PlanFromData, PlanFromProfile, PlanJob,
    SavedSection, SectionOutcome,
};
pub use plan::{Plan, PlanMeta};
pub use request::{
    EnterpriseData, FieldInput, FieldProblem, GenerateBody, PlanBody, SectionId, MAX_CONTEXT_CHARS,
};
pub use saved::{
    DiffKind, DiffRow, DiffSpan, DuplicatePlan, NewPlan, NewVersion, PlanChange, PlanCounts,
    PlanSummary, PlanUpdate, PlanVersion, SaveOutcome, SaveRequest, SavedPlan, SectionDiff,
    VersionKind, VersionSummary,
};
pub use section::{
    PlanEvent, PlanOutcome, PlanSection, SectionEvent, SectionFailure, SectionStatus,
};
pub use stats::{
    AiStats, BreakerStats, CacheStats, Dashboard, HistoryPoint, TierStats, Tiers, WarmupJobView,
};
pub use template::{FieldKind, FieldSpec, SectionView, TemplateView};
pub use usage::{Quota, Spend, UsageStats, UserLimits, UserUsage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    User,
}

/// Who is logged in, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub name: String,
    pub role: Role,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::User => "用户",
        }
    }
}
