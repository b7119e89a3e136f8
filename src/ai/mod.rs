//! The language model behind generation: an OpenAI-compatible API with timeouts and retries, or
//! a deterministic mock when no API key is configured.

pub mod error;
pub mod mock;
pub mod openai;
pub mod retry;

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use serde::Serialize;

pub use error::AiError;

use crate::{
    config::AiSettings,
    domain::enterprise::EnterpriseInfo,
    prompt::Prompt,
    templates::{Section, Template},
};

/// What one generation needs: the structured request for the mock, the prompt for a model.
pub struct GenerateInput<'a> {
    pub template: &'a Template,
    pub section: &'a Section,
    pub info: &'a EnterpriseInfo,
    pub prompt: &'a Prompt,
}

/// Counters shown on the dashboard and in stats.
#[derive(Debug, Default)]
pub struct AiCounters {
    pub calls: AtomicU64,
    pub successes: AtomicU64,
    pub retries: AtomicU64,
    pub failures: AtomicU64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AiStats {
    pub mode: &'static str,
    pub model: String,
    pub calls: u64,
    pub successes: u64,
    pub retries: u64,
    pub failures: u64,
}

enum Backend {
    Mock,
    OpenAi(Box<openai::OpenAiClient>),
}

pub struct AiService {
    backend: Backend,
    model: String,
    counters: Arc<AiCounters>,
    latency: Histogram,
}

impl AiService {
    pub fn from_settings(settings: &AiSettings) -> Result<Self, reqwest::Error> {
        let counters = Arc::new(AiCounters::default());
        let (backend, model) = match &settings.api_key {
            Some(key) => (
                Backend::OpenAi(Box::new(openai::OpenAiClient::new(
                    settings,
                    key.clone(),
                    counters.clone(),
                )?)),
                settings.model.clone(),
            ),
            None => (Backend::Mock, mock::MODEL_NAME.to_owned()),
        };
        Ok(Self {
            backend,
            model,
            counters,
            latency: Histogram::new(exponential_buckets(0.001, 2.0, 18)),
        })
    }

    pub fn is_mock(&self) -> bool {
        matches!(self.backend, Backend::Mock)
    }

    /// The model name, or `mock`; part of every cache key so answers of different models never
    /// mix.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The longest one `generate` can take: every attempt timing out, every wait at its longest.
    pub fn worst_case(&self) -> std::time::Duration {
        match &self.backend {
            Backend::Mock => std::time::Duration::from_secs(1),
            Backend::OpenAi(client) => client.worst_case(),
        }
    }

    pub fn latency_histogram(&self) -> Histogram {
        self.latency.clone()
    }

    pub async fn generate(&self, input: GenerateInput<'_>) -> Result<String, AiError> {
        let started = std::time::Instant::now();
        let result = self.generate_untimed(input).await;
        self.latency.observe(started.elapsed().as_secs_f64());
        let counter = match &result {
            Ok(_) => &self.counters.successes,
            Err(_) => &self.counters.failures,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    async fn generate_untimed(&self, input: GenerateInput<'_>) -> Result<String, AiError> {
        match &self.backend {
            Backend::Mock => {
                self.counters.calls.fetch_add(1, Ordering::Relaxed);
                Ok(mock::generate(input.template, input.section, input.info))
            }
            Backend::OpenAi(client) => {
                let result = client.complete(input.prompt).await;
                if let Err(e) = &result {
                    tracing::error!("AI 生成失败: {}", e.log_detail());
                }
                result
            }
        }
    }

    pub fn stats(&self) -> AiStats {
        AiStats {
            mode: if self.is_mock() { "mock" } else { "model" },
            model: self.model.clone(),
            calls: self.counters.calls.load(Ordering::Relaxed),
            successes: self.counters.successes.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
            failures: self.counters.failures.load(Ordering::Relaxed),
        }
    }
}
