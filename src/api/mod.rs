//! The JSON API for integrators: Bearer tokens, the seed's shapes, errors always as
//! `{"success": false, "error": {...}}`.

pub mod auth;
pub mod error;
pub mod extract;
mod handlers;
pub mod openapi;
mod responses;

use axum::{
    extract::DefaultBodyLimit,
    routing::{delete, get, post},
    Router,
};

use crate::state::AppState;
use error::ApiError;

pub fn router(body_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/ai/generate", post(handlers::generate))
        .route("/ai/generate/stream", post(handlers::generate_stream))
        .route("/ai/generate-plan", post(handlers::generate_plan))
        .route("/ai/cache/stats", get(handlers::cache_stats))
        .route("/ai/cache", delete(handlers::clear_cache))
        .route("/templates", get(handlers::templates))
        .route("/openapi.json", get(handlers::openapi_json))
        .fallback(|| async { ApiError::not_found("接口不存在") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(body_limit))
}
