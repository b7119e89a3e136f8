//! One view of the deployment: instances sharing a Redis report their figures there, so each
//! answers with the same totals and lists the others; without Redis an instance says its
//! figures are its own.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{
    load_dashboard, seed_body, session_cookie, spawn_app, RedisServer, TestApp, ADMIN, USER,
};

fn company(n: usize) -> Value {
    let mut body = seed_body();
    body["data"]["enterprise_info"]["enterprise_name"] = json!(format!("部署企业{n}"));
    body
}

fn env(redis: &RedisServer) -> Vec<(&'static str, String)> {
    vec![
        ("REDIS_URL", redis.url()),
        ("DEPLOYMENT_REPORT_MS", "100".into()),
        ("CACHE_REDIS_TIMEOUT_MS", "1000".into()),
        ("CACHE_REDIS_PROBE_MS", "100".into()),
    ]
}

/// The figures both instances must agree on.
fn totals(stats: &Value) -> Value {
    json!({
        "requests": stats["stats"]["total_requests"],
        "hits": stats["stats"]["hits"],
        "misses": stats["stats"]["misses"],
        "sets": stats["stats"]["sets"],
        "l2_hits": stats["stats"]["tiers"]["l2"]["hits"],
        "ai_calls": stats["ai"]["calls"],
        "usage_requests": stats["usage"]["requests"],
        "today_requests": stats["usage"]["today"]["requests"],
        "user_requests": stats["usage"]["by_user"]["用户1"]["requests"],
        "user_tokens_today": stats["usage"]["by_user"]["用户1"]["tokens_today"],
    })
}

/// Both instances' stats once both count `requests` (each one's own counts are always
/// current; the other's arrive with its next report).
async fn settled(a: &TestApp, b: &TestApp, requests: u64) -> (Value, Value) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (sa, sb) = (a.stats().await, b.stats().await);
        let both = [&sa, &sb].map(|s| s["stats"]["total_requests"] == requests);
        if both == [true, true] || std::time::Instant::now() > deadline {
            return (sa, sb);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_redis_show_the_same_totals_and_each_other() {
    let redis = RedisServer::start();
    let a = spawn_app(&env(&redis)).await;
    let b = spawn_app(&env(&redis)).await;
    for n in 0..3 {
        assert_eq!(a.generate(&company(n)).await.1["cached"], false);
    }
    for n in 0..2 {
        assert_eq!(b.generate(&company(n)).await.1["cached"], true);
    }
    let (sa, sb) = settled(&a, &b, 5).await;
    assert_eq!(sa["scope"], "deployment", "{sa}");
    assert_eq!(totals(&sa), totals(&sb));
    let mut expected = json!({
        "requests": 5, "hits": 2, "misses": 3, "sets": 3, "l2_hits": 2, "ai_calls": 3,
        "usage_requests": 5, "today_requests": 5, "user_requests": 5,
    });
    // Today's tokens of a user without a daily limit are the deployment's too: the three
    // sections A had written.
    let tokens = sa["usage"]["by_user"]["用户1"]["prompt_tokens"]
        .as_u64()
        .unwrap()
        + sa["usage"]["by_user"]["用户1"]["completion_tokens"]
            .as_u64()
            .unwrap();
    assert!(tokens > 0);
    expected["user_tokens_today"] = json!(tokens);
    assert_eq!(totals(&sa), expected);
    assert_eq!(sa["stats"]["hit_rate"], "40.00%");

    let instances = sa["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 2, "{instances:?}");
    assert!(instances.iter().all(|i| i["live"] == true));
    let me_a: Vec<&Value> = instances.iter().filter(|i| i["this"] == true).collect();
    let me_b: Vec<&Value> = sb["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["this"] == true)
        .collect();
    assert_eq!(me_a.len(), 1);
    assert_eq!(me_b.len(), 1);
    assert_ne!(me_a[0]["id"], me_b[0]["id"]);
    assert_eq!(me_a[0]["address"], a.addr.to_string());
    assert_eq!(me_a[0]["backend"], "redis");
    // Hosts and addresses are for admins: a user's answer has the figures, not the list.
    let as_user = a.get_as(USER, "/api/ai/cache/stats").await;
    assert_eq!(as_user["scope"], "deployment");
    assert_eq!(totals(&as_user), totals(&sa));
    assert_eq!(as_user["instances"], json!([]));

    // The dashboard of either instance: the same totals, both instances, and a chart of the
    // deployment's minutes holding everyone's traffic.
    for app in [&a, &b] {
        let base = app.url("");
        let base = base.trim_end_matches('/');
        let cookie = session_cookie(base, ADMIN).await;
        let dashboard = load_dashboard(&app.http, base, &cookie).await.unwrap();
        assert_eq!(dashboard["scope"], "deployment");
        assert_eq!(dashboard["stats"]["total_requests"], 5);
        assert_eq!(dashboard["instances"].as_array().unwrap().len(), 2);
        assert_eq!(dashboard["history_step_secs"], 60);
        let history = dashboard["history"].as_array().unwrap();
        assert_eq!(history.len(), 10, "ten minutes");
        let requests: u64 = history
            .iter()
            .map(|p| p["requests"].as_u64().unwrap())
            .sum();
        let hits: u64 = history.iter().map(|p| p["hits"].as_u64().unwrap()).sum();
        assert_eq!((requests, hits), (5, 2), "{history:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_the_figures_are_this_instances_and_say_so() {
    let mut redis = RedisServer::start();
    let a = spawn_app(&env(&redis)).await;
    let b = spawn_app(&env(&redis)).await;
    a.generate(&company(0)).await;
    b.generate(&company(1)).await;
    let (sa, _) = settled(&a, &b, 2).await;
    assert_eq!(sa["stats"]["total_requests"], 2);

    redis.kill();
    // The next request finds Redis gone and falls back to memory.
    a.generate(&company(2)).await;
    let sa = a.stats().await;
    assert_eq!(sa["scope"], "instance", "{sa}");
    assert_eq!(
        sa["stats"]["total_requests"], 2,
        "a's own two requests only"
    );
    let instances = sa["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0]["this"], true);

    // Back on Redis, what A counted meanwhile is added to the deployment's.
    redis.restart();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (sa, sb) = (a.stats().await, b.stats().await);
        if sa["scope"] == "deployment" && sb["scope"] == "deployment" {
            // A fresh Redis holds only what was reported since: the request A counted while
            // it was down.
            if sb["stats"]["total_requests"] == 1 && sa["stats"]["total_requests"] == 1 {
                assert_eq!(totals(&sa), totals(&sb));
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the deployment never added up again: {sa} / {sb}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_memory_only_instance_lists_itself() {
    let app = spawn_app(&[]).await;
    app.generate(&seed_body()).await;
    let stats = app.stats().await;
    assert_eq!(stats["scope"], "instance");
    assert_eq!(stats["stats"]["total_requests"], 1);
    assert_eq!(stats["instances"].as_array().unwrap().len(), 1);
    assert_eq!(stats["instances"][0]["backend"], "memory");
}
