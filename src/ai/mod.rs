//! The language model behind generation: an OpenAI-compatible API with timeouts and retries, or
//! a deterministic mock when no API key is configured.

pub mod error;
pub mod mock;
mod mock_facts;
pub mod openai;
pub mod retry;
pub mod usage;

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
pub use usage::Usage;

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
    /// What the section reads of the enterprise's profile, when the plan has one.
    pub facts: Option<&'a crate::domain::facts::SectionFacts>,
}

impl GenerateInput<'_> {
    /// What the mock writes for this input.
    fn mock(&self) -> String {
        mock::generate(
            self.template,
            self.section,
            self.info,
            self.context,
            self.facts,
        )
    }
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
    slots: Slots,
}

/// One item of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    /// What the whole answer used; the last item of a complete answer.
    Usage(Usage),
}

/// A streamed answer: pieces of text in order, then its usage. It ends after those, or with
/// one error when the answer broke off (the pieces before it stay valid but the answer is
/// incomplete).
pub type TextStream = Pin<Box<dyn Stream<Item = Result<Piece, AiError>> + Send>>;

/// A whole answer and what it used.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub text: String,
    pub usage: Usage,
}

/// The cap on model calls this instance makes at once, with a bounded queue in front.
struct Slots {
    free: Arc<tokio::sync::Semaphore>,
    waiting: std::sync::atomic::AtomicUsize,
    max_queue: usize,
}

impl Slots {
    /// A slot for one call: at once if one is free, after a wait in the queue, or refused when
    /// the queue is full.
    async fn take(&self) -> Result<tokio::sync::OwnedSemaphorePermit, AiError> {
        if let Ok(permit) = self.free.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let overloaded = || AiError {
            failure: error::AttemptFailure::Overloaded,
            attempts: 0,
        };
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(overloaded());
        }
        // Leaves the queue however the wait ends, also when the waiting request is dropped.
        struct InQueue<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for InQueue<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _in_queue = InQueue(&self.waiting);
        self.free
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| overloaded())
    }
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
            mock_chunk_delay: settings.mock_chunk_delay,
            slots: Slots {
                free: Arc::new(tokio::sync::Semaphore::new(settings.max_concurrency.max(1))),
                waiting: std::sync::atomic::AtomicUsize::new(0),
                max_queue: settings.max_queue,
            },
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

    pub async fn generate(&self, input: GenerateInput<'_>) -> Result<Answer, AiError> {
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

    async fn generate_untimed(&self, input: GenerateInput<'_>) -> Result<Answer, AiError> {
        match &self.backend {
            Backend::Mock => {
                self.counters.calls.fetch_add(1, Ordering::Relaxed);
                let text = input.mock();
                let usage = Usage::estimate(input.prompt, &text);
                Ok(Answer { text, usage })
            }
            Backend::OpenAi(client) => {
                let _slot = self.slots.take().await?;
                let result = client.complete(input.prompt).await;
                match result {
                    Ok(done) => Ok(Answer {
                        usage: done
                            .usage
                            .unwrap_or_else(|| Usage::estimate(input.prompt, &done.text)),
                        text: done.text,
                    }),
                    Err(e) => {
                        tracing::error!("AI 生成失败: {}", e.log_detail());
                        Err(e)
                    }
                }
            }
        }
    }

    /// Starts a streamed answer. Resolves once the first piece of text is there (failures
    /// before it are retried, as for `generate`); the stream yields that piece first and its
    /// usage last. The mock streams its text in pieces too, so the streaming path always runs.
    pub async fn stream(&self, input: GenerateInput<'_>) -> Result<TextStream, AiError> {
        let started = Instant::now();
        let prompt = input.prompt.clone();
        let pieces: TextStream = match &self.backend {
            Backend::Mock => {
                self.counters.calls.fetch_add(1, Ordering::Relaxed);
                let text = input.mock();
                mock::pieces(text, self.mock_chunk_delay)
            }
            Backend::OpenAi(client) => {
                let slot = match self.slots.take().await {
                    Ok(slot) => slot,
                    Err(e) => {
                        self.counters.failures.fetch_add(1, Ordering::Relaxed);
                        return Err(e);
                    }
                };
                match client.open_stream(input.prompt).await {
                    Ok((first, reader)) => {
                        let rest = stream::unfold(Some((reader, slot)), |state| async move {
                            let (mut reader, slot) = state?;
                            match reader.next_text().await {
                                Ok(Some(text)) => {
                                    Some((Ok(Piece::Text(text)), Some((reader, slot))))
                                }
                                Ok(None) => reader
                                    .usage
                                    .take()
                                    .map(|usage| (Ok(Piece::Usage(usage)), None)),
                                Err(cause) => Some((
                                    Err(AiError {
                                        failure: error::AttemptFailure::Interrupted(Box::new(
                                            cause,
                                        )),
                                        attempts: 1,
                                    }),
                                    None,
                                )),
                            }
                        });
                        Box::pin(stream::once(async move { Ok(Piece::Text(first)) }).chain(rest))
                    }
                    Err(e) => {
                        tracing::error!("AI 生成失败: {}", e.log_detail());
                        self.latency.observe(started.elapsed().as_secs_f64());
                        self.counters.failures.fetch_add(1, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
        };
        Ok(self.counted(with_usage(pieces, prompt), started))
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

/// Ends a complete stream with its usage: the provider's, or an estimate from the text when it
/// sent none.
fn with_usage(pieces: TextStream, prompt: Prompt) -> TextStream {
    let mut text = String::new();
    let mut reported = false;
    let mut ended = false;
    let mut pieces = pieces;
    Box::pin(stream::poll_fn(move |cx| {
        if ended {
            return std::task::Poll::Ready(None);
        }
        let next = pieces.as_mut().poll_next(cx);
        match &next {
            std::task::Poll::Ready(Some(Ok(Piece::Text(t)))) => text.push_str(t),
            std::task::Poll::Ready(Some(Ok(Piece::Usage(_)))) => reported = true,
            std::task::Poll::Ready(Some(Err(_))) => reported = true,
            std::task::Poll::Ready(None) => {
                ended = true;
                if !reported {
                    let usage = Usage::estimate(&prompt, &text);
                    return std::task::Poll::Ready(Some(Ok(Piece::Usage(usage))));
                }
            }
            _ => {}
        }
        next
    }))
}
