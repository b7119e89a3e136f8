//! Whole plans written by the server as jobs: created from an enterprise's data, generated,
//! watched by several viewers over SSE (one of them reconnecting with `Last-Event-ID`),
//! cancelled, paused for quota, edited while generated, and carried on by another instance
//! when the one running the job is killed or stopped.

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{
    helpers::{read, spawn_app, spawn_app_with, FakeOpenAi, RedisServer, Reply, TestApp, USER},
    postgres::Postgres,
    process::Running,
    saved_plans::call,
};

fn enterprise() -> Value {
    json!({"enterprise_info": {
        "enterprise_name": "任务化工", "industry_type": "化工制造", "address": "北京市朝阳区",
        "main_products": "化工产品", "employees_count": 100
    }})
}

/// A new plan made on the server from the enterprise's data; its id.
async fn new_plan(base: &str, http: &reqwest::Client, token: &str) -> String {
    let response = http
        .post(format!("{base}/api/plans"))
        .bearer_auth(token)
        .json(&json!({"template_id": "emergency_plan", "data": enterprise()}))
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["plan"]["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn start_job(
    base: &str,
    http: &reqwest::Client,
    id: &str,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = http
        .post(format!("{base}/api/plans/{id}/generate"))
        .bearer_auth(USER)
        .json(&json!({}));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    read(request.send().await.unwrap()).await
}

async fn job_of(base: &str, http: &reqwest::Client, id: &str) -> Value {
    let response = http
        .get(format!("{base}/api/plans/{id}/job"))
        .bearer_auth(USER)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["job"].clone()
}

/// Polls the job until `done` says so, for at most `within`.
pub(crate) async fn wait_job(
    base: &str,
    http: &reqwest::Client,
    id: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let job = job_of(base, http, id).await;
        if done(&job) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "the job did not get there: {job}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn finished(job: &Value) -> bool {
    !matches!(
        job["state"].as_str(),
        Some("queued" | "running" | "waiting_for_quota" | "cancelling")
    )
}

/// An SSE event as read off the wire.
#[derive(Debug, Clone, PartialEq)]
struct Sse {
    id: String,
    event: String,
    data: Value,
}

/// Reads `/events` (after `last`, when given) until a `job` event says the job ended, or
/// until `stop_after` events; what came.
async fn watch(
    base: &str,
    http: &reqwest::Client,
    id: &str,
    last: Option<&str>,
    stop_after: Option<usize>,
) -> Vec<Sse> {
    let mut request = http
        .get(format!("{base}/api/plans/{id}/events"))
        .bearer_auth(USER);
    if let Some(last) = last {
        request = request.header("Last-Event-ID", last);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut response = response;
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("events keep coming")
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut event = Sse {
                id: String::new(),
                event: String::new(),
                data: Value::Null,
            };
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    event.id = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("event:") {
                    event.event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    event.data = serde_json::from_str(v.trim()).unwrap();
                }
            }
            if event.id.is_empty() {
                continue; // a keep-alive
            }
            let ended = event.event == "job" && finished(&event.data);
            events.push(event);
            if ended || stop_after == Some(events.len()) {
                return events;
            }
        }
    }
}

/// The section a model call was for, from its prompt (`…的第 N 章“…”`).
fn section_of(call: &super::helpers::Call) -> String {
    let prompt = call.body["messages"][1]["content"]
        .as_str()
        .unwrap_or_default();
    let after = prompt.split("的第 ").nth(1).unwrap_or_default();
    after.split(' ').next().unwrap_or_default().to_owned()
}

fn streamed(pieces: usize, gap_ms: u64) -> Reply {
    let all: Vec<&'static str> = vec!["一、", "内容", "片段", "继续", "写完", "。"];
    Reply::Stream {
        pieces: all.into_iter().cycle().take(pieces).collect(),
        gap: Duration::from_millis(gap_ms),
        cut_after: None,
    }
}

