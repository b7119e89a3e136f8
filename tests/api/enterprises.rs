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

/// The sentences of `text` (split at 。；and line ends), without the headings, the mock's mark
/// and list numbers.
fn sentences(text: &str) -> Vec<String> {
    text.split(['。', '；', '\n'])
        .map(|s| s.trim())
        .map(|s| s.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ' '))
        .filter(|s| !s.is_empty())
        .filter(|s| !s.starts_with('【') && !s.starts_with('（'))
        .filter(|s| {
            // A sub-heading: `二、应急处置`, or the section's title alone.
            let heading = s.chars().count() <= 20 && !s.contains('，');
            !heading
        })
        .map(str::to_owned)
        .collect()
}

/// Every name, post, area, resource and phone number the sample profile holds.
fn entities(profile: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut take = |v: &Value| {
        if let Some(s) = v.as_str().filter(|s| s.chars().count() >= 2) {
            found.push(s.to_owned());
        }
    };
    for p in profile["organization"]["people"].as_array().unwrap() {
        take(&p["name"]);
        take(&p["post"]);
        take(&p["mobile"]);
    }
    for r in profile["risks"].as_array().unwrap() {
        take(&r["unit"]);
    }
    for e in profile["resources"]["equipment"].as_array().unwrap() {
        take(&e["name"]);
        take(&e["location"]);
        take(&e["phone"]);
    }
    for list in ["teams", "external"] {
        for t in profile["resources"][list].as_array().unwrap() {
            take(&t["name"]);
            take(&t["phone"]);
        }
    }
    for t in profile["targets"].as_array().unwrap() {
        take(&t["name"]);
    }
    for p in profile["posts"].as_array().unwrap() {
        take(&p["post"]);
        take(&p["area"]);
    }
    take(&profile["basics"]["duty_phone"]);
    found
}

/// The share of `text`'s sentences that name something of the profile.
fn specificity(text: &str, entities: &[String]) -> (usize, usize) {
    let all = sentences(text);
    let naming = all
        .iter()
        .filter(|s| entities.iter().any(|e| s.contains(e.as_str())))
        .count();
    (naming, all.len())
}

/// `text` from sub-heading `from` to the next one.
fn part<'a>(text: &'a str, from: &str, to: &str) -> &'a str {
    let start = text.find(from).expect("the sub-heading is there");
    let end = text[start..].find(to).map_or(text.len(), |i| start + i);
    &text[start..end]
}

