//! Chat completions over an OpenAI-compatible HTTP API (OpenAI, DashScope compatible mode,
//! API2D, …), each attempt bounded by a timeout, retried per `RetryPolicy`.

use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, SystemTime},
};

use reqwest::header::RETRY_AFTER;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{
    error::{AiError, AttemptFailure},
    retry::{parse_retry_after, RetryPolicy},
    AiCounters,
};
use crate::{config::AiSettings, prompt::Prompt};

/// How much of an error body is kept for the log.
const DETAIL_CHARS: usize = 200;

pub struct OpenAiClient {
    http: reqwest::Client,
    endpoint: Url,
    api_key: SecretString,
    model: String,
    temperature: f32,
    max_tokens: Option<u32>,
    timeout: Duration,
    policy: RetryPolicy,
    counters: Arc<AiCounters>,
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: [Message<'a>; 2],
    temperature: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    stream: bool,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: ResponseMessage,
}

#[derive(Deserialize)]
struct ResponseMessage {
    content: Option<String>,
}

impl OpenAiClient {
    pub fn new(
        settings: &AiSettings,
        api_key: SecretString,
        counters: Arc<AiCounters>,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("yueen/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let mut endpoint = settings.base_url.clone();
        // Config parsing only accepts http(s) URLs, which always have path segments.
        if let Ok(mut path) = endpoint.path_segments_mut() {
            path.pop_if_empty().extend(["chat", "completions"]);
        }
        Ok(Self {
            http,
            endpoint,
            api_key,
            model: settings.model.clone(),
            temperature: settings.temperature,
            max_tokens: settings.max_tokens,
            timeout: settings.timeout,
            policy: settings.retry,
            counters,
        })
    }

    pub fn worst_case(&self) -> Duration {
        let attempts = self.timeout.saturating_mul(self.policy.max_retries + 1);
        let waits = (0..self.policy.max_retries)
            .map(|n| self.policy.backoff(n).max(self.policy.retry_after_max))
            .fold(Duration::ZERO, Duration::saturating_add);
        attempts.saturating_add(waits)
    }

    /// Asks for one completion, retrying what can succeed on retry.
    pub async fn complete(&self, prompt: &Prompt) -> Result<String, AiError> {
        let request = ChatRequest {
            model: &self.model,
            messages: [
                Message {
                    role: "system",
                    content: &prompt.system,
                },
                Message {
                    role: "user",
                    content: &prompt.user,
                },
            ],
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            stream: false,
        };
        let mut retry = 0;
        loop {
            self.counters.calls.fetch_add(1, Ordering::Relaxed);
            let failure = match tokio::time::timeout(self.timeout, self.attempt(&request)).await {
                Ok(Ok(text)) => return Ok(text),
                Ok(Err(failure)) => failure,
                Err(_) => AttemptFailure::Timeout,
            };
            if !failure.is_retryable() || retry >= self.policy.max_retries {
                return Err(AiError {
                    failure,
                    attempts: retry + 1,
                });
            }
            let delay = self.policy.delay(retry, failure.retry_after());
            tracing::warn!(
                "AI 调用失败（第 {} 次尝试）: {failure}，{:.1} 秒后重试",
                retry + 1,
                delay.as_secs_f64()
            );
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }

    async fn attempt(&self, request: &ChatRequest<'_>) -> Result<String, AttemptFailure> {
        let response = self
            .http
            .post(self.endpoint.clone())
            .bearer_auth(self.api_key.expose_secret())
            .json(request)
            .send()
            .await
            .map_err(network_failure)?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let body = response.text().await.unwrap_or_default();
            return Err(AttemptFailure::Status {
                status: status.as_u16(),
                retry_after,
                detail: body.chars().take(DETAIL_CHARS).collect(),
            });
        }
        let body = response.bytes().await.map_err(network_failure)?;
        let parsed: ChatResponse =
            serde_json::from_slice(&body).map_err(|e| AttemptFailure::Malformed(e.to_string()))?;
        parsed
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
            .ok_or_else(|| AttemptFailure::Malformed("响应中没有生成的文本".to_owned()))
    }
}

fn network_failure(e: reqwest::Error) -> AttemptFailure {
    if e.is_timeout() {
        return AttemptFailure::Timeout;
    }
    // The URL is not secret, but the key never is in it; keep messages short anyway.
    let e = e.without_url();
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    AttemptFailure::Network(reason)
}
