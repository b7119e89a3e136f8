//! A rolling restart behind the balancer we ship: `deploy/nginx.conf` (this very file, its ports
//! changed) in front of two instances of the real binary on one Redis. While requests run
//! through nginx — cache hits, new sections, template lists, the dashboard's poll — and one SSE
//! stream is open, each
//! instance in turn is stopped with SIGTERM and started again on its port. No request may fail,
//! and the stream, held open across its instance's stop, must complete.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::{
    helpers::{
        free_port, load_dashboard, seed_body, session_cookie, FakeOpenAi, RedisServer, Reply, ADMIN,
    },
    process::Running,
};

/// `nginx -c` on a generated main file that includes `deploy/nginx.conf` with test ports,
/// logging which instance answered each request. Stopped on drop.
struct Nginx {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

fn nginx_binary() -> PathBuf {
    [
        "/usr/sbin/nginx",
        "/usr/local/sbin/nginx",
        "/usr/local/nginx/sbin/nginx",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("nginx is not installed: scripts/test.sh installs it (apt install nginx-light)")
}

impl Nginx {
    fn start(instances: [u16; 2]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let shipped = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx.conf"),
        )
        .unwrap();
        let port = free_port();
        let mut site = shipped.clone();
        for (from, to) in [
            ("127.0.0.1:3001", format!("127.0.0.1:{}", instances[0])),
            ("127.0.0.1:3002", format!("127.0.0.1:{}", instances[1])),
            ("listen 80;", format!("listen 127.0.0.1:{port};")),
            (
                "/var/log/nginx/yueen.access.log",
                format!("{}/access.log", dir.path().display()),
            ),
        ] {
            assert!(site.contains(from), "deploy/nginx.conf has no {from:?}");
            site = site.replace(from, &to);
        }
        std::fs::write(dir.path().join("yueen.conf"), site).unwrap();
        let d = dir.path().display();
        // As root, workers would otherwise run as `nobody`, who cannot enter the temp dir.
        let user = if nix_euid_is_root() { "user root;" } else { "" };
        let main = format!(
            "{user}
# Workers keep the test run's tag, so a run that left one behind is caught.
env YUEEN_TEST_RUN;
daemon off;
worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 512; }}
http {{
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/yueen.conf;
}}
"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let nginx = Self { port, child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                nginx.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// How many requests instance `port` answered, by the shipped access log (`upstream="…"`
    /// lists every instance tried, the one that answered last).
    fn answered_by(&self, port: u16) -> usize {
        let needle = format!("127.0.0.1:{port}");
        self.access_log()
            .lines()
            .filter_map(|l| l.split("upstream=\"").nth(1)?.split('"').next())
            .filter(|tried| tried.ends_with(&needle))
            .count()
    }
}

impl Drop for Nginx {
    /// A fast shutdown by SIGTERM, which takes the workers down too (a SIGKILLed master would
    /// leave them running, and they do not carry the test run's environment).
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nix_euid_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// One instance of the binary, on a port of its own, with a key the fake upstream sees (so a
/// call tells which instance made it).
struct Instance {
    port: u16,
    key: String,
    env: Vec<(&'static str, String)>,
    running: Option<Running>,
}

impl Instance {
    fn start(name: &str, redis: &RedisServer, fake: &FakeOpenAi) -> Self {
        let port = free_port();
        let key = format!("sk-instance-{name}");
        let env = vec![
            ("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}")),
            ("REDIS_URL", redis.url()),
            ("ADMIN_TOKEN", ADMIN.into()),
            (
                "SESSION_SECRET",
                "shared-session-secret-for-the-balancer".into(),
            ),
            ("TRUSTED_PROXIES", "127.0.0.1".into()),
            ("OPENAI_API_KEY", key.clone()),
            ("OPENAI_BASE_URL", fake.base_url.clone()),
            ("AI_MODEL", "fake-model".into()),
            ("SHUTDOWN_DRAIN_SECS", "1".into()),
            ("SHUTDOWN_TIMEOUT_SECS", "20".into()),
            ("DEPLOYMENT_REPORT_MS", "500".into()),
        ];
        let mut instance = Self {
            port,
            key,
            env,
            running: None,
        };
        instance.run();
        instance
    }

