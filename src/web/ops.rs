//! Operator endpoints: `/healthz` (alive), `/readyz` (can serve, and how), `/metrics`
//! (Prometheus; admin token on the main address, open on the optional `METRICS_ADDR`).

use std::sync::{atomic::Ordering, Arc};

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::json;

use crate::{api::auth::Admin, metrics::Metrics, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The router for the separate metrics listener: no token, bind it to a private address.
pub fn metrics_only(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(m): State<Arc<Metrics>>| async move { exposition(&m) }),
        )
        .with_state(metrics)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 while requests can be served, degraded (Redis or the plans' database down) or not; 503
/// once shutting down.
async fn readyz(State(state): State<AppState>) -> Response {
    let ready = state.ready.load(Ordering::Relaxed);
    let cache = state.cache.stats();
    let ai = state.generation.ai().stats();
    // The background probe's last word: a probe never waits on the database.
    let database = state.plans.available();
    let status = match (ready, cache.degraded || !database) {
        (false, _) => "stopping",
        (true, true) => "degraded",
        (true, false) => "ready",
    };
    let body = Json(json!({
        "status": status,
        "cache": {
            "backend": cache.backend,
            "degraded": cache.degraded,
            "redis_configured": state.cache.redis_configured(),
            "breaker": cache.breaker,
        },
        "ai": { "mode": ai.mode, "model": ai.model },
        "database": { "engine": state.plans.engine().as_str(), "available": database },
        "templates": state.generation.registry().templates().len(),
    }));
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, body).into_response()
}

async fn metrics(State(state): State<AppState>, _admin: Admin) -> Response {
    exposition(&state.metrics)
}

fn exposition(metrics: &Metrics) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}
