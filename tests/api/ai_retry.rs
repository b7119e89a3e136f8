use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{seed_body, spawn_app, FakeOpenAi, Reply};

const ATTEMPT_SLACK: Duration = Duration::from_millis(5);

fn assert_at_least(gaps: &[Duration], expected_ms: &[u64]) {
    assert_eq!(gaps.len(), expected_ms.len(), "{gaps:?}");
    for (gap, ms) in gaps.iter().zip(expected_ms) {
        assert!(
            *gap + ATTEMPT_SLACK >= Duration::from_millis(*ms),
            "waited {gap:?}, expected at least {ms} ms ({gaps:?})"
        );
    }
}

#[tokio::test]
async fn transient_failures_are_retried_with_exponential_backoff() {
    let fake = FakeOpenAi::start(vec![
        Reply::Status(500),
        Reply::Status(502),
        Reply::Text("第二章 企业概况：真实模型的回答"),
    ])
    .await;
    let app = spawn_app(&fake.env("0.1", "5")).await;

    let (status, body) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["content"], "第二章 企业概况：真实模型的回答");
    assert_eq!(body["cached"], false);
    assert_eq!(body["model"], "fake-model");

    let calls = fake.calls();
    assert_eq!(calls.len(), 3);
    assert_at_least(&fake.gaps(), &[100, 200]);
    assert_eq!(
        calls[0].authorization.as_deref(),
        Some("Bearer sk-test-secret-key")
    );
    assert_eq!(calls[0].body["model"], "fake-model");
    let user_prompt = calls[0].body["messages"][1]["content"].as_str().unwrap();
    assert!(user_prompt.contains("企业名称：测试企业"), "{user_prompt}");

    let ai = app.stats().await["ai"].clone();
    assert_eq!(
        (
            ai["calls"].as_u64(),
            ai["retries"].as_u64(),
            ai["failures"].as_u64()
        ),
        (Some(3), Some(2), Some(0))
    );

    // The answer was cached: no new upstream call.
    assert_eq!(app.generate(&seed_body()).await.1["cached"], true);
    assert_eq!(fake.calls().len(), 3);
}

#[tokio::test]
async fn persistent_failure_is_502_after_all_retries_and_never_cached() {
    let fake = FakeOpenAi::start(vec![Reply::Status(503)]).await;
    let app = spawn_app(&fake.env("0.05", "5")).await;

    let (status, body) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"]["code"], "AI_UPSTREAM_ERROR");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("已尝试 4 次"),
        "{body}"
    );
    assert_eq!(fake.calls().len(), 4);
    assert_at_least(&fake.gaps(), &[50, 100, 200]);

    let (status, _) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        fake.calls().len(),
        8,
        "an error is never served from the cache"
    );
    let stats = app.stats().await;
    assert_eq!(stats["stats"]["sets"], 0);
    assert_eq!(stats["ai"]["failures"], 2);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let fake = FakeOpenAi::start(vec![
        Reply::RateLimited { retry_after: "1" },
        Reply::Text("限流之后的回答"),
    ])
    .await;
    let app = spawn_app(&fake.env("0.01", "5")).await;
    let (status, body) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["content"], "限流之后的回答");
    assert_at_least(&fake.gaps(), &[1000]);
}

#[tokio::test]
async fn retry_after_is_capped() {
    let fake = FakeOpenAi::start(vec![
        Reply::RateLimited {
            retry_after: "3600",
        },
        Reply::Text("好"),
    ])
    .await;
    let mut env = fake.env("0.01", "5");
    env.push(("AI_RETRY_AFTER_MAX_SECS", "0.2".into()));
    let app = spawn_app(&env).await;
    let started = Instant::now();
    assert_eq!(app.generate(&seed_body()).await.0, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_at_least(&fake.gaps(), &[200]);
}

#[tokio::test]
async fn auth_and_client_errors_are_not_retried() {
    for code in [400, 401, 403, 404] {
        let fake = FakeOpenAi::start(vec![Reply::Status(code)]).await;
        let app = spawn_app(&fake.env("0.01", "5")).await;
        let (status, body) = app.generate(&seed_body()).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{code}: {body}");
        assert_eq!(fake.calls().len(), 1, "HTTP {code} must not be retried");
        assert!(!body.to_string().contains("sk-test-secret-key"));
    }
}

#[tokio::test]
async fn hanging_upstream_times_out_each_attempt_then_504() {
    let fake = FakeOpenAi::start(vec![Reply::Hang(Duration::from_secs(10))]).await;
    let app = spawn_app(&fake.env("0.05", "0.3")).await;
    let started = Instant::now();
    let (status, body) = app.generate(&seed_body()).await;
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_eq!(body["error"]["code"], "AI_TIMEOUT");
    assert_eq!(fake.calls().len(), 4);
    // 4 attempts of 0.3 s plus 0.05 + 0.1 + 0.2 s of backoff.
    assert!(elapsed >= Duration::from_millis(1500), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_at_least(&fake.gaps(), &[350, 400, 500]);
}

#[tokio::test]
async fn a_slow_answer_within_the_timeout_succeeds() {
    let fake = FakeOpenAi::start(vec![Reply::Hang(Duration::from_millis(100))]).await;
    let app = spawn_app(&fake.env("0.05", "2")).await;
    let (status, body) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["content"], "太迟了");
    assert_eq!(fake.calls().len(), 1);
}

#[tokio::test]
async fn malformed_json_is_502_without_retry() {
    let fake = FakeOpenAi::start(vec![Reply::Malformed]).await;
    let app = spawn_app(&fake.env("0.01", "5")).await;
    let (status, body) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"]["message"], "AI 服务返回了无法解析的结果");
    assert_eq!(fake.calls().len(), 1);
}

#[tokio::test]
async fn unreachable_upstream_is_retried_then_502() {
    let port = crate::helpers::free_port();
    let app = spawn_app(&[
        ("OPENAI_API_KEY", "sk-test-secret-key".into()),
        ("OPENAI_BASE_URL", format!("http://127.0.0.1:{port}/v1")),
        ("AI_RETRY_BASE_SECS", "0.01".into()),
    ])
    .await;
    let (status, body) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("无法连接 AI 服务"));
    assert_eq!(app.stats().await["ai"]["retries"], 3);
}

#[tokio::test]
async fn an_answer_cut_at_the_token_limit_is_an_error_and_not_cached() {
    let fake = FakeOpenAi::start(vec![Reply::Truncated("第二章 企业概况：写到一半")]).await;
    let app = spawn_app(&fake.env("0.01", "5")).await;
    let (status, body) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("AI_MAX_TOKENS"),
        "{body}"
    );
    // Not retried (the same prompt would be cut again), not cached.
    assert_eq!(fake.calls().len(), 1);
    assert_eq!(app.stats().await["stats"]["sets"], 0);
}
