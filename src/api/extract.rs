//! The JSON body extractor: reads the body itself so that bad JSON, a body of the wrong shape
//! or an oversized body all answer in the API's error shape and in Chinese. A body of the wrong
//! shape is named by the path of its first wrong field. Path and query parameters answer in
//! that shape too.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Query, Request},
    http::{request::Parts, StatusCode},
};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::error::Category;

use super::error::ApiError;
use crate::model::ErrorCode;
use crate::{
    model::{request::object, FieldProblem},
    state::AppState,
};

pub struct JsonBody<T>(pub T);

/// Room beside the plan in a plan request's body (title, note, revision).
pub const PLAN_BODY_SLACK: usize = 16 * 1024;

/// Path parameters; a segment of the wrong shape names no resource: 404 in the API's shape.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|_| ApiError::not_found("预案或版本不存在"))
    }
}

/// Query parameters; one of the wrong shape is 422 naming it.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|e| {
                let text = e.body_text();
                let text = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                ApiError::validation(vec![FieldProblem {
                    field: "query".into(),
                    message: format!("查询参数不正确：{text}"),
                }])
            })
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = if req.uri().path().starts_with("/api/plans") {
            crate::plans::MAX_PLAN_BYTES + PLAN_BODY_SLACK
        } else {
            state.body_limit
        };
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("请求体过大，上限为 {limit} 字节"),
                )
            } else {
                ApiError::new(ErrorCode::BadRequest, "无法读取请求体")
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// A body that may be left out (`T::default()` then: no body, or `null`), or else read as
/// `parse` reads it.
pub fn optional_json<T: DeserializeOwned + Default>(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<T, ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorCode::PayloadTooLarge, "请求体过大")
        } else {
            ApiError::new(ErrorCode::BadRequest, "无法读取请求体")
        }
    })?;
    // Left out: no body, or JSON's null.
    if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
        return Ok(T::default());
    }
    parse(&bytes)
}

/// Reads `bytes` as a `T`: 400 when they are not JSON, 422 when the JSON is not a `T`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            ErrorCode::InvalidJson,
            "请求体为空，应为 JSON 对象",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    if let Ok(value) = object(&mut de).and_then(|value| de.end().map(|()| value)) {
        return Ok(value);
    }
    // Only a rejected body is read again: for its syntax first, so that broken JSON is told
    // apart from JSON of the wrong shape, then for the path of its first wrong field.
    serde_json::from_slice::<IgnoredAny>(bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidJson,
            format!(
                "请求体不是有效的 JSON（第 {} 行第 {} 列）",
                e.line(),
                e.column()
            ),
        )
    })?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut track = serde_path_to_error::Track::new();
    let e = match object::<_, T>(serde_path_to_error::Deserializer::new(&mut de, &mut track)) {
        Err(e) if e.classify() == Category::Data => e,
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidJson,
                "请求体不是有效的 JSON",
            ))
        }
    };
    Err(ApiError::validation(vec![problem(
        &track.path().to_string(),
        &e,
    )]))
}

/// The first wrong field of a body, in the user's words.
fn problem(path: &str, e: &serde_json::Error) -> FieldProblem {
    let text = e.to_string();
    // serde_json appends the position; the field path says more.
    let text = text.split(" at line ").next().unwrap_or(&text);
    let path = if path == "." { "" } else { path };
    let join = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(name) = text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        let field = join(name);
        return FieldProblem {
            message: format!("缺少 {field}"),
            field,
        };
    }
    let field = if path.is_empty() { "body" } else { path }.to_owned();
    let message = match text.rsplit_once("expected ") {
        Some(_) if path.is_empty() => "请求体应为 JSON 对象".to_owned(),
        Some((_, expected)) => format!("{field} 应为{}", in_chinese(expected)),
        None => format!("{field}：{text}"),
    };
    FieldProblem { field, message }
}

/// What serde expected, as a writer would say it.
fn in_chinese(expected: &str) -> &str {
    if expected.contains("bool") {
        "true 或 false"
    } else if expected.contains("string") {
        "字符串"
    } else if expected.contains("struct") || expected.contains("map") {
        "对象"
    } else if expected.contains("integer") || expected.contains("u64") || expected.contains("i64") {
        "整数"
    } else {
        expected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GenerateBody;

    fn problem_of(json: &str) -> (StatusCode, String, Option<String>) {
        let e = parse::<GenerateBody>(json.as_bytes()).unwrap_err();
        let field = e
            .error
            .details
            .as_ref()
            .and_then(|d| d.first())
            .map(|d| d.field.clone());
        (e.status(), e.error.message, field)
    }

    #[test]
    fn wrong_shapes_name_the_field_in_chinese() {
        let (status, message, field) = problem_of(r#"{"template_id": "emergency_plan"}"#);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(field.as_deref(), Some("section_id"));
        assert!(message.contains("缺少 section_id"), "{message}");

        let (_, message, field) = problem_of(
            r#"{"template_id": "t", "section_id": "1", "data": {"enterprise_info": {}}, "refresh": "yes"}"#,
        );
        assert_eq!(field.as_deref(), Some("refresh"));
        assert!(message.contains("refresh 应为true 或 false"), "{message}");

        let (_, message, field) =
            problem_of(r#"{"template_id": "t", "section_id": [], "data": {}}"#);
        assert_eq!(field.as_deref(), Some("section_id"));
        assert!(message.contains("字符串或整数"), "{message}");

        let (_, message, field) =
            problem_of(r#"{"template_id": "t", "section_id": "1", "data": 3}"#);
        assert_eq!(field.as_deref(), Some("data"));
        assert!(message.contains("data 应为对象"), "{message}");

        let (_, message, field) = problem_of("[1]");
        assert_eq!(field.as_deref(), Some("body"));
        assert!(message.contains("请求体应为 JSON 对象"), "{message}");
    }

    #[test]
    fn broken_json_is_400() {
        for body in ["{\"template_id\": ", "", "  ", "{} x"] {
            let e = parse::<GenerateBody>(body.as_bytes()).unwrap_err();
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{body:?}");
            assert_eq!(e.error.code.as_str(), "INVALID_JSON");
        }
    }
}
