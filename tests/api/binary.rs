//! The real binary as an operator runs it: what it prints at startup and on failure, and that
//! no secret reaches stdout or the log files (`logs/app.<date>.log`).

use std::time::{Duration, Instant};

use crate::{
    helpers::{free_port, seed_body, FakeOpenAi, RedisServer, Reply},
    process::Running,
};

/// Without any user configured and without a terminal (a service manager, whose journal keeps
/// stdout): the admin token made up for the run goes to a file only its owner reads, and the
/// log names the file, never the token.
#[test]
fn defaults_use_memory_and_mock_and_keep_the_made_up_token_in_a_private_file() {
    let app = Running::start(&[]);
    let base = app.base_url();
    let out = app.wait_for("admin-token");
    assert!(
        out.contains("缓存服务已启动，使用内存缓存后端（降级模式）"),
        "{out}"
    );
    assert!(out.contains("模拟生成器"), "{out}");
    let path = app.dir().join("data").join("admin-token");
    let token = std::fs::read_to_string(&path).unwrap().trim().to_owned();
    assert_eq!(token.len(), 48);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    // The file writer runs behind the console: wait for it to catch up.
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = app.log_file();
        if log.contains("data/admin-token") {
            break log;
        }
        assert!(Instant::now() < deadline, "the log names the file: {log}");
        std::thread::sleep(Duration::from_millis(50));
    };
    for text in [&out, &log] {
        assert!(
            !text.contains(&token),
            "the token is neither printed nor logged: {text}"
        );
    }

    // The token works as an admin token.
    let client = reqwest::blocking::Client::new();
    let response = client
        .delete(format!("{base}/api/ai/cache"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Run by hand in a terminal: the token and its login link are printed there, once, and never
/// reach the log file or a file on disk.
#[test]
fn in_a_terminal_the_made_up_token_is_printed_once() {
    let app = Running::start_in_terminal(&[]);
    let out = app.wait_for("登录链接");
    let token = out
        .lines()
        .find_map(|l| l.split("/login?token=").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(token.len(), 48, "{out}");
    assert_eq!(
        out.matches(&token).count(),
        2,
        "token and link, printed once each"
    );
    // Once the log file has the startup lines, it has had its chance to hold the token.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !app.log_file().contains("服务已启动") {
        assert!(
            Instant::now() < deadline,
            "the log file never got the startup lines"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!app.log_file().contains(&token));
    assert!(!app.dir().join("data").join("admin-token").exists());
}

/// A named admin in the configuration file is a user: no token is made up, printed or written.
#[test]
fn a_configured_named_admin_means_no_made_up_token() {
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        b"named-admin-token-1",
    ));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("users.toml");
    std::fs::write(
        &config,
        format!("[[auth.users]]\nname = \"王五\"\nrole = \"admin\"\ntoken_sha256 = \"{digest}\"\n"),
    )
    .unwrap();
    let app = Running::start_in_terminal(&[("YUEEN_CONFIG", config.display().to_string())]);
    let base = app.base_url();
    let client = reqwest::blocking::Client::new();
    let response = client
        .delete(format!("{base}/api/ai/cache"))
        .bearer_auth("named-admin-token-1")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let out = app.output();
    assert!(!out.contains("login?token="), "{out}");
    assert!(!out.contains("管理员令牌"), "{out}");
    assert!(!app.dir().join("data").join("admin-token").exists());
}

#[test]
fn unreachable_redis_logs_the_seed_lines_without_the_password() {
    let port = free_port();
    let app = Running::start(&[
        (
            "REDIS_URL",
            format!("redis://:hunter2-secret@127.0.0.1:{port}/0"),
        ),
        ("ADMIN_TOKEN", "admin-token-for-binary".into()),
    ]);
    app.base_url();
    let out = app.wait_for("缓存服务已启动");
    assert!(out.contains("Redis 不可用，降级到内存缓存: "), "{out}");
    assert!(
        out.contains("缓存服务已启动，使用内存缓存后端（降级模式）"),
        "{out}"
    );
    for text in [out, app.log_file()] {
        assert!(!text.contains("hunter2-secret"), "{text}");
        assert!(!text.contains("admin-token-for-binary"), "{text}");
    }
}

#[test]
fn reachable_redis_logs_the_redacted_url() {
    let redis = RedisServer::start_with(Some("hunter2-secret"));
    let app = Running::start(&[
        ("REDIS_URL", redis.url()),
        ("ADMIN_TOKEN", "admin-token-for-binary".into()),
    ]);
    app.base_url();
    let out = app.wait_for("缓存服务已启动");
    let expected = format!("成功连接到 Redis: redis://:***@127.0.0.1:{}/0", redis.port);
    assert!(out.contains(&expected), "{out}");
    assert!(out.contains("缓存服务已启动，使用 Redis 后端"), "{out}");
    assert!(!out.contains("hunter2-secret"), "{out}");
    assert!(!app.log_file().contains("hunter2-secret"));
}

#[test]
fn a_cluster_is_logged_by_its_seeds_without_the_password() {
    let cluster = crate::cluster::RedisCluster::start();
    let app = Running::start(&[
        ("REDIS_CLUSTER_URLS", cluster.seeds()),
        ("ADMIN_TOKEN", "admin-token-for-binary".into()),
    ]);
    let base = app.base_url();
    let out = app.wait_for("缓存服务已启动");
    let first = format!("redis://:***@127.0.0.1:{}/0", cluster.nodes[0].port);
    assert!(out.contains("成功连接到 Redis: 集群 "), "{out}");
    assert!(out.contains(&first), "{out}");
    assert!(out.contains("缓存服务已启动，使用 Redis 后端"), "{out}");
    drop(cluster);
    // Every node gone: the failures are logged, never the password.
    let response = reqwest::blocking::Client::new()
        .post(format!("{base}/api/ai/generate"))
        .bearer_auth("admin-token-for-binary")
        .json(&crate::helpers::seed_body())
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let out = app.wait_for("Redis 不可用，降级到内存缓存");
    for text in [out, app.log_file()] {
        assert!(!text.contains(crate::cluster::PASSWORD), "{text}");
    }
}

#[test]
fn real_model_mode_logs_the_model_and_failures_without_the_key() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(FakeOpenAi::start(vec![Reply::Status(401)]));
    let app = Running::start(&[
        ("OPENAI_API_KEY", "sk-binary-secret-key".into()),
        ("OPENAI_BASE_URL", fake.base_url.clone()),
        ("AI_MODEL", "qwen-max".into()),
        ("ADMIN_TOKEN", "admin-token-for-binary".into()),
    ]);
    let base = app.base_url();
    app.wait_for("AI 服务已启动，使用模型: qwen-max");
    let response = reqwest::blocking::Client::new()
        .post(format!("{base}/api/ai/generate"))
        .bearer_auth("admin-token-for-binary")
        .json(&seed_body())
        .send()
        .unwrap();
    assert_eq!(response.status(), 502);
    let out = app.wait_for("AI 生成失败: ");
    for text in [out, app.log_file()] {
        assert!(!text.contains("sk-binary-secret-key"), "{text}");
    }
    drop(runtime);
}

