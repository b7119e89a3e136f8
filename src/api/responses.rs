//! What the API answers with: `{"success": true, ...}` around each result, as in the seed. The
//! handlers return these types and the OpenAPI document describes them.

use std::sync::Arc;

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    generation::Generated,
    model::{AiStats, CacheStats, InstanceView, PlanOutcome, Scope, UsageStats},
    templates::Template,
};

#[derive(Serialize, ToSchema)]
pub struct GenerateResponse {
    #[schema(example = true)]
    pub success: bool,
    #[serde(flatten)]
    pub section: Generated,
}

/// Written into a buffer sized for the section's text up front: a buffer grown as it fills
/// would copy a long section several times, on every cache hit.
impl IntoResponse for GenerateResponse {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(self.section.content.len() * 5 / 4 + 2048);
        match serde_json::to_writer(&mut body, &self) {
            Ok(()) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
            Err(e) => {
                tracing::error!("响应序列化失败: {e}");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PlanResponse {
    #[schema(example = true)]
    pub success: bool,
    #[serde(flatten)]
    pub plan: PlanOutcome,
}

#[derive(Serialize, ToSchema)]
pub struct StatsResponse {
    #[schema(example = true)]
    pub success: bool,
    /// `deployment`: every instance sharing the Redis, added up; `instance`: only the instance
    /// that answered (no Redis, or Redis unreachable). What describes an instance itself
    /// (`backend`, `degraded`, `breaker`, `ai.mode`, the users' limits) is always the answering
    /// instance's.
    pub scope: Scope,
    pub stats: CacheStats,
    pub ai: AiStats,
    pub usage: UsageStats,
    /// The instances that reported in the last hour, live or gone quiet (for admins only:
    /// empty for other callers).
    pub instances: Vec<InstanceView>,
}

#[derive(Serialize, ToSchema)]
pub struct ClearResponse {
    #[schema(example = true)]
    pub success: bool,
    #[schema(example = 5)]
    pub removed: u64,
    #[schema(example = "已清除 5 条缓存")]
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct TemplatesResponse {
    #[schema(example = true)]
    pub success: bool,
    #[schema(value_type = Vec<Template>)]
    pub templates: Vec<Arc<Template>>,
}
