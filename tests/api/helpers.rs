//! Test harness: the real app on a random port, a real `redis-server` on a free port, and a fake
//! OpenAI-compatible upstream whose answers each test scripts.

use std::{
    collections::HashMap,
    net::{SocketAddr, TcpListener as StdListener},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use leptos::config::LeptosOptions;
use serde_json::{json, Value};
use yueen::{config::Settings, startup::Application};

pub const ADMIN: &str = "admin-token-for-tests";
pub const USER: &str = "user-token-for-tests";

pub fn seed_body() -> Value {
    json!({
        "template_id": "emergency_plan",
        "section_id": "2",
        "data": {"enterprise_info": {
            "enterprise_name": "测试企业", "industry_type": "化工制造", "address": "北京市朝阳区",
            "main_products": "化工产品", "employees_count": 100
        }}
    })
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    /// The app's own data directory (its SQLite file), removed with the app.
    pub data: Arc<tempfile::TempDir>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn generate_as(&self, token: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/api/ai/generate"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request reaches the app");
        read(response).await
    }

    pub async fn generate(&self, body: &Value) -> (StatusCode, Value) {
        self.generate_as(USER, body).await
    }

    pub async fn stats(&self) -> Value {
        self.get_as(ADMIN, "/api/ai/cache/stats").await
    }

    /// `GET path` with `token`'s Bearer header; the JSON body of a 200.
    pub async fn get_as(&self, token: &str, path: &str) -> Value {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let (status, body) = read(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// `GET path` with `token`'s Bearer header, the answer as it came (a file, say).
    pub async fn download(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request reaches the app")
    }

    pub async fn clear_as(&self, token: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .delete(self.url("/api/ai/cache"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        read(response).await
    }
}

pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, body)
}

/// Starts the app with test tokens, memory cache and mock AI, changed by `env`.
pub async fn spawn_app(env: &[(&str, String)]) -> TestApp {
    spawn_app_with(None, env).await
}

/// `spawn_app` with a configuration file's text as well.
pub async fn spawn_app_with(file: Option<&str>, env: &[(&str, String)]) -> TestApp {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("LEPTOS_SITE_ADDR".into(), "127.0.0.1:0".into()),
        ("ADMIN_TOKEN".into(), ADMIN.into()),
        ("USER_TOKENS".into(), USER.into()),
    ]);
    let data = Arc::new(tempfile::tempdir().expect("a temporary data directory"));
    vars.insert("DATA_DIR".into(), data.path().display().to_string());
    for (k, v) in env {
        vars.insert(k.to_string(), v.clone());
    }
    let settings = Settings::from_sources(file.map(|text| ("test.toml", text)), &vars)
        .expect("test settings are valid");
    // The build's site, unless a test brings its own files.
    let site_root = vars
        .get("LEPTOS_SITE_ROOT")
        .cloned()
        .unwrap_or_else(|| "target/site".into());
    let options = LeptosOptions::builder()
        .output_name("yueen")
        .site_root(site_root)
        .build();
    let app = Application::build(settings, options)
        .await
        .expect("app starts");
    let addr = app.addr();
    tokio::spawn(app.run());
    TestApp {
        addr,
        http: reqwest::Client::new(),
        data,
    }
}

/// The `Retry-After` of a response, in seconds.
pub fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A port nothing is bound to, below Linux's ephemeral range (32768–60999): there, outgoing
/// connections take their local ports, so a port free now could be taken before a server (or a
/// restarted one) binds it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7919) % COUNT;
    for _ in 0..COUNT {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + (start + n) % COUNT) as u16;
        if StdListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {FIRST} and {}", FIRST + COUNT)
}

/// A real `redis-server` on a free loopback port, killed on drop. It can be killed, restarted
/// on the same port, and paused (SIGSTOP) to play the failures the app must ride through.
pub struct RedisServer {
    pub port: u16,
    pub password: Option<String>,
    extra_args: Vec<String>,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(None)
    }

    pub fn start_with(password: Option<&str>) -> Self {
        Self::start_full(password, Vec::new())
    }

    /// A replica of `master`.
    pub fn start_replica_of(master: &RedisServer) -> Self {
        Self::start_full(
            None,
            vec![
                "--replicaof".into(),
                "127.0.0.1".into(),
                master.port.to_string(),
            ],
        )
    }

    /// A server with extra command-line arguments.
    pub fn start_full(password: Option<&str>, extra_args: Vec<String>) -> Self {
        let mut server = Self {
            port: free_port(),
            password: password.map(str::to_owned),
            extra_args,
            child: None,
            dir: tempfile::tempdir().unwrap(),
        };
        server.restart();
        server
    }

    /// Starts the server (again) on its port and waits until it answers.
    pub fn restart(&mut self) {
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(self.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some(p) = &self.password {
            cmd.args(["--requirepass", p]);
        }
        cmd.args(&self.extra_args);
        self.child = Some(
            cmd.spawn()
                .expect("redis-server is installed (the test command installs it)"),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut c) = redis::Client::open(self.url()).and_then(|c| c.get_connection()) {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("server running").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGSTOP: the port stays open but nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query(&mut self.connection())
            .unwrap();
        keys.sort();
        keys
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A paused server ignores SIGKILL until resumed on some systems; resume first.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
        }
        self.kill();
    }
}