#[test]
fn bad_configuration_stops_with_the_key_named() {
    let app = Running::start(&[("AI_MAX_RETRIES", "three".into())]);
    let (code, out) = app.exit_code();
    assert_eq!(code, Some(2));
    assert!(out.contains("配置项 AI_MAX_RETRIES 无效"), "{out}");
}

/// Redis down: limits are counted per instance, and the log says so. Named users appear in the
/// log by name; neither their token nor its SHA-256 is ever written.
#[test]
fn limits_without_redis_are_per_instance_and_logs_hold_names_not_tokens() {
    let token = "zhang-san-binary-token-77";
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("users.toml");
    std::fs::write(
        &config,
        format!("[[auth.users]]\nname = \"张三\"\ntoken_sha256 = \"{digest}\"\nlimits = {{ requests_per_minute = 2 }}\n"),
    )
    .unwrap();
    let port = free_port();
    let app = Running::start(&[
        ("YUEEN_CONFIG", config.display().to_string()),
        ("REDIS_URL", format!("redis://127.0.0.1:{port}/0")),
        ("ADMIN_TOKEN", "admin-token-for-binary".into()),
        (
            "SESSION_SECRET",
            "a-session-secret-for-the-binary-test".into(),
        ),
    ]);
    let base = app.base_url();
    let client = reqwest::blocking::Client::new();
    let post = || {
        client
            .post(format!("{base}/api/ai/generate"))
            .bearer_auth(token)
            .json(&seed_body())
            .send()
            .unwrap()
            .status()
    };
    // Early in a minute, so the two requests and the refused third share one.
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second >= 50 {
        std::thread::sleep(Duration::from_secs(61 - second));
    }
    assert_eq!(post(), 200);
    assert_eq!(post(), 200);
    assert_eq!(post(), 429);
    app.wait_for("用量限制改为每个实例各自计数");
    // A login by form, logged by name.
    let login = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{base}/login"))
        .header("origin", &base)
        .form(&[("token", token)])
        .send()
        .unwrap();
    assert_eq!(login.status(), 303);
    let out = app.wait_for("张三登录成功");
    for text in [out, app.log_file()] {
        assert!(!text.contains(token), "{text}");
        assert!(!text.contains(&digest), "{text}");
    }
}

