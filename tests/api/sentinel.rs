//! Redis Sentinel: a real master, a replica and three sentinels. The master dies under traffic;
//! the app serves from memory meanwhile, finds the promoted master by itself and writes there.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{seed_body, spawn_app, RedisServer, Sentinel};

fn role(server: &RedisServer) -> Option<String> {
    let mut conn = redis::Client::open(server.url())
        .ok()?
        .get_connection()
        .ok()?;
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut conn).ok()?;
    match role.first()? {
        redis::Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        redis::Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_is_followed_without_failing_a_request() {
    let mut master = RedisServer::start();
    let replica = RedisServer::start_replica_of(&master);
    let sentinels: Vec<Sentinel> = (0..3).map(|_| Sentinel::start(master.port)).collect();
    // Sentinels must know the replica before the master dies, or nobody can be promoted.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sentinels
        .iter()
        .all(|s| s.known_replicas().unwrap_or(0) >= 1)
    {
        assert!(Instant::now() < deadline, "sentinels never saw the replica");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let addrs: Vec<String> = sentinels
        .iter()
        .map(|s| format!("127.0.0.1:{}", s.port))
        .collect();
    let app = Arc::new(
        spawn_app(&[
            ("REDIS_SENTINEL_URLS", addrs.join(",")),
            ("REDIS_SENTINEL_MASTER", "mymaster".into()),
            ("CACHE_REDIS_TIMEOUT_MS", "150".into()),
            ("CACHE_REDIS_PROBE_MS", "100".into()),
        ])
        .await,
    );
    assert_eq!(app.stats().await["stats"]["backend"], "redis");
    assert_eq!(app.generate(&seed_body()).await.1["cached"], false);
    assert!(
        !master.keys("yueen:gen:*").is_empty(),
        "entries go to the master"
    );

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let traffic = tokio::spawn({
        let (app, stop) = (app.clone(), stop.clone());
        async move {
            let (mut sent, mut failed) = (0u64, 0u64);
            for n in 0..20_000u64 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let mut body = seed_body();
                body["data"]["enterprise_info"]["enterprise_name"] = json!(format!("哨兵企业{n}"));
                let (status, _) = app.generate(&body).await;
                sent += 1;
                if status != StatusCode::OK {
                    failed += 1;
                }
            }
            (sent, failed)
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    master.kill();
    let killed = Instant::now();
    loop {
        let promoted = role(&replica).as_deref() == Some("master");
        if promoted && app.stats().await["stats"]["backend"] == "redis" {
            // A brand-new entry now lands on the promoted master.
            let before = replica.keys("yueen:gen:*").len();
            let mut body = seed_body();
            body["data"]["enterprise_info"]["enterprise_name"] = json!("故障切换之后的新企业");
            assert_eq!(app.generate(&body).await.1["cached"], false);
            if replica.keys("yueen:gen:*").len() > before {
                break;
            }
        }
        assert!(
            killed.elapsed() < Duration::from_secs(15),
            "no writes on the promoted master within 15 s: role {:?}, keys {}, stats {}",
            role(&replica),
            replica.keys("yueen:gen:*").len(),
            app.stats().await["stats"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (sent, failed) = traffic.await.unwrap();
    assert!(sent > 20, "only {sent} requests");
    assert_eq!(failed, 0, "{failed} of {sent} requests failed");
    let breaker = app.stats().await["stats"]["breaker"].clone();
    assert!(breaker["opened"].as_u64() >= Some(1), "{breaker}");
}
