//! Why a model call failed: per attempt (decides retrying) and in the end (shown to the user).

use std::{fmt, time::Duration};

use super::retry::is_retryable_status;

/// One failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptFailure {
    /// No complete answer within the per-attempt timeout.
    Timeout,
    /// The connection could not be made or broke off.
    Network(String),
    /// The API answered with a non-success status.
    Status {
        status: u16,
        retry_after: Option<Duration>,
        /// The start of the response body, for the log only.
        detail: String,
    },
    /// A success status with a body that is not a chat completion.
    Malformed(String),
    /// The model stopped before the answer was whole (`finish_reason` `length` or
    /// `content_filter`); never retried or cached.
    Incomplete(String),
    /// A streamed answer broke off after text had arrived; never retried, since the writer
    /// already sees the partial text.
    Interrupted(Box<AttemptFailure>),
    /// This instance already makes as many model calls as it may and its queue is full; no
    /// call was made.
    Overloaded,
}

impl AttemptFailure {
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout | Self::Network(_) => true,
            Self::Status { status, .. } => reqwest::StatusCode::from_u16(*status)
                .map(is_retryable_status)
                .unwrap_or(false),
            Self::Malformed(_) | Self::Incomplete(_) | Self::Interrupted(_) | Self::Overloaded => {
                false
            }
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("请求超时"),
            Self::Network(reason) => write!(f, "网络错误: {reason}"),
            Self::Status { status, detail, .. } if detail.is_empty() => write!(f, "HTTP {status}"),
            Self::Status { status, detail, .. } => write!(f, "HTTP {status}: {detail}"),
            Self::Malformed(reason) => write!(f, "响应格式错误: {reason}"),
            Self::Incomplete(reason) => write!(f, "回答未完整结束（finish_reason={reason}）"),
            Self::Interrupted(cause) => write!(f, "流式输出中断: {cause}"),
            Self::Overloaded => f.write_str("本实例的模型调用已满且排队已满"),
        }
    }
}

/// The final failure after all attempts. `Display` is the user-facing message and carries no
/// upstream detail; `log_detail` is for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct AiError {
    pub failure: AttemptFailure,
    pub attempts: u32,
}

impl AiError {
    pub fn is_timeout(&self) -> bool {
        matches!(self.failure, AttemptFailure::Timeout)
    }

    /// No call was made: this instance was at its limit of model calls.
    pub fn is_overloaded(&self) -> bool {
        matches!(self.failure, AttemptFailure::Overloaded)
    }

    pub fn log_detail(&self) -> String {
        format!("{}（共尝试 {} 次）", self.failure, self.attempts)
    }
}

impl fmt::Display for AiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.attempts;
        match &self.failure {
            AttemptFailure::Timeout => write!(f, "AI 服务响应超时（已尝试 {n} 次），请稍后重试"),
            AttemptFailure::Network(_) => {
                write!(f, "无法连接 AI 服务（已尝试 {n} 次），请稍后重试")
            }
            AttemptFailure::Status {
                status: 401 | 403, ..
            } => f.write_str("AI 服务拒绝了认证，请管理员检查 API Key 配置"),
            AttemptFailure::Status { status: 429, .. } => {
                write!(f, "AI 服务请求过于频繁（已尝试 {n} 次），请稍后重试")
            }
            AttemptFailure::Status { status, .. } if *status >= 500 => {
                write!(
                    f,
                    "AI 服务暂时不可用（HTTP {status}，已尝试 {n} 次），请稍后重试"
                )
            }
            AttemptFailure::Status { status, .. } => {
                write!(f, "AI 服务拒绝了请求（HTTP {status}）")
            }
            AttemptFailure::Malformed(_) => f.write_str("AI 服务返回了无法解析的结果"),
            AttemptFailure::Incomplete(reason) if reason == "length" => f.write_str(
                "AI 的回答超出长度上限被截断，未写入缓存；如经常出现，请管理员调大 AI_MAX_TOKENS",
            ),
            AttemptFailure::Incomplete(_) => {
                f.write_str("AI 服务拒绝完整回答（内容过滤），未写入缓存，请调整企业信息后重试")
            }
            AttemptFailure::Interrupted(_) => {
                f.write_str("AI 服务在输出过程中中断，已保留已生成的部分，可重新生成该章节")
            }
            AttemptFailure::Overloaded => f.write_str("当前生成请求过多，请稍后重试"),
        }
    }
}

impl std::error::Error for AiError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> AttemptFailure {
        AttemptFailure::Status {
            status: code,
            retry_after: None,
            detail: "upstream said sk-secret-ish things".into(),
        }
    }

    #[test]
    fn retryable_failures() {
        assert!(AttemptFailure::Timeout.is_retryable());
        assert!(AttemptFailure::Network("reset".into()).is_retryable());
        assert!(status(429).is_retryable());
        assert!(status(503).is_retryable());
        assert!(!status(401).is_retryable());
        assert!(!status(400).is_retryable());
        assert!(!AttemptFailure::Malformed("eof".into()).is_retryable());
    }

    #[test]
    fn user_message_never_quotes_the_upstream_body() {
        let e = AiError {
            failure: status(500),
            attempts: 4,
        };
        assert_eq!(
            e.to_string(),
            "AI 服务暂时不可用（HTTP 500，已尝试 4 次），请稍后重试"
        );
        assert!(e.log_detail().contains("upstream said"));
    }
}
