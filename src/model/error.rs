//! One error type for both sides of the wire. Server functions return it (Leptos's custom
//! server-function errors) and the JSON API's `ApiError` is built from it, so the page and the
//! API decide by the same codes — never by the text of a message, which is for people.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::FieldProblem;

/// Each code once: its name on the wire, the HTTP status the API answers it with, and whether
/// the same request may succeed later without being changed.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident = $text:literal, $status:literal, $retry:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode {
            $($(#[$doc])* #[serde(rename = $text)] $name,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The code as the JSON API writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$name => $text,)*
                }
            }

            /// The HTTP status the JSON API answers with.
            pub fn status(self) -> u16 {
                match self {
                    $(Self::$name => $status,)*
                }
            }

            /// Whether trying again later, unchanged, may succeed.
            pub fn retryable(self) -> bool {
                match self {
                    $(Self::$name => $retry,)*
                }
            }
        }
    };
}

error_codes! {
    /// The body is not JSON.
    InvalidJson = "INVALID_JSON", 400, false;
    /// The request could not be read at all.
    BadRequest = "BAD_REQUEST", 400, false;
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", 413, false;
    /// The body did not arrive in time.
    BodyTimeout = "BODY_TIMEOUT", 408, true;
    /// A field is missing or not allowed; `details` names each.
    ValidationError = "VALIDATION_ERROR", 422, false;
    MethodNotAllowed = "METHOD_NOT_ALLOWED", 405, false;
    /// No login or token, or one no longer valid.
    Unauthorized = "UNAUTHORIZED", 401, false;
    /// Logged in, but not allowed (an admin's page or call).
    Forbidden = "FORBIDDEN", 403, false;
    TooManyFailedAttempts = "TOO_MANY_FAILED_ATTEMPTS", 429, true;
    NotFound = "NOT_FOUND", 404, false;
    TemplateNotFound = "TEMPLATE_NOT_FOUND", 404, false;
    SectionNotFound = "SECTION_NOT_FOUND", 404, false;
    VersionNotFound = "VERSION_NOT_FOUND", 404, false;
    /// The plan was saved elsewhere first.
    Conflict = "CONFLICT", 409, false;
    /// The plan cannot be exported as it is.
    ExportFailed = "EXPORT_FAILED", 409, false;
    /// Plans, versions or space of a writer used up.
    PlanLimit = "PLAN_LIMIT", 403, false;
    StoreUnavailable = "STORE_UNAVAILABLE", 503, true;
    StoreFull = "STORE_FULL", 507, true;
    /// More sections at once than a minute allows: no wait lets it through.
    OverLimit = "OVER_LIMIT", 403, false;
    DailyQuotaExceeded = "DAILY_QUOTA_EXCEEDED", 429, false;
    RateLimited = "RATE_LIMITED", 429, true;
    TooManyGenerations = "TOO_MANY_GENERATIONS", 429, true;
    /// Another instance writes the same section and did not finish in time.
    GenerationBusy = "GENERATION_BUSY", 503, true;
    AiTimeout = "AI_TIMEOUT", 504, true;
    /// This instance's model calls are all taken.
    AiOverloaded = "AI_OVERLOADED", 503, true;
    AiUpstreamError = "AI_UPSTREAM_ERROR", 502, true;
    CacheUnavailable = "CACHE_UNAVAILABLE", 503, true;
    RequestTimeout = "REQUEST_TIMEOUT", 504, true;
    InternalError = "INTERNAL_ERROR", 500, true;
    /// Made in the browser: no answer came (the network, the server or a proxy in between).
    Unreachable = "UNREACHABLE", 503, true;
}

/// A code equals its name on the wire.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// What went wrong: a code to decide by, a message in the user's language, whether to try
/// again, and what else helps (the fields rejected, how long to wait).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    pub retryable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<FieldProblem>>,
    /// Seconds to wait before trying again, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retryable: code.retryable(),
            details: None,
            retry_after: None,
        }
    }

    /// A request rejected field by field: every problem in the message and in `details`.
    pub fn validation(details: Vec<FieldProblem>) -> Self {
        let message = details
            .iter()
            .map(|e| format!("{}（{}）", e.message, e.field))
            .collect::<Vec<_>>()
            .join("；");
        Self {
            details: Some(details),
            ..Self::new(ErrorCode::ValidationError, message)
        }
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// No answer came from the server (made in the browser).
    pub fn unreachable() -> Self {
        Self::new(
            ErrorCode::Unreachable,
            "无法连接服务器（网络中断或服务器无响应）",
        )
    }

    pub fn login_expired() -> Self {
        Self::new(ErrorCode::Unauthorized, "登录已失效，请重新登录")
    }

    pub fn admins_only() -> Self {
        Self::new(ErrorCode::Forbidden, "需要管理员权限")
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    /// What the server-function machinery itself reports. Anything that kept an answer from
    /// arriving or being read (the network, a proxy's own error page) is `Unreachable`: the
    /// page keeps its text and tries again.
    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            E::Request(_) | E::Deserialization(_) | E::Response(_) => Self::unreachable(),
            E::Args(_) | E::MissingArg(_) | E::Serialization(_) => {
                Self::new(ErrorCode::BadRequest, "请求内容无法读取，请刷新页面后重试")
            }
            E::Registration(_)
            | E::UnsupportedRequestMethod(_)
            | E::ServerError(_)
            | E::MiddlewareError(_) => {
                Self::new(ErrorCode::InternalError, "服务器内部错误，请稍后重试")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_from_its_name() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *code);
            assert!((400..600).contains(&code.status()), "{code:?}");
        }
    }

    #[test]
    fn an_error_crosses_the_wire_whole() {
        let error = AppError::validation(vec![FieldProblem {
            field: "id".into(),
            message: "太长".into(),
        }])
        .with_retry_after(0);
        let json = serde_json::to_string(&error).unwrap();
        assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), error);
        assert_eq!(error.retry_after, Some(1));
        assert!(!error.retryable);
        assert_eq!(error.to_string(), "太长（id）");
    }

    #[test]
    fn what_kept_an_answer_away_is_worth_another_try() {
        use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
        let lost = AppError::from_server_fn_error(ServerFnErrorErr::Request("reset".into()));
        assert_eq!(lost.code, ErrorCode::Unreachable);
        assert!(lost.retryable);
        let garbled = AppError::de("<html>502 Bad Gateway</html>".into());
        assert_eq!(garbled.code, ErrorCode::Unreachable);
    }
}
