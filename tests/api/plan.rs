//! `POST /api/ai/generate-plan`: every section in template order, the context section's text
//! given to the others, and a failing section reported without stopping the rest.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{read, seed_body, spawn_app, FakeOpenAi, Reply, TestApp, USER};

const TITLES: [&str; 9] = [
    "总则",
    "企业概况",
    "风险评估结果",
    "应急组织机构及职责",
    "信息报告与预警",
    "应急响应",
    "后期处置",
    "应急保障",
    "预案管理",
];

fn plan_body() -> Value {
    let mut body = seed_body();
    body.as_object_mut().unwrap().remove("section_id");
    body
}

async fn plan(app: &TestApp, body: &Value) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url("/api/ai/generate-plan"))
        .bearer_auth(USER)
        .json(body)
        .send()
        .await
        .unwrap();
    read(response).await
}

#[tokio::test]
async fn every_section_in_order_with_the_overview_as_context() {
    let app = spawn_app(&[]).await;
    let (status, body) = plan(&app, &plan_body()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(
        (body["completed"].as_u64(), body["failed"].as_u64()),
        (Some(9), Some(0))
    );
    assert_eq!(body["template_name"], "综合应急预案");
    let sections = body["sections"].as_array().unwrap();
    let titles: Vec<_> = sections
        .iter()
        .map(|s| s["section_title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, TITLES);
    for s in sections {
        let content = s["content"].as_str().unwrap();
        assert!(content.contains(s["section_title"].as_str().unwrap()));
        // The mock says when it was given the overview; the overview itself is not.
        assert_eq!(
            content.contains("保持一致"),
            s["section_id"] != "2",
            "{}",
            s["section_id"]
        );
        assert!(s["error"].is_null());
    }

    // Again: all nine from the cache.
    let (_, again) = plan(&app, &plan_body()).await;
    assert!(again["sections"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["cached"] == true));
    assert_eq!(app.stats().await["stats"]["sets"], 9);
}

#[tokio::test]
async fn a_failing_section_is_reported_and_retried_alone() {
    let fake = FakeOpenAi::start(vec![Reply::Text("模型写的章节正文")]).await;
    fake.fail_when(Some("“应急响应”"));
    let app =
        spawn_app(&[fake.env("0.01", "5"), vec![("AI_MAX_RETRIES", "1".into())]].concat()).await;
    let (status, body) = plan(&app, &plan_body()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["completed"].as_u64(), body["failed"].as_u64()),
        (Some(8), Some(1))
    );
    let sections = body["sections"].as_array().unwrap();
    let failed = &sections[5];
    assert_eq!(failed["section_title"], "应急响应");
    assert!(failed["content"].is_null());
    assert_eq!(failed["error"]["code"], "AI_UPSTREAM_ERROR");
    assert!(failed["error"]["message"]
        .as_str()
        .unwrap()
        .contains("AI 服务暂时不可用"));
    assert!(sections
        .iter()
        .filter(|s| s["section_id"] != "6")
        .all(|s| s["content"] == "模型写的章节正文"));

    // The overview went first, and every other prompt carried its text.
    let calls = fake.calls();
    let prompt = |i: usize| {
        calls[i].body["messages"][1]["content"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(prompt(0).contains("“企业概况”") && !prompt(0).contains("<<<"));
    assert!((1..calls.len()).all(|i| prompt(i).contains("<<<\n模型写的章节正文\n>>>")));

    // Healed, the failed section alone is asked for again.
    fake.fail_when(None);
    let before = fake.calls().len();
    let mut retry = seed_body();
    retry["section_id"] = json!("6");
    retry["context"] = json!("模型写的章节正文");
    let (status, body) = app.generate(&retry).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["content"], "模型写的章节正文");
    assert_eq!(fake.calls().len(), before + 1);
}

#[tokio::test]
async fn bad_plan_requests_fail_as_a_whole() {
    let app = spawn_app(&[]).await;
    let mut unknown = plan_body();
    unknown["template_id"] = json!("no_such_plan");
    assert_eq!(plan(&app, &unknown).await.0, StatusCode::NOT_FOUND);
    let mut invalid = plan_body();
    invalid["data"]["enterprise_info"]["enterprise_name"] = json!(" ");
    let (status, body) = plan(&app, &invalid).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["error"]["details"][0]["field"],
        "data.enterprise_info.enterprise_name"
    );
    assert_eq!(app.stats().await["stats"]["total_requests"], 0);
}
