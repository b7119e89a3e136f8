//! Thin handlers over the generation service.

use axum::{extract::State, Json};
use serde::Serialize;
use serde_json::{json, Value};

use super::{
    auth::{Admin, Caller},
    error::ApiError,
    extract::JsonBody,
};
use crate::{
    generation::{GenerateRequest, Generated},
    state::AppState,
};

/// `{"success": true, ...fields}`, as in the seed.
#[derive(Serialize)]
pub struct Success<T: Serialize> {
    success: bool,
    #[serde(flatten)]
    body: T,
}

pub async fn generate(
    State(state): State<AppState>,
    _caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<Success<Generated>>, ApiError> {
    let request = GenerateRequest::from_json(&body).map_err(ApiError::validation)?;
    let generated = state.generation.generate(&request).await?;
    Ok(Json(Success {
        success: true,
        body: generated,
    }))
}

pub async fn cache_stats(State(state): State<AppState>, _caller: Caller) -> Json<Value> {
    Json(json!({
        "success": true,
        "stats": state.generation.cache().stats(),
        "ai": state.generation.ai().stats(),
    }))
}

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

pub async fn templates(State(state): State<AppState>, _caller: Caller) -> Json<Value> {
    Json(json!({ "success": true, "templates": state.generation.registry().templates() }))
}
