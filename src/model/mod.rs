//! Types that cross the wire: between server functions and the browser, and between the JSON
//! API and its clients. Compiled for both sides; server-only derives (the OpenAPI schema) are
//! switched on with the `ssr` feature.

pub mod docs;
pub mod plan;
pub mod request;
pub mod section;
pub mod stats;
pub mod template;

use serde::{Deserialize, Serialize};

pub use docs::{DocsView, OperationView, ResponseView, SchemaView};
pub use plan::Plan;
pub use request::{
    EnterpriseData, FieldInput, FieldProblem, GenerateBody, PlanBody, SectionId, MAX_CONTEXT_CHARS,
};
pub use section::{
    PlanEvent, PlanOutcome, PlanSection, SectionEvent, SectionFailure, SectionStatus,
};
pub use stats::{
    AiStats, BreakerStats, CacheStats, Dashboard, HistoryPoint, TierStats, Tiers, WarmupJobView,
};
pub use template::{FieldKind, FieldSpec, SectionView, TemplateView};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::User => "用户",
        }
    }
}
