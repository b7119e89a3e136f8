//! The pages' session handling over plain HTTP: login by form and by link, cookie flags,
//! redirects for visitors, 403 for users on admin pages, and no secrets in the HTML. Requests
//! that change something carry the `Origin` a browser sends from this site's pages.

use reqwest::{redirect::Policy, StatusCode};

use crate::helpers::{spawn_app, TestApp, ADMIN, USER};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn login_cookie(app: &TestApp, token: &str) -> String {
    let response = no_redirects()
        .post(app.url("/login"))
        .header("origin", app.url(""))
        .form(&[("token", token), ("next", "/admin/cache")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/admin/cache");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("yueen_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains(token),
        "the cookie never carries the token"
    );
    cookie.split(';').next().unwrap().to_owned()
}

async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = no_redirects().get(app.url(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_are_sent_to_login() {
    let app = spawn_app(&[]).await;
    let response = get(&app, "/", None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login");
    let response = get(&app, "/admin/cache", None).await;
    assert_eq!(
        response.headers()["location"],
        "/login?next=%2Fadmin%2Fcache"
    );

    let response = get(&app, "/login", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("访问令牌"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_login_opens_the_pages() {
    let app = spawn_app(&[]).await;
    let cookie = login_cookie(&app, USER).await;
    let response = get(&app, "/", Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("生成预案章节"));
    assert!(
        html.contains("name=\"enterprise_name\""),
        "the form is server-rendered"
    );
    assert!(html.contains("/pkg/yueen.js"), "hydration script is linked");
    for secret in [ADMIN, USER] {
        assert!(!html.contains(secret));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_returns_to_login_with_an_error() {
    let app = spawn_app(&[]).await;
    let response = no_redirects()
        .post(app.url("/login"))
        .header("origin", app.url(""))
        .form(&[("token", "wrong-token-123")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login?error=invalid");
    assert!(response.headers().get("set-cookie").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_link_sets_the_session_and_keeps_next_local() {
    let app = spawn_app(&[]).await;
    let response = get(&app, &format!("/login?token={ADMIN}"), None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
    assert!(response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("yueen_session="));

    let response = get(
        &app,
        &format!("/login?token={ADMIN}&next=//evil.example/x"),
        None,
    )
    .await;
    assert_eq!(response.headers()["location"], "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_get_403_on_admin_pages_and_admins_get_the_dashboard() {
    let app = spawn_app(&[]).await;
    let user = login_cookie(&app, USER).await;
    let response = get(&app, "/admin/cache", Some(&user)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("无权访问"));

    let admin = login_cookie(&app, ADMIN).await;
    let response = get(&app, "/admin/cache", Some(&admin)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("缓存看板"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_functions_need_a_session() {
    let app = spawn_app(&[]).await;
    let response = no_redirects()
        .post(app.url("/fn/load_dashboard"))
        .header("origin", app.url(""))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_clears_the_cookie() {
    let app = spawn_app(&[]).await;
    let response = no_redirects()
        .post(app.url("/logout"))
        .header("origin", app.url(""))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("yueen_session=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_cookie_is_not_a_session() {
    let app = spawn_app(&[]).await;
    let response = get(&app, "/", Some("yueen_session=v1.99999999999.abcdef")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}
