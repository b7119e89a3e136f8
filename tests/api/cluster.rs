//! Redis Cluster as the cache backend: a real 3-master / 3-replica cluster on free ports. What
//! works on one Redis works here — entries spread over the masters, clear on every master and
//! only under the prefix, one model call across instances, L1 invalidation — and a master
//! killed under traffic fails no request while writes move to the promoted replica.

use std::{
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{free_port, seed_body, spawn_app, FakeOpenAi, RedisServer, Reply, ADMIN};

pub const PASSWORD: &str = "cluster-pass-7431";

/// Six `redis-server --cluster-enabled yes`, joined by `redis-cli --cluster create` into three
/// masters with one replica each; killed on drop.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start() -> Self {
        let nodes: Vec<RedisServer> = (0..6)
            .map(|_| {
                RedisServer::start_full(
                    Some(PASSWORD),
                    [
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "1000",
                        "--masterauth",
                        PASSWORD,
                        // The bus port, free too (not port + 10000, which may be taken).
                        "--cluster-port",
                        &free_port().to_string(),
                    ]
                    .map(String::from)
                    .to_vec(),
                )
            })
            .collect();
        let status = Command::new("redis-cli")
            .args(["-a", PASSWORD, "--no-auth-warning", "--cluster", "create"])
            .args(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)))
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("redis-cli is installed with redis-server");
        assert!(status.success(), "redis-cli --cluster create failed");
        let cluster = Self { nodes };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !cluster.ready() {
            assert!(Instant::now() < deadline, "the cluster never became ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        cluster
    }

    /// Every node says `cluster_state:ok` and every replica is in sync with its master.
    fn ready(&self) -> bool {
        self.nodes.iter().all(|node| {
            let ok = info(node, &["CLUSTER", "INFO"]).contains("cluster_state:ok");
            let replication = info(node, &["INFO", "replication"]);
            ok && (replication.contains("role:master")
                || replication.contains("master_link_status:up"))
        })
    }

    /// Seed URLs for `REDIS_CLUSTER_URLS`: three of the nodes, password included.
    pub fn seeds(&self) -> String {
        self.nodes[..3]
            .iter()
            .map(RedisServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The nodes that are masters now.
    pub fn masters(&self) -> Vec<&RedisServer> {
        self.nodes
            .iter()
            .filter(|n| info(n, &["INFO", "replication"]).contains("role:master"))
            .collect()
    }

    /// Keys matching `pattern` on every master.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .masters()
            .iter()
            .flat_map(|m| m.keys(pattern))
            .collect();
        keys.sort();
        keys
    }

    /// The master holding `key` now.
    pub fn master_of(&self, key: &str) -> usize {
        (0..self.nodes.len())
            .find(|&i| {
                let node = &self.nodes[i];
                info(node, &["INFO", "replication"]).contains("role:master")
                    && redis::cmd("EXISTS")
                        .arg(key)
                        .query::<i64>(&mut node.connection())
                        .is_ok()
            })
            .expect("some master holds the key")
    }
}

/// A command's text reply from `node`, empty when it does not answer.
fn info(node: &RedisServer, args: &[&str]) -> String {
    let Ok(mut conn) = redis::Client::open(node.url()).and_then(|c| c.get_connection()) else {
        return String::new();
    };
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query::<String>(&mut conn).unwrap_or_default()
}

fn env(cluster: &RedisCluster) -> Vec<(&'static str, String)> {
    vec![
        ("REDIS_CLUSTER_URLS", cluster.seeds()),
        ("CACHE_REDIS_TIMEOUT_MS", "300".into()),
        ("CACHE_REDIS_PROBE_MS", "100".into()),
        ("DEPLOYMENT_REPORT_MS", "100".into()),
    ]
}

fn company(n: usize) -> serde_json::Value {
    let mut body = seed_body();
    body["data"]["enterprise_info"]["enterprise_name"] = json!(format!("集群企业{n}"));
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_serves_every_cache_feature() {
    let cluster = RedisCluster::start();
    let a = spawn_app(&env(&cluster)).await;
    let b = spawn_app(&env(&cluster)).await;
    let stats = a.stats().await;
    assert_eq!(stats["stats"]["backend"], "redis", "{stats}");
    assert!(!stats.to_string().contains(PASSWORD));

    // Entries spread over the masters; the other instance finds each of them.
    for n in 0..12 {
        let (status, body) = a.generate(&company(n)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["cached"], false);
    }
    let holding = cluster
        .masters()
        .iter()
        .filter(|m| !m.keys("yueen:gen:*").is_empty())
        .count();
    assert!(holding >= 2, "entries on {holding} master(s) only");
    for n in 0..12 {
        assert_eq!(b.generate(&company(n)).await.1["cached"], true);
    }
    // The deployment's figures and list live on the cluster too (one slot: `{deployment}`).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let s = a.stats().await;
        let listed = s["instances"].as_array().map_or(0, Vec::len);
        if s["scope"] == "deployment" && s["stats"]["total_requests"] == 24 && listed == 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Another application's keys, on every master, survive a clear.
    let mut foreign = redis::cluster::ClusterClient::new(vec![cluster.nodes[0].url()])
        .unwrap()
        .get_connection()
        .unwrap();
    for n in 0..30 {
        let _: () = redis::cmd("SET")
            .arg(format!("other-app:{n}"))
            .arg(n)
            .query(&mut foreign)
            .unwrap();
    }
    let ours = cluster.keys("yueen:gen:*").len();
    let (status, body) = a.clear_as(ADMIN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["removed"], ours);
    assert!(cluster.keys("yueen:gen:*").is_empty());
    assert_eq!(cluster.keys("other-app:*").len(), 30);
    // B's L1 was emptied too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(b.generate(&company(0)).await.1["cached"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_a_cluster_make_one_model_call() {
    let cluster = RedisCluster::start();
    let fake = FakeOpenAi::start(vec![Reply::Hang(Duration::from_secs(1))]).await;
    let mut vars = fake.env("0.05", "10");
    vars.extend(env(&cluster));
    let a = Arc::new(spawn_app(&vars).await);
    let b = Arc::new(spawn_app(&vars).await);
    let requests = (0..20).map(|i| {
        let app = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { app.generate(&seed_body()).await })
    });
    for answer in futures::future::join_all(requests).await {
        let (status, body) = answer.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(fake.calls().len(), 1, "the upstream saw more than one call");
    assert!(
        cluster.keys("yueen:lock:*").is_empty(),
        "the lock was released"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_killed_under_traffic_fails_no_request() {
    let mut cluster = RedisCluster::start();
    let app = Arc::new(spawn_app(&env(&cluster)).await);
    assert_eq!(app.generate(&company(0)).await.1["cached"], false);
    let key = cluster.keys("yueen:gen:*").remove(0);
    let victim = cluster.master_of(&key);
    // Replication is asynchronous: a write no replica has yet may be lost in a failover (as
    // Redis documents). The entry is on the victim's replica before the victim dies.
    let copied = Instant::now();
    while !cluster
        .nodes
        .iter()
        .enumerate()
        .any(|(i, node)| i != victim && !node.keys(&key).is_empty())
    {
        assert!(
            copied.elapsed() < Duration::from_secs(10),
            "the replica never got the entry"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let traffic = tokio::spawn({
        let (app, stop) = (app.clone(), stop.clone());
        async move {
            let (mut sent, mut failed) = (0u64, 0u64);
            for n in 0..20_000usize {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                // Repeats (hits) and new enterprises (misses) alike.
                let (status, _) = app
                    .generate(&company(if n % 2 == 0 { n % 10 } else { n }))
                    .await;
                sent += 1;
                if status != StatusCode::OK {
                    failed += 1;
                }
            }
            (sent, failed)
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    cluster.nodes[victim].kill();
    let killed = Instant::now();
    // Within 10 s a brand-new entry lands in the cluster again, on the promoted replica for
    // its slot if that is where it belongs.
    let mut n = 100_000;
    loop {
        n += 1;
        let masters = cluster.masters().len();
        if masters == 3 && app.stats().await["stats"]["backend"] == "redis" {
            let before = cluster.keys("yueen:gen:*").len();
            assert_eq!(app.generate(&company(n)).await.1["cached"], false);
            if cluster.keys("yueen:gen:*").len() > before {
                break;
            }
        }
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "no writes reach the cluster within 10 s: {masters} masters, stats {}",
            app.stats().await["stats"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("writes back {:?} after the kill", killed.elapsed());
    // The key the dead master held is served again from its promoted replica.
    let promoted = cluster.master_of(&key);
    assert_ne!(promoted, victim);
    assert!(
        !cluster.nodes[promoted].keys(&key).is_empty(),
        "the replica did not have the entry"
    );

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (sent, failed) = traffic.await.unwrap();
    assert!(sent > 20, "only {sent} requests");
    assert_eq!(failed, 0, "{failed} of {sent} requests failed");
}