/// A whole plan written by the server; its sections' texts by id.
async fn written(
    app: &TestApp,
    body: Value,
) -> (String, std::collections::BTreeMap<String, String>) {
    let (status, created) = call(app, USER, "POST", "/api/plans", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["plan"]["id"].as_str().unwrap().to_owned();
    let base = app.url("");
    let (status, job) = super::jobs::start_job(&base, &app.http, &id, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = super::jobs::wait_job(
        &base,
        &app.http,
        &id,
        std::time::Duration::from_secs(60),
        super::jobs::finished,
    )
    .await;
    assert_eq!(job["state"], "done", "{job}");
    let (_, plan) = call(app, USER, "GET", &format!("/api/plans/{id}"), None).await;
    let texts = plan["plan"]["plan"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["section_id"].as_str().unwrap().to_owned(),
                s["content"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (id, texts)
}

#[tokio::test]
async fn a_plan_from_the_profile_names_its_people_phones_and_resources() {
    let app = spawn_app(&[("AI_MOCK_CHUNK_DELAY_MS", "0".into())]).await;
    let sample = sample();
    let profile = create_profile(&app, &sample).await;
    let eid = profile["id"].as_str().unwrap();
    let names = entities(&sample);
    let from_profile = |template: &str, data: Value| {
        let mut body = json!({"template_id": template, "enterprise_id": eid});
        if !data.is_null() {
            body["data"] = json!({ "enterprise_info": data });
        }
        body
    };
    let (_, whole) = written(&app, from_profile("emergency_plan", Value::Null)).await;
    let (_, special) = written(
        &app,
        from_profile("special_plan", json!({"accident_types": "中毒和窒息"})),
    )
    .await;
    let (_, onsite) = written(
        &app,
        from_profile("onsite_plan", json!({"post_or_facility": "液氯充装岗"})),
    )
    .await;
    // The same enterprise as today's form would give it: its basics, its lists as typed text.
    let b = &sample["basics"];
    let form = json!({
        "enterprise_name": b["enterprise_name"], "industry_type": b["industry_type"],
        "address": b["address"], "main_products": b["main_products"],
        "employees_count": b["employees_count"], "duty_phone": b["duty_phone"],
        "principal": "周建国 13905710001", "hazardous_chemicals": b["hazardous_chemicals"],
        "accident_types": "中毒和窒息、危险化学品泄漏、其它爆炸、灼烫、火灾、触电",
        "sensitive_targets": "临江村居民区（东南 900 m）、临江小学（东 1.6 km）",
    });
    let by_form = |template: &str, extra: Value| {
        let mut data = form.clone();
        if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
            d.extend(e.clone());
        }
        json!({"template_id": template, "data": {"enterprise_info": data}})
    };
    let (_, whole_form) = written(&app, by_form("emergency_plan", json!({}))).await;
    let (_, special_form) = written(
        &app,
        by_form("special_plan", json!({"accident_types": "中毒和窒息"})),
    )
    .await;
    let (_, onsite_form) = written(
        &app,
        by_form("onsite_plan", json!({"post_or_facility": "液氯充装岗"})),
    )
    .await;

    let measured = |whole: &std::collections::BTreeMap<String, String>,
                    special: &std::collections::BTreeMap<String, String>,
                    onsite: &std::collections::BTreeMap<String, String>| {
        vec![
            ("6.2", specificity(&whole["4"], &names)),
            (
                "6.3.4",
                specificity(part(&whole["6"], "应急处置", "应急支援"), &names),
            ),
            ("6.5", specificity(&whole["8"], &names)),
            ("7.4", specificity(&special["4"], &names)),
            ("8.3", specificity(&onsite["3"], &names)),
        ]
    };
    let profile_figures = measured(&whole, &special, &onsite);
    let form_figures = measured(&whole_form, &special_form, &onsite_form);
    println!("specificity (sentences naming a profile entity): clause · from the profile · from the form");
    for ((clause, (n, all)), (_, (fn_, fall))) in profile_figures.iter().zip(&form_figures) {
        println!(
            "  {clause}: {n}/{all} = {:.0}% · {fn_}/{fall} = {:.0}%",
            100.0 * *n as f64 / *all as f64,
            100.0 * *fn_ as f64 / *fall as f64
        );
    }
    for s in sentences(&whole["4"]) {
        if !names.iter().any(|e| s.contains(e.as_str())) {
            println!("  6.2 sentence naming nothing of the profile: {s}");
        }
    }
    for (clause, (n, all)) in &profile_figures {
        assert!(
            *n as f64 >= 0.7 * *all as f64,
            "{clause}: only {n} of {all} sentences name the enterprise's own facts"
        );
    }
    // The facts are written as the profile has them.
    assert!(
        whole["4"].contains("总经理周建国（13905710001）"),
        "{}",
        whole["4"]
    );
    assert!(
        whole["8"].contains("正压式空气呼吸器（RHZK6.8）8 套"),
        "{}",
        whole["8"]
    );
    assert!(onsite["3"].contains("液氯储罐区"), "{}", onsite["3"]);
    assert!(
        !onsite["3"].contains("配电室"),
        "an on-site plan reads its own post's risks"
    );
    assert!(special["4"].contains("中毒和窒息"));
    assert!(
        !special["4"].contains("成品仓库发生火灾"),
        "a special plan reads its category"
    );
}

#[tokio::test]
async fn changing_a_phone_rewrites_exactly_the_sections_that_print_it() {
    let app = spawn_app(&[("AI_MOCK_CHUNK_DELAY_MS", "0".into())]).await;
    let mut sample = sample();
    let profile = create_profile(&app, &sample).await;
    let eid = profile["id"].as_str().unwrap().to_owned();
    let body = json!({"template_id": "emergency_plan", "enterprise_id": eid});
    let (_, before) = written(&app, body.clone()).await;
    let calls = |stats: &Value| stats["ai"]["calls"].as_u64().unwrap();
    let (_, stats) = call(&app, ADMIN, "GET", "/api/ai/cache/stats", None).await;
    let first = calls(&stats);

    // 王立新, who leads the rescue group and keeps the tank farm's kit, gets a new mobile.
    sample["organization"]["people"][4]["mobile"] = json!("13905718888");
    for e in sample["resources"]["equipment"].as_array_mut().unwrap() {
        if e["custodian"] == "王立新" {
            e["phone"] = json!("13905718888");
        }
    }
    sample["resources"]["teams"][1]["phone"] = json!("13905718888");
    let (status, _) = call(
        &app,
        USER,
        "PUT",
        &format!("/api/enterprises/{eid}"),
        Some(json!({"profile": sample})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, after) = written(&app, body).await;
    let (_, stats) = call(&app, ADMIN, "GET", "/api/ai/cache/stats", None).await;
    let changed: Vec<&String> = before
        .keys()
        .filter(|id| before[*id] != after[*id])
        .collect();
    // The sections that read the organisation or the equipment (registry `reads`), and only
    // they, are written again; each prints the new number.
    assert_eq!(changed, ["4", "5", "6", "8"], "rewritten sections");
    assert_eq!(calls(&stats) - first, 4, "the others came from the cache");
    for id in changed {
        assert!(
            after[id].contains("13905718888"),
            "section {id} prints the new number"
        );
        assert!(!after[id].contains("13905710005"));
    }
}

/// The plan `id` as read, and its findings as (section, paragraph, kind).
async fn findings(app: &TestApp, id: &str) -> (Value, Vec<(String, usize, String)>) {
    let (status, body) = call(app, USER, "GET", &format!("/api/plans/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut found = Vec::new();
    for s in body["plan"]["plan"]["sections"].as_array().unwrap() {
        for f in s["facts"].as_array().into_iter().flatten() {
            found.push((
                s["section_id"].as_str().unwrap().to_owned(),
                f["paragraph"].as_u64().unwrap() as usize,
                f["kind"].as_str().unwrap().to_owned(),
            ));
        }
    }
    (body["plan"].clone(), found)
}

/// Saves `plan` with section `section`'s text changed by `edit`; the changed line's index.
async fn edit_section(
    app: &TestApp,
    saved: &Value,
    section: &str,
    edit: impl Fn(&str) -> String,
) -> usize {
    let mut plan = saved["plan"].clone();
    let sections = plan["sections"].as_array_mut().unwrap();
    let target = sections
        .iter_mut()
        .find(|s| s["section_id"] == section)
        .unwrap();
    let before = target["content"].as_str().unwrap().to_owned();
    let after = edit(&before);
    assert_ne!(before, after, "the edit changes the text");
    let line = before
        .lines()
        .zip(after.lines().chain(std::iter::repeat("")))
        .position(|(a, b)| a != b)
        .unwrap();
    target["content"] = json!(after);
    let id = saved["id"].as_str().unwrap();
    let (status, body) = call(
        app,
        USER,
        "PUT",
        &format!("/api/plans/{id}"),
        Some(json!({"base_revision": saved["revision"], "plan": plan})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    line
}

#[tokio::test]
async fn each_inconsistency_edited_into_a_plan_is_flagged_at_its_paragraph() {
    let app = spawn_app(&[("AI_MOCK_CHUNK_DELAY_MS", "0".into())]).await;
    let mut sample = sample();
    let profile = create_profile(&app, &sample).await;
    let eid = profile["id"].as_str().unwrap().to_owned();
    let (id, _) = written(
        &app,
        json!({"template_id": "emergency_plan", "enterprise_id": eid}),
    )
    .await;

    // Alone, the comprehensive plan leaves the four risks rated 一般 or higher uncovered: told
    // in its risk chapter, at the paragraph naming each.
    let (_, found) = findings(&app, &id).await;
    let uncovered: Vec<&(String, usize, String)> =
        found.iter().filter(|f| f.2 == "uncovered_risk").collect();
    assert_eq!(uncovered.len(), 4, "{found:?}");
    assert!(uncovered.iter().all(|f| f.0 == "3" && f.1 > 0), "{found:?}");
    assert_eq!(found.len(), 4, "nothing else: {found:?}");
    // A special plan for the chlorine and two on-site plans cover them; the plan is clean.
    let special = json!({"template_id": "special_plan", "enterprise_id": eid,
        "data": {"enterprise_info": {"accident_types": "中毒和窒息、危险化学品泄漏"}}});
    call(&app, USER, "POST", "/api/plans", Some(special)).await;
    for post in ["氢气压缩岗", "盐酸合成岗"] {
        let onsite = json!({"template_id": "onsite_plan", "enterprise_id": eid,
            "data": {"enterprise_info": {"post_or_facility": post}}});
        let (status, body) = call(&app, USER, "POST", "/api/plans", Some(onsite)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (clean, found) = findings(&app, &id).await;
    assert_eq!(found, [], "a plan true to its profile has no findings");

    // Each inconsistency, one at a time, at the paragraph it was put in.
    type Edit = (&'static str, &'static str, &'static str, &'static str);
    let edits: [Edit; 4] = [
        ("8", "13905710007", "13905719999", "unknown_phone"),
        (
            "4",
            "总指挥由总经理周建国",
            "总指挥由总经理吴志强",
            "wrong_person",
        ),
        (
            "8",
            "正压式空气呼吸器（RHZK6.8）8 套",
            "正压式空气呼吸器（RHZK6.8）6 套",
            "wrong_quantity",
        ),
        (
            "8",
            "急救箱（工业型）5 个",
            "急救箱（工业型）5 个、消防沙 2 t",
            "missing_resource",
        ),
    ];
    for (section, from, to, kind) in edits {
        let (now, _) = findings(&app, &id).await;
        let line = edit_section(&app, &now, section, |t| t.replacen(from, to, 1)).await;
        let (now, found) = findings(&app, &id).await;
        assert_eq!(
            found,
            [(section.to_owned(), line, kind.to_owned())],
            "{kind}"
        );
        // Put back: clean again.
        edit_section(&app, &now, section, |t| t.replacen(to, from, 1)).await;
        let (_, found) = findings(&app, &id).await;
        assert_eq!(found, [], "{kind} put back");
    }

    // The gas detectors' inspection lapses: flagged wherever the plan relies on them.
    sample["resources"]["equipment"][3]["due"] = json!("2025-01-15");
    let (status, _) = call(
        &app,
        USER,
        "PUT",
        &format!("/api/enterprises/{eid}"),
        Some(json!({"profile": sample})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, found) = findings(&app, &id).await;
    assert!(!found.is_empty());
    for (section, line, kind) in &found {
        assert_eq!(kind, "expired");
        let text = clean["plan"]["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["section_id"] == section.as_str())
            .unwrap()["content"]
            .as_str()
            .unwrap();
        assert!(
            text.lines().nth(*line).unwrap().contains("氯气检测报警仪"),
            "section {section} line {line}"
        );
    }
    // And in the export's appendix.
    let response = app
        .http
        .get(app.url(&format!("/api/plans/{id}/export/markdown")))
        .bearer_auth(USER)
        .send()
        .await
        .unwrap();
    let markdown = response.text().await.unwrap();
    assert!(markdown.contains("### 与企业档案的核对结果"), "{markdown}");
    assert!(markdown.contains("氯气检测报警仪（液氯储罐区）的检验或有效期已于 2025-01-15 到期"));
}
