use std::time::Duration;

use redis::Commands;
use reqwest::StatusCode;

use crate::helpers::{free_port, seed_body, spawn_app, RedisServer, ADMIN};

#[tokio::test]
async fn redis_backend_stores_under_the_prefix_with_the_section_ttl() {
    let redis = RedisServer::start();
    let app = spawn_app(&[("REDIS_URL", redis.url())]).await;

    let (status, body) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cached"], false);
    let keys = redis.keys("yueen:gen:*");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("yueen:gen:emergency_plan:2:"),
        "{keys:?}"
    );
    let ttl: i64 = redis.connection().ttl(&keys[0]).unwrap();
    // The section TTL (7 days) plus the default stale grace (1 day).
    assert!((691_100..=691_200).contains(&ttl), "ttl {ttl}");

    assert_eq!(app.generate(&seed_body()).await.1["cached"], true);
    let stats = app.stats().await["stats"].clone();
    assert_eq!(stats["backend"], "redis");
    assert_eq!(stats["degraded"], false);
    assert_eq!(stats["hits"], 1);
    assert_eq!(stats["sets"], 1);
}

#[tokio::test]
async fn a_restarted_app_finds_its_entries_in_redis() {
    let redis = RedisServer::start();
    let first = spawn_app(&[("REDIS_URL", redis.url())]).await;
    let (_, generated) = first.generate(&seed_body()).await;
    assert_eq!(generated["cached"], false);
    drop(first);

    let restarted = spawn_app(&[("REDIS_URL", redis.url())]).await;
    let (status, body) = restarted.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["cached"], true);
    assert_eq!(body["content"], generated["content"]);
}

#[tokio::test]
async fn clear_removes_only_this_apps_keys() {
    let redis = RedisServer::start();
    let mut conn = redis.connection();
    let _: () = conn.set("other-app:keep", "1").unwrap();
    let _: () = conn.set("yueen-not-ours", "1").unwrap();
    let app = spawn_app(&[("REDIS_URL", redis.url())]).await;
    app.generate(&seed_body()).await;
    let mut other = seed_body();
    other["section_id"] = serde_json::json!("3");
    app.generate(&other).await;
    assert_eq!(redis.keys("yueen:gen:*").len(), 2);

    let (status, body) = app.clear_as(ADMIN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["removed"], 2);
    // Only state (the deployment's figures and instances) is left under the prefix.
    let left = redis.keys("yueen:*");
    assert!(
        left.iter().all(|k| k.starts_with("yueen:state:")),
        "{left:?}"
    );
    assert_eq!(redis.keys("other-app:*"), ["other-app:keep"]);
    assert_eq!(redis.keys("yueen-not-ours"), ["yueen-not-ours"]);
    assert_eq!(app.generate(&seed_body()).await.1["cached"], false);
}

#[tokio::test]
async fn clear_handles_many_keys_and_a_custom_prefix() {
    let redis = RedisServer::start();
    let app = spawn_app(&[
        ("REDIS_URL", redis.url()),
        ("CACHE_KEY_PREFIX", "plan[1]:".into()),
    ])
    .await;
    let mut conn = redis.connection();
    for i in 0..1200 {
        let _: () = conn.set(format!("plan[1]:filler:{i}"), i).unwrap();
    }
    let _: () = conn.set("plan1:not-ours", 1).unwrap();
    let (_, body) = app.clear_as(ADMIN).await;
    assert_eq!(body["removed"], 1200);
    let left: Vec<String> = redis
        .keys("*")
        .into_iter()
        .filter(|k| !k.starts_with("plan[1]:state:"))
        .collect();
    assert_eq!(left, ["plan1:not-ours"]);
}

#[tokio::test]
async fn password_protected_redis_works() {
    let redis = RedisServer::start_with(Some("s3cret-redis-pass"));
    let app = spawn_app(&[("REDIS_URL", redis.url())]).await;
    assert_eq!(app.generate(&seed_body()).await.1["cached"], false);
    assert_eq!(app.generate(&seed_body()).await.1["cached"], true);
    assert_eq!(app.stats().await["stats"]["backend"], "redis");
}

#[tokio::test]
async fn unreachable_redis_falls_back_to_memory() {
    let closed = free_port();
    let started = std::time::Instant::now();
    let app = spawn_app(&[("REDIS_URL", format!("redis://127.0.0.1:{closed}/0"))]).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "startup waited {:?}",
        started.elapsed()
    );
    let stats = app.stats().await["stats"].clone();
    assert_eq!(stats["backend"], "memory");
    assert_eq!(stats["degraded"], true);
    assert_eq!(app.generate(&seed_body()).await.1["cached"], false);
    assert_eq!(app.generate(&seed_body()).await.1["cached"], true);
}
