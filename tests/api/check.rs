//! Every section held against GB/T 29639-2020: the check in each answer (plain, streamed, whole
//! plan), answers missing elements not kept as fresh, and facts the form left empty marked as
//! placeholders, never made up.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{seed_body, spawn_app, FakeOpenAi, Reply, ADMIN, USER};

/// A section 5 (信息报告与预警) answer that has 信息报告 but no 预警.
const WITHOUT_WARNING: &str =
    "一、信息接报\n公司设应急值守电话（待补充：应急值守电话），24 小时值守。";
/// The same section with every element.
const COMPLETE: &str = "一、信息接报\n公司设应急值守电话（待补充：应急值守电话）。\n二、预警启动\n发布预警。\n三、预警解除\n解除预警。";

fn section(id: &str) -> Value {
    let mut body = seed_body();
    body["section_id"] = json!(id);
    body
}

fn clauses(check: &Value) -> Vec<(String, bool)> {
    check["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["clause"].as_str().unwrap().to_owned(),
                e["present"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_answer_missing_an_element_is_returned_with_its_check_but_not_kept() {
    let fake = FakeOpenAi::start(vec![
        Reply::Text(WITHOUT_WARNING),
        Reply::Text(WITHOUT_WARNING),
        Reply::Text(COMPLETE),
    ])
    .await;
    let app = spawn_app(&fake.env_checked("0.01", "5")).await;

    let (status, first) = app.generate(&section("5")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["check"]["missing"], 1);
    assert_eq!(
        clauses(&first["check"]),
        [("6.3.1".to_owned(), true), ("6.3.2".to_owned(), false)]
    );
    assert_eq!(first["check"]["elements"][1]["name"], "预警");
    assert_eq!(first["check"]["placeholders"], 1);
    assert_eq!(first["cached"], false);

    // Not kept: the next request asks the model again, and again until an answer is complete.
    let (_, second) = app.generate(&section("5")).await;
    assert_eq!(second["cached"], false);
    assert_eq!(fake.calls().len(), 2);
    let (_, third) = app.generate(&section("5")).await;
    assert_eq!(third["check"]["missing"], 0);
    assert_eq!(fake.calls().len(), 3);
    let (_, fourth) = app.generate(&section("5")).await;
    assert_eq!(fourth["cached"], true);
    assert_eq!(fourth["check"]["missing"], 0, "a hit carries its check too");
    assert_eq!(fake.calls().len(), 3);
}

#[tokio::test]
async fn keeping_incomplete_answers_can_be_switched_on() {
    let fake = FakeOpenAi::start(vec![Reply::Text(WITHOUT_WARNING)]).await;
    let app = spawn_app(&fake.env("0.01", "5")).await;
    assert_eq!(app.generate(&section("5")).await.1["cached"], false);
    let (_, again) = app.generate(&section("5")).await;
    assert_eq!(again["cached"], true);
    assert_eq!(again["check"]["missing"], 1);
    assert_eq!(fake.calls().len(), 1);
}

#[tokio::test]
async fn a_streamed_section_ends_with_its_check_and_an_incomplete_one_is_not_kept() {
    let fake = FakeOpenAi::start(vec![Reply::Stream {
        pieces: vec!["一、信息接报\n", "值守电话（待补充：应急值守电话）。"],
        gap: Duration::from_millis(5),
        cut_after: None,
    }])
    .await;
    let app = spawn_app(&fake.env_checked("0.01", "5")).await;
    let stream = || async {
        app.http
            .post(app.url("/api/ai/generate/stream"))
            .bearer_auth(USER)
            .json(&section("5"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let text = stream().await;
    let done = text
        .split("\n\n")
        .find(|block| block.starts_with("event: done"))
        .unwrap_or_else(|| panic!("no done event: {text}"));
    let data: Value = serde_json::from_str(done.split("data: ").nth(1).unwrap()).unwrap();
    assert_eq!(data["check"]["missing"], 1, "{data}");
    assert_eq!(data["check"]["placeholders"], 1);
    stream().await;
    assert_eq!(
        fake.calls().len(),
        2,
        "the incomplete answer was not cached"
    );
}

#[tokio::test]
async fn the_mock_covers_every_element_and_marks_what_the_form_left_empty() {
    let app = spawn_app(&[]).await;
    let response = app
        .http
        .post(app.url("/api/ai/generate-plan"))
        .bearer_auth(ADMIN)
        .json(&json!({
            "template_id": "emergency_plan",
            "data": seed_body()["data"].clone(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let plan: Value = response.json().await.unwrap();
    let sections = plan["sections"].as_array().unwrap();
    assert_eq!(sections.len(), 9);
    let mut covered = Vec::new();
    for s in sections {
        let check = &s["check"];
        assert_eq!(check["missing"], 0, "{}: {check}", s["section_title"]);
        covered.extend(clauses(check).into_iter().map(|(c, _)| c));
    }
    covered.sort();
    assert_eq!(
        covered,
        [
            "6.1.1", "6.1.2", "6.2", "6.3.1", "6.3.2", "6.3.3", "6.3.4", "6.3.5", "6.3.6", "6.4",
            "6.5.1", "6.5.2", "6.5.3", "6.5.4", "9.1", "9.2"
        ]
    );
    // The seed gives no duty phone: the overview and the reporting section mark it.
    let reporting = &sections[4];
    assert!(reporting["content"]
        .as_str()
        .unwrap()
        .contains("（待补充：应急值守电话）"));
    assert!(reporting["check"]["placeholders"].as_u64().unwrap() >= 1);

    // Given, it is used and no longer marked.
    let mut body = section("5");
    body["data"]["enterprise_info"]["duty_phone"] = json!("0571-12345678");
    let (_, given) = app.generate(&body).await;
    let content = given["content"].as_str().unwrap();
    assert!(content.contains("0571-12345678"));
    assert!(!content.contains("待补充：应急值守电话"));
}

#[tokio::test]
async fn templates_list_each_sections_elements() {
    let app = spawn_app(&[]).await;
    let templates = app.get_as(USER, "/api/templates").await;
    let plan = templates["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "emergency_plan")
        .unwrap();
    assert_eq!(plan["sections"][1]["title"], "企业概况");
    assert_eq!(plan["sections"][1]["elements"][0]["clause"], "9.1");
    assert_eq!(plan["clauses"].as_array().unwrap().len(), 16);
}
