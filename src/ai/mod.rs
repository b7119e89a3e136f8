//! The language model behind generation: an OpenAI-compatible API with timeouts and retries, or
//! a deterministic mock when no API key is configured.

pub mod error;
pub mod mock;
pub mod openai;
pub mod retry;

use std::{
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures::{stream, Stream, StreamExt};

use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

pub use error::AiError;

use crate::{
    config::AiSettings,
    domain::enterprise::EnterpriseInfo,
    model::AiStats,
    prompt::Prompt,
    templates::{Section, Template},
};

/// What one generation needs: the structured request for the mock, the prompt for a model.
pub struct GenerateInput<'a> {
    pub template: &'a Template,
    pub section: &'a Section,
    pub info: &'a EnterpriseInfo,
    pub prompt: &'a Prompt,
    /// The plan's context section text, when given.
    pub context: Option<&'a str>,
}

/// Counters shown on the dashboard and in stats.
#[derive(Debug, Default)]
pub struct AiCounters {
    pub calls: AtomicU64,
    pub successes: AtomicU64,
    pub retries: AtomicU64,
    pub failures: AtomicU64,
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
    mock_chunk_delay: Duration,
}

/// A streamed answer: pieces of text in order. It ends after the last piece, or with one error
/// when the answer broke off (the pieces before it stay valid but the answer is incomplete).
pub type TextStream = Pin<Box<dyn Stream<Item = Result<String, AiError>> + Send>>;

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
            mock_chunk_delay: settings.mock_chunk_delay,
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
                Ok(mock::generate(
                    input.template,
                    input.section,
                    input.info,
                    input.context,
                ))
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

    /// Starts a streamed answer. Resolves once the first piece of text is there (failures
    /// before it are retried, as for `generate`); the stream yields that piece first. The mock
    /// streams its text in pieces too, so the streaming path always runs.
    pub async fn stream(&self, input: GenerateInput<'_>) -> Result<TextStream, AiError> {
        let started = Instant::now();
        let pieces: TextStream = match &self.backend {
            Backend::Mock => {
                self.counters.calls.fetch_add(1, Ordering::Relaxed);
                let text = mock::generate(input.template, input.section, input.info, input.context);
                mock::pieces(text, self.mock_chunk_delay)
            }
            Backend::OpenAi(client) => match client.open_stream(input.prompt).await {
                Ok((first, reader)) => {
                    let rest = stream::unfold(Some(reader), |reader| async move {
                        let mut reader = reader?;
                        match reader.next_text().await {
                            Ok(Some(text)) => Some((Ok(text), Some(reader))),
                            Ok(None) => None,
                            Err(cause) => Some((
                                Err(AiError {
                                    failure: error::AttemptFailure::Interrupted(Box::new(cause)),
                                    attempts: 1,
                                }),
                                None,
                            )),
                        }
                    });
                    Box::pin(stream::once(async move { Ok(first) }).chain(rest))
                }
                Err(e) => {
                    tracing::error!("AI 生成失败: {}", e.log_detail());
                    self.latency.observe(started.elapsed().as_secs_f64());
                    self.counters.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            },
        };
        Ok(self.counted(pieces, started))
    }

    /// Counts a stream as one success (at its end) or one failure (at its error), and its
    /// duration as latency.
    fn counted(&self, mut pieces: TextStream, started: Instant) -> TextStream {
        let counters = self.counters.clone();
        let latency = self.latency.clone();
        let mut settled = false;
        Box::pin(stream::poll_fn(move |cx| {
            let next = pieces.as_mut().poll_next(cx);
            let outcome = match &next {
                std::task::Poll::Ready(Some(Err(e))) => {
                    tracing::error!("AI 流式输出中断: {}", e.log_detail());
                    Some(&counters.failures)
                }
                std::task::Poll::Ready(None) => Some(&counters.successes),
                _ => None,
            };
            if let Some(counter) = outcome.filter(|_| !settled) {
                settled = true;
                latency.observe(started.elapsed().as_secs_f64());
                counter.fetch_add(1, Ordering::Relaxed);
            }
            next
        }))
    }

    pub fn stats(&self) -> AiStats {
        AiStats {
            mode: if self.is_mock() { "mock" } else { "model" }.to_owned(),
            model: self.model.clone(),
            calls: self.counters.calls.load(Ordering::Relaxed),
            successes: self.counters.successes.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
            failures: self.counters.failures.load(Ordering::Relaxed),
        }
    }
}
