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

    fn request<'a>(&'a self, prompt: &'a Prompt, stream: bool) -> ChatRequest<'a> {
        ChatRequest {
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
            stream,
        }
    }

    /// Runs `attempt` under the per-attempt timeout until it succeeds, fails for good or the
    /// retries run out, waiting per the policy in between.
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T, AiError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, AttemptFailure>>,
    {
        let mut retry = 0;
        loop {
            self.counters.calls.fetch_add(1, Ordering::Relaxed);
            let failure = match tokio::time::timeout(self.timeout, attempt()).await {
                Ok(Ok(value)) => return Ok(value),
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

    /// Asks for one completion, retrying what can succeed on retry.
    pub async fn complete(&self, prompt: &Prompt) -> Result<String, AiError> {
        let request = self.request(prompt, false);
        self.retrying(|| self.attempt(&request)).await
    }

    /// Asks for a streamed completion. Resolves with the first piece of text and a reader for
    /// the rest; until that first piece arrives, failures are retried like `complete`'s. After
    /// it, a failure ends the stream (the caller keeps what it has).
    pub async fn open_stream(&self, prompt: &Prompt) -> Result<(String, SseReader), AiError> {
        let request = self.request(prompt, true);
        self.retrying(|| async {
            let response = self.send(&request).await?;
            let mut reader = SseReader::new(response, self.timeout);
            match reader.next_text().await? {
                Some(first) => Ok((first, reader)),
                None => Err(AttemptFailure::Malformed("响应中没有生成的文本".to_owned())),
            }
        })
        .await
    }

    /// Sends one request; any non-success status is a failure carrying its `Retry-After`.
    async fn send(&self, request: &ChatRequest<'_>) -> Result<reqwest::Response, AttemptFailure> {
        let response = self
            .http
            .post(self.endpoint.clone())
            .bearer_auth(self.api_key.expose_secret())
            .json(request)
            .send()
            .await
            .map_err(network_failure)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = response.text().await.unwrap_or_default();
        Err(AttemptFailure::Status {
            status: status.as_u16(),
            retry_after,
            detail: body.chars().take(DETAIL_CHARS).collect(),
        })
    }

    async fn attempt(&self, request: &ChatRequest<'_>) -> Result<String, AttemptFailure> {
        let response = self.send(request).await?;
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

/// One `data:` payload of a streamed chat completion.
#[derive(Deserialize)]
struct StreamChunk {
    #[serde(default)]
    choices: Vec<StreamChoice>,
}

#[derive(Deserialize)]
struct StreamChoice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

/// Reads the text pieces out of a streamed (server-sent events) chat completion. The answer is
/// complete only at `data: [DONE]` or a `finish_reason`; a connection that ends before that was
/// cut off, and says so.
pub struct SseReader {
    response: reqwest::Response,
    buffer: Vec<u8>,
    /// The longest wait for the next bytes.
    idle: Duration,
    finished: bool,
}

impl SseReader {
    fn new(response: reqwest::Response, idle: Duration) -> Self {
        Self {
            response,
            buffer: Vec::new(),
            idle,
            finished: false,
        }
    }

    /// The next piece of text; `Ok(None)` once the answer is complete.
    pub async fn next_text(&mut self) -> Result<Option<String>, AttemptFailure> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                if let Some(text) = self.line(&line)? {
                    return Ok(Some(text));
                }
                continue;
            }
            if self.finished {
                return Ok(None);
            }
            match tokio::time::timeout(self.idle, self.response.chunk()).await {
                Err(_) => return Err(AttemptFailure::Timeout),
                Ok(Err(e)) => return Err(network_failure(e)),
                Ok(Ok(Some(bytes))) => self.buffer.extend_from_slice(&bytes),
                Ok(Ok(None)) => {
                    return Err(AttemptFailure::Network("流式响应在完成前中断".to_owned()))
                }
            }
        }
    }

    /// The text a line carries, if any; marks the end of the answer.
    fn line(&mut self, raw: &[u8]) -> Result<Option<String>, AttemptFailure> {
        let line = String::from_utf8_lossy(raw);
        let Some(data) = line.trim_end().strip_prefix("data:") else {
            return Ok(None);
        };
        let data = data.trim_start();
        if data == "[DONE]" {
            self.finished = true;
            self.buffer.clear();
            return Ok(None);
        }
        let chunk: StreamChunk =
            serde_json::from_str(data).map_err(|e| AttemptFailure::Malformed(e.to_string()))?;
        let Some(choice) = chunk.choices.into_iter().next() else {
            return Ok(None);
        };
        if choice.finish_reason.is_some() {
            self.finished = true;
        }
        Ok(choice
            .delta
            .and_then(|d| d.content)
            .filter(|text| !text.is_empty()))
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
