//! The JSON body extractor: reads the body itself so that a wrong content type, bad JSON or an
//! oversized body all answer in the API's error shape and in Chinese.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::StatusCode,
};
use serde_json::Value;

use super::error::ApiError;
use crate::state::AppState;

pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    format!("请求体过大，上限为 {} 字节", state.body_limit),
                )
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", "无法读取请求体")
            }
        })?;
        if bytes.is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_JSON",
                "请求体为空，应为 JSON 对象",
            ));
        }
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_JSON",
                format!(
                    "请求体不是有效的 JSON（第 {} 行第 {} 列）",
                    e.line(),
                    e.column()
                ),
            )
        })
    }
}
