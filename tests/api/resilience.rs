//! Run-time resilience with real processes: Redis killed, restarted and paused under traffic,
//! two app instances sharing one Redis, and stale answers when the model fails.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{seed_body, spawn_app, FakeOpenAi, RedisServer, Reply, TestApp, ADMIN};

/// Mixed traffic: even requests repeat a few enterprises (cache hits), odd ones are new (misses,
/// which reach Redis even when L1 holds the repeats).
fn body_for(n: u64) -> Value {
    let name = if n.is_multiple_of(2) {
        format!("常客企业{}", n % 20)
    } else {
        format!("新企业{n}")
    };
    let mut body = seed_body();
    body["data"]["enterprise_info"]["enterprise_name"] = json!(name);
    body
}

/// Sends requests back to back until stopped; counts failures and the slowest answer.
struct Traffic {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    slowest_ms: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Traffic {
    fn start(app: Arc<TestApp>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let slowest_ms = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let (stop, sent, failed, slowest_ms) = (
                stop.clone(),
                sent.clone(),
                failed.clone(),
                slowest_ms.clone(),
            );
            async move {
                // Bounded: at most 20 000 requests even if never stopped.
                for n in 0..20_000u64 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let started = Instant::now();
                    let (status, _) = app.generate(&body_for(n)).await;
                    slowest_ms.fetch_max(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                    sent.fetch_add(1, Ordering::Relaxed);
                    if status != StatusCode::OK {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        Self {
            stop,
            sent,
            failed,
            slowest_ms,
            task,
        }
    }

    async fn finish(self) -> (u64, u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
        (
            self.sent.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.slowest_ms.load(Ordering::Relaxed),
        )
    }
}

async fn wait_until(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what} did not happen within {limit:?}");
}

fn fast_redis_env(redis: &RedisServer) -> Vec<(&'static str, String)> {
    vec![
        ("REDIS_URL", redis.url()),
        ("CACHE_REDIS_TIMEOUT_MS", "150".into()),
        ("CACHE_REDIS_PROBE_MS", "100".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_under_traffic_fails_nothing() {
    let mut redis = RedisServer::start();
    let app = Arc::new(spawn_app(&fast_redis_env(&redis)).await);
    let traffic = Traffic::start(app.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;

    redis.kill();
    wait_until("degrading to memory", Duration::from_secs(3), async || {
        app.stats().await["stats"]["degraded"] == true
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    redis.restart();
    let recovered = wait_until("returning to Redis", Duration::from_secs(5), async || {
        app.stats().await["stats"]["backend"] == "redis"
    })
    .await;
    // New entries land in the restarted (empty) Redis.
    wait_until("new keys in Redis", Duration::from_secs(5), async || {
        !redis.keys("yueen:gen:*").is_empty()
    })
    .await;

    let (sent, failed, _) = traffic.finish().await;
    assert!(sent > 50, "only {sent} requests went through");
    assert_eq!(failed, 0, "{failed} of {sent} requests failed");
    let stats = app.stats().await["stats"].clone();
    assert_eq!(stats["breaker"]["opened"], 1, "{stats}");
    assert_eq!(stats["breaker"]["closed"], 1, "{stats}");
    assert!(
        recovered < Duration::from_secs(5),
        "recovered after {recovered:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_never_holds_a_request_past_the_deadline() {
    let redis = RedisServer::start();
    let app = Arc::new(spawn_app(&fast_redis_env(&redis)).await);
    for n in 0..5 {
        assert_eq!(app.generate(&body_for(n)).await.0, StatusCode::OK);
    }
    let traffic = Traffic::start(app.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;

    redis.pause();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (sent, failed, slowest_ms) = traffic.finish().await;
    // A request meets at most one Redis deadline (150 ms) before the breaker opens.
    assert_eq!(failed, 0, "{failed} of {sent} failed");
    assert!(slowest_ms <= 150 + 250, "a request took {slowest_ms} ms");
    assert_eq!(app.stats().await["stats"]["degraded"], true);

    redis.resume();
    wait_until("returning to Redis", Duration::from_secs(5), async || {
        app.stats().await["stats"]["backend"] == "redis"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_make_one_model_call_for_fifty_identical_requests() {
    let redis = RedisServer::start();
    let fake = FakeOpenAi::start(vec![Reply::Hang(Duration::from_secs(1))]).await;
    let mut env = fake.env("0.05", "10");
    env.push(("REDIS_URL", redis.url()));
    let a = Arc::new(spawn_app(&env).await);
    let b = Arc::new(spawn_app(&env).await);

    let requests = (0..50).map(|i| {
        let app = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { app.generate(&seed_body()).await })
    });
    let answers = futures::future::join_all(requests).await;
    let mut contents = Vec::new();
    for answer in answers {
        let (status, body) = answer.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        contents.push(body["content"].as_str().unwrap().to_owned());
    }
    assert_eq!(fake.calls().len(), 1, "the upstream saw more than one call");
    assert!(contents.iter().all(|c| c == "太迟了"), "{contents:?}");
    assert!(
        redis.keys("yueen:lock:*").is_empty(),
        "the lock was released"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clear_on_one_instance_empties_the_others_l1() {
    let redis = RedisServer::start();
    let env = vec![("REDIS_URL", redis.url())];
    let a = spawn_app(&env).await;
    let b = spawn_app(&env).await;
    assert_eq!(a.generate(&seed_body()).await.1["cached"], false);
    // B reads it from Redis and keeps it in its L1.
    assert_eq!(b.generate(&seed_body()).await.1["cached"], true);
    assert_eq!(b.generate(&seed_body()).await.1["cached"], true);
    assert_eq!(b.stats().await["stats"]["tiers"]["l1"]["hits"], 1);

    let (status, body) = a.clear_as(ADMIN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, body) = b.generate(&seed_body()).await;
    assert_eq!(body["cached"], false, "B still served its L1 copy");
}

#[tokio::test]
async fn l1_can_be_turned_off() {
    let redis = RedisServer::start();
    let app = spawn_app(&[
        ("REDIS_URL", redis.url()),
        ("CACHE_L1_ENABLED", "false".into()),
    ])
    .await;
    app.generate(&seed_body()).await;
    assert_eq!(app.generate(&seed_body()).await.1["cached"], true);
    let stats = app.stats().await["stats"].clone();
    assert_eq!(stats["l1_enabled"], false);
    assert_eq!(stats["tiers"]["l1"], json!({"hits": 0, "misses": 0}));
    assert_eq!(stats["tiers"]["l2"], json!({"hits": 1, "misses": 1}));
}

/// A registry whose sections expire after one second.
fn short_ttl_registry() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let text = yueen::templates::EMBEDDED_REGISTRY.replace("ttl_secs: 604800", "ttl_secs: 1");
    std::fs::write(file.path(), text).unwrap();
    file
}

#[tokio::test]
async fn an_expired_entry_stands_in_for_a_failing_model_during_the_grace_period() {
    let redis = RedisServer::start();
    let registry = short_ttl_registry();
    let fake = FakeOpenAi::start(vec![Reply::Text("第一次的回答"), Reply::Status(503)]).await;
    let mut env = fake.env("0.01", "5");
    env.extend([
        ("REDIS_URL", redis.url()),
        ("AI_MAX_RETRIES", "0".into()),
        ("CACHE_STALE_GRACE_SECS", "1.5".into()),
        ("TEMPLATES_PATH", registry.path().display().to_string()),
    ]);
    let app = spawn_app(&env).await;
    let first_at = Instant::now();
    let (status, first) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["stale"], false);

    // Expired (TTL 1 s) but inside the grace period: the model fails, the old answer stands in.
    tokio::time::sleep(Duration::from_millis(1200).saturating_sub(first_at.elapsed())).await;
    let (status, stale) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::OK, "{stale}");
    assert_eq!(stale["stale"], true);
    assert_eq!(stale["content"], "第一次的回答");
    assert_eq!(fake.calls().len(), 2, "the model was asked first");
    assert_eq!(app.stats().await["stats"]["stale_served"], 1);

    // Past TTL + grace (2.5 s): nothing to fall back on.
    tokio::time::sleep(Duration::from_millis(2800).saturating_sub(first_at.elapsed())).await;
    let (status, body) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
}

#[tokio::test]
async fn a_fresh_answer_replaces_the_stale_one() {
    let registry = short_ttl_registry();
    let fake = FakeOpenAi::start(vec![Reply::Text("旧的回答"), Reply::Text("新的回答")]).await;
    let mut env = fake.env("0.01", "5");
    env.push(("TEMPLATES_PATH", registry.path().display().to_string()));
    let app = spawn_app(&env).await;
    app.generate(&seed_body()).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, body) = app.generate(&seed_body()).await;
    assert_eq!(body["content"], "新的回答");
    assert_eq!(body["stale"], false);
    assert_eq!(body["cached"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_deleted_on_one_instance_leaves_every_l1() {
    use yueen::{
        cache::{CacheService, Lookup},
        config::Settings,
    };
    let redis = RedisServer::start();
    let vars = std::collections::HashMap::from([("REDIS_URL".to_owned(), redis.url())]);
    let settings = Settings::from_sources(None, &vars).unwrap().cache;
    let a = CacheService::start(&settings).await;
    let b = CacheService::start(&settings).await;
    // Give both listeners a moment to subscribe.
    tokio::time::sleep(Duration::from_millis(200)).await;

    a.set("yueen:k", "v", Duration::from_secs(60)).await;
    assert_eq!(b.get("yueen:k").await, Lookup::Fresh("v".into()));
    // B now answers from its L1 even without Redis's copy...
    let _: () = redis::Commands::del(&mut redis.connection(), "yueen:k").unwrap();
    assert_eq!(b.get("yueen:k").await, Lookup::Fresh("v".into()));
    // ...until a delete on A tells every instance to drop it.
    a.set("yueen:k", "v", Duration::from_secs(60)).await;
    a.delete("yueen:k").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(b.get("yueen:k").await, Lookup::Miss);
    assert_eq!(a.get("yueen:k").await, Lookup::Miss);
}
