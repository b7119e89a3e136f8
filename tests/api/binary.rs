//! The real binary as an operator runs it: what it prints at startup and on failure, and that
//! no secret reaches stdout or the log files (`logs/app.<date>.log`).

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::helpers::{free_port, seed_body, FakeOpenAi, RedisServer, Reply};

struct Running {
    child: Child,
    output: Arc<Mutex<String>>,
    dir: tempfile::TempDir,
}

impl Running {
    fn start(env: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_yueen"));
        cmd.current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("LEPTOS_OUTPUT_NAME", "yueen")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut o = output.lock().unwrap();
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        Self { child, output, dir }
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.output.lock().unwrap().clone();
            if out.contains(needle) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} never printed; output:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The address from the `服务已启动: http://…` line.
    fn base_url(&self) -> String {
        let out = self.wait_for("服务已启动: ");
        let line = out.lines().find(|l| l.contains("服务已启动: ")).unwrap();
        line.split("服务已启动: ").nth(1).unwrap().trim().to_owned()
    }

    /// Every daily log file (`logs/app.<date>.log`), joined.
    fn log_file(&self) -> String {
        let Ok(entries) = std::fs::read_dir(self.dir.path().join("logs")) else {
            return String::new();
        };
        let mut names: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                name.starts_with("app.") && name.ends_with(".log")
            })
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect()
    }

    /// Sends SIGTERM, as a service manager stopping the instance does.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn exit_code(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return (status.code(), self.output.lock().unwrap().clone());
            }
            assert!(Instant::now() < deadline, "binary did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn defaults_use_memory_and_mock_and_print_a_login_link_once() {
    let app = Running::start(&[]);
    let base = app.base_url();
    let out = app.wait_for("登录链接");
    assert!(
        out.contains("缓存服务已启动，使用内存缓存后端（降级模式）"),
        "{out}"
    );
    assert!(out.contains("模拟生成器"), "{out}");
    let token = out
        .lines()
        .find_map(|l| l.split("/login?token=").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    assert!(token.len() >= 32);
    assert_eq!(
        out.matches(&token).count(),
        2,
        "token and link, printed once each"
    );
    let log = app.log_file();
    assert!(
        log.contains("缓存服务已启动"),
        "the log file gets the same lines: {log}"
    );
    assert!(
        !log.contains(&token),
        "the generated token never reaches the log file"
    );

    // The generated token works as an admin token.
    let client = reqwest::blocking::Client::new();
    let response = client
        .delete(format!("{base}/api/ai/cache"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
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
    let refused = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
        .get(format!("{base}/healthz"))
        .send();
    assert!(refused.is_err(), "still accepting after the drain");
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
