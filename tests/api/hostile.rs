//! Hostile and careless clients, and faults, round two: what each new surface let through, one
//! test per finding. Identity that follows names, logouts that fail closed, diffs and exports
//! of odd text, stats that keep each user's figures to themselves.

use reqwest::StatusCode;
use serde_json::{json, Value};
use yueen::{model::SectionStatus, templates::Registry};

use crate::{
    helpers::{read, session_cookie, spawn_app, RedisServer, TestApp, ADMIN, USER},
    saved_plans::{call, create, plan},
    security::{logout, no_redirects},
};

/// A new plan of `token`'s with `first` as its first section; its id.
async fn plan_of(app: &TestApp, token: &str, first: &str) -> String {
    let saved = create(app, token, &plan(first)).await;
    saved["id"].as_str().unwrap().to_owned()
}

const SECRET: &str = "a-shared-session-secret-for-tests-0123";

/// Where `/plans` sends a visitor with `cookie` (`None`: it is let in).
async fn page_as(app: &TestApp, cookie: &str) -> Option<String> {
    let response = no_redirects()
        .get(app.url("/plans"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    match response.status() {
        StatusCode::OK => None,
        StatusCode::SEE_OTHER => Some(response.headers()["location"].to_str().unwrap().to_owned()),
        other => panic!("/plans answered {other}"),
    }
}

/// Item 2: `USER_TOKENS` entries carry names; what a user owns stays under the name. Removing
/// one entry hands nothing to the token that moves into its place, and a bare token's session
/// does not follow it to another position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_and_sessions_follow_names_not_positions() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().display().to_string();
    let env = |tokens: &str| {
        vec![
            ("DATA_DIR", dir.clone()),
            ("SESSION_SECRET", SECRET.to_owned()),
            ("USER_TOKENS", tokens.to_owned()),
        ]
    };
    let before = spawn_app(&env("甲:token-of-jia-1, 乙:token-of-yi-22")).await;
    let jia = plan_of(&before, "token-of-jia-1", "甲的预案").await;
    let yi = plan_of(&before, "token-of-yi-22", "乙的预案").await;
    let cookie = session_cookie(&before.url(""), "token-of-yi-22").await;
    let (_, stats) = call(
        &before,
        "token-of-yi-22",
        "GET",
        "/api/ai/cache/stats",
        None,
    )
    .await;
    assert!(stats["usage"]["by_user"].get("乙").is_some(), "{stats}");

    // 甲 is revoked: 乙 is now first in the list, and still 乙.
    let after = spawn_app(&env("乙:token-of-yi-22")).await;
    let (status, _) = call(
        &after,
        "token-of-yi-22",
        "GET",
        &format!("/api/plans/{jia}"),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "甲's plan is not handed to 乙"
    );
    let (status, body) = call(
        &after,
        "token-of-yi-22",
        "GET",
        &format!("/api/plans/{yi}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, list) = call(&after, "token-of-yi-22", "GET", "/api/plans", None).await;
    assert_eq!(list["total"], 1, "{list}");
    let (status, _) = call(&after, "token-of-jia-1", "GET", "/api/plans", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        page_as(&after, &cookie).await,
        None,
        "乙's session lives on"
    );

    // Bare tokens go by their position: a session does not follow one to another position.
    let bare = spawn_app(&env("token-of-jia-1,token-of-yi-22")).await;
    let second = session_cookie(&bare.url(""), "token-of-yi-22").await;
    assert_eq!(page_as(&bare, &second).await, None);
    let moved = spawn_app(&env("token-of-yi-22")).await;
    assert!(page_as(&moved, &second).await.is_some());
}

/// Item 11: an instance that cannot ask Redis whether a session was logged out refuses it,
/// unless it issued or confirmed that session itself lately.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_whose_logout_cannot_be_checked_are_refused() {
    let mut redis = RedisServer::start();
    let shared = [
        ("REDIS_URL", redis.url()),
        ("SESSION_SECRET", SECRET.to_owned()),
        ("CACHE_REDIS_PROBE_MS", "100".to_owned()),
        ("CACHE_REDIS_TIMEOUT_MS", "200".to_owned()),
    ];
    let a = spawn_app(&shared).await;
    let b = spawn_app(&shared).await;
    let gone = session_cookie(&a.url(""), ADMIN).await;
    logout(&a, &gone).await;
    let kept = session_cookie(&a.url(""), ADMIN).await;
    assert_eq!(page_as(&b, &kept).await, None, "B confirms it with Redis");

    redis.kill();
    // A restarted instance knows nothing of either session and cannot ask.
    let c = spawn_app(&shared).await;
    for cookie in [&gone, &kept] {
        let to = page_as(&c, cookie).await.expect("refused");
        assert!(to.contains("error=unconfirmed"), "{to}");
    }
    let response = no_redirects()
        .post(c.url("/fn/load_dashboard"))
        .header("origin", c.url(""))
        .header("cookie", &kept)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("暂时无法确认登录状态"));
    // B confirmed the one it saw a moment ago, and nothing else.
    assert_eq!(page_as(&b, &kept).await, None);
    assert!(page_as(&b, &gone).await.is_some());
    // A new login on C works on C while Redis is away.
    let fresh = session_cookie(&c.url(""), ADMIN).await;
    assert_eq!(page_as(&c, &fresh).await, None);
    // A logout on C, which could not confirm the session, still counts: once Redis is back,
    // C sends it and B refuses the session too.
    logout(&c, &kept).await;
    redis.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while page_as(&b, &kept).await.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "B still takes a session logged out on C while Redis was away"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Item 5: a section whose lines end with a bare CR is compared line by line, not answered
/// with an outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diff_of_text_with_bare_carriage_returns_is_answered() {
    let app = spawn_app(&[]).await;
    let id = plan_of(&app, USER, "甲\r乙\r丙").await;
    let (status, body) = call(
        &app,
        USER,
        "POST",
        &format!("/api/plans/{id}/versions"),
        Some(json!({ "note": "初稿" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut changed = json!(plan("甲\r乙\r丁"));
    changed["sections"][0]["content"] = json!("甲\r\n乙\n丁\r");
    let (status, body) = call(
        &app,
        USER,
        "PUT",
        &format!("/api/plans/{id}"),
        Some(json!({ "plan": changed, "base_revision": 1 })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // What the document bounds is refused as it says, whatever sections the plan has.
    for query in [
        "section=&from=0",
        "from=-1&section=1",
        "section=1&from=0&to=-2",
    ] {
        let path = format!("/api/plans/{id}/diff?{query}");
        let (status, body) = call(&app, USER, "GET", &path, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
    }
    for from in [0, 1] {
        let (status, body) = call(
            &app,
            USER,
            "GET",
            &format!("/api/plans/{id}/diff?section=1&from={from}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let kinds: Vec<&str> = body["diff"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        let expected: &[&str] = if from == 0 {
            &["same", "same", "same"]
        } else {
            &["same", "same", "changed"]
        };
        assert_eq!(kinds, expected, "{body}");
    }
}

/// Item 6: what XML 1.0 forbids never reaches the Word file; an unfinished section as long as
/// a section may be still exports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_are_well_formed_and_never_refused_for_their_own_mark() {
    let app = spawn_app(&[]).await;
    let id = plan_of(
        &app,
        USER,
        "一、目的\n应急\u{FFFF}处置\u{FFFE}要求\u{1}清楚",
    )
    .await;
    let response = app
        .download(
            USER,
            &format!("/api/plans/{id}/export/docx?self_check=false"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").unwrap(), &mut xml)
        .unwrap();
    let forbidden = |c: char| !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    assert!(
        !xml.chars().any(forbidden),
        "document.xml holds a character XML 1.0 forbids"
    );
    assert!(
        xml.contains("应急处置要求清楚"),
        "the text around them is kept"
    );

    let mut unfinished = plan("开头");
    unfinished.sections[0].content = Some("字".repeat(50_000));
    unfinished.sections[0].status = SectionStatus::Failed;
    let id = create(&app, USER, &unfinished).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for format in ["docx", "markdown"] {
        let response = app
            .download(USER, &format!("/api/plans/{id}/export/{format}"))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{format}");
    }
}

/// Item 7: a writer's stats hold their own usage and limits only; an admin sees everyone's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_sees_their_own_usage_only() {
    let app = spawn_app(&[("USER_TOKENS", format!("{USER},张三:token-of-zhang-3"))]).await;
    let body = crate::helpers::seed_body();
    assert_eq!(
        app.generate_as("token-of-zhang-3", &body).await.0,
        StatusCode::OK
    );
    assert_eq!(app.generate_as(USER, &body).await.0, StatusCode::OK);
    let (_, admin) = call(&app, ADMIN, "GET", "/api/ai/cache/stats", None).await;
    let everyone: Vec<&String> = admin["usage"]["by_user"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(everyone, ["张三", "用户1", "管理员"]);
    assert_eq!(admin["usage"]["requests"], 2);

    let (_, mine) = call(&app, "token-of-zhang-3", "GET", "/api/ai/cache/stats", None).await;
    let seen: Vec<&String> = mine["usage"]["by_user"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(seen, ["张三"], "{mine}");
    assert_eq!(mine["usage"]["requests"], 1, "the totals are their own");
    assert_eq!(mine["usage"]["today"]["requests"], 1);
    assert_eq!(mine["instances"], json!([]));
    let text = mine.to_string();
    assert!(
        !text.contains("用户1") && !text.contains("管理员"),
        "{text}"
    );
}

/// Item 4: `/readyz` answers at once whatever the database does. Here the database's address
/// takes connections and never answers (a hung server, a black-holed route): probes report
/// the background check's last result, degraded, without taking a connection each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_at_once_while_the_database_hangs() {
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = hole.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hole.accept().await {
            held.push(socket);
        }
    });
    let app = spawn_app(&[(
        "DATABASE_URL",
        format!("postgres://yueen:secret-pw@127.0.0.1:{port}/plans"),
    )])
    .await;
    let mut slowest = std::time::Duration::ZERO;
    let mut last = Value::Null;
    // Over several seconds, while calls to the database wait out their deadlines.
    let save = {
        let http = app.http.clone();
        let url = app.url("/api/plans");
        tokio::spawn(async move {
            http.get(url)
                .bearer_auth(USER)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    for _ in 0..15 {
        let probes = (0..4).map(|_| {
            let request = app.http.get(app.url("/readyz")).send();
            async move {
                let started = std::time::Instant::now();
                let (status, body) = read(request.await.unwrap()).await;
                (status, body, started.elapsed())
            }
        });
        for (status, body, took) in futures::future::join_all(probes).await {
            assert_eq!(status, StatusCode::OK, "{body}");
            slowest = slowest.max(took);
            last = body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    println!("/readyz slowest of 60 while the database hangs: {slowest:?}");
    assert!(
        slowest < std::time::Duration::from_millis(500),
        "/readyz waited on the database: {slowest:?}"
    );
    assert_eq!(last["status"], "degraded", "{last}");
    assert_eq!(last["database"]["available"], false);
    assert!(!last.to_string().contains("secret-pw"));
    assert_eq!(save.await.unwrap(), StatusCode::SERVICE_UNAVAILABLE);
}

/// Item 12: on PostgreSQL (READ COMMITTED), a writer's limits are checked inside the inserting
/// transaction, one transaction of theirs at a time: at a limit of one plan, eight creates at
/// once over two instances make exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_creates_never_pass_the_plan_limit() {
    let pg = crate::postgres::Postgres::start();
    let env = [
        ("DATABASE_URL", pg.url("quotas")),
        ("PLAN_MAX_PER_USER", "1".to_owned()),
        (
            "USER_TOKENS",
            (0..3)
                .map(|n| format!("写作者{n}:token-of-writer-{n}"))
                .collect::<Vec<_>>()
                .join(","),
        ),
    ];
    let a = spawn_app(&env).await;
    let b = spawn_app(&env).await;
    // Both instances have their schema before the race.
    for app in [&a, &b] {
        let (status, _) = call(app, ADMIN, "GET", "/api/plans", None).await;
        assert_eq!(status, StatusCode::OK);
    }
    for round in 0..3 {
        let token = format!("token-of-writer-{round}");
        let creates = (0..8).map(|n| {
            let app = if n % 2 == 0 { &a } else { &b };
            let request = app
                .http
                .post(app.url("/api/plans"))
                .bearer_auth(&token)
                .json(&json!({ "plan": plan(&format!("第 {n} 份")) }))
                .send();
            async move { read(request.await.unwrap()).await }
        });
        let answers = futures::future::join_all(creates).await;
        let created = answers
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1, "round {round}: {answers:?}");
        for (status, body) in &answers {
            if *status != StatusCode::CREATED {
                assert_eq!(*status, StatusCode::FORBIDDEN, "{body}");
                assert_eq!(body["error"]["code"], "PLAN_LIMIT");
            }
        }
        let (_, list) = call(&a, &token, "GET", "/api/plans", None).await;
        assert_eq!(list["total"], 1, "{list}");
    }
}

/// The hourly purge of the trash works in batches, each its own short transaction, so a large
/// trash is emptied whole and other writers get their turns in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_trash_is_purged_in_batches() {
    use std::sync::Arc;
    use yueen::{config::StoreSettings, model::NewPlan, plans::PlanService};
    let dir = tempfile::tempdir().unwrap();
    let settings = StoreSettings {
        data_dir: dir.path().to_owned(),
        ..StoreSettings::default()
    };
    let service =
        Arc::new(PlanService::new(&settings, Arc::new(Registry::load(None).unwrap())).unwrap());
    for n in 0..120 {
        let saved = service
            .create(
                "甲",
                NewPlan {
                    id: None,
                    title: Some(format!("第 {n} 份")),
                    plan: plan(&"字".repeat(2_000)),
                },
            )
            .await
            .unwrap();
        service.delete("甲", &saved.id).await.unwrap();
    }
    let purge = {
        let service = service.clone();
        tokio::spawn(async move { service.purge_trash_before(i64::MAX).await })
    };
    // Another writer saves while the purge runs.
    let other = service
        .create(
            "乙",
            NewPlan {
                id: None,
                title: None,
                plan: plan("乙的预案"),
            },
        )
        .await;
    assert!(other.is_ok(), "{other:?}");
    let purged = purge.await.unwrap().unwrap();
    assert_eq!(purged.plans, 120);
    assert_eq!(purged.transactions, 3, "batches of 50: 50, 50, 20");
    let (trash, total) = service
        .list(
            "甲",
            &yueen::plans::ListParams {
                trash: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((trash.len(), total), (0, 0));
}

/// Item 10: an answer that misses elements of the standard is not cached as fresh, yet the
/// lock holder's answer still reaches every instance waiting on it: 40 identical requests
/// over three instances make one model call, and none is told the generation is busy. The
/// next request, once they are answered, asks the model again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_instances_take_the_lock_holders_answer_even_when_it_is_not_cached() {
    use crate::helpers::{seed_body, FakeOpenAi, Reply};
    use std::sync::Arc;
    let redis = RedisServer::start();
    let fake = FakeOpenAi::start(vec![Reply::Slow(
        std::time::Duration::from_millis(800),
        "只写了一句话的回答",
    )])
    .await;
    let mut env = fake.env_checked("0.05", "10");
    env.push(("REDIS_URL", redis.url()));
    let apps = [
        Arc::new(spawn_app(&env).await),
        Arc::new(spawn_app(&env).await),
        Arc::new(spawn_app(&env).await),
    ];
    let requests = (0..40).map(|i| {
        let app = apps[i % 3].clone();
        tokio::spawn(async move { app.generate(&seed_body()).await })
    });
    for answer in futures::future::join_all(requests).await {
        let (status, body) = answer.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["content"], "只写了一句话的回答");
        assert!(body["check"]["missing"].as_u64().unwrap() > 0, "{body}");
    }
    assert_eq!(fake.calls().len(), 1, "the upstream saw more than one call");
    assert!(
        redis.keys("yueen:lock:*").is_empty(),
        "the lock was released"
    );
    // Not kept as fresh: a later request is a new call.
    let (status, _) = apps[0].generate(&seed_body()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fake.calls().len(), 2);
}

/// A raw connection to `app` that has sent `head` (and nothing after).
async fn raw(app: &TestApp, head: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// What a raw connection reads until the server closes it or `within` passes.
async fn answer_of(stream: &mut tokio::net::TcpStream, within: std::time::Duration) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let _ = tokio::time::timeout(within, stream.read_to_end(&mut got)).await;
    String::from_utf8_lossy(&got).into_owned()
}

/// How long `/healthz` took to answer, as a client that has to wait for a free place.
async fn healthz_after(app: &TestApp) -> std::time::Duration {
    let started = std::time::Instant::now();
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("/healthz answers once a place is free");
    assert_eq!(response.status(), StatusCode::OK);
    started.elapsed()
}

/// Item 3: four clients trickling their bodies a byte at a time hold every place only until
/// the body deadline: each is answered 408, and `/healthz` gets its turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_trickling_their_bodies_are_cut_off_at_the_deadline() {
    let app = spawn_app(&[
        ("MAX_CONNECTIONS", "4".to_owned()),
        ("BODY_READ_TIMEOUT_SECS", "2".to_owned()),
    ])
    .await;
    let head = format!(
        "POST /api/ai/generate HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {USER}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{"
    );
    let started = std::time::Instant::now();
    let mut trickles = Vec::new();
    for _ in 0..4 {
        let mut stream = raw(&app, &head).await;
        trickles.push(tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut got = [0u8; 512];
            loop {
                tokio::select! {
                    read = stream.read(&mut got) => {
                        let n = read.unwrap_or(0);
                        return String::from_utf8_lossy(&got[..n]).into_owned();
                    }
                    () = tokio::time::sleep(std::time::Duration::from_millis(300)) => {
                        if stream.write_all(b" ").await.is_err() {
                            return String::new();
                        }
                    }
                }
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let waited = healthz_after(&app).await;
    for trickle in trickles {
        let answer = trickle.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("BODY_TIMEOUT"), "{answer}");
    }
    let held = started.elapsed();
    println!("slow bodies held their places {held:?}; /healthz waited {waited:?}");
    assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
}

/// Item 3: a client that asks for a large file and never reads it loses its connection once
/// the write deadline passes, and its place goes to the next client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_its_answer_loses_its_place() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    std::fs::write(
        site.path().join("pkg").join("big.wasm"),
        vec![7u8; 48 << 20],
    )
    .unwrap();
    let app = spawn_app(&[
        ("LEPTOS_SITE_ROOT", site.path().display().to_string()),
        ("MAX_CONNECTIONS", "1".to_owned()),
        ("WRITE_TIMEOUT_SECS", "1".to_owned()),
    ])
    .await;
    let mut stalled = raw(&app, "GET /pkg/big.wasm HTTP/1.1\r\nhost: x\r\n\r\n").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let waited = healthz_after(&app).await;
    println!("a reader that stalls held the only place; /healthz waited {waited:?}");
    assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
    // What it did get ends short of the file: the connection was closed under it.
    use tokio::io::AsyncReadExt;
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    while let Ok(Ok(n)) =
        tokio::time::timeout(std::time::Duration::from_secs(5), stalled.read(&mut buf)).await
    {
        if n == 0 {
            break;
        }
        got += n;
    }
    assert!(got < 48 << 20, "{got} bytes");
}

/// Item 3: one address holds at most `MAX_CONNECTIONS_PER_IP` connections; the next is told
/// so at once. A trusted proxy, which carries many clients, is not counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() {
    let app = spawn_app(&[("MAX_CONNECTIONS_PER_IP", "3".to_owned())]).await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(raw(&app, "").await);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut fourth = raw(&app, "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await;
    let answer = answer_of(&mut fourth, std::time::Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("连接过多"), "{answer}");
    drop(idle.pop());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(healthz_after(&app).await < std::time::Duration::from_secs(2));

    let behind_proxy = spawn_app(&[
        ("MAX_CONNECTIONS_PER_IP", "3".to_owned()),
        ("TRUSTED_PROXIES", "127.0.0.1".to_owned()),
    ])
    .await;
    let mut idle = Vec::new();
    for _ in 0..5 {
        idle.push(raw(&behind_proxy, "").await);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(healthz_after(&behind_proxy).await < std::time::Duration::from_secs(2));
}
