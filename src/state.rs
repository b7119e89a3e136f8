//! What every handler and server function can reach.

use std::{
    ops::Deref,
    sync::{atomic::AtomicBool, Arc},
};

use axum::{body::Bytes, extract::FromRef};
use leptos::config::LeptosOptions;

use crate::{
    auth::Auth,
    cache::{history::History, CacheService},
    coord::Coordination,
    deployment::Deployment,
    enterprises::EnterpriseService,
    generation::GenerationService,
    jobs::Jobs,
    metrics::Metrics,
    plans::PlanService,
    warmup::Warmup,
};

/// Cloned for every request by axum's `State`, so it is one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What logging in and the page gate need.
impl FromRef<AppState> for Arc<Auth> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// What leptos_axum's file and route handlers need.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub generation: Arc<GenerationService>,
    /// Cached answers.
    pub cache: Arc<CacheService>,
    /// Locks, marks, counters and leases shared between instances.
    pub coord: Arc<Coordination>,
    /// Writers' saved plans and their versions.
    pub plans: Arc<PlanService>,
    /// Enterprise profiles, the facts plans are written from.
    pub enterprises: Arc<EnterpriseService>,
    /// Whole plans generated as server jobs, and each plan's event log.
    pub jobs: Arc<Jobs>,
    /// Behind one `Arc`: the gate and the origin check take it for every request.
    pub auth: Arc<Auth>,
    pub body_limit: usize,
    pub history: Arc<History>,
    /// This instance's place in the deployment, and the deployment's figures.
    pub deployment: Arc<Deployment>,
    pub metrics: Arc<Metrics>,
    pub warmup: Arc<Warmup>,
    /// The OpenAPI document, made once at startup.
    pub openapi: Bytes,
    /// The longest a streamed answer may run.
    pub stream_deadline: std::time::Duration,
    /// False once shutdown has begun, so `/readyz` tells load balancers to stop sending.
    pub ready: Arc<AtomicBool>,
    /// Cancelled just before a stopping instance's time is up: streams still open end with a
    /// last event saying why, instead of breaking off.
    pub last_call: tokio_util::sync::CancellationToken,
    /// Cancelled when a stop signal comes: the jobs running here are given up at once.
    pub stopping: tokio_util::sync::CancellationToken,
}
