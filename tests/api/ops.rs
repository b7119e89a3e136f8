//! Operator endpoints: Prometheus metrics that follow real traffic, health and readiness.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{free_port, read, seed_body, spawn_app, RedisServer, TestApp, ADMIN, USER};

async fn scrape(app: &TestApp) -> prometheus_parse::Scrape {
    let response = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    parse(&response.text().await.unwrap())
}

fn parse(text: &str) -> prometheus_parse::Scrape {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text")
}

fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_real_requests() {
    let app = spawn_app(&[]).await;
    let before = scrape(&app).await;
    assert_eq!(
        value(&before, "yueen_cache_requests_total", &[("result", "miss")]),
        0.0
    );

    app.generate(&seed_body()).await;
    app.generate(&seed_body()).await;
    let after = scrape(&app).await;
    assert_eq!(
        value(&after, "yueen_cache_requests_total", &[("result", "miss")]),
        1.0
    );
    assert_eq!(
        value(&after, "yueen_cache_requests_total", &[("result", "hit")]),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "yueen_cache_lookups_total",
            &[("tier", "l1"), ("result", "hit")]
        ),
        1.0
    );
    assert_eq!(value(&after, "yueen_cache_sets_total", &[]), 1.0);
    assert_eq!(
        value(
            &after,
            "yueen_ai_generations_total",
            &[("outcome", "success")]
        ),
        1.0
    );
    assert_eq!(value(&after, "yueen_cache_redis_active", &[]), 0.0);
    assert_eq!(
        value(
            &after,
            "yueen_http_requests_total",
            &[
                ("route", "/api/ai/generate"),
                ("method", "POST"),
                ("status", "200")
            ]
        ),
        2.0
    );
    assert!(after
        .samples
        .iter()
        .any(|s| s.metric == "yueen_http_request_duration_seconds"
            || s.metric.starts_with("yueen_http_request_duration_seconds")));
    assert!(after
        .samples
        .iter()
        .any(|s| s.metric.starts_with("yueen_ai_generation_duration_seconds")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_admin_token_on_the_main_address() {
    let app = spawn_app(&[]).await;
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(USER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_separate_metrics_address_serves_without_a_token() {
    let port = free_port();
    let app = spawn_app(&[("METRICS_ADDR", format!("127.0.0.1:{port}"))]).await;
    app.generate(&seed_body()).await;
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = parse(&text);
    assert_eq!(
        value(&scrape, "yueen_cache_requests_total", &[("result", "miss")]),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_open_and_simple() {
    let app = spawn_app(&[]).await;
    let (status, body) = read(app.http.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_reports_degraded_while_redis_is_down_and_recovers() {
    let mut redis = RedisServer::start();
    let app = spawn_app(&[
        ("REDIS_URL", redis.url()),
        ("CACHE_REDIS_TIMEOUT_MS", "150".into()),
        ("CACHE_REDIS_PROBE_MS", "100".into()),
    ])
    .await;
    let readyz = || async { read(app.http.get(app.url("/readyz")).send().await.unwrap()).await };
    let (status, body) = readyz().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["cache"]["backend"], "redis");
    assert_eq!(body["ai"]["mode"], "mock");
    assert_eq!(body["templates"], 3);

    redis.kill();
    // The next request that reaches Redis notices; readiness follows.
    let mut fresh = seed_body();
    fresh["data"]["enterprise_info"]["enterprise_name"] = serde_json::json!("就绪检查企业");
    assert_eq!(app.generate(&fresh).await.0, StatusCode::OK);
    let (status, body) = readyz().await;
    assert_eq!(
        status,
        StatusCode::OK,
        "degraded but serving is still ready"
    );
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["cache"]["backend"], "memory");

    redis.restart();
    let started = std::time::Instant::now();
    loop {
        let (_, body) = readyz().await;
        if body["status"] == "ready" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_parses_and_lists_the_api() {
    let app = spawn_app(&[]).await;
    let response = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let spec = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    assert!(spec.openapi.starts_with("3.1"));
    let paths = spec.paths.expect("paths");
    assert!(paths["/api/ai/generate"].post.is_some());
    assert!(paths["/api/ai/cache/stats"].get.is_some());
    assert!(paths["/api/ai/cache"].delete.is_some());
    let components = spec.components.expect("components");
    assert!(components.security_schemes.contains_key("bearer"));
    for schema in [
        "GenerateBody",
        "GenerateResponse",
        "StatsResponse",
        "ErrorResponse",
    ] {
        assert!(components.schemas.contains_key(schema), "{schema}");
    }
    // The documented example is the seed's request.
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    let example = &raw["components"]["schemas"]["EnterpriseInfo.emergency_plan"]["properties"]
        ["enterprise_name"]["examples"][0];
    assert_eq!(example, "测试企业");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_is_public_and_server_rendered() {
    let app = spawn_app(&[]).await;
    let response = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("/api/ai/generate"));
    assert!(html.contains("GenerateBody"));
    assert!(!html.contains("https://"), "no outside assets");
}