/// A rolling restart's stop: not ready at once, still serving through the drain (asking
/// clients to close), then no new connections; the running stream finishes whole, no lock is
/// left in Redis, and the exit code is 0.
#[test]
fn sigterm_drains_then_lets_running_streams_finish_and_exits_zero() {
    let redis = RedisServer::start();
    let app = Running::start(&[
        ("REDIS_URL", redis.url()),
        ("ADMIN_TOKEN", "admin-token-for-binary".into()),
        ("SHUTDOWN_DRAIN_SECS", "1".into()),
        ("SHUTDOWN_TIMEOUT_SECS", "20".into()),
        ("AI_MOCK_CHUNK_DELAY_MS", "200".into()),
    ]);
    let base = app.base_url();
    let client = reqwest::blocking::Client::new();
    let stream = std::thread::spawn({
        let (client, base) = (client.clone(), base.clone());
        move || {
            client
                .post(format!("{base}/api/ai/generate/stream"))
                .bearer_auth("admin-token-for-binary")
                .json(&seed_body())
                .send()
                .and_then(|r| r.text())
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(!stream.is_finished(), "the stream should still be running");

    app.terminate();
    let stopped = Instant::now();
    let deadline = stopped + Duration::from_millis(900);
    loop {
        let ready = reqwest::blocking::get(format!("{base}/readyz")).unwrap();
        if ready.status() == 503 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz still {}",
            ready.status()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let during = client
        .get(format!("{base}/api/templates"))
        .bearer_auth("admin-token-for-binary")
        .send()
        .unwrap();
    assert_eq!(during.status(), 200, "still serving while draining");
    assert_eq!(during.headers()["connection"], "close");

    std::thread::sleep(Duration::from_millis(1300).saturating_sub(stopped.elapsed()));
    let addr = base.trim_start_matches("http://");
    let refused = std::net::TcpStream::connect(addr).map(drop);
    assert_eq!(
        refused.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionRefused),
        "still accepting after the drain"
    );
    assert!(!stream.is_finished(), "the stream should outlast the drain");

    let text = stream.join().unwrap().expect("the stream finished");
    assert!(text.contains("event: done"), "{text}");
    assert!(
        redis.keys("yueen:lock:*").is_empty(),
        "a lock was left behind"
    );
    let (code, out) = app.exit_code();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("服务已停止"), "{out}");
}

/// Instances list each other through Redis: one killed outright stays listed but gone quiet;
/// one stopped with SIGTERM takes itself off the list on the way out.
#[test]
fn a_killed_instance_goes_quiet_and_a_stopped_one_leaves_the_list() {
    let redis = RedisServer::start();
    let env = [
        ("REDIS_URL", redis.url()),
        ("ADMIN_TOKEN", "admin-token-for-binary".into()),
        ("DEPLOYMENT_REPORT_MS", "200".into()),
        ("SHUTDOWN_DRAIN_SECS", "0".into()),
    ];
    let (mut killed, stopped, watcher) = (
        Running::start(&env),
        Running::start(&env),
        Running::start(&env),
    );
    let base = watcher.base_url();
    let (killed_addr, stopped_addr) = (
        killed.base_url().replace("http://", ""),
        stopped.base_url().replace("http://", ""),
    );
    let client = reqwest::blocking::Client::new();
    let instances = || -> Vec<serde_json::Value> {
        let stats: serde_json::Value = client
            .get(format!("{base}/api/ai/cache/stats"))
            .bearer_auth("admin-token-for-binary")
            .send()
            .unwrap()
            .json()
            .unwrap();
        stats["instances"].as_array().cloned().unwrap_or_default()
    };
    let by_address = |list: &[serde_json::Value], addr: &str| {
        list.iter().find(|i| i["address"] == addr).cloned()
    };
    let wait_until = |what: &str, done: &dyn Fn(&[serde_json::Value]) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let list = instances();
            if done(&list) {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: {list:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_until("all three listed and live", &|list| {
        list.len() == 3 && list.iter().all(|i| i["live"] == true)
    });

    killed.kill();
    wait_until("the killed one gone quiet", &|list| {
        by_address(list, &killed_addr).is_some_and(|i| i["live"] == false)
    });

    stopped.terminate();
    let (code, out) = stopped.exit_code();
    assert_eq!(code, Some(0), "{out}");
    let list = instances();
    assert!(
        by_address(&list, &stopped_addr).is_none(),
        "a stopped instance is still listed: {list:?}"
    );
    assert!(by_address(&list, &killed_addr).is_some());
    let mut conn = redis.connection();
    let listed: Vec<String> = redis::cmd("HKEYS")
        .arg("yueen:state:{deployment}:instances:values")
        .query(&mut conn)
        .unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
}
