//! Thin handlers over the generation service: read the body, call the service, wrap the answer.

use std::convert::Infallible;

use axum::{
    extract::State,
    http::header,
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse,
    },
    Json,
};
use futures::{Stream, StreamExt};

use super::{
    auth::{Admin, Caller},
    error::{ApiError, CallerErrors, ClearErrors, PlanErrors, SectionErrors},
    extract::JsonBody,
    responses::{ClearResponse, GenerateResponse, PlanResponse, StatsResponse, TemplatesResponse},
};
use crate::model::ErrorCode;
use crate::{
    admission,
    model::{GenerateBody, PlanBody, SectionEvent},
    state::AppState,
};

/// 生成一个章节
///
/// 相同的请求（字段顺序、空白、全角数字不同也算相同）第二次返回 `"cached": true`。
/// 文本字段只接受字符串（数字不会被当作文本）；整数字段接受整数或十进制数字串（可为全角数字）。
#[utoipa::path(
    post,
    path = "/api/ai/generate",
    tag = "ai",
    request_body = GenerateBody,
    responses(
        (status = 200, description = "生成或缓存命中", body = GenerateResponse),
        SectionErrors,
    )
)]
pub async fn generate(
    State(state): State<AppState>,
    Caller(user): Caller,
    JsonBody(body): JsonBody<GenerateBody>,
) -> Result<GenerateResponse, ApiError> {
    let request = admission::section(&state, &user, body).await?;
    let section = state.generation.generate(&request).await?;
    Ok(GenerateResponse {
        success: true,
        section,
    })
}

/// 流式生成一个章节（Server-Sent Events）
///
/// 请求体与 `/api/ai/generate` 相同（可另带 `context`）。事件依次为 `start`、若干 `text`、
/// 最后 `done` 或 `error`，每个事件的 data 是一个 JSON 对象（见 `SectionEvent`，其 `type` 与事件名相同）。
/// 只有完整的回答才会写入缓存；出现第一段文字之前的失败按重试策略重试，仍失败时以普通 JSON 错误返回。
#[utoipa::path(
    post,
    path = "/api/ai/generate/stream",
    tag = "ai",
    request_body = GenerateBody,
    responses(
        (status = 200, description = "text/event-stream：start、text…、done 或 error", body = SectionEvent, content_type = "text/event-stream"),
        SectionErrors,
    )
)]
pub async fn generate_stream(
    State(state): State<AppState>,
    Caller(user): Caller,
    JsonBody(body): JsonBody<GenerateBody>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let events = admission::stream_section(&state, &user, body).await?;
    let events = events.map(|event| {
        Ok(Event::default()
            .event(event.name())
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
    request_body = PlanBody,
    responses(
        (status = 200, description = "每个章节的结果（失败的章节带 error）", body = PlanResponse),
        PlanErrors,
    )
)]
pub async fn generate_plan(
    State(state): State<AppState>,
    Caller(user): Caller,
    JsonBody(body): JsonBody<PlanBody>,
) -> Result<Json<PlanResponse>, ApiError> {
    let plan = admission::plan(&state, &user, body).await?;
    let plan = state.generation.generate_plan(plan).await;
    Ok(Json(PlanResponse {
        success: true,
        plan,
    }))
}

/// 缓存、AI 与用量统计
///
/// `scope` 为 `deployment` 时，计数是共用同一 Redis 的所有实例之和（各实例每 5 秒上报一次，本实例的计数总是最新的）；
/// Redis 未配置或不可用时为 `instance`，只含本实例自启动以来的计数。`instances` 列出最近一小时上报过的实例及其是否在线
/// （含主机名与内网地址，只对管理员列出；其他用户得到空列表）。
/// `usage` 给出 tokens、费用（`AI_PRICE_*`）和缓存节省的 tokens、费用与时间，`by_user` 按用户列出，
/// 含各自的限额和今日剩余额度。管理员看到所有用户；普通用户只看到自己：`by_user` 只含本人，
/// `usage` 的合计与今日数字也只是本人的。
#[utoipa::path(
    get,
    path = "/api/ai/cache/stats",
    tag = "ai",
    responses(
        (status = 200, description = "统计", body = StatsResponse),
        CallerErrors,
    )
)]
pub async fn cache_stats(State(state): State<AppState>, caller: Caller) -> Json<StatsResponse> {
    let view = state.deployment.view().await;
    // A writer sees their own usage and limits; who else writes, and what they spend, is the
    // administrators' to see.
    let admin = caller.0.role == crate::model::Role::Admin;
    Json(StatsResponse {
        success: true,
        scope: view.scope,
        stats: view.stats,
        ai: view.ai,
        usage: if admin {
            view.usage
        } else {
            view.usage.only(&caller.0.name)
        },
        instances: if admin { view.instances } else { Vec::new() },
    })
}

/// 清除本应用的缓存（仅管理员）
///
/// 只删除 `CACHE_KEY_PREFIX` 前缀下的键（SCAN + UNLINK），并通知所有实例清除各自的 L1。
#[utoipa::path(
    delete,
    path = "/api/ai/cache",
    tag = "ai",
    responses(
        (status = 200, description = "已清除", body = ClearResponse),
        ClearErrors,
    )
)]
pub async fn clear_cache(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<ClearResponse>, ApiError> {
    let removed = state.cache.clear().await.map_err(|_| {
        ApiError::new(
            ErrorCode::CacheUnavailable,
            "Redis 暂时不可用，缓存未能清除，请稍后重试",
        )
    })?;
    Ok(Json(ClearResponse {
        success: true,
        removed,
        message: format!("已清除 {removed} 条缓存"),
    }))
}

/// 模板、章节与企业字段
#[utoipa::path(
    get,
    path = "/api/templates",
    tag = "ai",
    responses(
        (status = 200, description = "全部模板", body = TemplatesResponse),
        CallerErrors,
    )
)]
pub async fn templates(State(state): State<AppState>, _caller: Caller) -> Json<TemplatesResponse> {
    Json(TemplatesResponse {
        success: true,
        templates: state.generation.registry().templates().to_vec(),
    })
}

/// The document, made once at startup from the handlers and the registry.
pub async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.clone(),
    )
}
