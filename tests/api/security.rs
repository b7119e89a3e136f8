//! Hostile and careless clients: redirects a browser would read as another site, made-up
//! methods and paths in the metrics, clients that leave while their section is written.

use std::{collections::HashSet, time::Duration};

use reqwest::{redirect::Policy, Method, StatusCode};

use crate::helpers::{seed_body, spawn_app, FakeOpenAi, Reply, ADMIN, USER};

pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_is_kept_only_when_a_browser_would_stay_on_this_site() {
    let app = spawn_app(&[]).await;
    let origin = app.url("");
    for (next, expected) in [
        ("/\t/evil.example", "/"),
        ("/\n/x", "/"),
        ("\\/evil.example", "/"),
        ("/admin/../docs", "/docs"),
        ("/admin/cache?tab=1", "/admin/cache?tab=1"),
    ] {
        let response = no_redirects()
            .post(app.url("/login"))
            .header("origin", &origin)
            .form(&[("token", ADMIN), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(response.headers()["location"], expected, "{next:?}");
    }
    // The login link leaves the token behind: the address it sends to carries none.
    let response = no_redirects()
        .get(app.url(&format!("/login?token={ADMIN}&next=%2F%09%2Fevil.example")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/");
    assert!(!location.contains(ADMIN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_and_paths_do_not_grow_the_metrics() {
    let app = spawn_app(&[]).await;
    let http = reqwest::Client::new();
    for i in 0..60 {
        let method = Method::from_bytes(format!("XM{i}").as_bytes()).unwrap();
        let _ = http.request(method, app.url("/")).send().await.unwrap();
        let _ = http
            .get(app.url(&format!("/no/such/page/{i}")))
            .send()
            .await
            .unwrap();
        let _ = http
            .get(app.url(&format!("/api/no/such/{i}")))
            .send()
            .await
            .unwrap();
    }
    let text = http
        .get(app.url("/metrics"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let requests = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "yueen_http_requests_total");
    let methods: HashSet<_> = requests
        .clone()
        .filter_map(|s| s.labels.get("method"))
        .collect();
    let routes: HashSet<_> = requests.filter_map(|s| s.labels.get("route")).collect();
    assert!(methods.contains(&"other"), "{methods:?}");
    assert!(methods.len() <= 4, "{methods:?}");
    assert!(routes.len() <= 4, "{routes:?}");
}

/// The client gives up while its section is written; the answer is still cached when the model
/// delivers, and the next asker gets it without a second model call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_section_is_cached_when_its_client_has_left() {
    let fake = FakeOpenAi::start(vec![Reply::Slow(
        Duration::from_millis(600),
        "客户离开后写完的章节",
    )])
    .await;
    let app = spawn_app(&fake.env("0.01", "5")).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let gone = impatient
        .post(app.url("/api/ai/generate"))
        .bearer_auth(ADMIN)
        .json(&seed_body())
        .send()
        .await;
    assert!(gone.is_err(), "the client left before the answer");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (status, body) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cached"], true, "{body}");
    assert_eq!(body["content"], "客户离开后写完的章节");
    assert_eq!(fake.calls().len(), 1);
}

/// A client that sends half its headers and then nothing is cut off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stalls_in_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(&[("HEADER_READ_TIMEOUT_SECS", "0.3".into())]).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "still open after 5 s");
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// A connection that never sends a byte, and a kept-alive one that goes quiet after its first
/// answer, both give their place back within the header deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(&[("HEADER_READ_TIMEOUT_SECS", "0.3".into())]).await;
    let mut silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let mut idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    for stream in [&mut silent, &mut idle] {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "still open after 5 s");
    }
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_not_answered_in_time_is_504_in_the_api_shape() {
    let fake = FakeOpenAi::start(vec![Reply::Slow(Duration::from_secs(2), "迟到的章节")]).await;
    let app = spawn_app(
        &[
            fake.env("0.01", "5"),
            vec![("REQUEST_TIMEOUT_SECS", "0.3".into())],
        ]
        .concat(),
    )
    .await;
    let started = std::time::Instant::now();
    let (status, body) = app.generate(&seed_body()).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "REQUEST_TIMEOUT");
    // The answer still lands in the cache.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let (_, again) = app.generate(&seed_body()).await;
    assert_eq!(again["cached"], true, "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_their_turn() {
    let app = spawn_app(&[("MAX_CONNECTIONS", "2".into())]).await;
    let first = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let second = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = reqwest::Client::builder()
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    assert!(waiting.get(app.url("/healthz")).send().await.is_err());
    drop(first);
    let served = reqwest::Client::new()
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    drop(second);
}

/// A stream that outlives its deadline ends with an error event; the answer is still cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_past_its_deadline_ends_and_the_answer_is_still_cached() {
    let fake = FakeOpenAi::start(vec![Reply::Stream {
        pieces: vec!["第一段，", "第二段，", "第三段，", "第四段。"],
        gap: Duration::from_millis(300),
        cut_after: None,
    }])
    .await;
    let app = spawn_app(
        &[
            fake.env("0.01", "5"),
            vec![("STREAM_DEADLINE_SECS", "0.5".into())],
        ]
        .concat(),
    )
    .await;
    let started = std::time::Instant::now();
    let text = reqwest::Client::new()
        .post(app.url("/api/ai/generate/stream"))
        .bearer_auth(ADMIN)
        .json(&seed_body())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert!(text.contains("STREAM_DEADLINE"), "{text}");
    assert!(text.contains("第一段"), "{text}");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (_, again) = app.generate(&seed_body()).await;
    assert_eq!(again["cached"], true, "{again}");
    assert_eq!(again["content"], "第一段，第二段，第三段，第四段。");
    assert_eq!(fake.calls().len(), 1);
}

async fn login(app: &crate::helpers::TestApp, token: &str) -> String {
    let response = no_redirects()
        .post(app.url("/login"))
        .header("origin", app.url(""))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn dashboard_status(app: &crate::helpers::TestApp, cookie: &str) -> StatusCode {
    no_redirects()
        .get(app.url("/admin/cache"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
}

pub(crate) async fn logout(app: &crate::helpers::TestApp, cookie: &str) {
    let response = no_redirects()
        .post(app.url("/logout"))
        .header("origin", app.url(""))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// A cookie copied before logging out opens nothing afterwards, on any instance sharing the
/// Redis and the session secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_ends_the_session_on_every_instance() {
    let redis = crate::helpers::RedisServer::start();
    let shared = [
        ("REDIS_URL", redis.url()),
        (
            "SESSION_SECRET",
            "a-shared-session-secret-for-tests-0123".to_owned(),
        ),
    ];
    let a = spawn_app(&shared).await;
    let b = spawn_app(&shared).await;
    let cookie = login(&a, ADMIN).await;
    assert_eq!(dashboard_status(&b, &cookie).await, StatusCode::OK);
    logout(&a, &cookie).await;
    assert_eq!(dashboard_status(&a, &cookie).await, StatusCode::SEE_OTHER);
    assert_eq!(dashboard_status(&b, &cookie).await, StatusCode::SEE_OTHER);
    // A new login is a new session.
    let again = login(&b, ADMIN).await;
    assert_ne!(again, cookie);
    assert_eq!(dashboard_status(&a, &again).await, StatusCode::OK);
}

/// A logout made while Redis is down reaches the other instances once it is back; one they
/// have already seen holds on them while Redis is down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logouts_hold_through_a_redis_outage() {
    let mut redis = crate::helpers::RedisServer::start();
    let shared = [
        ("REDIS_URL", redis.url()),
        (
            "SESSION_SECRET",
            "a-shared-session-secret-for-tests-0123".to_owned(),
        ),
        ("CACHE_REDIS_PROBE_MS", "100".to_owned()),
        ("CACHE_REDIS_TIMEOUT_MS", "200".to_owned()),
    ];
    let a = spawn_app(&shared).await;
    let b = spawn_app(&shared).await;
    let seen = login(&a, ADMIN).await;
    let unseen = login(&a, ADMIN).await;
    logout(&a, &seen).await;
    assert_eq!(dashboard_status(&b, &seen).await, StatusCode::SEE_OTHER);

    redis.kill();
    assert_eq!(dashboard_status(&b, &seen).await, StatusCode::SEE_OTHER);
    logout(&a, &unseen).await;
    redis.restart();
    // The probe finds Redis back and A writes the logout it kept.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while dashboard_status(&b, &unseen).await != StatusCode::SEE_OTHER {
        assert!(
            std::time::Instant::now() < deadline,
            "B still takes a cookie logged out on A while Redis was down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_without_redis_ends_the_session_here() {
    let app = spawn_app(&[]).await;
    let cookie = login(&app, ADMIN).await;
    assert_eq!(dashboard_status(&app, &cookie).await, StatusCode::OK);
    logout(&app, &cookie).await;
    assert_eq!(dashboard_status(&app, &cookie).await, StatusCode::SEE_OTHER);
}

/// A session ends with its token: the same secret, the token gone from the configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_token_ends_its_sessions() {
    let secret = (
        "SESSION_SECRET",
        "a-shared-session-secret-for-tests-0123".to_owned(),
    );
    let before = spawn_app(std::slice::from_ref(&secret)).await;
    let cookie = login(&before, ADMIN).await;
    let after = spawn_app(&[secret, ("ADMIN_TOKEN", "a-new-admin-token-456".into())]).await;
    assert_eq!(
        dashboard_status(&after, &cookie).await,
        StatusCode::SEE_OTHER
    );
}

/// Wrong API tokens from one address (a NAT, a proxy not listed as trusted) are counted and,
/// past the allowance, answered 429 and slowly; a valid token from the same address always
/// passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_api_tokens_are_slowed_but_never_lock_out_a_valid_one() {
    let app = spawn_app(&[("LOGIN_ATTEMPTS_PER_MINUTE", "30".into())]).await;
    let stats = |token: &str| {
        app.http
            .get(app.url("/api/ai/cache/stats"))
            .bearer_auth(token)
            .send()
    };
    // Forty wrong tokens at once from this address: thirty told they are wrong, ten slowed.
    let guesses: Vec<_> = (0..40)
        .map(|n| {
            let request = stats(&format!("guess-{n:08}"));
            async move { request.await.unwrap() }
        })
        .collect();
    let started = std::time::Instant::now();
    let answers = futures::future::join_all(guesses).await;
    let count = |code| answers.iter().filter(|r| r.status() == code).count();
    assert_eq!(count(StatusCode::UNAUTHORIZED), 30);
    assert_eq!(count(StatusCode::TOO_MANY_REQUESTS), 10);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "answers past the allowance are held back"
    );
    let refused = answers
        .iter()
        .find(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    let wait = crate::helpers::retry_after(refused);
    assert!((1..=60).contains(&wait), "{wait}");
    // The valid tokens of everyone else at this address still pass, at once.
    for token in [ADMIN, USER] {
        let started = std::time::Instant::now();
        let response = stats(token).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(started.elapsed() < Duration::from_millis(900));
    }
    let response = stats("guess-again-000").await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TOO_MANY_FAILED_ATTEMPTS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_logins_from_one_address_are_throttled_valid_ones_never() {
    let app = spawn_app(&[("LOGIN_ATTEMPTS_PER_MINUTE", "3".into())]).await;
    let login_with = |token: &'static str| {
        no_redirects()
            .post(app.url("/login"))
            .header("origin", app.url(""))
            .form(&[("token", token)])
            .send()
    };
    for _ in 0..3 {
        let response = login_with("guess-0000000").await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(response.headers()["location"]
            .to_str()
            .unwrap()
            .contains("error=invalid"));
    }
    let response = login_with("guess-0000000").await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = crate::helpers::retry_after(&response);
    assert!((1..=20).contains(&wait), "{wait}");
    assert!(response.text().await.unwrap().contains("登录失败次数过多"));
    // The link is the same door.
    let link = no_redirects()
        .get(app.url("/login?token=guess-0000001"))
        .send()
        .await
        .unwrap();
    assert_eq!(link.status(), StatusCode::TOO_MANY_REQUESTS);
    // Someone else behind the same address logs in with a valid token, by form and by link.
    let response = login_with(ADMIN).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(response.headers().contains_key("set-cookie"));
    let link = no_redirects()
        .get(app.url(&format!("/login?token={USER}")))
        .send()
        .await
        .unwrap();
    assert_eq!(link.status(), StatusCode::SEE_OTHER);
}

/// A page on another port of the same host posts with the admin's cookie: refused, and the
/// cache is still there. The Bearer API, which carries no cookie, is not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_requests_with_the_cookie_are_refused() {
    let app = spawn_app(&[]).await;
    let cookie = login(&app, ADMIN).await;
    assert_eq!(app.generate(&seed_body()).await.1["cached"], false);
    let elsewhere = format!("http://127.0.0.1:{}", app.addr.port() + 1);
    let clear = <yueen::pages::dashboard::ClearCache as leptos::server_fn::ServerFn>::PATH;
    for path in [clear, "/export/markdown", "/logout", "/login"] {
        let response = no_redirects()
            .post(app.url(path))
            .header("cookie", &cookie)
            .header("origin", &elsewhere)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("plan=%7B%7D&token=x")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            response.text().await.unwrap().contains("跨站请求"),
            "{path}"
        );
    }
    // Without Origin, only a same-origin fetch passes.
    let response = no_redirects()
        .post(app.url(clear))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-site")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.generate(&seed_body()).await.1["cached"], true);
    let response = no_redirects()
        .post(app.url(clear))
        .header("cookie", &cookie)
        .header("origin", app.url(""))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.generate(&seed_body()).await.1["cached"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_policy_that_runs_only_their_own_scripts() {
    let app = spawn_app(&[]).await;
    let response = no_redirects().get(app.url("/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let html = response.text().await.unwrap();
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(
        !policy.contains("script-src 'self' 'unsafe-inline'"),
        "{policy}"
    );
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries the nonce"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["x-frame-options"], "DENY");
    // Each render has its own nonce.
    let other = no_redirects().get(app.url("/login")).send().await.unwrap();
    assert_ne!(
        other.headers()["content-security-policy"],
        headers["content-security-policy"]
    );
    // The API's answers run nothing either.
    let api = reqwest::Client::new()
        .get(app.url("/api/ai/cache/stats"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    assert!(api.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
}
