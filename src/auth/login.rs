//! Logging in (form post or the printed `/login?token=` link) and out. Plain HTTP with
//! redirects, so it works before the page has hydrated and without JavaScript.

use std::{net::IpAddr, sync::Arc};

use axum::{
    extract::FromRequest,
    extract::State,
    http::{header, Extensions, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Form,
};
use serde::Deserialize;
use url::form_urlencoded;

use super::{session, Auth};

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    #[serde(default)]
    next: Option<String>,
}

/// Where to go after logging in: `next` read the way a browser reads it (tabs and line breaks
/// dropped, backslashes as slashes, dot segments resolved) against this site, and kept only
/// when it stays on this site. Returned as the path, query and fragment, which always make a
/// valid `Location`; anything else is `/`.
fn safe_next(next: Option<&str>) -> String {
    const SITE: &str = "http://this-site.invalid/";
    let Some(next) = next.filter(|n| !n.chars().any(char::is_control)) else {
        return "/".to_owned();
    };
    let Ok(site) = url::Url::parse(SITE) else {
        return "/".to_owned();
    };
    match site.join(next) {
        Ok(target) if target.origin() == site.origin() => {
            let mut local = target.path().to_owned();
            if let Some(query) = target.query() {
                local.push('?');
                local.push_str(query);
            }
            if let Some(fragment) = target.fragment() {
                local.push('#');
                local.push_str(fragment);
            }
            local
        }
        _ => "/".to_owned(),
    }
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

pub fn redirect_to_login(next: Option<&str>, error: Option<&str>) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(next) = next.filter(|n| *n != "/") {
        query.append_pair("next", next);
    }
    if let Some(error) = error {
        query.append_pair("error", error);
    }
    let query = query.finish();
    if query.is_empty() {
        see_other("/login")
    } else {
        see_other(&format!("/login?{query}"))
    }
}

/// The login form carried by a `/login?token=…` link, if the query has a token.
pub fn link_form(query: Option<&str>) -> Option<LoginForm> {
    let mut token = None;
    let mut next = None;
    for (k, v) in form_urlencoded::parse(query?.as_bytes()) {
        match k.as_ref() {
            "token" => token = Some(v.into_owned()),
            "next" => next = Some(v.into_owned()),
            _ => {}
        }
    }
    token.map(|token| LoginForm { token, next })
}

/// Logs in with `form` for the client at `client`: a new session on a known token; a wrong
/// one is counted against the address, and past the limit answered 429, slowly.
async fn finish(auth: &Auth, form: LoginForm, client: Option<IpAddr>) -> Response {
    let next = safe_next(form.next.as_deref());
    if let Some((key, user)) = auth.tokens.find(form.token.trim()) {
        tracing::info!("{}登录成功", user.name);
        let (value, id) = auth.sessions.issue(&user.name, &key, crate::clock::now());
        auth.issued(&id);
        let mut response = see_other(&next);
        if let Ok(cookie) =
            HeaderValue::from_str(&auth.sessions.set_cookie(&value, auth.secure_cookies))
        {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        return response;
    }
    if let Some(wait) = auth.failures.refuse_slowly(client).await {
        tracing::warn!("登录失败次数过多，已暂时拒绝该地址");
        let secs = wait.as_secs().max(1);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::RETRY_AFTER, secs.to_string()),
                (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            ],
            format!("登录失败次数过多，请 {secs} 秒后再试"),
        )
            .into_response();
    }
    tracing::warn!("登录失败：令牌无效");
    redirect_to_login(Some(&next), Some("invalid"))
}

fn client(auth: &Auth, extensions: &Extensions, headers: &HeaderMap) -> Option<IpAddr> {
    super::client::client_ip(extensions, headers, &auth.trusted_proxies)
}

/// The printed `/login?token=…` link. Followed from a terminal, a bookmark or this site; a page
/// of another site cannot log its visitor in with a token of its choosing.
pub async fn by_link(
    auth: &Auth,
    headers: &HeaderMap,
    extensions: &Extensions,
    form: LoginForm,
) -> Response {
    let from_elsewhere = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v == "cross-site" || v == "same-site");
    if from_elsewhere {
        return redirect_to_login(None, None);
    }
    finish(auth, form, client(auth, extensions, headers)).await
}

pub async fn login(State(auth): State<Arc<Auth>>, req: axum::extract::Request) -> Response {
    let client = client(&auth, req.extensions(), req.headers());
    match Form::<LoginForm>::from_request(req, &()).await {
        Ok(Form(form)) => finish(&auth, form, client).await,
        Err(_) => redirect_to_login(None, Some("invalid")),
    }
}

/// Ends the session here and, through the shared store, for every instance, until it would
/// have expired anyway. Any session its cookie is signed for is marked, also one this instance
/// could not confirm (Redis away): the mark is sent when Redis is back.
pub async fn logout(State(auth): State<Arc<Auth>>, headers: HeaderMap) -> Response {
    let now = crate::clock::now();
    let signed = session::from_headers(&headers)
        .and_then(|value| auth.sessions.verify(value, &auth.tokens, now));
    if let Some(session) = signed {
        let remaining = session.remaining(now);
        auth.store.mark(&session.revocation(), remaining).await;
        tracing::info!("{}已退出登录", session.user.name);
    }
    let mut response = see_other("/login");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&session::clear_cookie()).expect("a static cookie is a valid header"),
    );
    response
}

/// Logging in with a token from the form, and out.
pub fn router<S>() -> axum::Router<S>
where
    Arc<Auth>: axum::extract::FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    use axum::routing::post;
    axum::Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_on_this_site() {
        assert_eq!(safe_next(Some("/admin/cache")), "/admin/cache");
        assert_eq!(safe_next(Some("/docs?x=1#top")), "/docs?x=1#top");
        assert_eq!(safe_next(Some("/a/../admin")), "/admin");
        assert_eq!(safe_next(Some("/文档")), "/%E6%96%87%E6%A1%A3");
        for away in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/x",
            "\t//evil.example",
            "https:evil.example",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(Some(away)), "/", "{away:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn link_query_is_read() {
        let form = link_form(Some("token=abc%20d&next=%2Fadmin%2Fcache")).unwrap();
        assert_eq!(form.token, "abc d");
        assert_eq!(form.next.as_deref(), Some("/admin/cache"));
        assert!(link_form(Some("error=invalid")).is_none());
        assert!(link_form(None).is_none());
    }
}
