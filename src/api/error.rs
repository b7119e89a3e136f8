//! The API's error shape and the status each failure maps to.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::{domain::enterprise::FieldError, generation::GenerationError};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "该接口不支持此请求方法",
        )
    }

    pub fn validation(details: Vec<FieldError>) -> Self {
        let message = details
            .iter()
            .map(|e| format!("{}（{}）", e.message, e.field))
            .collect::<Vec<_>>()
            .join("；");
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "VALIDATION_ERROR",
            message,
            details,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if !self.details.is_empty() {
            error["details"] = json!(self.details);
        }
        let body = Json(json!({ "success": false, "error": error }));
        if self.status == StatusCode::UNAUTHORIZED {
            (self.status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response()
        } else {
            (self.status, body).into_response()
        }
    }
}

impl From<GenerationError> for ApiError {
    fn from(e: GenerationError) -> Self {
        let status = match &e {
            GenerationError::UnknownTemplate(_) | GenerationError::UnknownSection { .. } => {
                StatusCode::NOT_FOUND
            }
            GenerationError::Invalid(details) => return Self::validation(details.clone()),
            GenerationError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            GenerationError::Ai(ai) if ai.is_timeout() => StatusCode::GATEWAY_TIMEOUT,
            GenerationError::Ai(_) => StatusCode::BAD_GATEWAY,
        };
        Self::new(status, e.code(), e.to_string())
    }
}
