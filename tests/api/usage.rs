//! Who spends what: usage from the upstream (or estimated), priced, saved by the cache, and
//! each user's limits — exact counts, the right `Retry-After`, one limit for two instances.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    read, retry_after, seed_body, spawn_app, spawn_app_with, FakeOpenAi, RedisServer, Reply,
    TestApp, ADMIN, USER,
};

fn section(n: u32) -> Value {
    let mut body = seed_body();
    body["section_id"] = json!(n.to_string());
    body
}

fn usage_of<'a>(stats: &'a Value, user: &str) -> &'a Value {
    &stats["usage"]["by_user"][user]
}

/// Waits, if needed, so that the next few seconds stay inside one clock minute.
async fn early_in_a_minute() {
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second >= 50 {
        tokio::time::sleep(Duration::from_secs(61 - second)).await;
    }
}

async fn post(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.http
        .post(app.url("/api/ai/generate"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_the_upstream_reports_is_counted_priced_and_saved_by_hits() {
    let fake = FakeOpenAi::start(vec![Reply::Text("模型写的章节")]).await;
    fake.report_usage(1_000, 500);
    let app = spawn_app(
        &[
            fake.env("0.01", "5"),
            vec![
                ("AI_PRICE_INPUT_PER_MTOK", "2".into()),
                ("AI_PRICE_OUTPUT_PER_MTOK", "8".into()),
            ],
        ]
        .concat(),
    )
    .await;
    assert_eq!(app.generate(&seed_body()).await.1["cached"], false);
    assert_eq!(app.generate(&seed_body()).await.1["cached"], true);
    let stats = app.stats().await;
    let mine = usage_of(&stats, "用户1");
    assert_eq!(mine["prompt_tokens"], 1_000);
    assert_eq!(mine["completion_tokens"], 500);
    assert_eq!(mine["estimated_tokens"], 0);
    assert_eq!(mine["requests"], 2);
    assert!(
        (mine["cost"].as_f64().unwrap() - 0.006).abs() < 1e-9,
        "{mine}"
    );
    assert_eq!(mine["saved_tokens"], 1_500);
    assert!((mine["saved_cost"].as_f64().unwrap() - 0.006).abs() < 1e-9);
    assert_eq!(stats["usage"]["currency"], "CNY");
    assert_eq!(stats["usage"]["prompt_tokens"], 1_000);
    assert_eq!(usage_of(&stats, "管理员")["requests"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_asks_for_its_usage_and_counts_it() {
    let fake = FakeOpenAi::start(vec![Reply::Stream {
        pieces: vec!["第一段，", "第二段。"],
        gap: Duration::from_millis(5),
        cut_after: None,
    }])
    .await;
    fake.report_usage(300, 40);
    let app = spawn_app(&fake.env("0.01", "5")).await;
    let text = app
        .http
        .post(app.url("/api/ai/generate/stream"))
        .bearer_auth(USER)
        .json(&seed_body())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("event: done"), "{text}");
    assert_eq!(
        fake.calls()[0].body["stream_options"]["include_usage"],
        true
    );
    let stats = app.stats().await;
    let mine = usage_of(&stats, "用户1");
    assert_eq!(
        (
            mine["prompt_tokens"].as_u64(),
            mine["completion_tokens"].as_u64()
        ),
        (Some(300), Some(40))
    );
    assert_eq!(mine["estimated_tokens"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_report_the_usage_is_estimated_and_marked() {
    let fake = FakeOpenAi::start(vec![Reply::Text("一二三四五六七八九十")]).await;
    let app = spawn_app(&fake.env("0.01", "5")).await;
    assert_eq!(app.generate(&seed_body()).await.0, StatusCode::OK);
    let stats = app.stats().await;
    let mine = usage_of(&stats, "用户1");
    assert_eq!(mine["completion_tokens"], 10);
    assert!(mine["prompt_tokens"].as_u64().unwrap() > 100, "{mine}");
    assert_eq!(
        mine["estimated_tokens"].as_u64(),
        Some(mine["prompt_tokens"].as_u64().unwrap() + 10)
    );
    // The mock estimates too.
    let mock = spawn_app(&[]).await;
    mock.generate(&seed_body()).await;
    let stats = mock.stats().await;
    assert!(
        usage_of(&stats, "用户1")["estimated_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_per_minute_stop_at_the_limit_until_the_next_minute() {
    early_in_a_minute().await;
    let app = spawn_app(&[("LIMIT_REQUESTS_PER_MINUTE", "3".into())]).await;
    for n in 1..=3 {
        // Hits count as requests too: the first section three times.
        let response = post(&app, USER, &section(1)).await;
        assert_eq!(response.status(), StatusCode::OK, "request {n}");
    }
    let response = post(&app, USER, &section(1)).await;
    let wait = retry_after(&response);
    let expected = 60
        - SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            % 60;
    assert!(wait.abs_diff(expected) <= 1, "{wait} vs {expected}");
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("每分钟最多 3 次"));
    // Another user has a limit of their own.
    assert_eq!(
        post(&app, ADMIN, &section(1)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_counts_each_of_its_sections() {
    early_in_a_minute().await;
    let app = spawn_app(&[("LIMIT_REQUESTS_PER_MINUTE", "10".into())]).await;
    let mut body = seed_body();
    body.as_object_mut().unwrap().remove("section_id");
    let plan = |app: &TestApp| {
        app.http
            .post(app.url("/api/ai/generate-plan"))
            .bearer_auth(USER)
            .json(&body)
            .send()
    };
    assert_eq!(plan(&app).await.unwrap().status(), StatusCode::OK);
    // Nine used; a second plan of nine does not fit in ten, and being refused uses nothing.
    assert_eq!(
        plan(&app).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(post(&app, USER, &section(1)).await.status(), StatusCode::OK);
    assert_eq!(
        post(&app, USER, &section(1)).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A plan of more sections than a minute allows would never pass: refused outright, without
/// a `Retry-After` that waiting could not honour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_larger_than_a_minute_allows_is_refused_outright() {
    let app = spawn_app(&[("LIMIT_REQUESTS_PER_MINUTE", "5".into())]).await;
    let mut body = seed_body();
    body.as_object_mut().unwrap().remove("section_id");
    let response = app
        .http
        .post(app.url("/api/ai/generate-plan"))
        .bearer_auth(USER)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("retry-after").is_none());
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "OVER_LIMIT");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("9 个章节") && message.contains("逐章生成"),
        "{message}"
    );
    // Nothing was used up.
    for _ in 0..5 {
        assert_eq!(post(&app, USER, &section(1)).await.status(), StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_tokens_run_out_until_china_midnight() {
    let fake = FakeOpenAi::start(vec![Reply::Text("模型写的章节")]).await;
    fake.report_usage(100, 50);
    let app = spawn_app(
        &[
            fake.env("0.01", "5"),
            vec![("LIMIT_TOKENS_PER_DAY", "120".into())],
        ]
        .concat(),
    )
    .await;
    assert_eq!(post(&app, USER, &section(1)).await.status(), StatusCode::OK);
    let response = post(&app, USER, &section(1)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expected = 86_400 - (now + 8 * 3600) % 86_400;
    assert!(retry_after(&response).abs_diff(expected) <= 1);
    let (_, body) = read(response).await;
    assert_eq!(body["error"]["code"], "DAILY_QUOTA_EXCEEDED");
    let stats = app.stats().await;
    let mine = usage_of(&stats, "用户1");
    assert_eq!(mine["tokens_today"], 150);
    assert_eq!(mine["tokens_left_today"], 0);
    assert_eq!(mine["limits"]["tokens_per_day"], 120);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_generations_are_capped() {
    let fake = FakeOpenAi::start(vec![Reply::Slow(Duration::from_millis(800), "慢")]).await;
    let app = std::sync::Arc::new(
        spawn_app(
            &[
                fake.env("0.01", "5"),
                vec![("LIMIT_CONCURRENT_GENERATIONS", "1".into())],
            ]
            .concat(),
        )
        .await,
    );
    let first = {
        let app = app.clone();
        tokio::spawn(async move { post(&app, USER, &section(1)).await.status() })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = post(&app, USER, &section(2)).await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&second), 5);
    let (_, body) = read(second).await;
    assert_eq!(body["error"]["code"], "TOO_MANY_GENERATIONS");
    assert_eq!(first.await.unwrap(), StatusCode::OK);
    // Given back when done.
    assert_eq!(post(&app, USER, &section(2)).await.status(), StatusCode::OK);
}

/// A request cut off at its deadline does not give back its user's place while the model still
/// writes for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_cut_off_keeps_its_place_until_the_model_is_done() {
    let fake = FakeOpenAi::start(vec![Reply::Slow(Duration::from_millis(1200), "慢")]).await;
    let app = spawn_app(
        &[
            fake.env("0.01", "5"),
            vec![
                ("LIMIT_CONCURRENT_GENERATIONS", "1".into()),
                ("REQUEST_TIMEOUT_SECS", "0.3".into()),
            ],
        ]
        .concat(),
    )
    .await;
    let (status, body) = read(post(&app, USER, &section(1)).await).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    let (status, body) = read(post(&app, USER, &section(2)).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "TOO_MANY_GENERATIONS");
    // Once the answer is written (and cached), the place is free again.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (status, body) = read(post(&app, USER, &section(1)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cached"], true, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_users_carry_their_own_limits() {
    let token = "zhang-san-token-0001";
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
    let file = format!(
        "[limits]\nrequests_per_minute = 100\n\n[[auth.users]]\nname = \"张三\"\ntoken_sha256 = \"{digest}\"\nlimits = {{ requests_per_minute = 1 }}\n"
    );
    early_in_a_minute().await;
    let app = spawn_app_with(Some(&file), &[]).await;
    assert_eq!(
        post(&app, token, &section(1)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        post(&app, token, &section(1)).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(post(&app, USER, &section(1)).await.status(), StatusCode::OK);
    let stats = app.stats().await;
    assert_eq!(usage_of(&stats, "张三")["limits"]["requests_per_minute"], 1);
    assert_eq!(
        usage_of(&stats, "用户1")["limits"]["requests_per_minute"],
        100
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_redis_share_one_limit() {
    early_in_a_minute().await;
    let redis = RedisServer::start();
    let env = [
        ("REDIS_URL", redis.url()),
        ("LIMIT_REQUESTS_PER_MINUTE", "3".into()),
    ];
    let a = spawn_app(&env).await;
    let b = spawn_app(&env).await;
    assert_eq!(post(&a, USER, &section(1)).await.status(), StatusCode::OK);
    assert_eq!(post(&b, USER, &section(1)).await.status(), StatusCode::OK);
    assert_eq!(post(&a, USER, &section(1)).await.status(), StatusCode::OK);
    assert_eq!(
        post(&b, USER, &section(1)).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        post(&a, USER, &section(1)).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // The refused requests were not counted.
    let keys = redis.keys("*limit:rpm:*");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let count: u64 = redis::Commands::get(&mut redis.connection(), &keys[0]).unwrap();
    assert_eq!(count, 3);
}

/// A generation's place in Redis is renewed while it runs, however long past the lease's time
/// to live, and given back when it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_lease_is_renewed_while_held_and_given_back() {
    use yueen::{
        config::{LimitSettings, Settings},
        coord::Coordination,
        usage::limits::Limits,
    };
    let redis = RedisServer::start();
    let vars = std::collections::HashMap::from([("REDIS_URL".to_owned(), redis.url())]);
    let store = Coordination::start(&Settings::from_sources(None, &vars).unwrap().cache).await;
    let one_at_a_time = LimitSettings {
        concurrent_generations: Some(1),
        ..LimitSettings::default()
    };
    let user: std::sync::Arc<str> = "用户1".into();
    let limits = Limits::new(
        store,
        one_at_a_time,
        Duration::from_millis(600),
        [user.clone()],
    );
    let held = limits
        .admit(&user, LimitSettings::default(), 1)
        .await
        .unwrap();
    assert_eq!(redis.keys("*limit:run:*").len(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let refused = limits
        .admit(&user, LimitSettings::default(), 1)
        .await
        .unwrap_err();
    assert_eq!(refused.code, "TOO_MANY_GENERATIONS");
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = limits.admit(&user, LimitSettings::default(), 1).await;
    assert!(again.is_ok(), "given back when dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_instance_refuses_at_once_with_a_retry_after() {
    let fake = FakeOpenAi::start(vec![Reply::Slow(Duration::from_millis(800), "慢")]).await;
    let app = std::sync::Arc::new(
        spawn_app(
            &[
                fake.env("0.01", "5"),
                vec![
                    ("AI_MAX_CONCURRENCY", "1".into()),
                    ("AI_MAX_QUEUE", "0".into()),
                ],
            ]
            .concat(),
        )
        .await,
    );
    let first = {
        let app = app.clone();
        tokio::spawn(async move { post(&app, USER, &section(1)).await.status() })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = post(&app, ADMIN, &section(2)).await;
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry_after(&second) >= 1);
    let (_, body) = read(second).await;
    assert_eq!(body["error"]["code"], "AI_OVERLOADED");
    assert_eq!(first.await.unwrap(), StatusCode::OK);
    assert_eq!(fake.calls().len(), 1, "the refused request made no call");
}
