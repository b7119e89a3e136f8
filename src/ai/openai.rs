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
    usage::Usage,
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
    /// Streamed: ask for the token counts in a last chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// The provider's token counts.
#[derive(Deserialize)]
struct ApiUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl From<ApiUsage> for Usage {
    fn from(u: ApiUsage) -> Self {
        Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            estimated: false,
        }
    }
}

/// An answer and, when the provider said, what it used.
pub struct Completion {
    pub text: String,
    pub usage: Option<Usage>,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<ApiUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ResponseMessage,
    #[serde(default)]
    finish_reason: Option<String>,
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
            policy: settings.retry(),
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
            stream_options: stream.then_some(StreamOptions {
                include_usage: true,
            }),
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
    pub async fn complete(&self, prompt: &Prompt) -> Result<Completion, AiError> {
        let request = self.request(prompt, false);
        self.retrying(|| self.attempt(&request)).await
    }

    /// Asks for a streamed completion. Resolves with the first piece of text and a reader for
    /// the rest; until that first piece arrives, failures are retried like `complete`'s. After
    /// it, a failure ends the stream (the caller keeps what it has).
    pub async fn open_stream(&self, prompt: &Prompt) -> Result<(String, SseReader), AiError> {
        let request = self.request(prompt, true);
        // However it trickles, one answer ends within the worst case of a plain call.
        let deadline = tokio::time::Instant::now() + self.worst_case();
        self.retrying(|| async {
            let response = self.send(&request).await?;
            let is_events = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
            if !is_events {
                // A provider that ignores `stream: true` answers in one piece.
                let whole = read_completion(response).await?;
                let mut reader = SseReader::finished();
                reader.usage = whole.usage;
                return Ok((whole.text, reader));
            }
            let mut reader = SseReader::new(response, self.timeout, deadline);
            // Leading blank pieces are not yet an answer: retries stay possible until text.
            loop {
                match reader.next_text().await? {
                    Some(first) if first.trim().is_empty() => continue,
                    Some(first) => return Ok((first.trim_start().to_owned(), reader)),
                    None => {
                        return Err(AttemptFailure::Malformed("响应中没有生成的文本".to_owned()))
                    }
                }
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

    async fn attempt(&self, request: &ChatRequest<'_>) -> Result<Completion, AttemptFailure> {
        read_completion(self.send(request).await?).await
    }
}

/// The text (and usage) of a whole (non-streamed) chat completion.
async fn read_completion(response: reqwest::Response) -> Result<Completion, AttemptFailure> {
    let body = response.bytes().await.map_err(network_failure)?;
    let parsed: ChatResponse =
        serde_json::from_slice(&body).map_err(|e| AttemptFailure::Malformed(e.to_string()))?;
    let choice = parsed
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| AttemptFailure::Malformed("响应中没有生成的文本".to_owned()))?;
    if let Some(reason) = choice.finish_reason.as_deref() {
        check_finish(reason)?;
    }
    let text = choice
        .message
        .content
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .ok_or_else(|| AttemptFailure::Malformed("响应中没有生成的文本".to_owned()))?;
    Ok(Completion {
        text,
        usage: parsed.usage.map(Usage::from),
    })
}

/// Whether a `finish_reason` means the answer is whole: `stop` (or none given) does; `length`
/// (cut at `max_tokens`) and `content_filter` do not, and such answers are never cached.
fn check_finish(reason: &str) -> Result<(), AttemptFailure> {
    match reason {
        "" | "stop" => Ok(()),
        other => Err(AttemptFailure::Incomplete(other.to_owned())),
    }
}

/// One `data:` payload of a streamed chat completion.
#[derive(Deserialize)]
struct StreamChunk {
    #[serde(default)]
    choices: Vec<StreamChoice>,
    #[serde(default)]
    usage: Option<ApiUsage>,
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
/// complete only at `data: [DONE]` or `finish_reason: "stop"`. A connection that ends before
/// that, an answer stopped for another reason (`length`, `content_filter`) or one that runs past
/// its deadline is incomplete, and says so: it must not be cached as a whole answer.
pub struct SseReader {
    response: Option<reqwest::Response>,
    buffer: Vec<u8>,
    /// The longest wait for the next bytes.
    idle: Duration,
    /// When the whole answer must be in.
    deadline: tokio::time::Instant,
    finished: bool,
    /// What the provider said the answer used, once it has.
    pub usage: Option<Usage>,
}

/// After the answer's last piece, how long to wait for the chunk with its token counts.
const USAGE_GRACE: Duration = Duration::from_secs(2);

impl SseReader {
    fn new(response: reqwest::Response, idle: Duration, deadline: tokio::time::Instant) -> Self {
        Self {
            response: Some(response),
            buffer: Vec::new(),
            idle,
            deadline,
            finished: false,
            usage: None,
        }
    }

    /// A reader with nothing left to read.
    fn finished() -> Self {
        Self {
            response: None,
            buffer: Vec::new(),
            idle: Duration::ZERO,
            deadline: tokio::time::Instant::now(),
            finished: true,
            usage: None,
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
            if self.finished && (self.usage.is_some() || self.response.is_none()) {
                return Ok(None);
            }
            let Some(response) = self.response.as_mut() else {
                return Ok(None);
            };
            let mut wait = self.idle.min(
                self.deadline
                    .saturating_duration_since(tokio::time::Instant::now()),
            );
            if self.finished {
                // The answer is whole; its token counts may follow in one more chunk.
                wait = wait.min(USAGE_GRACE);
            }
            match tokio::time::timeout(wait, response.chunk()).await {
                // The answer is whole: a wait or a break while its usage may follow ends it.
                Err(_) | Ok(Err(_)) if self.finished => {
                    self.response = None;
                    return Ok(None);
                }
                Err(_) => return Err(AttemptFailure::Timeout),
                Ok(Err(e)) => return Err(network_failure(e)),
                Ok(Ok(Some(bytes))) => self.buffer.extend_from_slice(&bytes),
                Ok(Ok(None)) => {
                    self.response = None;
                    // A last line without its newline still counts.
                    let rest = std::mem::take(&mut self.buffer);
                    if let Some(text) = self.line(&rest)? {
                        return Ok(Some(text));
                    }
                    if self.finished {
                        return Ok(None);
                    }
                    return Err(AttemptFailure::Network("流式响应在完成前中断".to_owned()));
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
            self.response = None;
            self.buffer.clear();
            return Ok(None);
        }
        let chunk: StreamChunk = match serde_json::from_str(data) {
            Ok(chunk) => chunk,
            // After the last piece, only the usage could still come; anything else is noise.
            Err(_) if self.finished => return Ok(None),
            Err(e) => return Err(AttemptFailure::Malformed(e.to_string())),
        };
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.into());
        }
        let Some(choice) = chunk.choices.into_iter().next() else {
            return Ok(None);
        };
        let text = choice
            .delta
            .and_then(|d| d.content)
            .filter(|text| !text.is_empty());
        match choice.finish_reason.as_deref() {
            None | Some("") => {}
            Some("stop") => self.finished = true,
            Some(other) => return Err(AttemptFailure::Incomplete(other.to_owned())),
        }
        Ok(text)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_stop_ends_an_answer() {
        let mut reader = SseReader::finished();
        reader.finished = false;
        let piece = br#"data: {"choices":[{"delta":{"content":"a"},"finish_reason":null}]}"#;
        assert_eq!(reader.line(piece).unwrap().as_deref(), Some("a"));
        assert_eq!(reader.line(b": keep-alive\r\n").unwrap(), None);
        assert!(!reader.finished);
        let cut = br#"data: {"choices":[{"delta":{},"finish_reason":"length"}]}"#;
        assert_eq!(
            reader.line(cut),
            Err(AttemptFailure::Incomplete("length".into()))
        );
        let last =
            b"data: {\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\r\n";
        assert_eq!(reader.line(last).unwrap().as_deref(), Some("b"));
        assert!(reader.finished);
    }
}