/// What the fake upstream does for one call.
#[derive(Clone, Debug)]
pub enum Reply {
    Text(&'static str),
    /// A whole answer the model stopped at its token limit (`finish_reason: "length"`).
    Truncated(&'static str),
    Status(u16),
    RateLimited {
        retry_after: &'static str,
    },
    Hang(Duration),
    /// A whole answer, after a wait.
    Slow(Duration, &'static str),
    Malformed,
    /// A streamed answer (`stream: true`): the pieces as SSE chunks, `gap` apart, then
    /// `[DONE]`; with `cut_after`, the connection ends after that many pieces instead.
    Stream {
        pieces: Vec<&'static str>,
        gap: Duration,
        cut_after: Option<usize>,
    },
}

#[derive(Default)]
struct FakeState {
    script: Vec<Reply>,
    calls: Vec<Call>,
    /// Calls whose user prompt contains this fail with 503, whatever the script says.
    fail_when: Option<&'static str>,
    /// Token counts every answer reports (`usage`), streamed or whole; none when unset.
    usage: Option<(u64, u64)>,
    /// Held before the last piece of every streamed answer, until released.
    hold_last: Option<Arc<tokio::sync::Semaphore>>,
}

#[derive(Clone, Debug)]
pub struct Call {
    pub at: Instant,
    pub authorization: Option<String>,
    pub body: Value,
}

/// An OpenAI-compatible `/v1/chat/completions` that follows a script: reply `n` for call `n`,
/// the last reply for every call after.
#[derive(Clone)]
pub struct FakeOpenAi {
    pub base_url: String,
    state: Arc<Mutex<FakeState>>,
}

impl FakeOpenAi {
    pub async fn start(script: Vec<Reply>) -> Self {
        let state = Arc::new(Mutex::new(FakeState {
            script,
            ..FakeState::default()
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(fake_completion))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base_url: format!("http://{addr}/v1"),
            state,
        }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// From now on, calls whose user prompt contains `needle` fail with 503 (`None`: heal).
    pub fn fail_when(&self, needle: Option<&'static str>) {
        self.state.lock().unwrap().fail_when = needle;
    }

    /// From now on, answers report `prompt` and `completion` tokens as their usage.
    pub fn report_usage(&self, prompt: u64, completion: u64) {
        self.state.lock().unwrap().usage = Some((prompt, completion));
    }

    /// Streamed answers stop before their last piece until the returned gate gets a permit.
    pub fn hold_last_piece(&self) -> Arc<tokio::sync::Semaphore> {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        self.state.lock().unwrap().hold_last = Some(gate.clone());
        gate
    }

    /// Time between consecutive calls.
    pub fn gaps(&self) -> Vec<Duration> {
        let calls = self.calls();
        calls.windows(2).map(|w| w[1].at - w[0].at).collect()
    }

    /// The app's settings for this upstream. Its answers are short stand-ins that cover no
    /// element of the standard, so they are cached as complete ones would be
    /// (`CACHE_KEEP_INCOMPLETE`): the tests using this are about calls and caching. The checks
    /// are tested with `env_checked`.
    pub fn env(&self, retry_base: &str, timeout: &str) -> Vec<(&'static str, String)> {
        let mut env = self.env_checked(retry_base, timeout);
        env.push(("CACHE_KEEP_INCOMPLETE", "true".into()));
        env
    }

    /// As `env`, with answers that miss elements of the standard not kept.
    pub fn env_checked(&self, retry_base: &str, timeout: &str) -> Vec<(&'static str, String)> {
        vec![
            ("OPENAI_API_KEY", "sk-test-secret-key".into()),
            ("OPENAI_BASE_URL", self.base_url.clone()),
            ("AI_MODEL", "fake-model".into()),
            ("AI_RETRY_BASE_SECS", retry_base.into()),
            ("AI_TIMEOUT_SECS", timeout.into()),
        ]
    }
}

async fn fake_completion(
    State(state): State<Arc<Mutex<FakeState>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let prompt = body["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (reply, hold_last, usage) = {
        let mut s = state.lock().unwrap();
        let n = s.calls.len();
        let failing = s.fail_when.is_some_and(|needle| prompt.contains(needle));
        s.calls.push(Call {
            at: Instant::now(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body,
        });
        let reply = if failing {
            Reply::Status(503)
        } else {
            s.script
                .get(n)
                .or(s.script.last())
                .cloned()
                .unwrap_or(Reply::Text("默认回答"))
        };
        (reply, s.hold_last.clone(), s.usage)
    };
    let usage = usage
        .map(|(p, c)| json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}));
    match reply {
        Reply::Text(text) => Json(json!({
            "id": "chatcmpl-test", "object": "chat.completion", "model": "fake-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": usage
        }))
        .into_response(),
        Reply::Truncated(text) => Json(json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}]
        }))
        .into_response(),
        Reply::Status(code) => (
            StatusCode::from_u16(code).unwrap(),
            Json(json!({"error": {"message": "scripted failure"}})),
        )
            .into_response(),
        Reply::RateLimited { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after)],
            Json(json!({"error": {"message": "rate limited"}})),
        )
            .into_response(),
        Reply::Hang(d) => {
            tokio::time::sleep(d).await;
            Json(json!({"choices": [{"message": {"content": "太迟了"}}]})).into_response()
        }
        Reply::Slow(wait, text) => {
            tokio::time::sleep(wait).await;
            Json(json!({
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
            }))
            .into_response()
        }
        Reply::Malformed => (
            StatusCode::OK,
            [("content-type", "application/json")],
            "{\"choices\": [",
        )
            .into_response(),
        Reply::Stream {
            pieces,
            gap,
            cut_after,
        } => {
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(16);
            tokio::spawn(async move {
                let last = pieces.len().saturating_sub(1);
                for (i, piece) in pieces.iter().enumerate() {
                    if cut_after == Some(i) {
                        // Lets the pieces sent so far reach the client, then ends the body
                        // without [DONE]: the connection breaks off.
                        tokio::time::sleep(gap).await;
                        let _ = tx.send(Err(std::io::Error::other("cut"))).await;
                        return;
                    }
                    if i > 0 {
                        tokio::time::sleep(gap).await;
                    }
                    if i == last {
                        if let Some(gate) = &hold_last {
                            let _ = gate.acquire().await.map(|p| p.forget());
                        }
                    }
                    let chunk = json!({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
                    if tx.send(Ok(format!("data: {chunk}\n\n"))).await.is_err() {
                        return;
                    }
                }
                if let Some(usage) = usage {
                    // As OpenAI does with `stream_options.include_usage`: a last chunk with no
                    // choices, after the answer.
                    let chunk = json!({"choices": [], "usage": usage});
                    let _ = tx.send(Ok(format!("data: {chunk}\n\n"))).await;
                }
                let _ = tx.send(Ok("data: [DONE]\n\n".to_owned())).await;
            });
            let body = axum::body::Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            }));
            (
                StatusCode::OK,
                [("content-type", "text/event-stream")],
                body,
            )
                .into_response()
        }
    }
}

