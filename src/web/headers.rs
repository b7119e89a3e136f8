//! Security headers. Every response: `nosniff`, the referrer only to this site (the printed
//! login link carries a token in its address; `no-referrer` would also blank the `Origin` of
//! this site's own form posts), no framing. Pages get a Content-Security-Policy whose scripts are
//! this site's files plus the one inline hydration script with this response's nonce (the
//! nonce leptos mints for each server render); anything else gets a policy that allows
//! nothing to run. Streamed answers (SSE, the pages' streaming server functions) tell a
//! buffering proxy such as nginx to pass them on as they are written.

use axum::{
    http::{
        header::{
            CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
        },
        HeaderValue,
    },
    response::Response,
};

/// The policy of a server-rendered page whose inline script carries `nonce`. Styles may be
/// inline (the chart sets attributes); scripts may not. WebAssembly needs `wasm-unsafe-eval`.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// For everything that is not a rendered page: nothing runs, nothing frames it.
const OTHER_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// During a server render: puts the page's policy, with the render's nonce, on the response.
pub fn set_page_policy() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&page_policy(&nonce)) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}

/// The headers every response carries (see `edge`).
pub fn secure(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(OTHER_POLICY));
    if is_stream(headers) {
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    }
}

/// Content types of answers written as they are produced: server-sent events, and the byte
/// streams of the pages' streaming server functions. Not buffered by a proxy, not compressed.
pub const STREAM_TYPES: [&str; 2] = ["text/event-stream", "application/octet-stream"];

fn is_stream(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| STREAM_TYPES.iter().any(|s| t.starts_with(s)))
}
