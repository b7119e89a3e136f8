//! What every handler and server function can reach.

use std::sync::{atomic::AtomicBool, Arc};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::{
    auth::Tokens, cache::history::History, generation::GenerationService, metrics::Metrics,
    warmup::Warmup,
};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub generation: Arc<GenerationService>,
    pub tokens: Arc<Tokens>,
    pub body_limit: usize,
    /// Session cookies get `Secure` when the public URL is HTTPS.
    pub secure_cookies: bool,
    pub history: Arc<History>,
    pub metrics: Arc<Metrics>,
    pub warmup: Arc<Warmup>,
    /// False once shutdown has begun, so `/readyz` tells load balancers to stop sending.
    pub ready: Arc<AtomicBool>,
}
