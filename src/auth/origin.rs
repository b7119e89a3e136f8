//! Cross-site requests: a request with a cookie that changes anything (a server function, an
//! export, logging in or out) must come from this site's own pages. A browser says where a
//! request comes from in `Origin` (or, without it, `Sec-Fetch-Site`); SameSite cookies alone
//! do not tell another port of the same host apart. The Bearer JSON API carries no cookie and
//! is routed around this check (see `startup`).

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::Auth;

/// Whether `headers` show a request made by this site's own pages. `public_origin` is the
/// origin of `PUBLIC_URL`; without it the request's own `Host` is this site.
pub fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    // An opaque origin (`null`, sent under some referrer policies) says nothing either way.
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null");
    match origin {
        Some(origin) => match public_origin {
            Some(expected) => origin.eq_ignore_ascii_case(expected),
            None => {
                let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
                let authority = origin
                    .strip_prefix("https://")
                    .or_else(|| origin.strip_prefix("http://"));
                matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
            }
        },
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|v| v == "same-origin"),
    }
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware: 403 for a cross-site request that would change something.
pub async fn guard(State(auth): State<Arc<Auth>>, req: Request, next: Next) -> Response {
    if changes_state(req.method()) && !same_origin(req.headers(), auth.public_origin.as_deref()) {
        tracing::warn!("已拒绝跨站请求: {} {}", req.method(), req.uri().path());
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "跨站请求已被拒绝：请在本站页面上操作",
        )
            .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_this_sites_pages_pass() {
        let here = [("host", "127.0.0.1:3000")];
        assert!(same_origin(
            &headers(&[here[0], ("origin", "http://127.0.0.1:3000")]),
            None
        ));
        assert!(!same_origin(
            &headers(&[here[0], ("origin", "http://127.0.0.1:4000")]),
            None
        ));
        assert!(!same_origin(&headers(&[here[0], ("origin", "null")]), None));
        assert!(same_origin(
            &headers(&[
                here[0],
                ("origin", "null"),
                ("sec-fetch-site", "same-origin")
            ]),
            None
        ));
        assert!(same_origin(
            &headers(&[here[0], ("sec-fetch-site", "same-origin")]),
            None
        ));
        assert!(!same_origin(
            &headers(&[here[0], ("sec-fetch-site", "same-site")]),
            None
        ));
        assert!(!same_origin(&headers(&here), None));
        let public = Some("https://yueen.example");
        assert!(same_origin(
            &headers(&[here[0], ("origin", "https://yueen.example")]),
            public
        ));
        assert!(!same_origin(
            &headers(&[here[0], ("origin", "http://127.0.0.1:3000")]),
            public
        ));
    }
}
