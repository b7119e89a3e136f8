//! Thin handlers over the generation service.

use std::convert::Infallible;

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
    Json,
};
use futures::{Stream, StreamExt};
use serde::Serialize;
use serde_json::{json, Value};

use super::{
    auth::{Admin, Caller},
    error::ApiError,
    extract::JsonBody,
};
use crate::{
    generation::{plan::PlanOutcome, stream::SectionEvent, GenerateRequest, Generated},
    state::AppState,
};

/// `{"success": true, ...fields}`, as in the seed.
#[derive(Serialize)]
pub struct Success<T: Serialize> {
    success: bool,
    #[serde(flatten)]
    body: T,
}

/// 生成一个章节
///
/// 相同的请求（字段顺序、空白、全角数字不同也算相同）第二次返回 `"cached": true`。
#[utoipa::path(
    post,
    path = "/api/ai/generate",
    tag = "ai",
    request_body = super::openapi::GenerateBody,
    responses(
        (status = 200, description = "生成或缓存命中", body = super::openapi::GenerateResponse),
        (status = 400, description = "请求体不是有效的 JSON", body = super::openapi::ErrorResponse),
        (status = 401, description = "缺少或无效的令牌", body = super::openapi::ErrorResponse),
        (status = 404, description = "模板或章节不存在", body = super::openapi::ErrorResponse),
        (status = 413, description = "请求体过大", body = super::openapi::ErrorResponse),
        (status = 422, description = "字段缺失或不合法", body = super::openapi::ErrorResponse),
        (status = 502, description = "AI 服务出错", body = super::openapi::ErrorResponse),
        (status = 503, description = "另一实例正在生成且等待超时", body = super::openapi::ErrorResponse),
        (status = 504, description = "AI 服务超时", body = super::openapi::ErrorResponse),
    )
)]
pub async fn generate(
    State(state): State<AppState>,
    _caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<Success<Generated>>, ApiError> {
    let request = GenerateRequest::from_json(body).map_err(ApiError::validation)?;
    let generated = state.generation.generate(&request).await?;
    Ok(Json(Success {
        success: true,
        body: generated,
    }))
}

/// 流式生成一个章节（Server-Sent Events）
///
/// 请求体与 `/api/ai/generate` 相同（可另带 `context`）。事件依次为 `start`、若干 `text`、
/// 最后 `done` 或 `error`，每个事件的 data 是一个 JSON 对象（见 `SectionEvent`）。只有完整的回答才会写入缓存；
/// 出现第一段文字之前的失败按重试策略重试，仍失败时以普通 JSON 错误返回。
#[utoipa::path(
    post,
    path = "/api/ai/generate/stream",
    tag = "ai",
    request_body = super::openapi::GenerateBody,
    responses(
        (status = 200, description = "text/event-stream：start、text…、done 或 error", body = SectionEvent, content_type = "text/event-stream"),
        (status = 400, description = "请求体不是有效的 JSON", body = super::openapi::ErrorResponse),
        (status = 401, description = "缺少或无效的令牌", body = super::openapi::ErrorResponse),
        (status = 404, description = "模板或章节不存在", body = super::openapi::ErrorResponse),
        (status = 422, description = "字段缺失或不合法", body = super::openapi::ErrorResponse),
        (status = 502, description = "AI 服务出错（第一段文字之前）", body = super::openapi::ErrorResponse),
        (status = 504, description = "AI 服务超时（第一段文字之前）", body = super::openapi::ErrorResponse),
    )
)]
pub async fn generate_stream(
    State(state): State<AppState>,
    _caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let request = GenerateRequest::from_json(body).map_err(ApiError::validation)?;
    let events = state.generation.stream(&request).await?;
    let events = events.map(|event| {
        let name = match &event {
            SectionEvent::Start { .. } => "start",
            SectionEvent::Text { .. } => "text",
            SectionEvent::Done { .. } => "done",
            SectionEvent::Error { .. } => "error",
        };
        Ok(Event::default()
            .event(name)
            .json_data(&event)
            .unwrap_or_else(|_| Event::default().event("error")))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// 生成整份预案
///
/// 依模板顺序返回每个章节；先写“企业概况”等上下文章节，再把它的正文提供给其余章节（并发数见
/// `AI_PLAN_CONCURRENCY`）。某个章节失败不影响其他章节：它带 `error`，其余照常返回，可单独重新请求。
#[utoipa::path(
    post,
    path = "/api/ai/generate-plan",
    tag = "ai",
    request_body = super::openapi::PlanBody,
    responses(
        (status = 200, description = "每个章节的结果（失败的章节带 error）", body = super::openapi::PlanResponse),
        (status = 400, description = "请求体不是有效的 JSON", body = super::openapi::ErrorResponse),
        (status = 401, description = "缺少或无效的令牌", body = super::openapi::ErrorResponse),
        (status = 404, description = "模板不存在", body = super::openapi::ErrorResponse),
        (status = 413, description = "请求体过大", body = super::openapi::ErrorResponse),
        (status = 422, description = "字段缺失或不合法", body = super::openapi::ErrorResponse),
    )
)]
pub async fn generate_plan(
    State(state): State<AppState>,
    _caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<Success<PlanOutcome>>, ApiError> {
    let request = GenerateRequest::plan_from_json(body).map_err(ApiError::validation)?;
    let plan = state.generation.generate_plan(&request).await?;
    Ok(Json(Success {
        success: true,
        body: plan,
    }))
}

/// 缓存与 AI 统计
#[utoipa::path(
    get,
    path = "/api/ai/cache/stats",
    tag = "ai",
    responses(
        (status = 200, description = "统计", body = super::openapi::StatsResponse),
        (status = 401, description = "缺少或无效的令牌", body = super::openapi::ErrorResponse),
    )
)]
pub async fn cache_stats(State(state): State<AppState>, _caller: Caller) -> Json<Value> {
    Json(json!({
        "success": true,
        "stats": state.generation.cache().stats(),
        "ai": state.generation.ai().stats(),
    }))
}

/// 清除本应用的缓存（仅管理员）
///
/// 只删除 `CACHE_KEY_PREFIX` 前缀下的键（SCAN + UNLINK），并通知所有实例清除各自的 L1。
#[utoipa::path(
    delete,
    path = "/api/ai/cache",
    tag = "ai",
    responses(
        (status = 200, description = "已清除", body = super::openapi::ClearResponse),
        (status = 401, description = "缺少或无效的令牌", body = super::openapi::ErrorResponse),
        (status = 403, description = "需要管理员令牌", body = super::openapi::ErrorResponse),
        (status = 503, description = "Redis 不可用，未能清除", body = super::openapi::ErrorResponse),
    )
)]
pub async fn clear_cache(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Value>, ApiError> {
    let removed = state.generation.cache().clear().await.map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "CACHE_UNAVAILABLE",
            "Redis 暂时不可用，缓存未能清除，请稍后重试",
        )
    })?;
    Ok(Json(json!({
        "success": true,
        "removed": removed,
        "message": format!("已清除 {removed} 条缓存"),
    })))
}

/// 模板、章节与企业字段
#[utoipa::path(
    get,
    path = "/api/templates",
    tag = "ai",
    responses(
        (status = 200, description = "全部模板", body = super::openapi::TemplatesResponse),
        (status = 401, description = "缺少或无效的令牌", body = super::openapi::ErrorResponse),
    )
)]
pub async fn templates(State(state): State<AppState>, _caller: Caller) -> Json<Value> {
    Json(json!({ "success": true, "templates": state.generation.registry().templates() }))
}

pub async fn openapi_json() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        super::openapi::document(),
    )
}
