//! Startup warm-up from `WARMUP_FILE`: runs in the background, fills the cache, reports bad
//! entries without failing.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{seed_body, spawn_app};

#[tokio::test]
async fn a_warmup_file_fills_the_cache_in_the_background() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut requests: Vec<_> = (1..=5)
        .map(|n| {
            let mut body = seed_body();
            body["section_id"] = json!(n.to_string());
            body
        })
        .collect();
    requests.push(json!({"template_id": "emergency_plan", "section_id": "1", "data": {}}));
    std::fs::write(file.path(), serde_json::to_string(&requests).unwrap()).unwrap();

    let started = Instant::now();
    let app = spawn_app(&[("WARMUP_FILE", file.path().display().to_string())]).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "startup waited for the warm-up"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    while app.stats().await["stats"]["sets"] != 5 {
        assert!(Instant::now() < deadline, "{}", app.stats().await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for body in &requests[..5] {
        let (status, out) = app.generate(body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(out["cached"], true, "{}", body["section_id"]);
    }
    let stats = app.stats().await["stats"].clone();
    assert_eq!(stats["hits"], 5);
    assert_eq!(stats["misses"], 5);
}

#[tokio::test]
async fn a_broken_warmup_file_does_not_stop_the_app() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "{not json").unwrap();
    let app = spawn_app(&[("WARMUP_FILE", file.path().display().to_string())]).await;
    assert_eq!(app.generate(&seed_body()).await.0, StatusCode::OK);
    let app = spawn_app(&[("WARMUP_FILE", "/no/such/warmup.json".into())]).await;
    assert_eq!(app.generate(&seed_body()).await.0, StatusCode::OK);
}
