//! The JSON API for integrators: Bearer tokens, the seed's shapes, errors always as
//! `{"success": false, "error": {...}}`.

pub mod auth;
mod enterprises;
pub mod error;
pub mod extract;
mod handlers;
pub(crate) mod jobs;
pub mod openapi;
mod plans;
mod responses;

use axum::{
    extract::DefaultBodyLimit,
    routing::{any, delete, get, post},
    Router,
};

use crate::state::AppState;
use error::ApiError;

/// The API under `/api`, its paths written out in full: merged rather than nested, so a request
/// is routed without rewriting its URI.
pub fn router(body_limit: usize) -> Router<AppState> {
    let not_found = || async { ApiError::not_found("接口不存在") };
    Router::new()
        .route("/api/ai/generate", post(handlers::generate))
        .route("/api/ai/generate/stream", post(handlers::generate_stream))
        .route("/api/ai/generate-plan", post(handlers::generate_plan))
        .route("/api/ai/cache/stats", get(handlers::cache_stats))
        .route("/api/ai/cache", delete(handlers::clear_cache))
        .route("/api/templates", get(handlers::templates))
        .route("/api/openapi.json", get(handlers::openapi_json))
        .merge(plan_routes())
        .merge(enterprise_routes())
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .route("/api", any(not_found))
        .route("/api/", any(not_found))
        .route("/api/{*rest}", any(not_found))
        .layer(DefaultBodyLimit::max(body_limit))
}

/// The enterprise profiles, whose bodies carry hundreds of rows: a limit of their own.
fn enterprise_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/enterprises",
            get(enterprises::list).post(enterprises::create),
        )
        .route(
            "/api/enterprises/{id}",
            get(enterprises::get)
                .put(enterprises::update)
                .delete(enterprises::delete),
        )
        .layer(DefaultBodyLimit::max(
            crate::model::profile::MAX_PROFILE_BYTES + extract::PLAN_BODY_SLACK,
        ))
}

/// The saved plans, whose bodies carry a whole plan: a limit of their own.
fn plan_routes() -> Router<AppState> {
    let id = "/api/plans/{id}";
    Router::new()
        .route("/api/plans", get(plans::list).post(plans::create))
        .route(id, get(plans::get).put(plans::update).delete(plans::delete))
        .route("/api/plans/{id}/undelete", post(plans::undelete))
        .route("/api/plans/{id}/duplicate", post(plans::duplicate))
        .route(
            "/api/plans/{id}/versions",
            get(plans::versions).post(plans::save_version),
        )
        .route("/api/plans/{id}/versions/{version}", get(plans::version))
        .route(
            "/api/plans/{id}/versions/{version}/restore",
            post(plans::restore),
        )
        .route("/api/plans/{id}/diff", get(plans::diff))
        .route("/api/plans/{id}/generate", post(jobs::generate))
        .route("/api/plans/{id}/job", get(jobs::job))
        .route("/api/plans/{id}/job/cancel", post(jobs::cancel))
        .route("/api/plans/{id}/events", get(jobs::events))
        .route("/api/plans/{id}/export/docx", get(plans::export_docx))
        .route(
            "/api/plans/{id}/export/markdown",
            get(plans::export_markdown),
        )
        .layer(DefaultBodyLimit::max(
            crate::plans::MAX_PLAN_BYTES + extract::PLAN_BODY_SLACK,
        ))
}