/// A real Redis Sentinel (`redis-server <conf> --sentinel`) watching `master` as `mymaster`.
pub struct Sentinel {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Sentinel {
    pub fn start(master_port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\n\
                 sentinel monitor mymaster 127.0.0.1 {master_port} 2\n\
                 sentinel down-after-milliseconds mymaster 1000\n\
                 sentinel failover-timeout mymaster 3000\n\
                 sentinel parallel-syncs mymaster 1\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new("redis-server")
            .arg(&conf)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server can run as a sentinel");
        Self {
            port,
            child,
            _dir: dir,
        }
    }

    /// How many replicas of `mymaster` this sentinel knows (None until it answers).
    pub fn known_replicas(&self) -> Option<usize> {
        let mut conn = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .ok()?
            .get_connection()
            .ok()?;
        let replicas: Vec<redis::Value> = redis::cmd("SENTINEL")
            .arg("replicas")
            .arg("mymaster")
            .query(&mut conn)
            .ok()?;
        Some(replicas.len())
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Logs in with `token` by the form at `base`, as a browser on that site does; the
/// `yueen_session=…` pair to send back.
pub async fn session_cookie(base: &str, token: &str) -> String {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{base}/login"))
        .header("origin", base)
        .form(&[("token", token), ("next", "/admin/cache")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// The admin dashboard's data (`/fn/load_dashboard`, as the page asks for it every 3 s).
pub async fn load_dashboard(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
) -> Result<Value, String> {
    let response = http
        .post(format!("{base}/fn/load_dashboard"))
        .header("origin", base)
        .header("cookie", cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status} {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
}
