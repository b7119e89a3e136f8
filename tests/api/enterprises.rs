//! Enterprise profiles over the API: kept per user in either database, changed with
//! compare-and-set, and refused with every bad row named, nothing written.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{
    helpers::{spawn_app, TestApp, ADMIN, USER},
    postgres::Postgres,
    saved_plans::call,
};

/// The filled sample profile the tests (and the specificity figure) use.
pub fn sample() -> Value {
    serde_json::from_str(include_str!("../fixtures/profile_sample.json")).unwrap()
}

pub async fn create_profile(app: &TestApp, profile: &Value) -> Value {
    let (status, body) = call(
        app,
        USER,
        "POST",
        "/api/enterprises",
        Some(json!({ "profile": profile })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["enterprise"].clone()
}

async fn exercise(app: &TestApp) {
    let created = create_profile(app, &sample()).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["name"], "江南精细化工有限公司");
    assert_eq!(created["revision"], 1);
    // Risks are graded by the registry's bands: 3 × 5 = 15 is 较大.
    assert_eq!(created["profile"]["risks"][0]["level"], "significant");
    assert_eq!(created["profile"]["risks"][3]["level"], "general");
    assert_eq!(created["profile"]["risks"][5]["level"], "low");

    let (status, read) = call(app, USER, "GET", &format!("/api/enterprises/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["enterprise"], created);
    let (_, list) = call(app, USER, "GET", "/api/enterprises", None).await;
    assert_eq!(list["enterprises"][0]["id"], id);
    assert!(
        list["enterprises"][0].get("profile").is_none(),
        "a list has no content"
    );

    // Another user cannot see it.
    let (status, _) = call(app, ADMIN, "GET", &format!("/api/enterprises/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A change from revision 1 lands; another from revision 1 is told what is there now.
    let mut changed = sample();
    changed["organization"]["people"][0]["mobile"] = json!("13905719999");
    let path = format!("/api/enterprises/{id}");
    let body = json!({"base_revision": 1, "profile": changed});
    let (status, updated) = call(app, USER, "PUT", &path, Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["enterprise"]["revision"], 2);
    // The same change sent again (its answer lost) is the same answer.
    let (status, again) = call(app, USER, "PUT", &path, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["enterprise"]["revision"], 2);
    let stale = json!({"base_revision": 1, "profile": sample()});
    let (status, conflict) = call(app, USER, "PUT", &path, Some(stale)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["error"]["code"], "CONFLICT");
    assert_eq!(conflict["error"]["profile"]["revision"], 2);
    assert_eq!(
        conflict["error"]["profile"]["profile"]["organization"]["people"][0]["mobile"],
        "13905719999"
    );

    let (status, _) = call(app, USER, "DELETE", &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, gone) = call(app, USER, "GET", &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(gone["error"]["message"], "企业档案不存在或已删除");
}

#[tokio::test]
async fn a_writer_keeps_profiles_and_changes_them_with_compare_and_set() {
    let app = spawn_app(&[]).await;
    exercise(&app).await;
}

#[tokio::test]
async fn profiles_are_kept_in_postgres_and_shared_by_instances() {
    let pg = Postgres::start();
    let url = pg.url("profiles");
    let a = spawn_app(&[("DATABASE_URL", url.clone())]).await;
    let b = spawn_app(&[("DATABASE_URL", url)]).await;
    exercise(&a).await;
    let kept = create_profile(&a, &sample()).await;
    let (status, read) = call(
        &b,
        USER,
        "GET",
        &format!("/api/enterprises/{}", kept["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["enterprise"], kept);
}

#[tokio::test]
async fn bad_rows_are_named_each_and_nothing_is_written() {
    let app = spawn_app(&[]).await;
    let created = create_profile(&app, &sample()).await;
    let path = format!("/api/enterprises/{}", created["id"].as_str().unwrap());
    let mut bad = sample();
    bad["organization"]["people"][2]["mobile"] = json!("1390571000");
    bad["organization"]["people"]
        .as_array_mut()
        .unwrap()
        .push(json!(
            {"role": "member", "name": "郑海峰", "post": "生产部经理", "mobile": "13905710003"}
        ));
    bad["risks"][1]["l"] = json!(6);
    bad["resources"]["equipment"][5]["quantity"] = json!(-60);
    bad["resources"]["equipment"][0]["due"] = json!("2027-02-30");
    let (status, answer) = call(
        &app,
        USER,
        "PUT",
        &path,
        Some(json!({"base_revision": 1, "profile": bad})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["code"], "VALIDATION_ERROR");
    let details: Vec<(String, String)> = answer["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["field"].as_str().unwrap().to_owned(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let fields: Vec<&str> = details.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "organization.people[2].mobile",
            "organization.people[10].name",
            "risks[1].l",
            "resources.equipment[0].due",
            "resources.equipment[5].quantity",
        ],
        "{details:?}"
    );
    assert!(
        details[0].1.starts_with("应急组织第 3 行：电话格式不正确"),
        "{details:?}"
    );
    assert!(details[1].1.contains("与第 3 行重复"), "{details:?}");
    assert!(
        details[2].1.contains("可能性 L应为 1 到 5 的整数"),
        "{details:?}"
    );
    assert!(details[4].1.contains("数量不能为负数"), "{details:?}");
    // Nothing was written.
    let (_, read) = call(&app, USER, "GET", &path, None).await;
    assert_eq!(read["enterprise"]["revision"], 1);

    // A profile must at least name its enterprise.
    let (status, answer) = call(
        &app,
        USER,
        "POST",
        "/api/enterprises",
        Some(json!({"profile": {"basics": {"enterprise_name": "  "}}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer["error"]["details"][0]["message"],
        "基本情况：请填写企业名称"
    );
}

#[tokio::test]
async fn a_writer_may_keep_only_so_many_profiles() {
    let app = spawn_app(&[("ENTERPRISE_MAX_PER_USER", "2".into())]).await;
    let small = json!({"basics": {"enterprise_name": "小厂"}});
    create_profile(&app, &small).await;
    create_profile(&app, &small).await;
    let (status, answer) = call(
        &app,
        USER,
        "POST",
        "/api/enterprises",
        Some(json!({ "profile": small })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("企业档案数量已达上限（2 份）"));
}