    fn run(&mut self) {
        self.running = Some(Running::start(&self.env));
        let ready = format!("http://127.0.0.1:{}/readyz", self.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = reqwest::blocking::get(&ready).map(|r| r.status().as_u16());
            if status.is_ok_and(|s| s == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "instance on {} never ready",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) -> Running {
        let running = self.running.take().expect("running");
        running.terminate();
        running
    }
}

#[derive(Default)]
struct Tally {
    ok: usize,
    failed: Vec<String>,
}

/// One client of the load: requests of `kind`, one after another, until `stop`.
async fn load(kind: &'static str, base: String, stop: Arc<AtomicBool>, tally: Arc<Mutex<Tally>>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    // The dashboard page's poll: a server function, by POST, with the session cookie.
    let cookie = match kind {
        "dashboard" => session_cookie(&base, ADMIN).await,
        _ => String::new(),
    };
    let mut n = 0;
    while !stop.load(Ordering::Acquire) {
        n += 1;
        if kind == "dashboard" {
            let outcome = match load_dashboard(&http, &base, &cookie).await {
                Ok(d) if d["scope"] == "deployment" => Ok(()),
                Ok(d) => Err(format!("dashboard: not the deployment's: {}", d["scope"])),
                Err(e) => Err(format!("dashboard: {e}")),
            };
            tally.lock().unwrap().record(outcome);
            continue;
        }
        let request = match kind {
            "hit" => http
                .post(format!("{base}/api/ai/generate"))
                .json(&seed_body()),
            "new" => {
                let mut body = seed_body();
                body["data"]["enterprise_info"]["enterprise_name"] =
                    json!(format!("滚动重启企业{n}"));
                http.post(format!("{base}/api/ai/generate")).json(&body)
            }
            _ => http.get(format!("{base}/api/templates")),
        };
        let outcome = match request.bearer_auth(ADMIN).send().await {
            Ok(r) if r.status().is_success() => match r.json::<Value>().await {
                Ok(v) if kind == "hit" && v["cached"] != true => {
                    Err(format!("{kind}: not from the cache: {v}"))
                }
                Ok(_) => Ok(()),
                Err(e) => Err(format!("{kind}: body: {e}")),
            },
            Ok(r) => Err(format!(
                "{kind}: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            )),
            Err(e) => Err(format!("{kind}: {e}")),
        };
        tally.lock().unwrap().record(outcome);
    }
}

impl Tally {
    fn record(&mut self, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self.ok += 1,
            Err(e) => self.failed.push(e),
        }
    }
}

/// Waits, blocking, until nginx has sent `instance` a request since `before` of them.
fn until_answering(nginx: &Nginx, port: u16, before: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while nginx.answered_by(port) <= before {
        assert!(
            Instant::now() < deadline,
            "nginx never sent {port} a request again"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_behind_nginx_fails_no_request_and_the_stream_completes() {
    let fake = FakeOpenAi::start(vec![
        // The stream: its last piece is held until its instance is stopping.
        Reply::Stream {
            pieces: vec!["第一段，", "第二段，", "最后一段。"],
            gap: Duration::from_millis(10),
            cut_after: None,
        },
        // A 企业概况 with its element (9.1, by its sub-heading), so it is cached.
        Reply::Text("一、基本情况\n本企业位于北京市朝阳区，从业人员 100 人。"),
    ])
    .await;
    let gate = fake.hold_last_piece();
    let redis = RedisServer::start();
    let (redis_ref, fake_ref) = (&redis, &fake);
    let mut instances = std::thread::scope(|s| {
        let a = s.spawn(|| Instance::start("a", redis_ref, fake_ref));
        let b = s.spawn(|| Instance::start("b", redis_ref, fake_ref));
        [a.join().unwrap(), b.join().unwrap()]
    });
    let nginx = Nginx::start([instances[0].port, instances[1].port]);
    let base = nginx.url("");
    let http = reqwest::Client::new();

    // The stream, through nginx; which instance writes it, the fake upstream tells by its key.
    // (Another company than the hits': those must not wait for the held stream's answer.)
    let mut streamed = seed_body();
    streamed["data"]["enterprise_info"]["enterprise_name"] = json!("流式企业");
    let stream = tokio::spawn({
        let request = http
            .post(format!("{base}/api/ai/generate/stream"))
            .bearer_auth(ADMIN)
            .json(&streamed)
            .send();
        async move {
            let response = request.await.map_err(|e| e.to_string())?;
            let status = response.status();
            let text = response.text().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((status, text))
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.calls().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the stream never reached the model"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let streaming = fake.calls()[0].authorization.clone().unwrap_or_default();
    let first = instances
        .iter()
        .position(|i| streaming.ends_with(&i.key))
        .expect("the stream's instance");
    // Restart the stream's instance first, so the stream is open across its stop.
    instances.swap(0, first);

    // The answer the hits ask for, cached once.
    let warm = http
        .post(format!("{base}/api/ai/generate"))
        .bearer_auth(ADMIN)
        .json(&seed_body())
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let clients: Vec<_> = ["hit", "hit", "new", "list", "dashboard"]
        .into_iter()
        .map(|kind| tokio::spawn(load(kind, base.clone(), stop.clone(), tally.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let nginx = Arc::new(nginx);
    let instances = tokio::task::spawn_blocking({
        let nginx = nginx.clone();
        move || {
            for (turn, instance) in instances.iter_mut().enumerate() {
                let stopping = instance.stop();
                if turn == 0 {
                    // Through the drain and past the listener's close, the stream stays open;
                    // then the model finishes it and the instance may exit.
                    std::thread::sleep(Duration::from_millis(1500));
                    gate.add_permits(1);
                }
                let (code, out) = stopping.exit_code();
                assert_eq!(code, Some(0), "{out}");
                let before = nginx.answered_by(instance.port);
                instance.run();
                // nginx skipped it for fail_timeout; only once it is answering again may the
                // next one stop, as the README's procedure says.
                until_answering(&nginx, instance.port, before);
            }
            instances
        }
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Release);
    for client in clients {
        client.await.unwrap();
    }

    let (status, text) = stream.await.unwrap().expect("the stream completed");
    assert_eq!(status, 200);
    assert!(text.contains("最后一段。"), "{text}");
    assert!(text.contains("event: done"), "{text}");

    let tally = tally.lock().unwrap();
    assert!(
        tally.failed.is_empty(),
        "{} of {} requests failed: {:?}\nnginx: {}",
        tally.failed.len(),
        tally.ok + tally.failed.len(),
        &tally.failed[..tally.failed.len().min(10)],
        nginx.error_log()
    );
    eprintln!("load: {} requests answered", tally.ok);
    assert!(tally.ok > 100, "too little load to tell: {}", tally.ok);
    for instance in &instances {
        assert!(nginx.answered_by(instance.port) > 10);
    }
}

/// The shipped config's access log keeps paths, never query strings: the login link's token
/// (and any other query) stays out of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_access_log_holds_no_token() {
    let app = crate::helpers::spawn_app(&[]).await;
    let port = app.addr.port();
    let nginx = Nginx::start([port, port]);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let link = client
        .get(nginx.url(&format!(
            "/login?token={}&next=%2Fplans",
            crate::helpers::ADMIN
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(link.status(), 303, "the link logs in through nginx");
    let wrong = client
        .get(nginx.url("/login?token=a-wrong-token-in-a-query"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 303);
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = nginx.access_log();
        if log.lines().count() >= 2 {
            break log;
        }
        assert!(Instant::now() < deadline, "nothing logged: {log}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(log.contains("\"GET /login HTTP/1.1\" 303"), "{log}");
    for secret in [
        crate::helpers::ADMIN,
        "a-wrong-token-in-a-query",
        "token=",
        "next=",
    ] {
        assert!(!log.contains(secret), "{secret} in the access log: {log}");
    }
}
