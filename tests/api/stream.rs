//! `POST /api/ai/generate/stream`: server-sent events from the mock and from a fake model that
//! streams, holds back, breaks off or fails before its first piece.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{seed_body, spawn_app, FakeOpenAi, RedisServer, Reply, TestApp, USER};

/// Reads a server-sent event stream as it arrives.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(app: &TestApp, body: &Value) -> Self {
        let response = app
            .http
            .post(app.url("/api/ai/generate/stream"))
            .bearer_auth(USER)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        // A proxy in front (deploy/nginx) must pass events on as they come.
        assert_eq!(response.headers()["x-accel-buffering"], "no");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event's name and data; `None` at the end of the stream.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if name.is_empty() {
                    continue; // keep-alive comment
                }
                return Some((name, serde_json::from_str(&data).unwrap()));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("the stream moves within 10 s")
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    async fn all(mut self) -> Vec<(String, Value)> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        events
    }
}

fn text_of(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(name, _)| name == "text")
        .map(|(_, data)| data["text"].as_str().unwrap())
        .collect()
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    let mut names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    names.dedup();
    names
}

#[tokio::test]
async fn the_mock_streams_in_pieces_and_only_the_whole_answer_is_cached() {
    let app = spawn_app(&[("AI_MOCK_CHUNK_DELAY_MS", "0".into())]).await;
    let events = Events::open(&app, &seed_body()).await.all().await;
    assert_eq!(names(&events), ["start", "text", "done"]);
    assert!(events.len() > 10, "{} events", events.len());
    assert_eq!(events[0].1["cached"], false);
    assert_eq!(events[0].1["section_title"], "企业概况");

    // What was streamed is what the cache now serves.
    let (status, cached) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cached["cached"], true);
    assert_eq!(text_of(&events).trim(), cached["content"].as_str().unwrap());

    let again = Events::open(&app, &seed_body()).await.all().await;
    assert_eq!(names(&again), ["start", "text", "done"]);
    assert_eq!(again[0].1["cached"], true);
    assert_eq!(app.stats().await["stats"]["sets"], 1);
}

#[tokio::test]
async fn the_first_piece_arrives_before_the_last_is_sent() {
    let fake = FakeOpenAi::start(vec![Reply::Stream {
        pieces: vec!["第一段，", "第二段，", "最后一段。"],
        gap: Duration::from_millis(10),
        cut_after: None,
    }])
    .await;
    let gate = fake.hold_last_piece();
    let app = spawn_app(&fake.env("0.01", "5")).await;
    let mut events = Events::open(&app, &seed_body()).await;
    assert_eq!(events.next().await.unwrap().0, "start");
    assert_eq!(events.next().await.unwrap().1["text"], "第一段，");
    assert_eq!(events.next().await.unwrap().1["text"], "第二段，");
    // The model has not sent its last piece: nothing is complete, nothing cached.
    assert_eq!(app.stats().await["stats"]["sets"], 0);
    gate.add_permits(1);
    let rest = events.all().await;
    assert_eq!(names(&rest), ["text", "done"]);
    assert_eq!(rest[0].1["text"], "最后一段。");
    assert_eq!(fake.calls()[0].body["stream"], true);
    assert_eq!(app.stats().await["stats"]["sets"], 1);
}

#[tokio::test]
async fn a_stream_cut_midway_leaves_nothing_in_the_cache() {
    let fake = FakeOpenAi::start(vec![Reply::Stream {
        pieces: vec!["第一段，", "第二段，", "永远不会到达"],
        gap: Duration::from_millis(30),
        cut_after: Some(2),
    }])
    .await;
    let app = spawn_app(&fake.env("0.01", "5")).await;
    let events = Events::open(&app, &seed_body()).await.all().await;
    assert_eq!(names(&events), ["start", "text", "error"]);
    assert_eq!(text_of(&events), "第一段，第二段，");
    let error = &events.last().unwrap().1;
    assert_eq!(error["code"], "AI_STREAM_INTERRUPTED");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("已保留已生成的部分"),
        "{error}"
    );
    // Not retried after text was shown, and not cached.
    assert_eq!(fake.calls().len(), 1);
    let stats = app.stats().await;
    assert_eq!(stats["stats"]["sets"], 0);
    assert_eq!(stats["ai"]["failures"], 1);
    let again = Events::open(&app, &seed_body()).await.all().await;
    assert_eq!(again[0].1["cached"], false);
    assert_eq!(fake.calls().len(), 2);
}

#[tokio::test]
async fn a_failure_before_the_first_piece_is_retried() {
    let fake = FakeOpenAi::start(vec![
        Reply::Status(503),
        Reply::Stream {
            pieces: vec!["重试后的回答。"],
            gap: Duration::ZERO,
            cut_after: None,
        },
    ])
    .await;
    let app = spawn_app(&fake.env("0.01", "5")).await;
    let events = Events::open(&app, &seed_body()).await.all().await;
    assert_eq!(names(&events), ["start", "text", "done"]);
    assert_eq!(text_of(&events), "重试后的回答。");
    assert_eq!(fake.calls().len(), 2);
    let ai = app.stats().await["ai"].clone();
    assert_eq!(
        (ai["retries"].as_u64(), ai["successes"].as_u64()),
        (Some(1), Some(1))
    );
}

#[tokio::test]
async fn errors_before_the_stream_use_the_api_shape() {
    let fake = FakeOpenAi::start(vec![Reply::Status(503)]).await;
    let app =
        spawn_app(&[fake.env("0.01", "5"), vec![("AI_MAX_RETRIES", "1".into())]].concat()).await;
    let response = app
        .http
        .post(app.url("/api/ai/generate/stream"))
        .bearer_auth(USER)
        .json(&seed_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AI_UPSTREAM_ERROR");
    assert_eq!(fake.calls().len(), 2);

    let mut bad = seed_body();
    bad["data"]["enterprise_info"]["employees_count"] = "很多".into();
    let response = app
        .http
        .post(app.url("/api/ai/generate/stream"))
        .bearer_auth(USER)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let anonymous = app
        .http
        .post(app.url("/api/ai/generate/stream"))
        .json(&seed_body())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn two_instances_streaming_the_same_section_make_one_model_call() {
    let redis = RedisServer::start();
    let fake = FakeOpenAi::start(vec![Reply::Stream {
        pieces: vec!["甲，", "乙，", "丙。"],
        gap: Duration::from_millis(100),
        cut_after: None,
    }])
    .await;
    let env = [fake.env("0.01", "5"), vec![("REDIS_URL", redis.url())]].concat();
    let a = spawn_app(&env).await;
    let b = spawn_app(&env).await;
    let (first, second) = tokio::join!(
        async { Events::open(&a, &seed_body()).await.all().await },
        async {
            // Starts while the first instance holds the lock and is still writing.
            tokio::time::sleep(Duration::from_millis(50)).await;
            Events::open(&b, &seed_body()).await.all().await
        }
    );
    assert_eq!(text_of(&first), "甲，乙，丙。");
    assert_eq!(text_of(&second), "甲，乙，丙。");
    assert_eq!(first[0].1["cached"], false);
    assert_eq!(second[0].1["cached"], true);
    assert_eq!(fake.calls().len(), 1);
    // The lock was given back.
    assert!(redis.keys("yueen:lock:*").is_empty());
}
