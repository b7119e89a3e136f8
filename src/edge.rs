//! The one middleware every request passes, pages and API alike: the request deadline, the
//! security headers, the request metrics, and `Connection: close` while the instance stops.
//! One layer rather than four, because each layer of `axum::middleware` costs every request a
//! clone of the service stack beneath it; the hit path is mostly such fixed costs.

use std::{
    sync::{atomic::AtomicBool, Arc},
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{api::error::timed_out, headers, metrics::Metrics, shutdown};

/// What the edge needs, shared by every request.
#[derive(Clone)]
pub struct Edge {
    /// Longest a request may take before it is answered 504 (streams end on their own).
    pub deadline: Duration,
    pub metrics: Arc<Metrics>,
    /// False once the instance is stopping.
    pub ready: Arc<AtomicBool>,
}

pub async fn edge(State(edge): State<Arc<Edge>>, req: Request, next: Next) -> Response {
    let route = crate::metrics::route_label(&req);
    let method = req.method().clone();
    let started = Instant::now();
    let mut response = match tokio::time::timeout(edge.deadline, next.run(req)).await {
        Ok(response) => response,
        Err(_) => timed_out().into_response(),
    };
    headers::secure(&mut response);
    shutdown::mark_closing(&edge.ready, &mut response);
    edge.metrics.record(
        route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
