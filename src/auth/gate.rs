//! Middleware in front of the pages: reads the session cookie, logs in from a `/login?token=`
//! link, sends visitors without a session to `/login`, and marks admin pages 403 for users.
//! The JSON API (`/api/`, Bearer tokens) and the probes are routed around it (see `startup`).

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{login, viewer::Viewer, Auth, Role};
use crate::model::{AppError, ErrorCode};

/// Paths that never look at the page session: the site's files.
fn sessionless(path: &str) -> bool {
    path == "/favicon.ico" || path.starts_with("/pkg/")
}

fn is_public(path: &str) -> bool {
    matches!(path, "/login" | "/logout" | "/docs" | "/fn/docs_view") || sessionless(path)
}

pub async fn gate(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path == "/login" && req.method() == Method::GET {
        if let Some(form) = login::link_form(req.uri().query()) {
            return login::by_link(&auth, req.headers(), req.extensions(), form).await;
        }
    }
    if sessionless(&path) {
        req.extensions_mut().insert(Viewer(None));
        return next.run(req).await;
    }
    let session = auth.session(req.headers()).await;
    let unconfirmed = session.as_ref().err() == Some(&super::NoSession::Unconfirmed);
    let user = session.ok().map(|s| s.user);
    let role = user.as_ref().map(|u| u.role);
    req.extensions_mut().insert(Viewer(user));
    if is_public(&path) {
        return next.run(req).await;
    }
    match role {
        None if path.starts_with("/fn/") => {
            let message = if unconfirmed {
                "暂时无法确认登录状态，请重新登录"
            } else {
                "登录已失效，请重新登录"
            };
            // As a server function's own error, so the page reads its code.
            let error = AppError::new(ErrorCode::Unauthorized, message);
            (StatusCode::UNAUTHORIZED, axum::Json(error)).into_response()
        }
        None => {
            let target = req
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or("/");
            login::redirect_to_login(Some(target), unconfirmed.then_some("unconfirmed"))
        }
        Some(Role::User) if path == "/admin" || path.starts_with("/admin/") => {
            let mut response = next.run(req).await;
            *response.status_mut() = StatusCode::FORBIDDEN;
            response
        }
        Some(_) => next.run(req).await,
    }
}
