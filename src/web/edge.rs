//! The one middleware every request passes, pages and API alike: the request deadline, the
//! answer to a body that came too slowly, the security headers, the request metrics, and
//! `Connection: close` while the instance stops.
//! One layer rather than four, because each layer of `axum::middleware` costs every request a
//! clone of the service stack beneath it; the hit path is mostly such fixed costs.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{headers, serve::deadline::BodyLate, shutdown};
use crate::{
    api::error::{body_timed_out, timed_out},
    metrics::Metrics,
};

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
    let body_late = req.extensions().get::<BodyLate>().cloned();
    let mut response = match tokio::time::timeout(edge.deadline, next.run(req)).await {
        Ok(response) => response,
        Err(_) => timed_out().into_response(),
    };
    // Whatever the handler made of a body that stopped coming, the client is told it was too
    // slow, and the connection (its body half read) is closed.
    if body_late.is_some_and(|late| late.0.load(Ordering::Acquire)) {
        response = body_timed_out().into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
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
