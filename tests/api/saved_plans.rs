//! Saved plans through `/api/plans`, on both engines: the embedded SQLite file and a real
//! PostgreSQL. Ownership, conflicts, versions and restore, the trash, exports, limits, a
//! restart, a token rotated, and the database stopped in the middle of an edit.

use reqwest::StatusCode;
use serde_json::{json, Value};
use yueen::{
    model::{EnterpriseData, Plan},
    templates::Registry,
};

use super::{
    helpers::{read, spawn_app, spawn_app_with, TestApp, ADMIN, USER},
    postgres::Postgres,
    process::Running,
};

/// A comprehensive plan for 测试化工, its first sections written.
pub(crate) fn plan(first: &str) -> Plan {
    let registry = Registry::load(None).unwrap();
    let template = registry.template("emergency_plan").unwrap().view();
    let mut plan = Plan::new(&template, EnterpriseData::default(), 1);
    plan.enterprise_name = "测试化工".into();
    plan.edit(0, first.into());
    plan.edit(1, "一、基本情况\n测试化工位于北京。".into());
    plan
}

pub(crate) async fn call(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .http
        .request(method.parse().unwrap(), app.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.expect("the app answers")).await
}

pub(crate) async fn create(app: &TestApp, token: &str, plan: &Plan) -> Value {
    let (status, body) = call(
        app,
        token,
        "POST",
        "/api/plans",
        Some(json!({ "plan": plan })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["plan"].clone()
}

/// Everything a writer does with saved plans, against whatever database `app` has.
async fn exercise(app: &TestApp) {
    // A new plan gets its default title and revision 1.
    let saved = create(app, USER, &plan("第一稿")).await;
    let id = saved["id"].as_str().unwrap().to_owned();
    assert_eq!(saved["title"], "测试化工-综合应急预案");
    assert_eq!(saved["revision"], 1);
    assert!(saved["updated_at"].as_str().unwrap().ends_with("+08:00"));

    // Only its owner sees it: another user's id answers 404, in lists too.
    for (method, path) in [
        ("GET", format!("/api/plans/{id}")),
        ("DELETE", format!("/api/plans/{id}")),
        ("GET", format!("/api/plans/{id}/versions")),
        ("GET", format!("/api/plans/{id}/export/markdown")),
    ] {
        let (status, body) = call(app, ADMIN, method, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        assert_eq!(body["success"], false);
    }
    let (status, body) = call(
        app,
        ADMIN,
        "PUT",
        &format!("/api/plans/{id}"),
        Some(json!({ "title": "抢来的" })),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, list) = call(app, ADMIN, "GET", "/api/plans", None).await;
    assert_eq!(list["total"], 0);

    // A change made on the latest revision is saved, with a version when asked.
    let mut second = plan("第二稿：应急电话 110");
    second.meta.version = "V2".into();
    let (status, body) = call(
        app,
        USER,
        "PUT",
        &format!("/api/plans/{id}"),
        Some(json!({ "plan": second, "base_revision": 1, "snapshot": "生成：1. 总则" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["plan"]["revision"], 2);

    // A change made on an older revision (another tab) is refused with the plan as it is now.
    let (status, body) = call(
        app,
        USER,
        "PUT",
        &format!("/api/plans/{id}"),
        Some(json!({ "plan": plan("另一个窗口的文字"), "base_revision": 1 })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "CONFLICT");
    assert_eq!(body["error"]["current"]["revision"], 2);
    assert_eq!(
        body["error"]["current"]["plan"]["sections"][0]["content"],
        "第二稿：应急电话 110"
    );
    // Settled in favour of the other window: the replaced text is kept as a version.
    let (status, body) = call(
        app,
        USER,
        "PUT",
        &format!("/api/plans/{id}"),
        Some(
            json!({ "plan": plan("另一个窗口的文字"), "base_revision": 2, "keep_replaced": true }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["plan"]["revision"], 3);

    // A named version, then the list: newest first, kinds and notes as kept.
    let (status, body) = call(
        app,
        USER,
        "POST",
        &format!("/api/plans/{id}/versions"),
        Some(json!({ "note": "送审稿" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, versions) = call(app, USER, "GET", &format!("/api/plans/{id}/versions"), None).await;
    let kinds: Vec<(i64, String, String)> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["kind"].as_str().unwrap().to_owned(),
                v["note"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (3, "named".into(), "送审稿".into()),
            (2, "conflict".into(), "保存冲突时被替换的另一处内容".into()),
            (1, "auto".into(), "生成：1. 总则".into()),
        ]
    );

    // Section 1 side by side between version 1 and now.
    let (status, body) = call(
        app,
        USER,
        "GET",
        &format!("/api/plans/{id}/diff?section=1&from=1"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["diff"]["changed"], true);
    assert_eq!(body["diff"]["rows"][0]["kind"], "changed");
    assert_eq!(
        body["diff"]["rows"][0]["right"][0]["text"],
        "另一个窗口的文字"
    );

    // Restoring version 1 keeps what it replaces and is a version of its own.
    let (status, body) = call(
        app,
        USER,
        "POST",
        &format!("/api/plans/{id}/versions/1/restore"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["plan"]["revision"], 4);
    assert_eq!(
        body["plan"]["plan"]["sections"][0]["content"],
        "第二稿：应急电话 110"
    );
    let (_, versions) = call(app, USER, "GET", &format!("/api/plans/{id}/versions"), None).await;
    let notes: Vec<&str> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|v| v["note"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["恢复自版本 1", "恢复版本 1 之前的内容"]);
    let (status, body) = call(
        app,
        USER,
        "GET",
        &format!("/api/plans/{id}/versions/4"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["version"]["plan"]["sections"][0]["content"],
        "另一个窗口的文字"
    );
    let (status, _) = call(
        app,
        USER,
        "POST",
        &format!("/api/plans/{id}/versions/99/restore"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Renamed; found by part of its title; duplicated for next year.
    let (status, body) = call(
        app,
        USER,
        "PUT",
        &format!("/api/plans/{id}"),
        Some(json!({ "title": "2026 年度预案" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A rename is no change of content: an editor still on revision 4 saves without a
    // conflict, and the new name stays.
    assert_eq!(body["plan"]["revision"], 4);
    let mut edited = second.clone();
    edited.meta.principal = "王五".into();
    let (status, body) = call(
        app,
        USER,
        "PUT",
        &format!("/api/plans/{id}"),
        Some(json!({ "plan": edited, "base_revision": 4 })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["plan"]["title"], "2026 年度预案");
    assert_eq!(body["plan"]["revision"], 5);
    let (status, copy) = call(
        app,
        USER,
        "POST",
        &format!("/api/plans/{id}/duplicate"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    assert_eq!(copy["plan"]["title"], "2026 年度预案（副本）");
    assert_eq!(copy["plan"]["plan"]["meta"]["version"], "V2");
    let copy_id = copy["plan"]["id"].as_str().unwrap().to_owned();
    let (_, found) = call(
        app,
        USER,
        "GET",
        "/api/plans?q=%E5%B9%B4%E5%BA%A6&sort=title",
        None,
    )
    .await;
    assert_eq!(found["total"], 2, "{found}");
    assert_eq!(found["plans"][0]["title"], "2026 年度预案");
    assert!(
        found["plans"][0].get("plan").is_none(),
        "a list holds no text"
    );
    let (_, none) = call(app, USER, "GET", "/api/plans?q=100%25", None).await;
    assert_eq!(none["total"], 0, "% is matched as itself: {none}");

    // Exported by id, as Word and as Markdown.
    let response = app
        .download(USER, &format!("/api/plans/{id}/export/markdown"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let markdown = response.text().await.unwrap();
    assert!(markdown.contains("第二稿：应急电话 110"), "{markdown}");
    let response = app
        .download(
            USER,
            &format!("/api/plans/{id}/export/docx?self_check=false"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.bytes().await.unwrap().starts_with(b"PK"));

    // Deleted: gone from the list, in the trash with its purge date, and back again.
    let (status, body) = call(app, USER, "DELETE", &format!("/api/plans/{copy_id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["message"].as_str().unwrap().contains("30 天内可恢复"));
    let (status, _) = call(app, USER, "GET", &format!("/api/plans/{copy_id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, trash) = call(app, USER, "GET", "/api/plans?trash=true", None).await;
    assert_eq!(trash["total"], 1);
    assert!(trash["plans"][0]["purge_at"].is_string());
    let (status, _) = call(
        app,
        USER,
        "POST",
        &format!("/api/plans/{copy_id}/undelete"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = call(app, USER, "GET", "/api/plans", None).await;
    assert_eq!(list["total"], 2);
}

#[tokio::test]
async fn plans_are_kept_in_the_embedded_sqlite_file() {
    let app = spawn_app(&[]).await;
    exercise(&app).await;
    assert!(app.data.path().join("yueen.db").exists());
    // The administrator sees how many plans there are, and no text.
    let (_, stats) = call(&app, ADMIN, "GET", "/readyz", None).await;
    assert_eq!(
        stats["database"],
        json!({"engine": "sqlite", "available": true})
    );
}

#[tokio::test]
async fn plans_are_kept_in_postgres_and_shared_by_instances() {
    let pg = Postgres::start();
    let url = pg.url("plans");
    let a = spawn_app(&[("DATABASE_URL", url.clone())]).await;
    let b = spawn_app(&[("DATABASE_URL", url.clone())]).await;
    exercise(&a).await;
    // The other instance sees the same plans.
    let (_, list) = call(&b, USER, "GET", "/api/plans", None).await;
    assert_eq!(list["total"], 2, "{list}");
    let (_, ready) = call(&b, ADMIN, "GET", "/readyz", None).await;
    assert_eq!(
        ready["database"],
        json!({"engine": "postgres", "available": true})
    );
    assert!(
        !ready.to_string().contains("postgres://"),
        "no address in /readyz"
    );
}

#[tokio::test]
async fn versions_kept_automatically_are_bounded_and_named_ones_kept() {
    let app = spawn_app(&[
        ("PLAN_AUTO_VERSIONS", "2".into()),
        ("PLAN_MAX_PER_USER", "2".into()),
    ])
    .await;
    let id = create(&app, USER, &plan("v0")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &app,
        USER,
        "POST",
        &format!("/api/plans/{id}/versions"),
        Some(json!({"note": "定稿"})),
    )
    .await;
    for n in 1..=4 {
        let (status, body) = call(
            &app,
            USER,
            "PUT",
            &format!("/api/plans/{id}"),
            Some(json!({ "plan": plan(&format!("v{n}")), "snapshot": format!("生成 {n}") })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, versions) = call(
        &app,
        USER,
        "GET",
        &format!("/api/plans/{id}/versions"),
        None,
    )
    .await;
    let notes: Vec<&str> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["note"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["生成 4", "生成 3", "定稿"]);
    // Removed for good, its versions go with it: a plan made again under that id has none.
    call(&app, USER, "DELETE", &format!("/api/plans/{id}"), None).await;
    let path = format!("/api/plans/{id}?permanent=true");
    let (status, body) = call(&app, USER, "DELETE", &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let again = json!({ "id": id, "plan": plan("同一个 id") });
    let (status, body) = call(&app, USER, "POST", "/api/plans", Some(again)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let path = format!("/api/plans/{id}/versions");
    let (_, versions) = call(&app, USER, "GET", &path, None).await;
    assert_eq!(versions["versions"], json!([]), "{versions}");

    // Past the per-user limit: refused, saying why.
    create(&app, USER, &plan("第二份")).await;
    let (status, body) = call(
        &app,
        USER,
        "POST",
        "/api/plans",
        Some(json!({ "plan": plan("第三份") })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "PLAN_LIMIT");
}

#[tokio::test]
async fn bad_plans_are_refused_in_chinese_and_nothing_is_written() {
    let app = spawn_app(&[]).await;
    let mut long = plan("x");
    long.edit(2, "长".repeat(50_001));
    let (status, body) = call(
        &app,
        USER,
        "POST",
        "/api/plans",
        Some(json!({ "plan": long })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("过长"),
        "{body}"
    );
    let mut unknown = plan("x");
    unknown.template_id = "nope".into();
    let (status, body) = call(
        &app,
        USER,
        "POST",
        "/api/plans",
        Some(json!({ "plan": unknown })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("未知的预案模板"));
    let mut odd = plan("x");
    odd.enterprise_id = Some(String::new());
    let (status, body) = call(
        &app,
        USER,
        "POST",
        "/api/plans",
        Some(json!({ "plan": odd })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("enterprise_id"));
    let (status, body) = call(
        &app,
        USER,
        "POST",
        "/api/plans",
        Some(json!({ "plan": plan("x"), "title": "" })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("预案名称不能为空"));
    let (status, body) = call(
        &app,
        USER,
        "POST",
        "/api/plans",
        Some(json!({ "plan": plan("x"), "id": "../etc" })),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = call(&app, USER, "GET", "/api/plans/not-an-id/versions/x", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = call(&app, USER, "GET", "/api/plans?limit=0", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = call(&app, USER, "GET", "/api/plans?trash=maybe", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, list) = call(&app, USER, "GET", "/api/plans", None).await;
    assert_eq!(list["total"], 0);
}

/// Plans follow the configured name: a user whose token is replaced still has them.
#[tokio::test]
async fn plans_follow_the_user_not_the_token() {
    let data = tempfile::tempdir().unwrap();
    let user = |token: &str| {
        format!(
            "[[auth.users]]\nname = \"张三\"\ntoken_sha256 = \"{}\"\n",
            hex::encode(yueen::auth::tokens::digest(token))
        )
    };
    let dir = data.path().display().to_string();
    let before = spawn_app_with(
        Some(&user("old-token-of-zhang-san")),
        &[("DATA_DIR", dir.clone())],
    )
    .await;
    let id = create(&before, "old-token-of-zhang-san", &plan("张三的预案")).await["id"].clone();
    let after = spawn_app_with(Some(&user("new-token-of-zhang-san")), &[("DATA_DIR", dir)]).await;
    let (status, list) = call(&after, "new-token-of-zhang-san", "GET", "/api/plans", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["plans"][0]["id"], id);
    let (status, _) = call(&after, "old-token-of-zhang-san", "GET", "/api/plans", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

fn app_of(running: &Running) -> TestApp {
    let base = running.base_url();
    TestApp {
        addr: base.trim_start_matches("http://").parse().unwrap(),
        http: reqwest::Client::new(),
        data: std::sync::Arc::new(tempfile::tempdir().unwrap()),
    }
}

/// The binary killed and started again on the same data directory has every plan.
#[tokio::test]
async fn a_restart_keeps_every_plan_and_version() {
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("ADMIN_TOKEN", ADMIN.to_owned()),
        ("USER_TOKENS", USER.to_owned()),
        ("DATA_DIR", data.path().display().to_string()),
    ];
    let mut first = Running::start(&env);
    let app = app_of(&first);
    let id = create(&app, USER, &plan("重启前的文字")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &app,
        USER,
        "POST",
        &format!("/api/plans/{id}/versions"),
        Some(json!({"note": "重启前"})),
    )
    .await;
    // Killed outright, as a crash would: what was answered as saved is on disk.
    first.kill();

    let second = Running::start(&env);
    let app = app_of(&second);
    let (status, body) = call(&app, USER, "GET", &format!("/api/plans/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["plan"]["plan"]["sections"][0]["content"],
        "重启前的文字"
    );
    let (_, versions) = call(
        &app,
        USER,
        "GET",
        &format!("/api/plans/{id}/versions"),
        None,
    )
    .await;
    assert_eq!(versions["versions"][0]["note"], "重启前");
}

/// PostgreSQL stopped between two saves: the save is refused at once with a clear error (the
/// page keeps the text), `/readyz` says so, and the same save lands once it is back.
#[tokio::test]
async fn the_database_stopped_mid_edit_refuses_clearly_and_recovers() {
    let pg = Postgres::start();
    let app = spawn_app(&[
        ("DATABASE_URL", pg.url("edits")),
        ("DATABASE_TIMEOUT_MS", "2000".into()),
    ])
    .await;
    let id = create(&app, USER, &plan("第一稿")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    pg.stop();
    let edit = json!({ "plan": plan("停库时写的文字"), "base_revision": 1 });
    let started = std::time::Instant::now();
    let (status, body) = call(
        &app,
        USER,
        "PUT",
        &format!("/api/plans/{id}"),
        Some(edit.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "STORE_UNAVAILABLE");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("本机浏览器"));
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "no address: {body}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let (status, ready) = call(&app, ADMIN, "GET", "/readyz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["status"], "degraded");
    assert_eq!(ready["database"]["available"], false);
    // Generation does not depend on the database.
    let (status, _) = app.generate(&super::helpers::seed_body()).await;
    assert_eq!(status, StatusCode::OK);

    pg.resume();
    let (status, body) = call(&app, USER, "PUT", &format!("/api/plans/{id}"), Some(edit)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = call(&app, USER, "GET", &format!("/api/plans/{id}"), None).await;
    assert_eq!(
        body["plan"]["plan"]["sections"][0]["content"],
        "停库时写的文字"
    );
    let (_, ready) = call(&app, ADMIN, "GET", "/readyz", None).await;
    assert_eq!(ready["database"]["available"], true);
}

/// Two instances saving on the same revision at the same moment (PostgreSQL, its default
/// isolation): one is saved, the other told of the conflict; neither overwrites the other.
#[tokio::test]
async fn simultaneous_saves_on_one_revision_never_both_win() {
    let pg = Postgres::start();
    let url = pg.url("races");
    let a = spawn_app(&[("DATABASE_URL", url.clone())]).await;
    let b = spawn_app(&[("DATABASE_URL", url)]).await;
    let id = create(&a, USER, &plan("同时修改前")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/plans/{id}");
    for round in 0..5 {
        let (_, now) = call(&a, USER, "GET", &path, None).await;
        let base = now["plan"]["revision"].as_i64().unwrap();
        let body = |text: String| Some(json!({ "plan": plan(&text), "base_revision": base }));
        let (first, second) = tokio::join!(
            call(&a, USER, "PUT", &path, body(format!("甲-{round}"))),
            call(&b, USER, "PUT", &path, body(format!("乙-{round}"))),
        );
        let mut statuses = [first.0, second.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "round {round}: {} / {}",
            first.1,
            second.1
        );
        let (_, after) = call(&b, USER, "GET", &path, None).await;
        assert_eq!(after["plan"]["revision"], base + 1);
    }
}

/// Each user's space is bounded: versions and the trash count, pruned versions free their
/// share, a write past the limit is refused (and undone), and emptying the trash makes room.
#[tokio::test]
async fn each_users_space_is_bounded_and_freed_by_pruning_and_the_trash() {
    let app = spawn_app(&[
        ("PLAN_STORAGE_PER_USER_MIB", "1".into()),
        ("PLAN_AUTO_VERSIONS", "1".into()),
    ])
    .await;
    // About 150 KB of text a plan (three bytes a character).
    let big = |mark: &str| {
        let mut p = plan(mark);
        p.edit(2, format!("{mark}{}", "危".repeat(49_000)));
        p
    };
    let id = create(&app, USER, &big("甲")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Many generations of one plan: only the latest version stays, so the space stays put.
    for n in 0..8 {
        let (status, body) = call(
            &app,
            USER,
            "PUT",
            &format!("/api/plans/{id}"),
            Some(json!({ "plan": big(&format!("第{n}稿")), "snapshot": format!("生成 {n}") })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "generation {n}: {body}");
    }
    // New plans until the space is used up: refused in Chinese, nothing half-written.
    let mut made = vec![id];
    let refused = loop {
        let (status, body) = call(
            &app,
            USER,
            "POST",
            "/api/plans",
            Some(json!({ "plan": big("新") })),
        )
        .await;
        if status != StatusCode::CREATED {
            break (status, body);
        }
        made.push(body["plan"]["id"].as_str().unwrap().to_owned());
        assert!(made.len() < 10, "the limit never came");
    };
    assert_eq!(refused.0, StatusCode::FORBIDDEN, "{}", refused.1);
    assert_eq!(refused.1["error"]["code"], "PLAN_LIMIT");
    assert!(refused.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("存储空间"));
    let (_, list) = call(&app, USER, "GET", "/api/plans", None).await;
    assert_eq!(list["total"], made.len());

    // The trash still counts; removing from it for good makes room.
    let last = made.pop().unwrap();
    call(&app, USER, "DELETE", &format!("/api/plans/{last}"), None).await;
    let (status, _) = call(
        &app,
        USER,
        "POST",
        "/api/plans",
        Some(json!({ "plan": big("新") })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = call(
        &app,
        USER,
        "DELETE",
        &format!("/api/plans/{}?permanent=true", made[0]),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "only a plan in the trash: {body}"
    );
    let (status, body) = call(
        &app,
        USER,
        "DELETE",
        &format!("/api/plans/{last}?permanent=true"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "已永久删除");
    let (status, body) = call(
        &app,
        USER,
        "POST",
        "/api/plans",
        Some(json!({ "plan": big("新") })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Another user's space is their own.
    let (status, _) = call(
        &app,
        ADMIN,
        "POST",
        "/api/plans",
        Some(json!({ "plan": big("管") })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}
