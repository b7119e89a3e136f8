use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{read, seed_body, spawn_app, TestApp, ADMIN, USER};

fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(!message.is_empty());
    // Messages are for Chinese users.
    assert!(
        message
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{message}"
    );
}

async fn raw_post(
    app: &TestApp,
    token: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let mut request = app
        .http
        .post(app.url("/api/ai/generate"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn missing_or_wrong_tokens_are_401() {
    let app = spawn_app(&[]).await;
    let response = app
        .http
        .post(app.url("/api/ai/generate"))
        .json(&seed_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (status, body) = read(response).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");

    let (status, body) = app.generate_as("not-a-real-token", &seed_body()).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");

    let response = app
        .http
        .get(app.url("/api/ai/cache/stats"))
        .header("authorization", format!("Basic {ADMIN}"))
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
}

#[tokio::test]
async fn users_cannot_clear_but_can_read_stats() {
    let app = spawn_app(&[]).await;
    let (status, body) = app.clear_as(USER).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    let response = app
        .http
        .get(app.url("/api/ai/cache/stats"))
        .bearer_auth(USER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_template_and_section_are_404() {
    let app = spawn_app(&[]).await;
    let mut body = seed_body();
    body["template_id"] = json!("no_such_plan");
    let (status, out) = app.generate(&body).await;
    assert_error(status, &out, StatusCode::NOT_FOUND, "TEMPLATE_NOT_FOUND");

    let mut body = seed_body();
    body["section_id"] = json!("99");
    let (status, out) = app.generate(&body).await;
    assert_error(status, &out, StatusCode::NOT_FOUND, "SECTION_NOT_FOUND");
}

#[tokio::test]
async fn invalid_fields_are_422_and_named() {
    let app = spawn_app(&[]).await;
    let mut body = seed_body();
    body["data"]["enterprise_info"]["enterprise_name"] = json!("  ");
    body["data"]["enterprise_info"]["employees_count"] = json!("很多");
    let (status, out) = app.generate(&body).await;
    assert_error(
        status,
        &out,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_ERROR",
    );
    let message = out["error"]["message"].as_str().unwrap();
    assert!(message.contains("请填写企业名称"), "{message}");
    assert!(
        message.contains("data.enterprise_info.enterprise_name"),
        "{message}"
    );
    let fields: Vec<_> = out["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        [
            "data.enterprise_info.enterprise_name",
            "data.enterprise_info.employees_count"
        ]
    );

    let (status, out) = app
        .generate(&json!({"template_id": "emergency_plan"}))
        .await;
    assert_error(
        status,
        &out,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_ERROR",
    );
    assert!(out["error"]["message"]
        .as_str()
        .unwrap()
        .contains("section_id"));
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app(&[]).await;
    let (status, body) = raw_post(&app, Some(USER), "{\"template_id\": ").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_JSON");
    let (status, body) = raw_post(&app, Some(USER), "").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_JSON");
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = spawn_app(&[("BODY_LIMIT_BYTES", "2048".into())]).await;
    let mut body = seed_body();
    body["data"]["enterprise_info"]["processes"] = json!("长".repeat(2000));
    let (status, out) = raw_post(&app, Some(USER), body.to_string()).await;
    assert_error(
        status,
        &out,
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
    );
    // A body within the limit still works on the same server.
    assert_eq!(app.generate(&seed_body()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn unknown_api_routes_and_methods_answer_in_json() {
    let app = spawn_app(&[]).await;
    let response = app
        .http
        .get(app.url("/api/nothing/here"))
        .bearer_auth(USER)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "NOT_FOUND");

    let response = app
        .http
        .get(app.url("/api/ai/generate"))
        .bearer_auth(USER)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
    );
}
