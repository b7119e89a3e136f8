use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{seed_body, spawn_app, ADMIN, USER};

#[tokio::test]
async fn seed_example_generates_then_hits_the_cache() {
    let app = spawn_app(&[]).await;

    let (status, first) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["success"], true);
    assert_eq!(first["cached"], false);
    assert_eq!(first["section_title"], "企业概况");
    let content = first["content"].as_str().unwrap();
    assert!(
        content.starts_with("【这是 AI 生成的模拟内容】"),
        "{content}"
    );
    assert!(content.contains("测试企业"));
    assert!(content.contains("北京市朝阳区"));

    let (status, second) = app.generate(&seed_body()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second["cached"], true);
    assert_eq!(second["content"], first["content"]);

    let stats = app.stats().await;
    assert_eq!(stats["success"], true);
    let seed_shape = json!({"hits": 1, "misses": 1, "sets": 1, "errors": 0, "total_requests": 2,
                            "hit_rate": "50.00%", "backend": "memory", "degraded": false});
    for (field, value) in seed_shape.as_object().unwrap() {
        assert_eq!(&stats["stats"][field], value, "{field}");
    }
    assert_eq!(stats["ai"]["mode"], "mock");
    assert_eq!(stats["ai"]["calls"], 1);
}

#[tokio::test]
async fn differently_typed_equal_data_hits_the_same_entry() {
    let app = spawn_app(&[]).await;
    assert_eq!(app.generate(&seed_body()).await.1["cached"], false);
    let messy = json!({
        "section_id": 2,
        "data": {"enterprise_info": {
            "employees_count": "１００", "main_products": " 化工产品", "address": "北京市朝阳区\u{3000}",
            "industry_type": "化工制造", "enterprise_name": "测试企业", "credit_code": ""
        }},
        "template_id": "emergency_plan"
    });
    let (status, body) = app.generate(&messy).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["cached"], true);
}

#[tokio::test]
async fn other_sections_and_enterprises_are_misses() {
    let app = spawn_app(&[]).await;
    assert_eq!(app.generate(&seed_body()).await.1["cached"], false);
    let mut other_section = seed_body();
    other_section["section_id"] = json!("3");
    let (_, body) = app.generate(&other_section).await;
    assert_eq!(body["cached"], false);
    assert_eq!(body["section_title"], "风险评估结果");
    let mut other_enterprise = seed_body();
    other_enterprise["data"]["enterprise_info"]["enterprise_name"] = json!("另一家企业");
    assert_eq!(app.generate(&other_enterprise).await.1["cached"], false);
}

#[tokio::test]
async fn refresh_bypasses_the_cache_and_replaces_the_entry() {
    let app = spawn_app(&[]).await;
    app.generate(&seed_body()).await;
    let mut refresh = seed_body();
    refresh["refresh"] = json!(true);
    let (_, body) = app.generate(&refresh).await;
    assert_eq!(body["cached"], false);
    assert_eq!(app.stats().await["stats"]["sets"], 2);
    assert_eq!(app.generate(&seed_body()).await.1["cached"], true);
}

#[tokio::test]
async fn admin_clears_the_cache() {
    let app = spawn_app(&[]).await;
    app.generate(&seed_body()).await;
    let (status, body) = app.clear_as(USER).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(app.generate(&seed_body()).await.1["cached"], true);

    let (status, body) = app.clear_as(ADMIN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["removed"], 1);
    assert_eq!(app.generate(&seed_body()).await.1["cached"], false);
}

#[tokio::test]
async fn every_template_section_generates() {
    let app = spawn_app(&[]).await;
    let response = app
        .http
        .get(app.url("/api/templates"))
        .bearer_auth(USER)
        .send()
        .await
        .unwrap();
    let (_, registry) = crate::helpers::read(response).await;
    let templates = registry["templates"].as_array().unwrap();
    assert_eq!(templates.len(), 3);
    for template in templates {
        for section in template["sections"].as_array().unwrap() {
            let mut body = seed_body();
            body["template_id"] = template["id"].clone();
            body["section_id"] = section["id"].clone();
            body["data"]["enterprise_info"]["accident_types"] = json!("火灾、爆炸");
            body["data"]["enterprise_info"]["post_or_facility"] = json!("液氯储罐区");
            let (status, out) = app.generate(&body).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{} {}: {out}",
                template["id"],
                section["id"]
            );
            assert_eq!(out["section_title"], section["title"]);
        }
    }
}