/// The notes of the plan's automatic versions.
async fn auto_notes(base: &str, http: &reqwest::Client, id: &str) -> Vec<String> {
    let response = http
        .get(format!("{base}/api/plans/{id}/versions"))
        .bearer_auth(USER)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "auto")
        .map(|v| v["note"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_integrator_creates_a_plan_from_data_generates_it_and_exports_it() {
    let app = spawn_app(&[]).await;
    let base = app.url("");
    let id = new_plan(&base, &app.http, USER).await;
    let (_, plan) = call(&app, USER, "GET", &format!("/api/plans/{id}"), None).await;
    let sections = plan["plan"]["plan"]["sections"].as_array().unwrap().clone();
    assert_eq!(sections.len(), 9);
    assert!(sections.iter().all(|s| s["status"] == "waiting"), "{plan}");
    assert!(!plan["plan"]["plan"]["clauses"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        plan["plan"]["plan"]["elements"].as_array().unwrap().len(),
        9
    );
    assert_eq!(plan["plan"]["title"], "任务化工-综合应急预案");

    let (status, first) = start_job(&base, &app.http, &id, Some("retry-1")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(first["job"]["sections"].as_array().unwrap().len(), 9);
    let (status, again) = start_job(&base, &app.http, &id, Some("retry-1")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(again["job"]["id"], first["job"]["id"]);

    let job = wait_job(&base, &app.http, &id, Duration::from_secs(30), finished).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["done"].as_array().unwrap().len(), 9);
    assert!(job["waiting"].as_array().unwrap().is_empty());
    assert_eq!(job["lease_holder"], Value::Null);

    let (_, plan) = call(&app, USER, "GET", &format!("/api/plans/{id}"), None).await;
    for s in plan["plan"]["plan"]["sections"].as_array().unwrap() {
        assert_eq!(s["status"], "done", "{s}");
        assert!(!s["content"].as_str().unwrap().is_empty());
    }
    assert_eq!(plan["plan"]["revision"], 10, "one save per section");
    let mut notes = auto_notes(&base, &app.http, &id).await;
    notes.sort();
    notes.dedup();
    assert_eq!(
        notes.len(),
        9,
        "one automatic version per section: {notes:?}"
    );

    // Nothing left to write: a new job is done at once and says so.
    let (status, nothing) = start_job(&base, &app.http, &id, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(nothing["job"]["state"], "done");
    assert!(nothing["job"]["sections"].as_array().unwrap().is_empty());

    let docx = app
        .download(USER, &format!("/api/plans/{id}/export/docx"))
        .await;
    assert_eq!(docx.status(), 200);
    assert!(docx.bytes().await.unwrap().starts_with(b"PK"));

    // Another user sees none of it.
    let (status, _) = call(
        &app,
        super::helpers::ADMIN,
        "GET",
        &format!("/api/plans/{id}/job"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(
        &app,
        USER,
        "POST",
        "/api/plans",
        Some(json!({"template_id": "emergency_plan", "data": {"enterprise_info": {}}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = call(
        &app,
        USER,
        "POST",
        &format!("/api/plans/{id}/generate"),
        Some(json!({"sections": ["99"]})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "SECTION_NOT_FOUND");
    // Keys the template does not know are not kept.
    let (status, body) = call(
        &app,
        USER,
        "POST",
        "/api/plans",
        Some(json!({"template_id": "emergency_plan", "data": {"enterprise_info": {
            "enterprise_name": "任务化工", "industry_type": "化工制造", "address": "北京市朝阳区",
            "main_products": "化工产品", "employees_count": 100, "odd": [1, {}]
        }}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["plan"]["plan"]["data"]["enterprise_info"]
        .get("odd")
        .is_none());
    // No body at all asks for every section not yet done.
    let id = body["plan"]["id"].as_str().unwrap();
    let response = app
        .http
        .post(app.url(&format!("/api/plans/{id}/generate")))
        .bearer_auth(USER)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["job"]["sections"].as_array().unwrap().len(), 9);
}

/// A slow model: every section streams in `pieces` pieces `gap_ms` apart.
async fn slow_app(pieces: usize, gap_ms: u64, extra: &[(&str, String)]) -> (TestApp, FakeOpenAi) {
    let upstream = FakeOpenAi::start(vec![streamed(pieces, gap_ms)]).await;
    let mut env = upstream.env("0.01", "10");
    env.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    (spawn_app(&env).await, upstream)
}

#[tokio::test]
async fn viewers_see_the_same_events_and_one_that_reconnects_misses_nothing() {
    let (app, _upstream) = slow_app(6, 60, &[]).await;
    let base = app.url("");
    let id = new_plan(&base, &app.http, USER).await;
    let (status, body) = start_job(&base, &app.http, &id, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // A second start while it runs names the running job.
    let (status, busy) = start_job(&base, &app.http, &id, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{busy}");
    assert_eq!(busy["error"]["code"], "JOB_RUNNING");
    assert_eq!(busy["error"]["job"]["id"], body["job"]["id"]);

    let (a, b, c) = tokio::join!(
        watch(&base, &app.http, &id, None, None),
        watch(&base, &app.http, &id, None, None),
        async {
            let first = watch(&base, &app.http, &id, None, Some(25)).await;
            let last = first.last().unwrap().id.clone();
            let rest = watch(&base, &app.http, &id, Some(&last), None).await;
            [first, rest].concat()
        }
    );
    assert_eq!(a, b);
    assert_eq!(a, c, "a reconnecting viewer gets every event once");
    let ids: Vec<&String> = a.iter().map(|e| &e.id).collect();
    let mut sorted = ids.clone();
    sorted.sort_by_key(|id| {
        let (ms, n) = id.split_once('-').unwrap();
        (ms.parse::<u64>().unwrap(), n.parse::<u64>().unwrap())
    });
    sorted.dedup();
    assert_eq!(ids, sorted, "ids increase");
    let saved: Vec<&Sse> = a.iter().filter(|e| e.event == "saved").collect();
    assert_eq!(saved.len(), 9);
    assert!(a.iter().filter(|e| e.event == "section").count() >= 9 * 6);
    // A viewer coming later replays the job from its start.
    let late = watch(&base, &app.http, &id, None, None).await;
    assert_eq!(late, a);
    // An id that is none of ours names no place: the viewer gets the job from its start.
    for odd in ["not-an-id", "null", "1-2-3", "123456789012345678901-0"] {
        let again = watch(&base, &app.http, &id, Some(odd), None).await;
        assert_eq!(again, a, "{odd}");
    }
}

#[tokio::test]
async fn a_cancelled_job_finishes_the_sections_in_flight_and_starts_no_more() {
    let (app, upstream) = slow_app(10, 80, &[("AI_PLAN_CONCURRENCY", "2".into())]).await;
    let base = app.url("");
    let id = new_plan(&base, &app.http, USER).await;
    start_job(&base, &app.http, &id, None).await;
    wait_job(&base, &app.http, &id, Duration::from_secs(20), |j| {
        !j["done"].as_array().unwrap().is_empty()
    })
    .await;
    let (status, body) = call(
        &app,
        USER,
        "POST",
        &format!("/api/plans/{id}/job/cancel"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        matches!(
            body["job"]["state"].as_str(),
            Some("cancelling" | "cancelled")
        ),
        "{body}"
    );
    let job = wait_job(&base, &app.http, &id, Duration::from_secs(20), finished).await;
    assert_eq!(job["state"], "cancelled", "{job}");
    let settled = job["done"].as_array().unwrap().len() + job["failed"].as_array().unwrap().len();
    assert!(settled < 9, "{job}");
    assert!(!job["waiting"].as_array().unwrap().is_empty());
    let calls = upstream.calls().len();
    assert_eq!(calls, settled, "no section started after the cancel: {job}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(upstream.calls().len(), calls);
    // The plan holds what was saved; a new job writes the rest.
    let (status, next) = start_job(&base, &app.http, &id, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{next}");
    assert_eq!(
        next["job"]["sections"].as_array().unwrap().len(),
        9 - settled
    );
}

#[tokio::test]
async fn an_edit_made_while_the_job_writes_a_section_wins_and_the_generated_text_is_kept() {
    let (app, _upstream) = slow_app(8, 80, &[("AI_PLAN_CONCURRENCY", "1".into())]).await;
    let base = app.url("");
    let id = new_plan(&base, &app.http, USER).await;
    start_job(&base, &app.http, &id, None).await;
    // While the first section is written, the writer edits the last one.
    let (_, current) = call(&app, USER, "GET", &format!("/api/plans/{id}"), None).await;
    let mut plan = current["plan"]["plan"].clone();
    let last = plan["sections"].as_array().unwrap().len() - 1;
    plan["sections"][last]["content"] = json!("写作者自己写的预案管理");
    plan["sections"][last]["edited"] = json!(true);
    let (status, body) = call(
        &app,
        USER,
        "PUT",
        &format!("/api/plans/{id}"),
        Some(json!({"plan": plan})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let job = wait_job(&base, &app.http, &id, Duration::from_secs(60), finished).await;
    let last_id = plan["sections"][last]["section_id"].as_str().unwrap();
    assert_eq!(job["skipped"], json!([last_id]), "{job}");
    assert_eq!(job["done"].as_array().unwrap().len(), 8);
    assert!(job["message"].as_str().unwrap().contains("已保留您的修改"));
    let (_, saved) = call(&app, USER, "GET", &format!("/api/plans/{id}"), None).await;
    assert_eq!(
        saved["plan"]["plan"]["sections"][last]["content"],
        "写作者自己写的预案管理"
    );
    let (_, versions) = call(
        &app,
        USER,
        "GET",
        &format!("/api/plans/{id}/versions"),
        None,
    )
    .await;
    let kept = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kind"] == "conflict")
        .expect("the generated text kept as a version");
    let n = kept["version"].as_i64().unwrap();
    let (_, version) = call(
        &app,
        USER,
        "GET",
        &format!("/api/plans/{id}/versions/{n}"),
        None,
    )
    .await;
    let text = version["version"]["plan"]["sections"][last]["content"]
        .as_str()
        .unwrap();
    assert!(text.contains("内容"), "{text}");
}

#[tokio::test]
async fn a_writer_over_quota_sees_the_job_wait_instead_of_nine_failures() {
    // The user's allowance is spent by one section; the plan's job then waits for tomorrow.
    let app = spawn_app_with(None, &[("LIMIT_TOKENS_PER_DAY", "1".into())]).await;
    let base = app.url("");
    let (status, body) = app.generate_as(USER, &super::helpers::seed_body()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = new_plan(&base, &app.http, USER).await;
    let (status, body) = start_job(&base, &app.http, &id, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = wait_job(&base, &app.http, &id, Duration::from_secs(10), |j| {
        j["state"] != "queued" && j["state"] != "running"
    })
    .await;
    assert_eq!(job["state"], "waiting_for_quota", "{job}");
    assert!(
        job["resumes_at"]
            .as_str()
            .unwrap()
            .contains("T00:00:00+08:00"),
        "{job}"
    );
    assert!(job["message"].as_str().unwrap().contains("额度"));
    assert_eq!(job["waiting"].as_array().unwrap().len(), 9);
    assert!(job["failed"].as_array().unwrap().is_empty());
}

/// Two instances of the binary sharing PostgreSQL and Redis, the model a slow fake.
struct Pair {
    _pg: Postgres,
    database: String,
    redis: RedisServer,
    upstream: FakeOpenAi,
}

impl Pair {
    async fn start() -> Self {
        let pg = Postgres::start();
        Self {
            database: pg.url("jobs"),
            _pg: pg,
            redis: RedisServer::start(),
            upstream: FakeOpenAi::start(vec![streamed(6, 120)]).await,
        }
    }

    fn instance(&self) -> Running {
        let mut env = self.upstream.env("0.01", "10");
        env.extend([
            ("DATABASE_URL", self.database.clone()),
            ("REDIS_URL", self.redis.url()),
            ("USER_TOKENS", USER.to_owned()),
            ("ADMIN_TOKEN", super::helpers::ADMIN.to_owned()),
            ("SESSION_SECRET", "s".repeat(32)),
            ("PLAN_JOB_LEASE_MS", "3000".into()),
            ("AI_PLAN_CONCURRENCY", "2".into()),
            ("SHUTDOWN_DRAIN_SECS", "1".into()),
            ("SHUTDOWN_TIMEOUT_SECS", "5".into()),
        ]);
        Running::start(&env)
    }

    /// Model calls per section.
    fn calls(&self) -> BTreeMap<String, usize> {
        let mut calls = BTreeMap::new();
        for call in self.upstream.calls() {
            *calls.entry(section_of(&call)).or_default() += 1;
        }
        calls
    }
}

/// Checks a plan finished by two instances: every section done and saved once.
async fn check_whole(base: &str, http: &reqwest::Client, id: &str) {
    let notes = auto_notes(base, http, id).await;
    let mut counted: HashMap<&String, usize> = HashMap::new();
    for note in &notes {
        *counted.entry(note).or_default() += 1;
    }
    assert_eq!(counted.len(), 9, "every section saved: {notes:?}");
    assert!(
        counted.values().all(|n| *n == 1),
        "none saved twice: {notes:?}"
    );
}

#[tokio::test]
async fn a_killed_instances_job_is_finished_by_another_without_paying_twice() {
    let pair = Pair::start().await;
    let mut first = pair.instance();
    let second = pair.instance();
    let (a, b) = (first.base_url(), second.base_url());
    let http = reqwest::Client::new();
    let id = new_plan(&a, &http, USER).await;
    let (status, body) = start_job(&a, &http, &id, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job = wait_job(&b, &http, &id, Duration::from_secs(60), |j| {
        j["done"].as_array().unwrap().len() >= 4
    })
    .await;
    let saved_before: Vec<String> = serde_json::from_value(job["done"].clone()).unwrap();
    first.kill();
    let killed = Instant::now();
    let job = wait_job(&b, &http, &id, Duration::from_secs(3 + 10), finished).await;
    assert_eq!(job["state"], "done", "{job}");
    assert!(killed.elapsed() < Duration::from_secs(13));
    assert_eq!(job["done"].as_array().unwrap().len(), 9, "{job}");
    check_whole(&b, &http, &id).await;
    let calls = pair.calls();
    for section in &saved_before {
        assert_eq!(
            calls.get(section),
            Some(&1),
            "{section} saved before the kill: {calls:?}"
        );
    }
    assert_eq!(calls.len(), 9, "{calls:?}");
}

#[tokio::test]
async fn a_stopped_instance_hands_its_job_over_and_exits_in_time() {
    let pair = Pair::start().await;
    let first = pair.instance();
    let second = pair.instance();
    let (a, b) = (first.base_url(), second.base_url());
    let http = reqwest::Client::new();
    let id = new_plan(&a, &http, USER).await;
    start_job(&a, &http, &id, None).await;
    wait_job(&b, &http, &id, Duration::from_secs(60), |j| {
        j["done"].as_array().unwrap().len() >= 2
    })
    .await;
    first.terminate();
    let stopped = Instant::now();
    let (code, output) = first.exit_code();
    assert_eq!(code, Some(0), "{output}");
    assert!(
        stopped.elapsed() < Duration::from_secs(1 + 5 + 2),
        "{output}"
    );
    let job = wait_job(&b, &http, &id, Duration::from_secs(30), finished).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["done"].as_array().unwrap().len(), 9, "{job}");
    check_whole(&b, &http, &id).await;
}

#[tokio::test]
async fn a_plan_deleted_while_its_job_runs_stays_deleted() {
    let (app, _upstream) = slow_app(4, 50, &[]).await;
    let base = app.url("");
    let id = new_plan(&base, &app.http, USER).await;
    start_job(&base, &app.http, &id, None).await;
    let (status, body) = call(&app, USER, "DELETE", &format!("/api/plans/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for _ in 0..30 {
        let (status, body) = call(&app, USER, "GET", &format!("/api/plans/{id}"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let export = app
            .download(USER, &format!("/api/plans/{id}/export/docx"))
            .await;
        assert_eq!(export.status(), 404);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The job stopped, saying why.
    let (status, body) = call(
        &app,
        USER,
        "POST",
        &format!("/api/plans/{id}/undelete"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let job = wait_job(&base, &app.http, &id, Duration::from_secs(10), finished).await;
    assert_eq!(job["state"], "failed", "{job}");
}
